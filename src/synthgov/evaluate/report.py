"""The evaluation report: every metric's value with its definition, verdicts, and what was assumed.

A :class:`Report` is plain data. :meth:`Report.to_json` writes a stable,
versioned document (``"format": "synthgov.report/1"``) that release metadata
embeds; :meth:`Report.from_json` reads it back exactly. :meth:`Report.to_html`
writes a self-contained page (inline CSS and SVG, no script, no network).

Verdicts compare a metric with its threshold (the metric's default, or one
given to :func:`synthgov.evaluate`): ``pass``, ``fail``, ``not computed`` (the
reason is given) or ``info`` (no threshold). The overall verdict is ``fail`` if
any threshold fails, ``incomplete`` if none fails but some thresholded metric
could not be computed, else ``pass``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_text
from ..errors import InputError
from .base import FAMILIES, MetricResult

__all__ = ["Report", "REPORT_FORMAT", "THREAT_MODEL", "DISCLAIMER"]

REPORT_FORMAT = "synthgov.report/1"
#: A metric's declaration, in the order :meth:`Metric.definition_dict` gives it.
_DEFINITION_KEYS = ("name", "family", "goal", "range", "definition", "source", "threshold", "needs", "summary")

THREAT_MODEL = (
    "Members are the rows of the real table the synthesizer was fitted on (the training rows); "
    "non-members are the holdout rows, drawn from the same population but never shown to it. "
    "The attacker holds the whole synthetic table. For membership inference the attacker also holds "
    "a candidate record and must tell whether it was a member, knowing only its distance to the "
    "synthetic rows. For singling-out (Anonymeter's design) the attacker writes predicates from the "
    "synthetic rows and claims each isolates one real person; for linkability and attribute inference "
    "the attacker knows some columns of a target record (the quasi-identifiers, or every column but the "
    "secrets) and tries to link its two halves or guess its secret columns; each attack is run on training rows "
    "(main), on holdout rows (control) and as a random guess (baseline), and only the excess of "
    "main over control is counted as risk."
)

DISCLAIMER = (
    "These privacy figures come from empirical attacks on this one synthetic table. They are not "
    "guarantees: a stronger attacker may do better, and low risk here is not proof of anonymity. "
    "Distance-based measures (exact copies, DCR, NNDR) are not evidence of anonymity either. Only "
    "differential privacy gives a formal guarantee, and only when the generator provides it."
)


@dataclasses.dataclass
class Report:
    """The outcome of :func:`synthgov.evaluate`.

    Attributes:
        results: metric name -> :class:`MetricResult`.
        definitions: metric name -> its declaration (family, goal, range, definition, source).
        thresholds: metric name -> threshold used for its verdict (``None``: no verdict).
        inputs: what was compared (sizes, columns, roles, holdout source).
        privacy: the generator's differential-privacy account, or ``None`` (no formal guarantee).
        notes: what the reader must know about the inputs and the method.
        timings: seconds each metric took.
        created: ISO-8601 time of the evaluation; ``synthgov_version``: who computed it.
    """

    results: dict[str, MetricResult]
    definitions: dict[str, dict[str, Any]]
    thresholds: dict[str, float | None]
    inputs: dict[str, Any]
    privacy: dict[str, Any] | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    created: str = ""
    synthgov_version: str = ""

    # -- views -----------------------------------------------------------------
    @property
    def scores(self) -> dict[str, dict[str, MetricResult]]:
        """family -> metric name -> :class:`MetricResult` (``.value``, ``.ci``, ``.details``)."""
        out: dict[str, dict[str, MetricResult]] = {}
        for family in FAMILIES:
            names = [n for n, d in self.definitions.items() if d["family"] == family and n in self.results]
            if names:
                out[family] = {n: self.results[n] for n in names}
        return out

    def __getitem__(self, name: str) -> MetricResult:
        return self.results[name]

    def verdict_of(self, name: str) -> str:
        """``pass``, ``fail``, ``not computed`` or ``info`` for one metric."""
        result, threshold = self.results[name], self.thresholds.get(name)
        if not result.computed:
            return "not computed"
        if threshold is None:
            return "info"
        goal = self.definitions[name]["goal"]
        ok = result.value >= threshold if goal == "maximize" else result.value <= threshold
        return "pass" if ok else "fail"

    @property
    def verdicts(self) -> dict[str, str]:
        """metric name -> verdict, for every metric that has a threshold."""
        return {n: self.verdict_of(n) for n in self.results if self.thresholds.get(n) is not None}

    @property
    def verdict(self) -> str:
        """``pass``, ``fail`` or ``incomplete`` over every thresholded metric."""
        values = set(self.verdicts.values())
        if "fail" in values:
            return "fail"
        if "not computed" in values:
            return "incomplete"
        return "pass"

    @property
    def privacy_statement(self) -> str:
        """What the report may claim about formal privacy: never more than the generator gives."""
        if self.privacy:
            eps, delta = self.privacy.get("epsilon"), self.privacy.get("delta")
            return (f"The generator is differentially private with epsilon = {eps:g} and delta = {delta:g} "
                    f"({self.privacy.get('mechanism', 'mechanism not named')}, neighbouring: "
                    f"{self.privacy.get('neighbouring', 'add/remove one row')}). This bounds what any attacker "
                    "can learn about one training row; the empirical figures in this report are measured on top of it.")
        return ("No formal privacy guarantee: the generator is not differentially private (or was not named). "
                "The figures in this report are empirical measurements only.")

    # -- JSON ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        metrics = []
        for name, result in self.results.items():
            metrics.append({
                **self.definitions[name],
                "value": result.value,
                "ci": None if result.ci is None else list(result.ci),
                "reason": result.reason,
                "threshold": self.thresholds.get(name),
                "verdict": self.verdict_of(name),
                "seconds": self.timings.get(name),
                "details": result.details,
            })
        return {
            "format": REPORT_FORMAT,
            "synthgov_version": self.synthgov_version,
            "created": self.created,
            "verdict": self.verdict,
            "inputs": self.inputs,
            "threat_model": THREAT_MODEL,
            "disclaimer": DISCLAIMER,
            "privacy": {"account": self.privacy, "statement": self.privacy_statement},
            "notes": list(self.notes),
            "metrics": metrics,
        }

    def to_json(self, path: str | os.PathLike | None = None, *, indent: int | None = 1) -> str:
        """The report as JSON text; written atomically to ``path`` too when given."""
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)
        if path is not None:
            atomic_write_text(Path(path), text + "\n")
        return text

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Report:
        if not isinstance(doc, dict) or doc.get("format") != REPORT_FORMAT:
            raise InputError("this is not a synthgov evaluation report", hint=f"expected format {REPORT_FORMAT!r}")
        results, definitions, thresholds, timings = {}, {}, {}, {}
        for m in doc["metrics"]:
            name = m["name"]
            results[name] = MetricResult(value=m["value"], ci=None if m["ci"] is None else tuple(m["ci"]),
                                         details=m["details"], reason=m["reason"])
            definitions[name] = {k: m.get(k) for k in _DEFINITION_KEYS}
            thresholds[name] = m.get("threshold")
            if m.get("seconds") is not None:
                timings[name] = m["seconds"]
        return cls(results=results, definitions=definitions, thresholds=thresholds, inputs=doc["inputs"],
                   privacy=doc["privacy"]["account"], notes=list(doc["notes"]), timings=timings,
                   created=doc["created"], synthgov_version=doc["synthgov_version"])

    @classmethod
    def from_json(cls, source: str | os.PathLike) -> Report:
        """Read a report from JSON text or from a file path."""
        return cls.from_dict(read_json_document(source, what="report", file="report.json"))

    # -- HTML --------------------------------------------------------------------------
    def to_html(self, path: str | os.PathLike | None = None) -> str:
        """A self-contained HTML page (no script, no network); written atomically to ``path`` when given."""
        from ._html import render_html

        text = render_html(self)
        if path is not None:
            atomic_write_text(Path(path), text)
        return text

    def summary(self) -> dict[str, Any]:
        """Headline figures: verdict, and each computed metric's value by family."""
        return {
            "verdict": self.verdict,
            **{family: {n: r.value for n, r in metrics.items() if r.computed}
               for family, metrics in self.scores.items()},
        }


def read_json_document(source: str | os.PathLike, *, what: str, file: str) -> Any:
    """Parse JSON text, or the JSON file at a path; InputError naming ``what`` when there is none or it is not JSON."""
    text = source
    if not (isinstance(source, str) and source.lstrip().startswith("{")):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"no {what} at {path}", hint=f"pass the path of a {file} file")
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"the {what} is not valid JSON: {exc}") from None
