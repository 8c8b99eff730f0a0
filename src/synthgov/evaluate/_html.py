"""Render a :class:`~synthgov.evaluate.report.Report` as one self-contained HTML page.

The page has no script and no external reference of any kind: styles are
inline CSS, charts are inline SVG (built by :mod:`synthgov.evaluate._svg`). It
is laid out by the Jinja2 template ``templates/report.html.j2`` with
autoescaping on, so every piece of text that comes from data (column names,
category labels, reasons) is escaped; the SVG charts escape their own text.

This module turns the report into plain view data for the template: formatted
numbers, verdict badges, breakdown tables (capped so a 55-column table stays
readable) and charts drawn from each metric's ``details["plot"]``.

>>> from synthgov.evaluate.base import MetricResult
>>> from synthgov.evaluate.report import Report
>>> definition = {"name": "demo", "family": "fidelity", "goal": "maximize", "range": [0, 1],
...               "definition": "A demo score.", "source": "this docstring", "threshold": 0.8, "needs": []}
>>> report = Report(results={"demo": MetricResult(0.9, details={"per_column": {"<b>": 0.9}})},
...                 definitions={"demo": definition}, thresholds={"demo": 0.8}, inputs={})
>>> page = render_html(report)
>>> "<script" in page, "&lt;b&gt;" in page, "A demo score." in page
(False, True, True)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from ..errors import SynthgovError
from . import _svg
from .base import FAMILIES
from .report import DISCLAIMER, REPORT_FORMAT, THREAT_MODEL

__all__ = ["render_html", "MAX_ROWS", "MAX_COLUMNS", "MAX_PAIRS"]

#: the longest breakdown table shown (the JSON report holds every row).
MAX_ROWS = 25
#: the widest breakdown table shown.
MAX_COLUMNS = 10
#: most key: value pairs shown for a flat breakdown (one value per column, say).
MAX_PAIRS = 60
#: most small multiples in a marginals plot.
MAX_MARGINALS = 80
_MAX_TEXT = 240
_INLINE = 6  # a breakdown of at most this many figures is one line of the details list

FAMILY_TEXT = {
    "fidelity": ("Fidelity", "How closely the synthetic table reproduces the real one: each column's distribution, "
                             "the relations between pairs of columns, and the table as a whole."),
    "utility": ("Utility", "Whether a model trained on the synthetic rows predicts real rows as well as a model "
                           "trained on the real rows."),
    "privacy": ("Privacy", "How much the synthetic table exposes the real rows it was made from, measured by "
                           "attacks. Read these figures with the threat model and the disclaimer at the top."),
    "fairness": ("Fairness", "Whether each sensitive subgroup is represented, and served by models, as well with "
                             "the synthetic table as with the real one."),
    "diversity": ("Diversity and completeness", "Whether the synthetic table covers the categories, ranges and "
                                                "missing-value patterns of the real one without repeating itself."),
}
_BADGES = {"pass": "✓ pass", "fail": "✗ fail", "not computed": "– not computed", "info": "info",
           "incomplete": "! incomplete"}
_HOLDOUT_SOURCE = {"given": "given", "split": "split off the real table by synthgov (see the notes)",
                   None: "none"}


def render_html(report) -> str:
    """The report as a self-contained HTML page (a string)."""
    return _template().render(**_context(report))


# -- template ------------------------------------------------------------------------
_ENV = None


def _template():
    global _ENV
    if _ENV is None:
        import jinja2

        _ENV = jinja2.Environment(loader=jinja2.PackageLoader("synthgov.evaluate", "templates"), autoescape=True,
                                  undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        _ENV.filters["wbr"] = _wbr
    return _ENV.get_template("report.html.j2")


# -- view data -------------------------------------------------------------------------
def _context(report) -> dict[str, Any]:
    anchors = _anchors(report.results)
    metrics = {name: _metric_view(report, name, anchors[name]) for name in report.results}
    families = []
    known = set()
    for family in FAMILIES:
        names = [n for n in report.results if report.definitions.get(n, {}).get("family") == family]
        names.sort(key=lambda n: not report.definitions[n].get("summary"))  # a family's headline score first
        known.update(names)
        if names:
            families.append(_family_view(family, [metrics[n] for n in names]))
    others = [n for n in report.results if n not in known]
    if others:
        families.append(_family_view("other", [metrics[n] for n in others]))
    counts: dict[str, int] = {}
    for m in metrics.values():
        counts[m["verdict"]] = counts.get(m["verdict"], 0) + 1
    verdict = report.verdict
    return {
        "verdict": verdict,
        "verdict_label": _BADGES[verdict],
        "verdict_counts": [(v, counts[v]) for v in ("pass", "fail", "not computed", "info") if counts.get(v)],
        "privacy_statement": report.privacy_statement,
        "has_dp": bool(report.privacy),
        "threat_model": THREAT_MODEL,
        "disclaimer": DISCLAIMER,
        "notes": [str(n) for n in report.notes],
        "inputs": _inputs_view(report.inputs or {}),
        "families": families,
        "created": report.created,
        "version": report.synthgov_version,
        "format": REPORT_FORMAT,
        "n_metrics": len(metrics),
    }


def _anchors(names) -> dict[str, str]:
    out, used = {}, set()
    for name in names:
        slug = "m-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-") or "metric")
        anchor, i = slug, 2
        while anchor in used:
            anchor, i = f"{slug}-{i}", i + 1
        used.add(anchor)
        out[name] = anchor
    return out


def _family_view(family: str, metrics: list[dict[str, Any]]) -> dict[str, Any]:
    title, blurb = FAMILY_TEXT.get(family, ("Other metrics", "Metrics outside the five standard families."))
    counts: dict[str, int] = {}
    for m in metrics:
        counts[m["verdict"]] = counts.get(m["verdict"], 0) + 1
    return {"key": family, "anchor": f"family-{family}", "title": title, "blurb": blurb, "metrics": metrics,
            "counts": [(v, counts[v]) for v in ("pass", "fail", "not computed", "info") if counts.get(v)]}


def _metric_view(report, name: str, anchor: str) -> dict[str, Any]:
    result = report.results[name]
    definition = report.definitions.get(name, {})
    goal = definition.get("goal", "maximize")
    threshold = report.thresholds.get(name)
    if name in report.definitions:
        verdict = report.verdict_of(name)
    else:  # undeclared: its direction is unknown, so it is never judged against a threshold
        verdict = "info" if result.computed else "not computed"
    rng = definition.get("range")
    details = result.details if isinstance(result.details, Mapping) else {}
    facts, blocks = _detail_blocks({k: v for k, v in details.items() if k != "plot"})
    return {
        "name": str(name),
        "anchor": anchor,
        "value": _svg.fmt_number(result.value) if result.computed else "not computed",
        "computed": result.computed,
        "ci": None if result.ci is None else f"{_svg.fmt_number(result.ci[0])} – {_svg.fmt_number(result.ci[1])}",
        "threshold": None if threshold is None else f"{'≥' if goal == 'maximize' else '≤'} {_svg.fmt_number(threshold)}",
        "verdict": verdict,
        "badge": _BADGES.get(verdict, verdict),
        "goal": "higher is better" if goal == "maximize" else "lower is better",
        "range": None if not rng else f"{float(rng[0]):g} to {float(rng[1]):g}",
        "definition": str(definition.get("definition") or "No definition was recorded for this metric."),
        "source": str(definition.get("source") or ""),
        "reason": result.reason,
        "seconds": None if report.timings.get(name) is None else f"{report.timings[name]:.2f} s",
        "facts": facts,
        "blocks": blocks,
        "plots": _plots(details.get("plot")),
    }


def _inputs_view(inputs: Mapping[str, Any]) -> dict[str, Any]:
    rows = inputs.get("rows") or {}
    columns = inputs.get("columns") or {}
    kinds: dict[str, int] = {}
    for kind in columns.values():
        kinds[str(kind)] = kinds.get(str(kind), 0) + 1
    roles = []
    for key, label in (("target", "Target"), ("sensitive", "Sensitive columns"),
                       ("quasi_identifiers", "Quasi-identifiers (what the attacker knows)"),
                       ("secrets", "Secrets (what the attacker tries to infer)"), ("random_state", "Random seed")):
        value = inputs.get(key)
        if value is None or value == [] or value == "":
            continue
        roles.append((label, ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)))
    holdout = rows.get("holdout")
    return {
        "rows": [("Real (training rows)", _svg.fmt_number(rows.get("real"))),
                 ("Synthetic", _svg.fmt_number(rows.get("synthetic"))),
                 ("Holdout (real rows never shown to the generator)",
                  "none" if holdout is None else _svg.fmt_number(holdout))] if rows else [],
        "holdout_source": _HOLDOUT_SOURCE.get(inputs.get("holdout_source"), str(inputs.get("holdout_source"))),
        "columns": [(str(k), str(v)) for k, v in columns.items()],
        "kinds": ", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])),
        "excluded": [(str(k), str(v)) for k, v in (inputs.get("excluded") or {}).items()],
        "roles": roles,
    }


# -- details: generic breakdowns ---------------------------------------------------------
def _wbr(text: Any) -> Markup:
    """Escaped text that may break after an underscore (long snake_case names in narrow cells)."""
    return Markup("_<wbr>").join(escape(part) for part in str(text).split("_"))


def _flat(v: Any) -> bool:
    """A scalar, or a short list of scalars (an interval, a pair of names): fits in one table cell."""
    return _scalar(v) or (isinstance(v, (list, tuple)) and len(v) <= 12 and all(_scalar(x) for x in v))


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _cell(v: Any) -> str:
    if _scalar(v):
        text = _svg.fmt_number(v) if not isinstance(v, str) else v
    elif isinstance(v, (list, tuple)) and all(_scalar(x) for x in v):
        text = ", ".join(_cell(x) for x in v)
    else:
        text = json.dumps(v, ensure_ascii=False, default=str)
    return _clip(text)


def _joined(items, cap: int = 30) -> str:
    items = list(items)
    shown = ", ".join(_cell(v) for v in items[:cap])
    return (shown + f" … ({len(items) - cap:,} more)") if len(items) > cap else (shown or "none")


def _clip(text: str, chars: int = _MAX_TEXT) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _label(key: Any) -> str:
    return str(key).replace("_", " ")


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _table(title: str, columns: list[str], rows: list[list[Any]], *, total: int | None = None,
           total_columns: int | None = None) -> dict[str, Any]:
    shown = rows[:MAX_ROWS]
    numeric = [all(_is_num(r[j]) or r[j] is None for r in shown if j < len(r)) and any(
        _is_num(r[j]) for r in shown if j < len(r)) for j in range(len(columns))]
    more_rows = (total if total is not None else len(rows)) - len(shown)
    more_cols = (total_columns or len(columns)) - len(columns)
    return {"kind": "table", "title": title, "columns": columns, "numeric": numeric,
            "rows": [[_cell(r[j]) if j < len(r) else "" for j in range(len(columns))] for r in shown],
            "more": ", ".join(p for p in (f"{more_rows:,} more rows" if more_rows > 0 else "",
                                          f"{more_cols:,} more columns" if more_cols > 0 else "") if p)}


def _detail_blocks(details: Mapping[str, Any], prefix: str = "", depth: int = 0):
    """(facts, blocks): scalar details as a fact list, breakdowns as tables."""
    facts: list[tuple[str, str]] = []
    blocks: list[dict[str, Any]] = []
    for key, value in details.items():
        name = _label(key)
        title = f"{prefix}{name}"
        if _scalar(value):
            facts.append((name, _cell(value)))
        elif isinstance(value, (list, tuple)):
            # rows given as lists may name their columns in "<row>_fields" ("pairs" -> "pair_fields")
            headers = details.get(f"{str(key).removesuffix('s')}_fields")
            headers = [str(h) for h in headers] if isinstance(headers, (list, tuple)) else None
            blocks.extend(_list_block(title, name, list(value), facts, headers))
        elif isinstance(value, Mapping):
            for block in _mapping_block(title, value, depth):
                if block["kind"] == "fact":
                    facts.append((name, block["text"]))
                else:
                    blocks.append(block)
        else:
            facts.append((name, _cell(str(value))))
    return facts, blocks


def _list_block(title: str, name: str, items: list[Any], facts: list[tuple[str, str]],
                headers: list[str] | None = None) -> list[dict[str, Any]]:
    if not items or all(_scalar(v) for v in items):
        facts.append((name, _joined(items)))
        return []
    if all(isinstance(v, Mapping) for v in items):
        columns: list[str] = []
        for record in items[:MAX_ROWS]:
            columns.extend(str(k) for k in record if str(k) not in columns)
        shown = columns[:MAX_COLUMNS]
        rows = [[_by_str(record).get(c) for c in shown] for record in items[:MAX_ROWS]]
        return [_table(title, shown, rows, total=len(items), total_columns=len(columns))]
    if all(isinstance(v, (list, tuple)) for v in items):
        width = min(max(len(v) for v in items), MAX_COLUMNS)
        columns = headers[:width] if headers and len(headers) >= width else [""] * width
        return [_table(title, columns, [list(v)[:width] for v in items[:MAX_ROWS]], total=len(items))]
    return [{"kind": "text", "title": title, "text": _cell(items)}]


def _by_str(record: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k): v for k, v in record.items()}


def _mapping_block(title: str, value: Mapping[str, Any], depth: int) -> list[dict[str, Any]]:
    if not value:
        return [{"kind": "fact", "title": title, "text": "none"}]
    items = list(value.items())
    if all(_flat(v) for _, v in items) and len(items) <= _INLINE:
        return [{"kind": "fact", "title": title, "text": " · ".join(
            f"{k}: {_cell(v) if _scalar(v) else '[' + _cell(v) + ']'}" for k, v in items)}]
    if all(_scalar(v) for _, v in items):
        pairs = [(str(k), _cell(v)) for k, v in items[:MAX_PAIRS]]
        more = len(items) - len(pairs)
        return [{"kind": "pairs", "title": title, "pairs": pairs,
                 "numeric": all(_is_num(v) or v is None for _, v in items),
                 "more": f"{more:,} more" if more > 0 else ""}]
    if all(isinstance(v, Mapping) and all(_flat(x) for x in v.values()) for _, v in items):
        columns: list[str] = []
        for _, inner in items[:MAX_ROWS]:
            columns.extend(str(k) for k in inner if str(k) not in columns)
        shown = columns[:MAX_COLUMNS]
        rows = [[str(k)] + [_by_str(inner).get(c) for c in shown] for k, inner in items[:MAX_ROWS]]
        return [_table(title, [""] + shown, rows, total=len(items), total_columns=len(columns) + 1)]
    if all(isinstance(v, (list, tuple)) and all(_scalar(x) for x in v) for _, v in items):
        pairs = [(str(k), _joined(v)) for k, v in items[:MAX_PAIRS]]
        more = len(items) - len(pairs)
        return [{"kind": "pairs", "title": title, "pairs": pairs, "numeric": False,
                 "more": f"{more:,} more" if more > 0 else ""}]
    if depth < 1:
        facts, blocks = _detail_blocks(value, prefix=f"{title} › ", depth=depth + 1)
        out = [{"kind": "facts", "title": title, "facts": facts}] if facts else []
        return out + blocks
    return [{"kind": "text", "title": title, "text": _cell(dict(value))}]


# -- plots --------------------------------------------------------------------------------
def _plots(spec: Any) -> list[dict[str, Any]]:
    if spec is None:
        return []
    specs = spec if isinstance(spec, list) else [spec]
    out = []
    for one in specs:
        try:
            out.append(_plot(one))
        except (SynthgovError, KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            problem = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            out.append({"kind": "error", "text": f"This plot could not be drawn: {problem}"})
    return out


def _plot(spec: Mapping[str, Any]) -> dict[str, Any]:
    kind = spec["type"]
    title = str(spec.get("title") or "")
    if kind == "marginals":
        columns = list(spec["columns"].items())
        figures = [{"name": str(name), "svg": Markup(_svg.marginal(str(name), col))}
                   for name, col in columns[:MAX_MARGINALS]]
        more = len(columns) - len(figures)
        return {"kind": "marginals", "title": title or "Real vs synthetic distribution of each column",
                "figures": figures, "more": f"{more:,} more columns not drawn" if more > 0 else "",
                "legend": [("real", _svg.REAL), ("synthetic", _svg.SYNTHETIC)]}
    if kind == "heatmap":
        svg = _svg.heatmap(labels=spec["labels"], matrix=spec["matrix"], vmin=spec["vmin"], vmax=spec["vmax"],
                           title=title)
        return {"kind": "svg", "title": title, "svg": Markup(svg), "wide": True,
                "note": "Each cell is one pair of columns; hover a cell for its value."
                        + (" The matrix is symmetric, so only its lower triangle is drawn."
                           if _symmetric(spec["matrix"]) else "")}
    if kind == "histograms":
        svg = _svg.histograms(edges=spec["edges"], series=spec["series"], title=title,
                              xlabel=str(spec.get("xlabel") or ""))
        return {"kind": "svg", "title": title, "svg": Markup(svg), "wide": False,
                "note": "Each series is shown as shares of its own rows, so series of different sizes compare."}
    if kind == "roc":
        auc = spec.get("auc")
        svg = _svg.roc(fpr=spec["fpr"], tpr=spec["tpr"], auc=None if auc is None else float(auc),
                       title=title or "ROC curve")
        return {"kind": "svg", "title": title or "ROC curve", "svg": Markup(svg), "wide": False, "note": ""}
    if kind == "bars":
        svg = _svg.bars(groups=spec["groups"], series=spec["series"], title=title, ylabel=str(spec.get("ylabel") or ""))
        return {"kind": "svg", "title": title, "svg": Markup(svg), "wide": False, "note": ""}
    if kind == "table":
        columns = [str(c) for c in spec["columns"]]
        rows = [list(r) for r in spec["rows"]]
        table = _table(title, columns[:MAX_COLUMNS], [r[:MAX_COLUMNS] for r in rows], total=len(rows),
                       total_columns=len(columns))
        return {"kind": "table", "title": title, "table": table}
    raise ValueError(f"unknown plot type {kind!r}")


def _symmetric(matrix) -> bool:
    n = len(matrix)
    return n > 2 and all(matrix[i][j] == matrix[j][i] for i in range(n) for j in range(i))
