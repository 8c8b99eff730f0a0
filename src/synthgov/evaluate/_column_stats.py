"""The column and pair statistics the fidelity metrics share, each computed once per evaluation.

Every function here takes an :class:`~synthgov.evaluate.data.EvalData` and
stores its result through :meth:`EvalData.memo
<synthgov.evaluate.data.EvalData.memo>`, so several metrics (and the overall
``fidelity_score``) reuse one computation: the capped rows (:func:`row_view`),
category codes, per-column shapes (KS or TV complement), missing rates,
Spearman correlations and contingency (pair-table) similarities. The metric
declarations that read these live in :mod:`synthgov.evaluate.fidelity`.

A hand-worked example: the real ``x`` is 1, 2, 3, 4 and the synthetic one 1,
2, 3, 9 (CDFs at most 1/4 apart); the real categories a, a, b, missing and the
synthetic ones a, b, b, missing (shares 1/4 apart in total variation).

>>> import pandas as pd
>>> from synthgov.evaluate import EvalData
>>> real = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "a", "b", None]})
>>> synthetic = pd.DataFrame({"x": [1.0, 2.0, 3.0, 9.0], "c": ["a", "b", "b", None]})
>>> data = EvalData.prepare(real, synthetic, holdout=real)
>>> shapes = column_shapes(data)
>>> shapes["x"]["ks_statistic"], shapes["c"]["tvd"]
(0.25, 0.25)
>>> column_shapes(data) is shapes   # memoised: computed once per evaluation
True
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ._stats import ks_statistic, pairwise_correlation, total_variation
from ._threads import one_thread
from .base import NotComputed

__all__ = [
    "ROW_CAP", "PAIR_CAP", "PAIR_LEVELS", "PAIR_BINS", "MIN_PAIR_ROWS", "MIN_NAMED_ROWS",
    "RowView", "row_view", "category_codes", "finite", "column_shapes", "missing_rates", "correlations", "contingency",
]

#: Rows per table used for column and pair statistics; bigger tables are subsampled (seeded).
ROW_CAP = 50_000
#: Column pairs compared by contingency similarity; more pairs than this and a seeded sample is used.
PAIR_CAP = 1_500
#: Categorical levels kept apart in pair tables (the rest pooled as "other"; missing is its own level).
PAIR_LEVELS = 20
#: Quantile bins of the real values that numeric columns are cut into for pair tables.
PAIR_BINS = 10
#: Pairs with fewer rows where both values are present are not given a correlation.
MIN_PAIR_ROWS = 10
#: A real value (a category, or one of few distinct numbers) is named in details and plot labels only when at
#: least this many real rows hold it or the synthetic table has it too (the synthetic table is released anyway):
#: a value held by a handful of real rows is close to an individual's record, and reports end up in shared
#: release metadata. Such values still count in every figure, only unnamed (pooled or merged).
MIN_NAMED_ROWS = 10


@dataclasses.dataclass
class RowView:
    """The real and synthetic rows the column and pair statistics use, and how they were chosen (``method``)."""

    real: pd.DataFrame
    synthetic: pd.DataFrame
    method: str

    @property
    def rows_used(self) -> dict[str, int]:
        return {"real": len(self.real), "synthetic": len(self.synthetic)}


def row_view(data) -> RowView:
    """The rows every column and pair statistic uses: all of them, or a seeded sample of :data:`ROW_CAP`."""
    def build():
        real = data.subsample(data.real, ROW_CAP, "fidelity:rows")
        synthetic = data.subsample(data.synthetic, ROW_CAP, "fidelity:rows")
        subsampled = len(real) < len(data.real) or len(synthetic) < len(data.synthetic)
        method = f"subsampled to at most {ROW_CAP} rows per table (seeded)" if subsampled else "exact"
        return RowView(real, synthetic, method)

    return data.memo("fidelity:view", build)


def category_codes(data, column: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Codes over every level of ``column`` (:meth:`EvalData.levels` order), missing as the last code."""
    def build():
        view = row_view(data)
        levels = data.levels(column)
        k = len(levels)

        index = {v: i for i, v in enumerate(levels)}

        def codes(series: pd.Series) -> np.ndarray:
            found, uniques = pd.factorize(series.to_numpy(dtype=object))   # missing -> -1
            lookup = np.array([index[u] for u in uniques] + [k], dtype=np.int64)
            return lookup[found]

        return codes(view.real[column]), codes(view.synthetic[column]), k + 1

    return data.memo(f"fidelity:codes:{column}", build)


def finite(values: pd.Series) -> np.ndarray:
    """The present (finite) values of ``values``, as floats."""
    x = values.to_numpy(dtype=float)
    return x[np.isfinite(x)]


def column_shapes(data) -> dict[str, dict[str, Any]]:
    """Per column: the KS complement (numeric, datetime) or the TV complement (categorical, boolean)."""
    def build():
        view = row_view(data)
        out: dict[str, dict[str, Any]] = {}
        for name in data.columns:
            if name in data.numeric:
                x, y = finite(view.real[name]), finite(view.synthetic[name])
                if x.size == 0:   # possible only when a sparse column is subsampled
                    out[name] = {"kind": "numeric", "measure": "ks_complement", "score": None, "ks_statistic": None,
                                 "note": "no real value is present in the rows used: not scored"}
                    continue
                if y.size == 0:
                    out[name] = {"kind": "numeric", "measure": "ks_complement", "score": 0.0, "ks_statistic": None,
                                 "note": "every synthetic value is missing: scored 0"}
                    continue
                stat = ks_statistic(x, y)
                out[name] = {"kind": "numeric", "measure": "ks_complement", "score": 1.0 - stat,
                             "ks_statistic": stat}
            else:
                r, s, k = category_codes(data, name)
                p = np.bincount(r, minlength=k) / r.size
                q = np.bincount(s, minlength=k) / s.size
                tvd = float(total_variation(p, q))
                out[name] = {"kind": "categorical", "measure": "tv_complement", "score": 1.0 - tvd, "tvd": tvd,
                             "levels": k - 1}
        return out

    return data.memo("fidelity:shapes", build)


