"""Plain-Python SVG charts for the evaluation report: no script, no external reference, all text escaped.

Each builder takes the plot data of one ``details["plot"]`` shape (see
:mod:`synthgov.evaluate.report`) and returns an inline ``<svg>`` element that
scales with its container (it has a ``viewBox``; the page's CSS sets
``max-width: 100%``). Every chart has ``role="img"`` and a ``<title>`` (its accessible name and
tooltip; no text from data is ever put in an attribute); every bin or cell has a ``<title>`` with its exact
figures. Marks carry classes the page styles and the tests count: ``bar``,
``cell``, ``series``, ``curve``, ``hit`` (one transparent hover target per bin).

Colours are the Okabe-Ito palette (distinguishable with the common forms of
colour blindness); lines are also told apart by dashes, and bars by position.

>>> svg = bars(groups=["a", "b"], series={"real": [0.5, 0.25], "synthetic": [0.4, None]}, title="Shares")
>>> svg.count('class="bar ')
3
>>> "<script>" in heatmap(labels=["<script>", "b"], matrix=[[0, 1], [1, 0]], vmin=0, vmax=1)
False
>>> nice_ticks(0, 0.83, 5)
[0.0, 0.25, 0.5, 0.75, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from itertools import pairwise
from typing import Any

from ..errors import ParameterError

__all__ = ["PALETTE", "REAL", "SYNTHETIC", "marginal", "heatmap", "histograms", "roc", "bars", "nice_ticks",
           "fmt_number", "colour_scale"]

#: Okabe-Ito: blue, vermillion, bluish green, reddish purple, sky blue, orange, black.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000")
REAL, SYNTHETIC = PALETTE[0], PALETTE[1]
_DASHES = ("", "6 3", "2 2", "8 3 2 3")
INK, MUTED, GRID, AXIS, MISSING = "#1f2933", "#52606d", "#e4e7eb", "#7b8794", "#d9dde3"

#: most bins, levels or groups a chart draws (the plot conventions ask metrics for <= 20 bins).
MAX_BINS = 60
MAX_GROUPS = 40
_CHAR = 0.6  # average glyph width as a share of the font size (sans-serif)


# -- small helpers ------------------------------------------------------------------
def _e(text: Any) -> str:
    return escape(str(text), quote=True)


def _c(x: float) -> str:
    """A coordinate, short."""
    s = f"{x:.1f}"
    if s.endswith(".0"):
        s = s[:-2]
    return "0" if s == "-0" else s


def _clip(text: Any, chars: int) -> str:
    text = str(text)
    return text if len(text) <= chars else text[: max(chars - 1, 1)] + "…"


def _floats(values: Any, what: str) -> list[float | None]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ParameterError(f"{what} must be a list of numbers")
    out: list[float | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ParameterError(f"{what} must hold numbers, found {v!r}")
        out.append(float(v) if math.isfinite(v) else None)
    return out


def _text(x: float, y: float, text: Any, *, size: float = 10, anchor: str = "start", fill: str = MUTED,
          extra: str = "") -> str:
    return (f'<text x="{_c(x)}" y="{_c(y)}" font-size="{_c(size)}" text-anchor="{anchor}" fill="{fill}"{extra}>'
            f"{_e(text)}</text>")


def _svg(width: float, height: float, title: str, body: list[str], cls: str) -> str:
    if width > 460:  # the page keeps wide charts legible on narrow screens by scrolling them
        cls += " wide"
    return (f'<svg class="chart {cls}" viewBox="0 0 {_c(width)} {_c(height)}" width="{_c(width)}" '
            f'height="{_c(height)}" role="img"><title>{_e(title)}</title>'
            + "".join(body) + "</svg>")


def fmt_number(value: Any) -> str:
    """A number as the report prints it: thousands separators, three decimals, or scientific when tiny.

    >>> [fmt_number(v) for v in (12345, 0.5, 0.0004, 3e-6, 12.3456, 1e7 + 0.5, None, True)]
    ['12,345', '0.500', '0.0004', '3.00e-06', '12.35', '10,000,000', '–', 'yes']
    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if not isinstance(value, float):
        return str(value)
    if not math.isfinite(value):
        return "–"
    a = abs(value)
    if a == 0:
        return "0.000"
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 10:
        return f"{value:.2f}"
    if a >= 0.001:
        return f"{value:.3f}"
    if a >= 0.0001:
        return f"{value:.4f}"
    return f"{value:.2e}"


