"""The marginals plot: each column's real and synthetic distribution, as bars the HTML report draws.

A numeric or datetime column with few distinct real values gets one bar per
value (a synthetic value counts towards the nearest one); otherwise equal-width
bins between the real 0.5% and 99.5% quantiles. A categorical column shows the
levels with the largest share in either table, pools the rest as "(other
levels)", and missing values get a bar of their own. At most
:data:`MARGINAL_SLOTS` bars per column.

Labels never name a real value that fewer than
:data:`~synthgov.evaluate._column_stats.MIN_NAMED_ROWS` real rows hold and the
synthetic table lacks (it is close to one person's value): such a category is
pooled in "(other levels)", and such a number counts towards the nearest named one.

>>> import pandas as pd
>>> from synthgov.evaluate import EvalData
>>> real = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "a", "b", None]})
>>> synthetic = pd.DataFrame({"x": [1.0, 2.0, 3.0, 9.0], "c": ["a", "b", "b", None]})
>>> plot = marginals_plot(EvalData.prepare(real, synthetic, holdout=real))
>>> plot["columns"]["c"]
{'kind': 'categorical', 'labels': ['a', 'b', '(missing)'], 'real': [0.5, 0.25, 0.25], 'synthetic': [0.25, 0.5, 0.25]}

The real 4 is held by one row and absent from the synthetic table, so it is not
named: it counts towards 3, the nearest named value, and so does the synthetic 9.

>>> plot["columns"]["x"]["labels"], plot["columns"]["x"]["real"], plot["columns"]["x"]["synthetic"]
(['1', '2', '3'], [0.25, 0.25, 0.5], [0.25, 0.25, 0.5])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..table.schema import Kind
from ._column_stats import MIN_NAMED_ROWS, category_codes, finite, row_view

__all__ = ["MARGINAL_SLOTS", "marginals_plot"]

#: Bins or levels per column in the marginal plots (missing and "other" included).
MARGINAL_SLOTS = 20


def _format_edge(value: float, is_datetime: bool) -> str:
    if is_datetime:
        stamp = pd.Timestamp(value, unit="s")
        return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M")
    return f"{value:.4g}"


def _numeric_marginal(data, name: str, real: pd.Series, synthetic: pd.Series) -> dict[str, Any]:
    is_datetime = data.schema[name].kind is Kind.DATETIME
    has_missing = bool(real.isna().any() or synthetic.isna().any())
    slots = MARGINAL_SLOTS - int(has_missing)
    x = finite(real)
    distinct, counts = np.unique(x, return_counts=True)
    if distinct.size == 0:   # no present real value in the rows used (a sparse, subsampled column)
        distinct = np.unique(finite(synthetic))[:1] if finite(synthetic).size else np.zeros(1)
    elif distinct.size <= slots:
        # name only values enough real rows hold or the synthetic table has; the others merge into the nearest
        # (a single value is every real row's, so it is named: there is nothing to merge it with)
        named = distinct[(counts >= MIN_NAMED_ROWS) | np.isin(distinct, finite(synthetic))]
        distinct = named if named.size or distinct.size == 1 else distinct[:0]
    if 0 < distinct.size <= slots:
        # few distinct values: one bar per real value; a synthetic value counts towards the nearest one
        inner = (distinct[1:] + distinct[:-1]) / 2.0
        labels = [_format_edge(v, is_datetime) for v in distinct]
    else:
        lo, hi = np.quantile(x, [0.005, 0.995])
        if not hi > lo:
            lo, hi = float(x.min()), float(x.max())
        edges = np.linspace(lo, hi, slots + 1)
        inner = edges[1:-1]
        text = [_format_edge(v, is_datetime) for v in edges]
        labels = [f"< {text[1]}"] + [f"{text[i]} to {text[i + 1]}" for i in range(1, slots - 1)] + [f">= {text[-2]}"]

    def shares(series: pd.Series) -> list[float]:
        v = series.to_numpy(dtype=float)
        ok = np.isfinite(v)
        counts = np.bincount(np.searchsorted(inner, v[ok], side="right"), minlength=len(labels)).astype(float)
        if has_missing:
            counts = np.append(counts, float((~ok).sum()))
        return [round(float(c) / max(len(v), 1), 6) for c in counts]

    return {"kind": "numeric", "labels": labels + (["(missing)"] if has_missing else []),
            "real": shares(real), "synthetic": shares(synthetic)}


def _categorical_marginal(data, name: str) -> dict[str, Any]:
    """Shares of the levels with the largest share in either table (so a level only the synthetic table has
    shows too), the rest pooled as "(other levels)", and missing."""
    r, s, k = category_codes(data, name)
    levels = data.levels(name)
    real_counts, synthetic_counts = np.bincount(r, minlength=k), np.bincount(s, minlength=k)
    real = real_counts / max(r.size, 1)
    synthetic = synthetic_counts / max(s.size, 1)
    has_missing = bool(real[-1] or synthetic[-1])
    n_levels = k - 1
    slots = MARGINAL_SLOTS - int(has_missing)
    # a level is named only if enough real rows hold it or the synthetic table has it (see the module docstring)
    nameable = np.flatnonzero((real_counts[:n_levels] >= MIN_NAMED_ROWS) | (synthetic_counts[:n_levels] > 0))
    pooled = nameable.size < n_levels or nameable.size > slots
    order = np.argsort(-np.maximum(real[nameable], synthetic[nameable]), kind="stable")
    shown = nameable[order[:slots - 1 if pooled else slots]]
    rest = np.setdiff1d(np.arange(n_levels), shown)

    def shares(p: np.ndarray) -> list[float]:
        out = list(p[shown]) + ([p[rest].sum()] if rest.size else []) + ([p[-1]] if has_missing else [])
        return [round(float(v), 6) for v in out]

    labels = [str(levels[i]) for i in shown] + (["(other levels)"] if rest.size else []) \
        + (["(missing)"] if has_missing else [])
    return {"kind": "categorical", "labels": labels, "real": shares(real), "synthetic": shares(synthetic)}


def marginals_plot(data) -> dict[str, Any]:
    """The ``{"type": "marginals", ...}`` plot data of every compared column, from the rows :func:`row_view` uses."""
    view = row_view(data)
    columns = {}
    for name in data.columns:
        if name in data.numeric:
            columns[name] = _numeric_marginal(data, name, view.real[name], view.synthetic[name])
        else:
            columns[name] = _categorical_marginal(data, name)
    return {"type": "marginals", "columns": columns}
