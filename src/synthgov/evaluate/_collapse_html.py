"""Render a :class:`~synthgov.evaluate.collapse.CollapseReport` as one self-contained HTML page.

Like the evaluation report (:mod:`synthgov.evaluate._html`): no script, no
external reference, inline CSS, inline SVG charts built with the helpers of
:mod:`synthgov.evaluate._svg`, a Jinja2 template (``templates/collapse.html.j2``)
with autoescaping on. The charts here are line plots: one figure per
generation, one line per chain (and per measure, told apart by dashes).

>>> svg = lines(x=[0, 1, 2], series={"a": [1.0, 0.9, None], "b": [1.0, 0.95, 0.97]}, title="<t>", reference=1.0)
>>> svg.count('class="series"'), svg.count('class="point"'), "<t>" in svg
(2, 5, False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from ..errors import ParameterError
from . import _svg
from ._svg import AXIS, GRID, INK, PALETTE, _c, _e, _floats, _legend, _text, fmt_number, nice_ticks
from ._svg import _svg as _frame

__all__ = ["render_collapse_html", "lines", "MAX_COLUMN_CHARTS"]

#: most numeric columns given a chart of their own (the JSON has them all).
MAX_COLUMN_CHARTS = 12
_DASH = ("", "6 3", "2 2", "8 3 2 3")
_ENV = None


def lines(*, x: Sequence[int], series: Mapping[str, Sequence[Any]], title: str = "", ylabel: str = "",
          xlabel: str = "generation", reference: float | None = None, width: float = 560) -> str:
    """Line plot of one figure per generation: a line (with a hover target per point) per series.

    ``reference`` draws a dashed horizontal line (e.g. 1 for ratios to the original); a missing value breaks
    its line.
    """
    xs = [int(v) for v in x]
    if not xs or not series:
        raise ParameterError("a line plot needs at least one generation and one series")
    values = {str(k): _floats(v, f"values of {k!r}") for k, v in series.items()}
    if any(len(v) != len(xs) for v in values.values()):
        raise ParameterError("each series needs one value per generation")
    present = [v for vs in values.values() for v in vs if v is not None] + ([reference] if reference else [])
    lo, hi = (min(present), max(present)) if present else (0.0, 1.0)
    yt = nice_ticks(lo, hi, 5)
    left, right, top, bottom = 56, 16, 16 + 18 * ((len(values) + 1) // 2), 44
    w, h = width - left - right, 190
    base = top + h
    x0, x1 = xs[0], xs[-1] if xs[-1] > xs[0] else xs[0] + 1

    def px(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * w

    def py(v: float) -> float:
        return base - (v - yt[0]) / ((yt[-1] - yt[0]) or 1.0) * h

    body = []
    for t in yt:
        body.append(f'<line x1="{left}" x2="{_c(left + w)}" y1="{_c(py(t))}" y2="{_c(py(t))}" stroke="{GRID}"/>')
        body.append(_text(left - 5, py(t) + 4, _svg._tick_label(t, yt), size=11, anchor="end"))
    step = max(1, -(-(x1 - x0) // 10))
    for t in range(x0, x1 + 1, step):
        body.append(f'<line x1="{_c(px(t))}" x2="{_c(px(t))}" y1="{_c(base)}" y2="{_c(base + 4)}" stroke="{AXIS}"/>')
        body.append(_text(px(t), base + 16, t, size=11, anchor="middle"))
    if reference is not None:
        body.append(f'<line class="reference" x1="{left}" x2="{_c(left + w)}" y1="{_c(py(reference))}" '
                    f'y2="{_c(py(reference))}" stroke="{INK}" stroke-width="1" stroke-dasharray="3 3">'
                    f"<title>original real data: {fmt_number(float(reference))}</title></line>")
    items = []
    for i, (name, vs) in enumerate(values.items()):
        colour, dash = PALETTE[i % len(PALETTE)], _DASH[(i // len(PALETTE) + i) % len(_DASH)]
        parts, pen = [], "M"
        for gx, v in zip(xs, vs, strict=True):
            if v is None:
                pen = "M"
                continue
            parts.append(f"{pen}{_c(px(gx))},{_c(py(v))}")
            pen = "L"
        d = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<path class="series" d="{"".join(parts) or "M0,0"}" fill="none" stroke="{colour}" '
                    f'stroke-width="2"{d} stroke-linejoin="round"><title>{_e(name)}</title></path>')
        for gx, v in zip(xs, vs, strict=True):
            if v is not None:
                body.append(f'<circle class="point" cx="{_c(px(gx))}" cy="{_c(py(v))}" r="3" fill="{colour}">'
                            f"<title>{_e(name)}, generation {gx}: {_e(fmt_number(v))}</title></circle>")
        items.append((name, colour, dash))
    body.append(f'<line x1="{left}" x2="{_c(left + w)}" y1="{_c(base)}" y2="{_c(base)}" stroke="{AXIS}"/>')
    for row in range(0, len(items), 2):
        body.extend(_legend(items[row:row + 2], left, 14 + 18 * (row // 2)))
    body.append(_text(left + w / 2, base + 34, xlabel, size=12, anchor="middle", fill=INK))
    if ylabel:
        body.append(_text(14, top + h / 2, ylabel, size=12, anchor="middle", fill=INK,
                          extra=f' transform="rotate(-90 14 {_c(top + h / 2)})"'))
    return _frame(width, base + bottom, title or "line plot", body, "lines")


def render_collapse_html(report) -> str:
    """The collapse report as a self-contained HTML page (a string)."""
    global _ENV
    if _ENV is None:
        import jinja2

        _ENV = jinja2.Environment(loader=jinja2.PackageLoader("synthgov.evaluate", "templates"), autoescape=True,
                                  undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return _ENV.get_template("collapse.html.j2").render(**_context(report))


def _chart(title: str, note: str, svg: str) -> dict[str, Any]:
    return {"title": title, "note": note, "svg": Markup(svg)}


def _context(report) -> dict[str, Any]:
    settings = report.settings
    chains = report.chains
    gens = [g["generation"] for g in chains[0]["generations"]]

    def by_chain(measure: str, **kw) -> dict[str, list]:
        return {c["label"]: report.series(measure, real_share=c["real_share"], **kw) for c in chains}

    charts = [_chart("Fidelity to the original real data",
                     "fidelity_score of each generation against the original real training rows (1: identical "
                     "column shapes and pair trends). Generation 0 is the real rows drawn.",
                     lines(x=gens, series=by_chain("fidelity_score"), title="Fidelity to the original",
                           ylabel="fidelity score"))]
    if settings.get("target"):
        charts.append(_chart(f"Utility: predicting '{settings['target']}'",
                             "utility_ratio: a model trained on the generation, tested on real holdout rows, over a "
                             "model trained on the real training rows (1: as good as real data).",
                             lines(x=gens, series=by_chain("utility_ratio"), title="Utility ratio",
                                   ylabel="utility ratio", reference=1.0)))
    if settings.get("numeric"):
        spread = {}
        for c in chains:
            spread[f"std, {_short(c)}"] = report.series("std_ratio", real_share=c["real_share"])
            spread[f"1-99% span, {_short(c)}"] = report.series("span_ratio", real_share=c["real_share"])
        charts.append(_chart("Variance and tails", "The mean over numeric columns of the standard deviation and of "
                             "the 1st-99th percentile span, each over the original's (dashed line: 1, no shrinkage).",
                             lines(x=gens, series=spread, title="Shrinkage of variance and tails",
                                   ylabel="ratio to the original", reference=1.0)))
    charts.append(_chart("Extinct categories and values", "Categories, and values of discrete numeric columns, of "
                         "the original real rows that a generation no longer has.",
                         lines(x=gens, series=by_chain("extinct"), title="Extinct categories and values",
                               ylabel="count")))
    columns = []
    for name in settings.get("numeric", [])[:MAX_COLUMN_CHARTS]:
        series = {}
        for c in chains:
            series[f"std, {_short(c)}"] = report.series("std_ratio", real_share=c["real_share"], column=name)
            series[f"span, {_short(c)}"] = report.series("span_ratio", real_share=c["real_share"], column=name)
        columns.append({"name": name, "svg": Markup(lines(x=gens, series=series, title=f"{name}: shrinkage",
                                                          ylabel="ratio", reference=1.0, width=460))})
    more_columns = max(0, len(settings.get("numeric", [])) - MAX_COLUMN_CHARTS)
    return {
        "settings": [(k, v) for k, v in (
            ("Generator", settings["method"]), ("Generations", settings["generations"]),
            ("Rows per generation", fmt_number(settings["rows"])),
            ("Real share kept (mitigation)", "none" if not settings["real_share"] else f"{settings['real_share']:.0%}"),
            ("Target (utility)", settings.get("target") or "none"), ("Seed", settings["random_state"]),
            ("Real rows", f"{fmt_number(settings['real_rows']['train'])} training, "
                          f"{fmt_number(settings['real_rows']['holdout'])} held out"))],
        "headline": _headline(report),
        "charts": charts,
        "columns": columns,
        "more_columns": more_columns,
        "tables": [_table(c, bool(settings.get("target"))) for c in chains],
        "extinct": [_extinct(c) for c in chains],
        "notes": list(report.notes),
        "definitions": [(name, str(d.get("definition", ""))) for name, d in report.definitions.items()],
        "created": report.created,
        "version": report.synthgov_version,
    }


_HEADLINE = (("fidelity_score", "fidelity"), ("utility_ratio", "utility ratio"), ("std_ratio", "std ratio"),
             ("span_ratio", "1-99% span ratio"), ("extinct", "extinct"))


def _headline(report) -> list[tuple[str, str]]:
    """Per chain, one line: each measure at generation 1 and at the last generation."""
    last = report.settings["generations"]
    out = []
    for label, figures in report.summary().items():
        parts = [f"{text} {_f(figures[key]['generation_1'])} → {_f(figures[key]['last'])}"
                 for key, text in _HEADLINE if key in figures]
        out.append((label, f"generation 1 → {last}: " + "; ".join(parts)))
    return out


def _short(chain: Mapping[str, Any]) -> str:
    """A chain's label short enough for two legend entries side by side."""
    return "synthetic only" if not chain["real_share"] else f"{chain['real_share']:.0%} real"


