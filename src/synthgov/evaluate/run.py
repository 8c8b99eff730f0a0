"""``synthgov.evaluate``: measure a synthetic table against the real one, every family at once."""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import ParameterError, SynthgovError
from .base import FAMILIES, Metric, MetricResult, NotComputed, available_metrics
from .data import EvalData
from .report import Report

__all__ = ["evaluate"]

_NEED_TEXT = {
    "target": "needs a target column (pass target=...)",
    "sensitive": "needs sensitive columns (pass sensitive=[...])",
    "quasi_identifiers": "needs quasi-identifier columns (pass quasi_identifiers=[...])",
}


def _select(metrics: Iterable[str] | None) -> list[Metric]:
    registry = available_metrics()
    if metrics is None:
        return list(registry.values())
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    chosen: list[Metric] = []
    for item in metrics:
        if item in FAMILIES:
            chosen.extend(m for m in registry.values() if m.family == item and m not in chosen)
        elif item in registry:
            if registry[item] not in chosen:
                chosen.append(registry[item])
        else:
            raise ParameterError(f"unknown metric or family {item!r}",
                                 hint=f"families: {', '.join(FAMILIES)}; `synthgov metrics` lists the metrics")
    return chosen


def _privacy_of(synthesizer: Any) -> dict[str, Any] | None:
    if synthesizer is None:
        return None
    account = getattr(synthesizer, "privacy_", None)
    return account.to_dict() if account is not None else None


def evaluate(real, synthetic, *, holdout=None, schema=None, target: str | None = None,
             sensitive: str | Iterable[str] | None = None, quasi_identifiers: str | Iterable[str] | None = None,
             secrets: str | Iterable[str] | None = None, synthesizer=None,
             metrics: Iterable[str] | None = None, thresholds: Mapping[str, float | None] | None = None,
             holdout_fraction: float = 0.2, random_state: int = 0,
             progress: Callable[[str, int, int], None] | None = None, catalog=None) -> Report:
    """Measure ``synthetic`` against ``real`` with every registered metric and return a :class:`Report`.

    Args:
        real: the real rows the synthesizer was fitted on (DataFrame or a path :func:`synthgov.read` accepts).
        synthetic: the synthetic rows.
        holdout: real rows the synthesizer never saw; privacy metrics need them. When left out,
            ``holdout_fraction`` of ``real`` is split off with :func:`synthgov.holdout_split` and the
            report says so (valid only if the synthesizer was fitted on the remaining rows).
        schema: the real table's :class:`~synthgov.TableSchema` (inferred when left out).
        target: the column utility metrics predict.
        sensitive: columns defining subgroups for fairness metrics (e.g. ``["sex", "race"]``).
        quasi_identifiers: columns an attacker is assumed to know (default: every compared column
            except ``secrets``).
        secrets: columns an attacker tries to infer (default: ``target``, else the last column).
        synthesizer: the fitted synthesizer, so the report can show its differential-privacy account.
        metrics: names and/or families to compute (default: all registered).
        thresholds: metric name -> threshold for its verdict, overriding the defaults (``None`` removes one).
        random_state: seed for every random step: same inputs and seed give the same report.
        progress: ``progress(metric_name, done, total)`` called after each metric.
        catalog: where the evaluation is registered (the tables by content digest, the report by its
            sha256) with its ledger event: ``None`` (the workspace's catalog), ``False`` (nowhere), a
            database URL or a :class:`~synthgov.catalog.Catalog`.
    """
    chosen = _select(metrics)
    if thresholds is not None and not isinstance(thresholds, Mapping):
        raise ParameterError("thresholds must map metric names to numbers")
    registry = available_metrics()
    for name, value in (thresholds or {}).items():
        if name not in registry:
            raise ParameterError(f"thresholds names an unknown metric {name!r}",
                                 hint="`synthgov metrics` lists the metrics")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ParameterError(f"the threshold for {name!r} must be a number or None, got {value!r}")
    data = EvalData.prepare(real, synthetic, holdout=holdout, schema=schema, target=target, sensitive=sensitive,
                            quasi_identifiers=quasi_identifiers, secrets=secrets,
                            holdout_fraction=holdout_fraction, random_state=random_state,
                            privacy=_privacy_of(synthesizer))
    results: dict[str, MetricResult] = {}
    timings: dict[str, float] = {}
    for i, metric in enumerate(chosen):
        start = time.perf_counter()
        results[metric.name] = _run(metric, data)
        timings[metric.name] = round(time.perf_counter() - start, 4)
        if progress is not None:
            progress(metric.name, i + 1, len(chosen))
    thresholds_used = {m.name: m.threshold for m in chosen}
    thresholds_used.update({k: (None if v is None else float(v)) for k, v in (thresholds or {}).items()
                            if k in thresholds_used})
    from .. import __version__, _register

    report = Report(
        results=results,
        definitions={m.name: m.definition_dict() for m in chosen},
        thresholds=thresholds_used,
        inputs=data.describe(),
        privacy=data.privacy,
        notes=data.notes,
        timings=timings,
        created=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        synthgov_version=__version__,
    )
    _register.record_evaluation(catalog=catalog, report=report, real=real, synthetic=synthetic, holdout=holdout)
    return report


def _run(metric: Metric, data: EvalData) -> MetricResult:
    for need in sorted(metric.needs):
        if need == "holdout" and data.holdout_problem:
            return MetricResult.not_computed(data.holdout_problem)
        if need in _NEED_TEXT and not getattr(data, need):
            return MetricResult.not_computed(_NEED_TEXT[need])
    try:
        result = metric.compute(data)
    except NotComputed as exc:
        return MetricResult.not_computed(str(exc))
    except SynthgovError as exc:
        return MetricResult.not_computed(str(exc))
    if not isinstance(result, MetricResult):
        raise TypeError(f"metric {metric.name!r} returned {type(result).__name__}, not a MetricResult")
    return result
