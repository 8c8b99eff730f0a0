"""Model collapse: fit a generator on its own output, generation after generation, and measure the decay.

``collapse_test(data, generations=10, method="copula")`` splits a real holdout
off ``data`` (for the utility models), draws ``rows`` real training rows
(generation 0) and fits the generator on them; generation 1 is its output,
generation 2 is the output of a generator fitted on generation 1, and so on.
With ``real_share=r`` a second chain runs beside the first, identical except
that each generation's training set keeps a share ``r`` of real rows (freshly
drawn each generation) in place of synthetic ones: the mitigation Shumailov et
al. (Nature 2024, "AI models collapse when trained on recursively generated
data") found to slow collapse. Both chains share their seeds, so they differ
only in the real share.

Every generation is measured against the original real training rows (all of
them, not the ``rows`` drawn): fidelity (the evaluation metrics
``fidelity_score``, ``ks_complement``, ``tv_complement``, ``range_coverage``),
tail and variance shrinkage per numeric column (standard deviation and the
1st-99th percentile span, each over the original's), the categories and
discrete values that went extinct (``category_coverage``; a lost level is named
only when at least 10 real rows hold it), and utility (``utility_ratio``: a
model trained on the generation, tested on the real holdout) when a target is
given. :class:`CollapseReport` holds the figures and writes them as JSON and as
a self-contained HTML page with line plots.

>>> import synthgov as sg
>>> df = sg.datasets.load_cps1988()
>>> report = collapse_test(df, generations=2, rows=400, real_share=0.25, random_state=0)
>>> [chain["label"] for chain in report.chains]
['synthetic only', '25% real each generation']
>>> [g["generation"] for g in report.chains[0]["generations"]]
[0, 1, 2]
>>> report.chains[1]["generations"][2]["trained_on"]
{'real': 100, 'synthetic': 300}
>>> len(report.series("fidelity_score"))
3
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_write_text
from ..errors import InputError, ParameterError
from .base import MetricResult, get_metric
from .data import MIN_HOLDOUT_ROWS, EvalData, holdout_split
from .run import _run

__all__ = ["collapse_test", "CollapseReport", "COLLAPSE_FORMAT", "MAX_GENERATIONS", "MIN_ROWS",
           "DISCRETE_VALUES", "HOLDOUT_FRACTION"]

COLLAPSE_FORMAT = "synthgov.collapse/1"
#: The longest chain run (each generation is one fit and one evaluation).
MAX_GENERATIONS = 1000
#: Fewest rows per generation: fewer and the figures are noise.
MIN_ROWS = 50
#: A numeric column with at most this many distinct real values is discrete: its values can go extinct.
DISCRETE_VALUES = 20
#: Share of the real rows held out to test the utility models on (never shown to any generator).
HOLDOUT_FRACTION = 0.2
#: Metrics computed on every generation (``utility_ratio`` too, when a target is given).
FIDELITY_METRICS = ("fidelity_score", "ks_complement", "tv_complement", "range_coverage")
COVERAGE_METRIC = "category_coverage"
UTILITY_METRIC = "utility_ratio"
LOW_Q, HIGH_Q = 0.01, 0.99

#: Definitions of the figures this module computes itself (the metrics carry their own).
DEFINITIONS = {
    "std_ratio": "A numeric column's standard deviation in the generation over its standard deviation in the "
                 "original real training rows (present values only). Below 1: the variance shrank.",
    "span_ratio": "A numeric column's 1st-to-99th percentile span in the generation over the same span in the "
                  "original real training rows. Below 1: the tails shrank towards the centre.",
    "extinct": "Categories (of categorical and boolean columns) and values (of numeric columns with at most "
               f"{DISCRETE_VALUES} distinct real values) present in the original real training rows and absent "
               "from the generation. A category is named only when at least 10 real rows hold it; rarer ones are "
               "counted, never named. Discrete numeric values are counted only.",
    "trained_on": "How many real and synthetic rows the generation's generator was fitted on.",
}


def _check_int(value: Any, name: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low \
            or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ParameterError(f"{name} must be an integer {bound}, got {value!r}")
    return int(value)


def _check_share(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not math.isfinite(value) \
            or not 0.0 <= value < 1.0:
        raise ParameterError(f"real_share must be a number in [0, 1), got {value!r}",
                             hint="e.g. 0.2 keeps 20% real rows in each generation's training set; "
                                  "0 runs the synthetic-only chain alone")
    return float(value)


def _seed(random_state: int, *key: int) -> int:
    return int(np.random.SeedSequence([random_state, *key]).generate_state(1)[0])


def collapse_test(data, *, generations: int = 10, method: str = "copula", real_share: float = 0.0,
                  rows: int | None = None, target: str | None = None, schema=None, random_state: int = 0,
                  progress: Callable[[str, int, int], None] | None = None) -> CollapseReport:
    """Fit ``method`` on its own output ``generations`` times and measure the decay against the real data.

    Args:
        data: the real table (DataFrame or a path :func:`synthgov.read` accepts).
        generations: generators fitted one after the other (at least 1).
        method: a registered generator name (``synthgov.available_synthesizers()``).
        real_share: in [0, 1). Above 0, a second chain keeps this share of real rows in each generation's
            training set (the mitigation), and the report compares the two.
        rows: rows per generation (each training set and each output); default: every training row.
        target: the column the utility models predict; no utility figures without it.
        schema: the real table's :class:`~synthgov.TableSchema`, used for every fit (inferred when left out).
        random_state: seed of every random step: the same inputs and seed give the same report.
        progress: ``progress(stage, done, total)`` after each generation (stage: the chain's label).
    """
    from ..generators import synthesizer
    from ..table.schema import TableSchema

    generations = _check_int(generations, "generations", 1, MAX_GENERATIONS)
    real_share = _check_share(real_share)
    random_state = _check_int(random_state, "random_state", 0)
    if rows is not None:
        rows = _check_int(rows, "rows", MIN_ROWS)
    if not isinstance(method, str):
        raise ParameterError(f"method must be a generator name, got {method!r}")
    synthesizer(method, random_state=0)  # an unknown name fails here, before any work
    real = data if isinstance(data, pd.DataFrame) else _read(data)
    if target is not None and target not in real.columns:
        raise ParameterError(f"target {target!r} is not a column of the data",
                             hint=f"columns are: {', '.join(map(str, real.columns))}")
    if len(real) < MIN_ROWS + MIN_HOLDOUT_ROWS:
        raise InputError(f"the table has {len(real)} rows; a collapse test needs at least "
                         f"{MIN_ROWS + MIN_HOLDOUT_ROWS} ({MIN_HOLDOUT_ROWS} held out for the utility models)")
    train, holdout = holdout_split(real, fraction=HOLDOUT_FRACTION, random_state=random_state)
    train, holdout = train.reset_index(drop=True), holdout.reset_index(drop=True)
    if rows is None:
        rows = len(train)
    if rows > len(train):
        raise ParameterError(f"rows is {rows}, but only {len(train)} real rows are left to draw generation 0 from "
                             f"({HOLDOUT_FRACTION:.0%} of {len(real)} are held out)",
                             hint=f"pass rows={len(train)} or fewer")
    if schema is None:
        schema = TableSchema.infer(train)
    elif not isinstance(schema, TableSchema):
        schema = TableSchema.load(schema)
    meter = _Meter(train, holdout, schema, target, random_state)  # also checks the target can be evaluated
    shares = [0.0] + ([real_share] if real_share > 0 else [])
    real_rows = [0 if s == 0 else min(max(1, round(s * rows)), rows - 1) for s in shares]
    start = train.sample(rows, random_state=_seed(random_state, 0)).reset_index(drop=True)
    baseline = meter.measure(start, generation=0, trained_on=None)
    chains = []
    for share, k in zip(shares, real_rows, strict=True):
        label = "synthetic only" if share == 0 else f"{share:.0%} real each generation"
        records = [baseline]
        current = start
        for g in range(1, generations + 1):
            if g == 1 or k == 0:
                fit_on, trained_on = current, {"real": rows if g == 1 else 0, "synthetic": 0 if g == 1 else rows}
            else:
                kept = current.sample(rows - k, random_state=_seed(random_state, g, 1))
                fresh = train.sample(k, random_state=_seed(random_state, g, 2))
                fit_on = pd.concat([kept, fresh], ignore_index=True)
                trained_on = {"real": k, "synthetic": rows - k}
            seed = _seed(random_state, g, 3)
            model = synthesizer(method, random_state=seed).fit(fit_on, schema=schema)
            current = model.sample(rows, random_state=seed).reset_index(drop=True)
            records.append(meter.measure(current, generation=g, trained_on=trained_on))
            if progress is not None:
                progress(label, g, generations)
        chains.append({"label": label, "real_share": share, "real_rows": k, "generations": records})
    from .. import __version__

    names = list(FIDELITY_METRICS) + [COVERAGE_METRIC] + ([UTILITY_METRIC] if target else [])
    definitions = {n: get_metric(n).definition_dict() for n in names}
    definitions.update({n: {"name": n, "definition": text} for n, text in DEFINITIONS.items()})
    settings = {"method": method, "generations": generations, "rows": rows, "real_share": real_share,
                "target": target, "random_state": random_state,
                "real_rows": {"data": len(real), "train": len(train), "holdout": len(holdout)},
                "numeric": list(meter.numeric), "categorical": list(meter.categorical),
                "discrete": list(meter.discrete)}
    notes = [f"Generation 0 is {rows:,} real training rows drawn at random; generation g is the output of a "
             f"'{method}' generator fitted on generation g-1's training set. Every generation is compared with all "
             f"{len(train):,} original real training rows; utility models are tested on {len(holdout):,} real "
             "holdout rows no generator saw."]
    if len(shares) > 1:
        notes.append(f"Mitigation: from generation 2 on, each training set of the second chain is "
                     f"{rows - real_rows[1]:,} rows of the previous generation plus {real_rows[1]:,} real training "
                     "rows drawn afresh. Both chains use the same seeds.")
    notes.extend(meter.notes)
    return CollapseReport(settings=settings, chains=chains, definitions=definitions, notes=notes,
                          created=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
                          synthgov_version=__version__)


def _read(source) -> pd.DataFrame:
    from ..table.io import read

    frame = read(source)
    if len(frame) == 0:
        raise InputError("the table has no rows")
    return frame


def _finite(values: pd.Series) -> np.ndarray:
    x = values.to_numpy(dtype=float)
    return x[np.isfinite(x)]


def _ratio(a: float, b: float) -> float | None:
    if not (math.isfinite(a) and math.isfinite(b)) or b <= 0:
        return None
    return round(a / b, 6)


def _spread(x: np.ndarray) -> tuple[float, float]:
    if x.size < 2:
        return float("nan"), float("nan")
    lo, hi = np.quantile(x, [LOW_Q, HIGH_Q])
    return float(np.std(x, ddof=1)), float(hi - lo)


def _value(result: MetricResult) -> float | None:
    if not result.computed or result.value is None or not math.isfinite(result.value):
        return None
    return round(float(result.value), 6)


class _Meter:
    """Measures one generation against the original real training rows (reference figures computed once)."""

    def __init__(self, train: pd.DataFrame, holdout: pd.DataFrame, schema, target: str | None, random_state: int):
        self.train, self.holdout, self.schema, self.target = train, holdout, schema, target
        self.random_state = random_state
        probe = self._data(train.head(MIN_ROWS))  # converts every training row: the reference figures
        self.numeric, self.categorical = list(probe.numeric), list(probe.categorical)
        self.notes = [n for n in probe.notes if n.startswith("columns not compared")]
        self.reference: dict[str, dict[str, Any]] = {}
        self.discrete: list[str] = []
        for name in self.numeric:
            x = _finite(probe.real[name])
            std, span = _spread(x)
            distinct = np.unique(x)
            self.reference[name] = {"std": std, "span": span}
            if distinct.size <= DISCRETE_VALUES:
                self.reference[name]["values"] = distinct
                self.discrete.append(name)
        self.metrics = list(FIDELITY_METRICS) + [COVERAGE_METRIC] + ([UTILITY_METRIC] if target else [])

    def _data(self, frame: pd.DataFrame) -> EvalData:
        return EvalData.prepare(self.train, frame, holdout=self.holdout, schema=self.schema, target=self.target,
                                random_state=self.random_state)

    def measure(self, frame: pd.DataFrame, *, generation: int, trained_on: dict[str, int] | None) -> dict[str, Any]:
        data = self._data(frame)
        results = {name: _run(get_metric(name), data) for name in self.metrics}
        fidelity = {name: _value(results[name]) for name in FIDELITY_METRICS}
        shrinkage, values_lost = {}, {}
        for name in self.numeric:
            x = _finite(data.synthetic[name])
            std, span = _spread(x)
            ref = self.reference[name]
            shrinkage[name] = {"std_ratio": _ratio(std, ref["std"]), "span_ratio": _ratio(span, ref["span"])}
            if "values" in ref:
                values_lost[name] = {"lost": int((~np.isin(ref["values"], x)).sum()), "of": int(ref["values"].size)}
        coverage = results[COVERAGE_METRIC]
        categories = {}
        if coverage.computed:
            for name, col in coverage.details["columns"].items():
                categories[name] = {"lost": col["lost_total"], "named": list(col["lost_levels"]),
                                    "unnamed": col["lost_unnamed"], "of": col["real_levels"]}
        total = sum(c["lost"] for c in categories.values()) + sum(v["lost"] for v in values_lost.values())
        record = {
            "generation": generation,
            "trained_on": trained_on,
            "fidelity": fidelity,
            "category_coverage": _value(coverage),
            "shrinkage": shrinkage,
            "extinct": {"total": total, "categories": categories, "values": values_lost},
            "utility": None,
            "not_computed": {name: r.reason for name, r in results.items() if not r.computed},
        }
        if self.target is not None:
            result = results[UTILITY_METRIC]
            record["utility"] = {"utility_ratio": _value(result)}
            if result.computed:
                d = result.details
                record["utility"].update({"score": d.get("primary_score"), "tstr": _round(d.get("tstr")),
                                          "trtr": _round(d.get("trtr"))})
        return record


def _round(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else round(float(value), 6)


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 6) if values else None


#: measure name -> how to read it off one generation's record (:meth:`CollapseReport.series`).
SERIES: dict[str, Callable[[dict[str, Any]], float | None]] = {
    **{name: (lambda n: lambda r: r["fidelity"].get(n))(name) for name in FIDELITY_METRICS},
    "category_coverage": lambda r: r["category_coverage"],
    "utility_ratio": lambda r: (r["utility"] or {}).get("utility_ratio"),
    "std_ratio": lambda r: _mean(s["std_ratio"] for s in r["shrinkage"].values()),
    "span_ratio": lambda r: _mean(s["span_ratio"] for s in r["shrinkage"].values()),
    "extinct": lambda r: r["extinct"]["total"],
}


@dataclasses.dataclass
class CollapseReport:
    """The outcome of :func:`collapse_test`: one chain of generations, or two (without and with real rows).

    Attributes:
        settings: method, generations, rows, real_share, target, seed, row counts and the compared columns.
        chains: one dict per chain: ``label``, ``real_share``, ``real_rows`` and ``generations`` (a record per
            generation, 0 being the real rows drawn: ``fidelity``, ``category_coverage``, ``shrinkage`` per
            numeric column, ``extinct``, ``utility``, ``trained_on``, ``not_computed``).
        definitions: every figure's definition (the metrics' own declarations, and this module's figures).
        notes: how the chains were built; columns left out.
    """

    settings: dict[str, Any]
    chains: list[dict[str, Any]]
    definitions: dict[str, dict[str, Any]]
    notes: list[str] = dataclasses.field(default_factory=list)
    created: str = ""
    synthgov_version: str = ""

    def chain(self, real_share: float = 0.0) -> dict[str, Any]:
        """The chain run with ``real_share`` (0: the synthetic-only chain)."""
        for chain in self.chains:
            if math.isclose(chain["real_share"], real_share):
                return chain
        raise ParameterError(f"no chain was run with real_share={real_share!r}",
                             hint=f"chains: {', '.join(str(c['real_share']) for c in self.chains)}")

    def series(self, measure: str, *, real_share: float = 0.0, column: str | None = None) -> list[float | None]:
        """One figure per generation (0 first) of one chain.

        ``measure``: a fidelity metric name, ``category_coverage``, ``utility_ratio``, ``extinct`` (count), or
        ``std_ratio`` / ``span_ratio`` (the mean over numeric columns, or ``column``'s own)."""
        generations = self.chain(real_share)["generations"]
        if column is not None:
            if measure not in ("std_ratio", "span_ratio"):
                raise ParameterError("column= applies to std_ratio and span_ratio only")
            if column not in generations[0]["shrinkage"]:
                raise ParameterError(f"{column!r} is not a compared numeric column",
                                     hint=f"numeric columns: {', '.join(generations[0]['shrinkage'])}")
            return [g["shrinkage"][column][measure] for g in generations]
        if measure not in SERIES:
            raise ParameterError(f"unknown measure {measure!r}", hint=f"measures: {', '.join(SERIES)}")
        return [SERIES[measure](g) for g in generations]

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per chain: each measure at generation 1 and at the last generation."""
        out = {}
        for chain in self.chains:
            figures = {}
            for measure in SERIES:
                values = self.series(measure, real_share=chain["real_share"])
                if any(v is not None for v in values):
                    figures[measure] = {"generation_1": values[1], "last": values[-1]}
            out[chain["label"]] = figures
        return out

    # -- JSON ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": COLLAPSE_FORMAT, "synthgov_version": self.synthgov_version, "created": self.created,
                "settings": self.settings, "summary": self.summary(), "chains": self.chains,
                "definitions": self.definitions, "notes": list(self.notes)}

    def to_json(self, path: str | os.PathLike | None = None, *, indent: int | None = 1) -> str:
        """The report as JSON text; written atomically to ``path`` too when given."""
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)
        if path is not None:
            atomic_write_text(Path(path), text + "\n")
        return text

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> CollapseReport:
        if not isinstance(doc, Mapping) or doc.get("format") != COLLAPSE_FORMAT:
            raise InputError("this is not a synthgov collapse report", hint=f"expected format {COLLAPSE_FORMAT!r}")
        try:
            return cls(settings=dict(doc["settings"]), chains=list(doc["chains"]),
                       definitions=dict(doc["definitions"]), notes=list(doc["notes"]), created=doc["created"],
                       synthgov_version=doc["synthgov_version"])
        except (KeyError, TypeError) as exc:
            raise InputError(f"the collapse report is incomplete: {exc}") from None

    @classmethod
    def from_json(cls, source: str | os.PathLike) -> CollapseReport:
        """Read a report from JSON text or from a file path."""
        from .report import read_json_document

        return cls.from_dict(read_json_document(source, what="collapse report", file="collapse.json"))

    # -- HTML --------------------------------------------------------------------------
    def to_html(self, path: str | os.PathLike | None = None) -> str:
        """A self-contained HTML page with line plots (no script, no network); written atomically to ``path``."""
        from ._collapse_html import render_collapse_html

        text = render_collapse_html(self)
        if path is not None:
            atomic_write_text(Path(path), text)
        return text