def missing_rates(data) -> dict[str, dict[str, float]]:
    """Per column: the share of missing values in each table (all rows) and one minus their difference."""
    def build():
        real = data.real.isna().mean()
        synthetic = data.synthetic.isna().mean()
        return {name: {"real": float(real[name]), "synthetic": float(synthetic[name]),
                       "score": 1.0 - abs(float(real[name]) - float(synthetic[name]))} for name in data.columns}

    return data.memo("fidelity:missing", build)


def correlations(data) -> dict[str, Any]:
    """Spearman correlation matrices of the numeric columns, real and synthetic, and per-pair similarity."""
    def build():
        columns = list(data.numeric)
        if len(columns) < 2:
            raise NotComputed("needs at least two numeric or datetime columns")
        view = row_view(data)
        # Spearman = Pearson on ranks. Ranks are taken over each column's present values and correlated
        # over the rows where both values are present (exact Spearman when nothing is missing).
        with one_thread():
            real = pairwise_correlation(view.real[columns].rank().to_numpy(dtype=float), min_rows=MIN_PAIR_ROWS)
            synthetic = pairwise_correlation(view.synthetic[columns].rank().to_numpy(dtype=float),
                                             min_rows=MIN_PAIR_ROWS)
        pairs: dict[tuple[str, str], float] = {}
        undefined: list[list[str]] = []
        for i in range(len(columns)):
            for j in range(i + 1, len(columns)):
                a, b = real[i, j], synthetic[i, j]
                if np.isfinite(a) and np.isfinite(b):
                    pairs[(columns[i], columns[j])] = 1.0 - abs(float(a) - float(b)) / 2.0
                else:
                    undefined.append([columns[i], columns[j]])
        return {"columns": columns, "real": real, "synthetic": synthetic, "pairs": pairs, "undefined": undefined}

    return data.memo("fidelity:correlations", build)


def _pair_codes(data, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes in ``[0, PAIR_LEVELS + 2)`` for pair tables: top levels / quantile bins, "other", missing."""
    missing_code = PAIR_LEVELS + 1
    view = row_view(data)
    if column in data.numeric:
        x = finite(view.real[column])
        inner = np.unique(np.quantile(x, np.linspace(0.0, 1.0, PAIR_BINS + 1)[1:-1])) if x.size else np.zeros(0)

        def codes(series: pd.Series) -> np.ndarray:
            v = series.to_numpy(dtype=float)
            return np.where(np.isfinite(v), np.searchsorted(inner, v, side="right"), missing_code)

        return codes(view.real[column]), codes(view.synthetic[column])
    r, s, k = category_codes(data, column)
    missing = k - 1

    def pool(c: np.ndarray) -> np.ndarray:
        return np.where(c == missing, missing_code, np.minimum(c, PAIR_LEVELS))

    return pool(r), pool(s)


def contingency(data) -> dict[str, Any]:
    """1 - TVD of the joint distribution for every (or a seeded sample of) column pair(s), vectorised."""
    def build():
        columns = list(data.columns)
        p = len(columns)
        if p < 2:
            raise NotComputed("needs at least two compared columns")
        all_pairs = [(i, j) for i in range(p) for j in range(i + 1, p)]
        if len(all_pairs) > PAIR_CAP:
            pick = np.sort(data.rng("fidelity:pairs").choice(len(all_pairs), size=PAIR_CAP, replace=False))
            chosen = [all_pairs[k] for k in pick]
            method = f"a seeded sample of {PAIR_CAP} of the {len(all_pairs)} column pairs"
        else:
            chosen = all_pairs
            method = f"all {len(all_pairs)} column pairs"
        n_codes = PAIR_LEVELS + 2
        cells = n_codes * n_codes
        codes = [_pair_codes(data, name) for name in columns]
        # one int64 matrix per table, a row per column (contiguous): np.bincount takes int64 without a copy
        tables = [np.stack([c[side] for c in codes]).astype(np.int64) for side in (0, 1)]
        by_anchor: dict[int, list[int]] = {}
        for i, j in chosen:
            by_anchor.setdefault(i, []).append(j)
        scores: dict[tuple[str, str], float] = {}
        for i, js in by_anchor.items():
            offsets = (np.arange(len(js), dtype=np.int64) * cells)[:, None]
            dists = []
            for table in tables:
                # the flat cell of row r in pair q: q * cells + code_i * n_codes + code_j
                joint = (table[js] if len(js) < p - 1 - i else table[i + 1:]) + offsets
                joint += table[i] * n_codes
                counts = np.bincount(joint.ravel(), minlength=len(js) * cells).reshape(len(js), cells)
                dists.append(counts / table.shape[1])
            for j, t in zip(js, total_variation(dists[0], dists[1]), strict=True):
                scores[(columns[i], columns[j])] = 1.0 - float(t)
        return {"pairs": scores, "method": method, "total_pairs": len(all_pairs)}

    return data.memo("fidelity:contingency", build)