def _pct(share: float) -> str:
    p = share * 100
    if p == 0:
        return "0%"
    return f"{p:.0f}%" if abs(p) >= 10 or float(p).is_integer() else f"{p:.1f}%"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering ``[lo, hi]`` (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        lo, hi = (lo - 0.5, hi + 0.5) if lo != 0 else (0.0, 1.0)
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    start = math.floor(lo / step + 1e-9) * step
    end = math.ceil(hi / step - 1e-9) * step
    count = int(round((end - start) / step))
    decimals = max(0, 3 - math.floor(math.log10(step)))  # drops float noise (0.30000000000000004), keeps the step
    return [round(start + i * step, decimals) + 0.0 for i in range(count + 1)]


def _tick_label(v: float, ticks: Sequence[float]) -> str:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    big = max(abs(t) for t in ticks)
    if big >= 1e4:
        for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if big >= div * 10:
                return f"{v / div:.{max(0, -math.floor(math.log10(step / div) + 1e-9))}f}{suffix}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if abs(round(step * 10**decimals) - step * 10**decimals) > 1e-6:
        decimals += 1
    return f"{v:.{decimals}f}"


# -- colour scales ------------------------------------------------------------------
_SEQUENTIAL = ("#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704")  # one hue, light to dark
_DIVERGING = ("#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b")


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def _ramp(stops: Sequence[str], t: float) -> str:
    t = min(max(t, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    f = t - i
    a, b = _rgb(stops[i]), _rgb(stops[i + 1])
    return "#%02x%02x%02x" % tuple(round(x + (y - x) * f) for x, y in zip(a, b, strict=True))


def colour_scale(vmin: float, vmax: float):
    """A function value -> colour: diverging around 0 when ``vmin < 0 < vmax``, else light (low) to dark (high).

    >>> scale = colour_scale(0.0, 1.0)
    >>> scale(0.0), scale(1.0), scale(None)
    ('#fff5eb', '#7f2704', '#d9dde3')
    """
    if vmin < 0 < vmax:
        half = max(-vmin, vmax)
        return lambda v: MISSING if v is None else _ramp(_DIVERGING, 0.5 + v / (2 * half))
    span = (vmax - vmin) or 1.0
    return lambda v: MISSING if v is None else _ramp(_SEQUENTIAL, (v - vmin) / span)


def _dark(hex_colour: str) -> bool:
    r, g, b = (c / 255 for c in _rgb(hex_colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45


def _legend(items: Sequence[tuple[str, str, str]], x: float, y: float, size: float = 11) -> list[str]:
    """Swatches in a row: (label, colour, dash) each; a dash of None draws a filled square."""
    out, cx = [], x
    for label, colour, dash in items:
        if dash is None:
            out.append(f'<rect x="{_c(cx)}" y="{_c(y - size * 0.8)}" width="{_c(size * 0.9)}" '
                       f'height="{_c(size * 0.9)}" fill="{colour}"/>')
            cx += size * 1.3
        else:
            d = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(f'<line x1="{_c(cx)}" y1="{_c(y - size * 0.35)}" x2="{_c(cx + 18)}" '
                       f'y2="{_c(y - size * 0.35)}" stroke="{colour}" stroke-width="2.5"{d}/>')
            cx += 23
        out.append(_text(cx, y, label, size=size, fill=INK))
        cx += len(label) * size * _CHAR + 16
    return out


# -- marginals ----------------------------------------------------------------------
def marginal(name: str, spec: Mapping[str, Any], *, width: float = 270) -> str:
    """One small multiple: a column's real vs synthetic shares.

    Numeric columns: real shares as filled bars, synthetic shares as a step line over them.
    Categorical columns: one row per level, a real bar above a synthetic bar.

    >>> s = marginal("age", {"kind": "numeric", "labels": ["0-10", "10-20", "20-30"],
    ...                      "real": [0.2, 0.5, 0.3], "synthetic": [0.25, 0.45, 0.3]})
    >>> s.count('class="bar real"'), s.count('class="hit"')
    (3, 3)
    """
    labels = [str(label) for label in spec["labels"]]
    real = _floats(spec["real"], f"real shares of {name!r}")
    synthetic = _floats(spec["synthetic"], f"synthetic shares of {name!r}")
    if not (len(labels) == len(real) == len(synthetic)) or not labels:
        raise ParameterError(f"the marginal of {name!r} needs as many real and synthetic shares as labels")
    if len(labels) > MAX_BINS:
        raise ParameterError(f"the marginal of {name!r} has {len(labels)} bins; at most {MAX_BINS} are drawn")
    real0 = [v or 0.0 for v in real]
    syn0 = [v or 0.0 for v in synthetic]
    top = nice_ticks(0.0, max(real0 + syn0) or 1.0, 4)
    if spec.get("kind") == "categorical":
        return _marginal_levels(name, labels, real0, syn0, top, width)
    return _marginal_bins(name, labels, real0, syn0, top, width)


def _hit(x: float, y: float, w: float, h: float, title: str) -> str:
    return (f'<rect class="hit" x="{_c(x)}" y="{_c(y)}" width="{_c(max(w, 0))}" height="{_c(max(h, 0))}" '
            f'fill="#000" fill-opacity="0"><title>{_e(title)}</title></rect>')


def _marginal_bins(name, labels, real, syn, ticks, width) -> str:
    left, right, top, bottom = 34, 8, 8, 30
    h = 100
    w = width - left - right
    k = len(labels)
    bw = w / k
    ymax = ticks[-1]
    base = top + h

    def y(v: float) -> float:
        return base - v / ymax * h

    body = []
    for t in ticks:
        body.append(f'<line x1="{left}" x2="{_c(left + w)}" y1="{_c(y(t))}" y2="{_c(y(t))}" stroke="{GRID}"/>')
        body.append(_text(left - 4, y(t) + 3.5, _pct(t), anchor="end"))
    for i, v in enumerate(real):
        body.append(f'<rect class="bar real" x="{_c(left + i * bw + 0.5)}" y="{_c(y(v))}" '
                    f'width="{_c(max(bw - 1, 0.5))}" height="{_c(base - y(v))}" fill="{REAL}" fill-opacity="0.55"/>')
    path = [f"M{_c(left)},{_c(base)}"]
    for i, v in enumerate(syn):
        path.append(f"L{_c(left + i * bw)},{_c(y(v))}L{_c(left + (i + 1) * bw)},{_c(y(v))}")
    path.append(f"L{_c(left + w)},{_c(base)}")
    body.append(f'<path class="step synthetic" d="{"".join(path)}" fill="none" stroke="{SYNTHETIC}" '
                f'stroke-width="2" stroke-linejoin="round"/>')
    body.append(f'<line x1="{left}" x2="{_c(left + w)}" y1="{_c(base)}" y2="{_c(base)}" stroke="{AXIS}"/>')
    for i, (label, r, s) in enumerate(zip(labels, real, syn, strict=True)):
        body.append(_hit(left + i * bw, top, bw, h, f"{label}: real {_pct(r)}, synthetic {_pct(s)}"))
    chars = int(w / 3 / (10 * _CHAR))
    picks = [(0, "start", left), (k - 1, "end", left + w)] if k > 1 else [(0, "middle", left + w / 2)]
    if k >= 5:
        picks.insert(1, (k // 2, "middle", left + (k // 2 + 0.5) * bw))
    for i, anchor, x in picks:
        body.append(_text(x, base + 14, _clip(labels[i], chars), anchor=anchor))
    return _svg(width, top + h + bottom - 8, f"{name}: shares of rows per bin, real (bars) vs synthetic (line)",
                body, "marginal numeric")


def _marginal_levels(name, labels, real, syn, ticks, width) -> str:
    lw, right, top, bottom = 100, 12, 4, 18
    row, bh = 18, 7
    w = width - lw - right
    xmax = ticks[-1]
    h = row * len(labels)

    def x(v: float) -> float:
        return lw + v / xmax * w

    body = []
    for t in ticks:
        body.append(f'<line x1="{_c(x(t))}" x2="{_c(x(t))}" y1="{top}" y2="{_c(top + h)}" stroke="{GRID}"/>')
        body.append(_text(x(t), top + h + 13, _pct(t), anchor="middle"))
    for i, (label, r, s) in enumerate(zip(labels, real, syn, strict=True)):
        y0 = top + i * row + 2
        body.append(_text(lw - 5, y0 + bh + 3.5, _clip(label, 15), anchor="end", fill=INK))
        body.append(f'<rect class="bar real" x="{lw}" y="{_c(y0)}" width="{_c(x(r) - lw)}" height="{bh}" '
                    f'fill="{REAL}"/>')
        body.append(f'<rect class="bar synthetic" x="{lw}" y="{_c(y0 + bh)}" width="{_c(x(s) - lw)}" '
                    f'height="{bh}" fill="{SYNTHETIC}"/>')
        body.append(_hit(0, top + i * row, width, row, f"{label}: real {_pct(r)}, synthetic {_pct(s)}"))
    body.append(f'<line x1="{lw}" x2="{lw}" y1="{top}" y2="{_c(top + h)}" stroke="{AXIS}"/>')
    return _svg(width, top + h + bottom, f"{name}: shares of rows per level, real (upper bar) vs synthetic (lower bar)",
                body, "marginal categorical")


# -- heatmap --------------------------------------------------------------------------
def heatmap(*, labels: Sequence[Any], matrix: Sequence[Sequence[Any]], vmin: float, vmax: float,
            title: str = "") -> str:
    """A matrix of colour cells with a colour-scale legend; a symmetric matrix shows its lower triangle only.

    >>> s = heatmap(labels=["a", "b", "c"], matrix=[[0, .1, .2], [.1, 0, .3], [.2, .3, 0]], vmin=0, vmax=1)
    >>> s.count('class="cell"')
    3
    """
    labels = [str(label) for label in labels]
    n = len(labels)
    rows = [_floats(r, "heatmap rows") for r in matrix]
    if n == 0 or len(rows) != n or any(len(r) != n for r in rows):
        raise ParameterError("a heatmap needs a square matrix with one row and one column per label")
    if n > 200:
        raise ParameterError(f"a heatmap of {n} labels is too large to draw (at most 200)")
    vmin, vmax = float(vmin), float(vmax)
    if not (math.isfinite(vmin) and math.isfinite(vmax)) or vmax < vmin:
        raise ParameterError("a heatmap needs finite vmin <= vmax")
    symmetric = n > 2 and all(rows[i][j] == rows[j][i] for i in range(n) for j in range(i))
    row_labels, col_labels = (labels[1:], labels[:-1]) if symmetric else (labels, labels)
    nr, nc = len(row_labels), len(col_labels)
    cell = max(10, min(44, 800 // max(nc, 1)))
    fs = max(8.0, min(11.0, cell * 0.75))
    chars = 22
    label_w = min(max(len(s) for s in labels), chars) * fs * _CHAR + 8
    left, top = label_w, 8
    grid_w, grid_h = nc * cell, nr * cell
    bottom = label_w * 0.72 + 12
    legend_x = left + grid_w + 24
    width = legend_x + 76
    legend_h = max(grid_h, 120)
    height = top + max(grid_h + bottom, legend_h + 10)
    scale = colour_scale(vmin, vmax)
    body = [f'<g transform="translate({_c(left)},{top}) scale({cell})">']
    marks = []
    has_missing = False
    for i in range(nr):
        r = i + 1 if symmetric else i
        for j in range(nc):
            if symmetric and j >= r:
                continue
            v = rows[r][j]
            has_missing |= v is None
            shown = "not computed" if v is None else fmt_number(v)
            body.append(f'<rect class="cell" x="{j}" y="{i}" width="0.94" height="0.94" fill="{scale(v)}">'
                        f"<title>{_e(labels[r])} × {_e(labels[j])}: {shown}</title></rect>")
            if cell >= 30 and v is not None:
                marks.append(_text(left + (j + 0.47) * cell, top + (i + 0.47) * cell + 3.5,
                                   f"{v:.2f}".replace("-0.00", "0.00"), size=10,
                                   anchor="middle", fill="#fff" if _dark(scale(v)) else INK,
                                   extra=' pointer-events="none"'))
    body.append("</g>")
    body.extend(marks)
    for i, label in enumerate(row_labels):
        body.append(_text(left - 4, top + (i + 0.5) * cell + fs * 0.35, _clip(label, chars), size=fs, anchor="end",
                          fill=INK))
    for j, label in enumerate(col_labels):
        x, y = left + (j + 0.5) * cell + fs * 0.3, top + grid_h + 6
        body.append(_text(x, y, _clip(label, chars), size=fs, anchor="end", fill=INK,
                          extra=f' transform="rotate(-45 {_c(x)} {_c(y)})"'))
    body.extend(_colour_legend(scale, vmin, vmax, legend_x, top, legend_h, has_missing))
    return _svg(width, height, title or "heatmap", body, "heatmap")


def _colour_legend(scale, vmin, vmax, x, y, h, has_missing) -> list[str]:
    steps = 10
    out = []
    bar_h = h - (24 if has_missing else 0)
    for k in range(steps):
        v = vmax - (vmax - vmin) * (k + 0.5) / steps
        out.append(f'<rect x="{_c(x)}" y="{_c(y + k * bar_h / steps)}" width="14" height="{_c(bar_h / steps + 0.3)}" '
                   f'fill="{scale(v)}"/>')
    ticks = [vmax, (vmin + vmax) / 2, vmin] if vmin < 0 < vmax or vmax > vmin else [vmax]
    if vmin < 0 < vmax:
        ticks = [vmax, 0.0, vmin]
    for v in ticks:
        ty = y + (vmax - v) / ((vmax - vmin) or 1.0) * bar_h
        out.append(f'<line x1="{_c(x + 14)}" x2="{_c(x + 18)}" y1="{_c(ty)}" y2="{_c(ty)}" stroke="{AXIS}"/>')
        out.append(_text(x + 21, ty + 3.5, f"{v:.3g}", size=10))
    if has_missing:
        out.append(f'<rect x="{_c(x)}" y="{_c(y + h - 14)}" width="14" height="14" fill="{MISSING}"/>')
        out.append(_text(x + 21, y + h - 3, "n/a", size=10))
    return out


# -- histograms ---------------------------------------------------------------------
def histograms(*, edges: Sequence[Any], series: Mapping[str, Sequence[Any]], title: str = "",
               xlabel: str = "") -> str:
    """Two (or more) histograms on shared bins, each normalised to shares of its own rows, as step lines.

    >>> s = histograms(edges=[0, 1, 2, 3], series={"train": [5, 3, 2], "holdout": [1, 1, 0]}, xlabel="distance")
    >>> s.count('class="series"'), s.count('class="hit"')
    (2, 3)
    """
    edges_f = _floats(edges, "histogram edges")
    if len(edges_f) < 2 or any(e is None for e in edges_f) or any(b < a for a, b in pairwise(edges_f)):
        raise ParameterError("histogram edges must be at least two finite, increasing numbers")
    k = len(edges_f) - 1
    if k > 200:
        raise ParameterError(f"a histogram of {k} bins is too many to draw (at most 200)")
    if not series:
        raise ParameterError("a histogram needs at least one series")
    counts = {str(name): [v or 0.0 for v in _floats(c, f"counts of {name!r}")] for name, c in series.items()}
    if any(len(c) != k for c in counts.values()):
        raise ParameterError("each histogram series needs one count per bin (len(edges) - 1)")
    totals = {name: sum(c) for name, c in counts.items()}
    shares = {name: [v / totals[name] if totals[name] else 0.0 for v in c] for name, c in counts.items()}
    width, left, right, top, bottom = 600, 52, 14, 30, 46
    w, h = width - left - right, 190
    lo, hi = edges_f[0], edges_f[-1]
    span = (hi - lo) or 1.0
    yt = nice_ticks(0.0, max(max(s) for s in shares.values()) or 1.0, 4)
    base = top + h

    def x(v: float) -> float:
        return left + (v - lo) / span * w

    def y(v: float) -> float:
        return base - v / yt[-1] * h

    body = []
    for t in yt:
        body.append(f'<line x1="{left}" x2="{_c(left + w)}" y1="{_c(y(t))}" y2="{_c(y(t))}" stroke="{GRID}"/>')
        body.append(_text(left - 5, y(t) + 4, _pct(t), size=11, anchor="end"))
    xt = [t for t in nice_ticks(lo, hi, 6) if lo - 1e-9 * span <= t <= hi + 1e-9 * span]
    for t in xt:
        body.append(f'<line x1="{_c(x(t))}" x2="{_c(x(t))}" y1="{_c(base)}" y2="{_c(base + 4)}" stroke="{AXIS}"/>')
        body.append(_text(x(t), base + 16, _tick_label(t, xt), size=11, anchor="middle"))
    for idx, (name, s) in enumerate(shares.items()):
        colour, dash = PALETTE[idx % len(PALETTE)], _DASHES[idx % len(_DASHES)]
        steps = "".join(f"L{_c(x(edges_f[i]))},{_c(y(v))}L{_c(x(edges_f[i + 1]))},{_c(y(v))}" for i, v in enumerate(s))
        area = f"M{_c(x(lo))},{_c(base)}{steps}L{_c(x(hi))},{_c(base)}Z"
        if idx == 0:  # only the first series is filled: overlapping fills muddy each other
            body.append(f'<path d="{area}" fill="{colour}" fill-opacity="0.14" stroke="none"/>')
        d = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<path class="series" d="M{steps[1:]}" fill="none" stroke="{colour}" stroke-width="2"{d} '
                    f'stroke-linejoin="round"><title>{_e(name)}</title></path>')
    body.append(f'<line x1="{left}" x2="{_c(left + w)}" y1="{_c(base)}" y2="{_c(base)}" stroke="{AXIS}"/>')
    for i in range(k):
        parts = ", ".join(f"{name} {fmt_number(int(counts[name][i]) if counts[name][i].is_integer() else counts[name][i])}"
                          f" ({_pct(shares[name][i])})" for name in counts)
        body.append(_hit(x(edges_f[i]), top, x(edges_f[i + 1]) - x(edges_f[i]), h,
                         f"{fmt_number(edges_f[i])} to {fmt_number(edges_f[i + 1])}: {parts}"))
    items = [(f"{name} (n = {fmt_number(int(t) if float(t).is_integer() else t)})", PALETTE[i % len(PALETTE)],
              _DASHES[i % len(_DASHES)]) for i, (name, t) in enumerate(totals.items())]
    body.extend(_legend(items, left, 16))
    if xlabel:
        body.append(_text(left + w / 2, base + 36, xlabel, size=12, anchor="middle", fill=INK))
    body.append(_text(14, top + h / 2, "share of rows", size=12, anchor="middle", fill=INK,
                      extra=f' transform="rotate(-90 14 {_c(top + h / 2)})"'))
    return _svg(width, top + h + bottom, title or "histograms", body, "histograms")


# -- ROC curve ------------------------------------------------------------------------
def roc(*, fpr: Sequence[Any], tpr: Sequence[Any], auc: float | None = None, title: str = "") -> str:
    """A ROC curve with the chance diagonal; the AUC is printed on the chart.

    >>> s = roc(fpr=[0, 0.1, 1], tpr=[0, 0.6, 1], auc=0.75)
    >>> s.count('class="chance"'), "AUC = 0.750" in s
    (1, True)
    """
    xs, ys = _floats(fpr, "fpr"), _floats(tpr, "tpr")
    if len(xs) != len(ys) or len(xs) < 2 or any(v is None or not 0 <= v <= 1 for v in xs + ys):
        raise ParameterError("a ROC curve needs matching fpr and tpr lists of rates in [0, 1]")
    if len(xs) > 2000:
        raise ParameterError(f"a ROC curve of {len(xs)} points is too long to draw (at most 2000)")
    left, top, side, bottom, right = 52, 12, 290, 46, 16
    body = []

    def px(v: float) -> float:
        return left + v * side

    def py(v: float) -> float:
        return top + (1 - v) * side

    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(f'<line x1="{_c(px(t))}" x2="{_c(px(t))}" y1="{top}" y2="{_c(top + side)}" stroke="{GRID}"/>')
        body.append(f'<line x1="{left}" x2="{_c(left + side)}" y1="{_c(py(t))}" y2="{_c(py(t))}" stroke="{GRID}"/>')
        body.append(_text(px(t), top + side + 16, f"{t:g}", size=11, anchor="middle"))
        body.append(_text(left - 5, py(t) + 4, f"{t:g}", size=11, anchor="end"))
    body.append(f'<rect x="{left}" y="{top}" width="{side}" height="{side}" fill="none" stroke="{AXIS}"/>')
    body.append(f'<line class="chance" x1="{_c(px(0))}" y1="{_c(py(0))}" x2="{_c(px(1))}" y2="{_c(py(1))}" '
                f'stroke="{AXIS}" stroke-width="1.5" stroke-dasharray="5 4"><title>chance (AUC 0.5)</title></line>')
    points = " ".join(f"{_c(px(a))},{_c(py(b))}" for a, b in zip(xs, ys, strict=True))
    body.append(f'<polyline class="curve" points="{points}" fill="none" stroke="{REAL}" stroke-width="2.5" '
                f'stroke-linejoin="round"/>')
    if auc is not None:
        body.append(_text(left + side - 8, top + side - 12, f"AUC = {fmt_number(float(auc))}", size=13,
                          anchor="end", fill=INK, extra=' font-weight="600"'))
    body.append(_text(left + side - 8, top + side - 30, "dashed: chance", size=11, anchor="end"))
    body.append(_text(left + side / 2, top + side + 36, "false positive rate", size=12, anchor="middle", fill=INK))
    body.append(_text(14, top + side / 2, "true positive rate", size=12, anchor="middle", fill=INK,
                      extra=f' transform="rotate(-90 14 {_c(top + side / 2)})"'))
    return _svg(left + side + right, top + side + bottom, title or "ROC curve", body, "roc")


# -- grouped bars -------------------------------------------------------------------
def bars(*, groups: Sequence[Any], series: Mapping[str, Sequence[Any]], title: str = "", ylabel: str = "") -> str:
    """Grouped horizontal bars: one row per group, one bar per series, value printed at each bar's end.

    ``ylabel`` names the value axis (drawn horizontally here so long group labels stay readable).

    >>> s = bars(groups=["x"], series={"a": [-0.2], "b": [0.4]}, ylabel="difference")
    >>> s.count('class="bar ')
    2
    """
    labels = [str(g) for g in groups]
    if not labels or not series:
        raise ParameterError("bars need at least one group and one series")
    if len(labels) > MAX_GROUPS:
        raise ParameterError(f"{len(labels)} groups are too many for a bar chart (at most {MAX_GROUPS})")
    values = {str(name): _floats(v, f"values of {name!r}") for name, v in series.items()}
    if any(len(v) != len(labels) for v in values.values()):
        raise ParameterError("each bar series needs one value per group")
    present = [v for vs in values.values() for v in vs if v is not None]
    lo, hi = min(present + [0.0]), max(present + [0.0])
    ticks = nice_ticks(lo, hi if hi > lo else lo + 1, 5)
    ns = len(values)
    bh = 12 if ns <= 2 else 9
    row = ns * bh + 10
    chars = 28
    width = 600
    lw = min(max(len(s) for s in labels), chars) * 11 * _CHAR + 12
    left, right, top = lw, 52, 30
    w = width - left - right
    h = row * len(labels)

    def x(v: float) -> float:
        return left + (v - ticks[0]) / (ticks[-1] - ticks[0]) * w

    body = []
    for t in ticks:
        body.append(f'<line x1="{_c(x(t))}" x2="{_c(x(t))}" y1="{top}" y2="{_c(top + h)}" stroke="{GRID}"/>')
        body.append(_text(x(t), top + h + 15, _tick_label(t, ticks), size=11, anchor="middle"))
    zero = x(0.0)
    for i, label in enumerate(labels):
        y0 = top + i * row + 5
        body.append(_text(left - 6, top + (i + 0.5) * row + 4, _clip(label, chars), size=11, anchor="end", fill=INK))
        for s, (name, vs) in enumerate(values.items()):
            v = vs[i]
            yy = y0 + s * bh
            if v is None:
                body.append(_text(zero + 3, yy + bh - 2, "n/a", size=9))
                continue
            x0, x1 = sorted((zero, x(v)))
            body.append(f'<rect class="bar s{s}" x="{_c(x0)}" y="{_c(yy)}" width="{_c(x1 - x0)}" '
                        f'height="{bh - 1}" fill="{PALETTE[s % len(PALETTE)]}"><title>{_e(label)}, {_e(name)}: '
                        f"{fmt_number(v)}</title></rect>")
            tx, anchor = (x1 + 3, "start") if v >= 0 else (x0 - 3, "end")
            body.append(_text(tx, yy + bh - 2.5, fmt_number(v), size=10, anchor=anchor, fill=INK))
    body.append(f'<line x1="{_c(zero)}" x2="{_c(zero)}" y1="{top}" y2="{_c(top + h)}" stroke="{AXIS}"/>')
    body.extend(_legend([(name, PALETTE[s % len(PALETTE)], None) for s, name in enumerate(values)], left, 16))
    if ylabel:
        body.append(_text(left + w / 2, top + h + 34, ylabel, size=12, anchor="middle", fill=INK))
    return _svg(width, top + h + (42 if ylabel else 24), title or "bar chart", body, "bars")