def _f(value: Any) -> str:
    return fmt_number(value) if value is not None else "–"


def _table(chain: Mapping[str, Any], utility: bool) -> dict[str, Any]:
    head = ["generation", "trained on (real / synthetic)", "fidelity", "KS compl.", "TV compl.", "category cov."]
    head += (["utility ratio"] if utility else []) + ["std ratio", "span ratio", "extinct"]
    rows = []
    for g in chain["generations"]:
        std = [s["std_ratio"] for s in g["shrinkage"].values() if s["std_ratio"] is not None]
        span = [s["span_ratio"] for s in g["shrinkage"].values() if s["span_ratio"] is not None]
        t = g["trained_on"]
        row = [str(g["generation"]), "real rows drawn" if t is None else f"{t['real']:,} / {t['synthetic']:,}",
               _f(g["fidelity"]["fidelity_score"]), _f(g["fidelity"]["ks_complement"]),
               _f(g["fidelity"]["tv_complement"]), _f(g["category_coverage"])]
        if utility:
            row.append(_f((g["utility"] or {}).get("utility_ratio")))
        row += [_f(sum(std) / len(std) if std else None), _f(sum(span) / len(span) if span else None),
                str(g["extinct"]["total"])]
        rows.append(row)
    return {"label": chain["label"], "head": head, "rows": rows}


def _extinct(chain: Mapping[str, Any]) -> dict[str, Any]:
    last = chain["generations"][-1]
    items = []
    for name, c in last["extinct"]["categories"].items():
        if c["lost"]:
            named = ", ".join(c["named"]) if c["named"] else ""
            rare = f"{c['unnamed']} rare level(s), not named" if c["unnamed"] else ""
            items.append((name, f"{c['lost']} of {c['of']} levels lost: " + "; ".join(p for p in (named, rare) if p)))
    for name, v in last["extinct"]["values"].items():
        if v["lost"]:
            items.append((name, f"{v['lost']} of {v['of']} distinct values lost"))
    return {"label": chain["label"], "generation": last["generation"], "lost": items}
