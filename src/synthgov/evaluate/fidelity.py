"""Fidelity: how closely the synthetic rows reproduce the real ones, per column, per pair and as a whole.

Column shapes (``ks_complement``, ``tv_complement``, ``missing_similarity``),
pair trends (``correlation_similarity``, ``contingency_similarity``), whole
rows (``detection_auc``, ``knn_precision``, ``knn_recall``) and the overall
``fidelity_score``. Costly intermediate results (the capped rows, category
codes, per-column and per-pair scores) are computed once per evaluation through
:meth:`EvalData.memo <synthgov.evaluate.data.EvalData.memo>` and shared.

A hand-worked example: the real column ``x`` is 1, 2, 3, 4 and the synthetic one
1, 2, 3, 9, so the two empirical CDFs differ by at most 1/4 (between 4 and 9);
the real categories are a, a, b, missing and the synthetic ones a, b, b,
missing, so the shares (1/2, 1/4, 1/4) and (1/4, 1/2, 1/4) are 1/4 apart in
total variation.

>>> import pandas as pd
>>> from synthgov.evaluate import EvalData, get_metric
>>> real = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "a", "b", None]})
>>> synthetic = pd.DataFrame({"x": [1.0, 2.0, 3.0, 9.0], "c": ["a", "b", "b", None]})
>>> data = EvalData.prepare(real, synthetic, holdout=real)
>>> get_metric("ks_complement").compute(data).value
0.75
>>> get_metric("tv_complement").compute(data).value
0.75
>>> get_metric("missing_similarity").compute(data).value
1.0
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..table.schema import Kind
from .base import Metric, MetricResult, NotComputed

__all__ = [
    "ks_statistic",
    "total_variation",
    "wilson_interval",
    "pairwise_correlation",
    "pair_trends",
    "KSComplement",
    "TVComplement",
    "MissingSimilarity",
    "CorrelationSimilarity",
    "ContingencySimilarity",
    "DetectionAUC",
    "KNNPrecision",
    "KNNRecall",
    "FidelityScore",
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
#: Bins or levels per column in the marginal plots (missing and "other" included).
MARGINAL_SLOTS = 20
#: Columns shown in the correlation-difference heatmap (the ones that differ most).
HEATMAP_COLUMNS = 40
#: Rows per table the real-vs-synthetic classifier sees, and its cross-validation folds.
DETECTION_ROWS = 2_000
DETECTION_FOLDS = 3
DETECTION_TREES = 30
#: Categorical levels the classifier sees apart: the most frequent real ones with enough real rows.
DETECTION_LEVELS = 50
DETECTION_MIN_COUNT = 10
#: Rows per table and neighbours for the k-NN precision and recall.
PRD_ROWS = 2_000
PRD_K = 5


# -- small exact formulas (public so tests and other families can check against them) --------------
def ks_statistic(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs of ``x`` and ``y``.

    >>> ks_statistic(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 9.0]))
    0.25
    """
    x = np.sort(np.asarray(x, dtype=float))
    y = np.sort(np.asarray(y, dtype=float))
    if x.size == 0 or y.size == 0:
        raise ParameterError("ks_statistic needs at least one value on each side")
    grid = np.concatenate([x, y])
    fx = np.searchsorted(x, grid, side="right") / x.size
    fy = np.searchsorted(y, grid, side="right") / y.size
    return float(np.max(np.abs(fx - fy)))


def total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Total variation distance ``0.5 * sum |p - q|`` between distributions (along the last axis).

    >>> float(total_variation(np.array([0.5, 0.25, 0.25]), np.array([0.25, 0.5, 0.25])))
    0.25
    """
    return 0.5 * np.abs(np.asarray(p, dtype=float) - np.asarray(q, dtype=float)).sum(axis=-1)


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval (95% by default) for a proportion ``successes / n``.

    >>> [round(v, 4) for v in wilson_interval(5, 10)]
    [0.2366, 0.7634]
    """
    if n <= 0 or not 0 <= successes <= n:
        raise ParameterError(f"wilson_interval needs 0 <= successes <= n and n > 0, got {successes} of {n}")
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at 0 or n successes the bound is exactly 0 or 1; rounding would leave it a hair inside
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def _r(value: float | None, digits: int = 6) -> float | None:
    """A JSON-friendly rounded float (``None`` for missing or not finite)."""
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def _mean(values) -> float:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else float("nan")


_THREADS: list = []


def _one_thread():
    """Run BLAS and OpenMP code on one thread. On the few thousand rows used here threads gain little, and
    on a busy machine their spinning made matrix products and tree fits several times slower (measured)."""
    if not _THREADS:  # finding the thread pools takes milliseconds: do it once, after the OpenMP runtime loads
        import sklearn.ensemble  # noqa: F401 - loads the OpenMP runtime the trees use, so it is found
        from threadpoolctl import ThreadpoolController

        _THREADS.append(ThreadpoolController())
    return _THREADS[0].limit(limits=1)


# -- shared, memoised intermediate results ------------------------------------------------------
@dataclasses.dataclass
class _View:
    real: pd.DataFrame
    synthetic: pd.DataFrame
    method: str

    @property
    def rows_used(self) -> dict[str, int]:
        return {"real": len(self.real), "synthetic": len(self.synthetic)}


def _view(data) -> _View:
    """The rows every column and pair statistic uses: all of them, or a seeded sample of :data:`ROW_CAP`."""
    def build():
        real = data.subsample(data.real, ROW_CAP, "fidelity:rows")
        synthetic = data.subsample(data.synthetic, ROW_CAP, "fidelity:rows")
        subsampled = len(real) < len(data.real) or len(synthetic) < len(data.synthetic)
        method = f"subsampled to at most {ROW_CAP} rows per table (seeded)" if subsampled else "exact"
        return _View(real, synthetic, method)

    return data.memo("fidelity:view", build)


def _category_codes(data, column: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Codes over every level of ``column`` (:meth:`EvalData.levels` order), missing as the last code."""
    def build():
        view = _view(data)
        levels = data.levels(column)
        k = len(levels)

        index = {v: i for i, v in enumerate(levels)}

        def codes(series: pd.Series) -> np.ndarray:
            found, uniques = pd.factorize(series.to_numpy(dtype=object))   # missing -> -1
            lookup = np.array([index[u] for u in uniques] + [k], dtype=np.int64)
            return lookup[found]

        return codes(view.real[column]), codes(view.synthetic[column]), k + 1

    return data.memo(f"fidelity:codes:{column}", build)


def _finite(values: pd.Series) -> np.ndarray:
    x = values.to_numpy(dtype=float)
    return x[np.isfinite(x)]


def _column_shapes(data) -> dict[str, dict[str, Any]]:
    """Per column: the KS complement (numeric, datetime) or the TV complement (categorical, boolean)."""
    def build():
        view = _view(data)
        out: dict[str, dict[str, Any]] = {}
        for name in data.columns:
            if name in data.numeric:
                x, y = _finite(view.real[name]), _finite(view.synthetic[name])
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
                r, s, k = _category_codes(data, name)
                p = np.bincount(r, minlength=k) / r.size
                q = np.bincount(s, minlength=k) / s.size
                tvd = float(total_variation(p, q))
                out[name] = {"kind": "categorical", "measure": "tv_complement", "score": 1.0 - tvd, "tvd": tvd,
                             "levels": k - 1}
        return out

    return data.memo("fidelity:shapes", build)


def _missing_rates(data) -> dict[str, dict[str, float]]:
    def build():
        real = data.real.isna().mean()
        synthetic = data.synthetic.isna().mean()
        return {name: {"real": float(real[name]), "synthetic": float(synthetic[name]),
                       "score": 1.0 - abs(float(real[name]) - float(synthetic[name]))} for name in data.columns}

    return data.memo("fidelity:missing", build)


def pairwise_correlation(x: np.ndarray, min_rows: int = MIN_PAIR_ROWS) -> np.ndarray:
    """Pearson correlation of every pair of columns of ``x`` over the rows where both are present (not NaN).

    All pairs at once from matrix products of the centred values and the presence masks. NaN where fewer
    than ``min_rows`` rows have both values or a column is constant over them.

    >>> x = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, np.nan], [4.0, 8.0]])
    >>> pairwise_correlation(x, min_rows=2).round(6).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    present = np.isfinite(x)
    m = present.astype(float)
    x = np.where(present, x - np.nanmean(np.where(present, x, np.nan), axis=0), 0.0)
    n = m.T @ m                 # rows where both i and j are present
    s = x.T @ m                 # s[i, j]: sum of x_i over the rows where j is present
    ss = (x * x).T @ m          # ss[i, j]: sum of x_i squared over the rows where j is present
    cross = x.T @ x             # sum of x_i * x_j (zero wherever either is missing)
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = n * cross - s * s.T
        var_i = n * ss - s * s
        corr = cov / np.sqrt(var_i * var_i.T)
        # a constant column (over the shared rows) has zero variance up to rounding: leave it undefined
        scale = n * n * np.maximum(np.diag(ss)[:, None], np.diag(ss)[None, :]) + 1.0
        bad = (n < min_rows) | (var_i <= 1e-12 * scale) | (var_i.T <= 1e-12 * scale) | ~np.isfinite(corr)
    corr = np.clip(corr, -1.0, 1.0)
    corr[bad] = np.nan
    return corr


def _correlations(data) -> dict[str, Any]:
    """Spearman correlation matrices of the numeric columns, real and synthetic, and per-pair similarity."""
    def build():
        columns = list(data.numeric)
        if len(columns) < 2:
            raise NotComputed("needs at least two numeric or datetime columns")
        view = _view(data)
        # Spearman = Pearson on ranks. Ranks are taken over each column's present values and correlated
        # over the rows where both values are present (exact Spearman when nothing is missing).
        with _one_thread():
            real = pairwise_correlation(view.real[columns].rank().to_numpy(dtype=float))
            synthetic = pairwise_correlation(view.synthetic[columns].rank().to_numpy(dtype=float))
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
    view = _view(data)
    if column in data.numeric:
        x = _finite(view.real[column])
        inner = np.unique(np.quantile(x, np.linspace(0.0, 1.0, PAIR_BINS + 1)[1:-1])) if x.size else np.zeros(0)

        def codes(series: pd.Series) -> np.ndarray:
            v = series.to_numpy(dtype=float)
            return np.where(np.isfinite(v), np.searchsorted(inner, v, side="right"), missing_code)

        return codes(view.real[column]), codes(view.synthetic[column])
    r, s, k = _category_codes(data, column)
    missing = k - 1

    def pool(c: np.ndarray) -> np.ndarray:
        return np.where(c == missing, missing_code, np.minimum(c, PAIR_LEVELS))

    return pool(r), pool(s)


def _contingency(data) -> dict[str, Any]:
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


# -- marginal plot data --------------------------------------------------------------------------
def _format_edge(value: float, is_datetime: bool) -> str:
    if is_datetime:
        stamp = pd.Timestamp(value, unit="s")
        return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M")
    return f"{value:.4g}"


def _numeric_marginal(data, name: str, real: pd.Series, synthetic: pd.Series) -> dict[str, Any]:
    is_datetime = data.schema[name].kind is Kind.DATETIME
    has_missing = bool(real.isna().any() or synthetic.isna().any())
    slots = MARGINAL_SLOTS - int(has_missing)
    x = _finite(real)
    distinct = np.unique(x)
    if distinct.size == 0:   # no present real value in the rows used (a sparse, subsampled column)
        distinct = np.unique(_finite(synthetic))[:1] if _finite(synthetic).size else np.zeros(1)
    if distinct.size <= slots:
        # few distinct values: one bar per real value; a synthetic value counts towards the nearest one
        inner = (distinct[1:] + distinct[:-1]) / 2.0
        labels = [_format_edge(v, is_datetime) for v in distinct]
    else:
        lo, hi = np.quantile(x, [0.005, 0.995])
        if not hi > lo:
            lo, hi = float(distinct[0]), float(distinct[-1])
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
    r, s, k = _category_codes(data, name)
    levels = data.levels(name)
    real = np.bincount(r, minlength=k) / max(r.size, 1)
    synthetic = np.bincount(s, minlength=k) / max(s.size, 1)
    has_missing = bool(real[-1] or synthetic[-1])
    n_levels = k - 1
    slots = MARGINAL_SLOTS - int(has_missing)
    top = n_levels if n_levels <= slots else slots - 1
    shown = np.argsort(-np.maximum(real[:n_levels], synthetic[:n_levels]), kind="stable")[:top]
    rest = np.setdiff1d(np.arange(n_levels), shown)

    def shares(p: np.ndarray) -> list[float]:
        out = list(p[shown]) + ([p[rest].sum()] if rest.size else []) + ([p[-1]] if has_missing else [])
        return [round(float(v), 6) for v in out]

    labels = [str(levels[i]) for i in shown] + (["(other levels)"] if rest.size else []) \
        + (["(missing)"] if has_missing else [])
    return {"kind": "categorical", "labels": labels, "real": shares(real), "synthetic": shares(synthetic)}


def _marginals_plot(data) -> dict[str, Any]:
    view = _view(data)
    columns = {}
    for name in data.columns:
        if name in data.numeric:
            columns[name] = _numeric_marginal(data, name, view.real[name], view.synthetic[name])
        else:
            columns[name] = _categorical_marginal(data, name)
    return {"type": "marginals", "columns": columns}


# -- column shapes -----------------------------------------------------------------------------
class KSComplement(Metric):
    name = "ks_complement"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "For each numeric and datetime column, one minus the Kolmogorov-Smirnov statistic: the largest gap "
        "between the real and the synthetic cumulative distributions, over the values that are present. "
        "1 means the two distributions are identical; 0 means they do not overlap at all. The value is the "
        "mean over columns; details give each column. Missing values are ignored here (see missing_similarity); "
        f"a column the synthetic table leaves entirely empty scores 0. On tables of more than {ROW_CAP:,} rows a "
        f"seeded sample of {ROW_CAP:,} rows per table is used, which adds a little noise (about 0.01)."
    )
    source = "SDMetrics KSComplement; Kolmogorov-Smirnov two-sample statistic"

    def compute(self, data) -> MetricResult:
        shapes = _column_shapes(data)
        numeric = {n: s for n, s in shapes.items() if s["kind"] == "numeric"}
        if not any(s["score"] is not None for s in numeric.values()):
            raise NotComputed("no numeric or datetime column to compare")
        view = _view(data)
        return MetricResult(
            value=_mean(s["score"] for s in numeric.values()),
            details={
                "columns": {n: {"score": _r(s["score"]), "ks_statistic": _r(s["ks_statistic"]),
                                **({"note": s["note"]} if "note" in s else {})} for n, s in numeric.items()},
                "rows_used": view.rows_used, "method": view.method,
            },
        )


class TVComplement(Metric):
    name = "tv_complement"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "For each categorical and boolean column, one minus the total variation distance between the real and "
        "the synthetic category shares (half the sum of the absolute differences), with missing counted as a "
        "category of its own. 1 means every category, and missingness, has the same share; 0 means the two "
        "tables share no category. The value is the mean over columns; details give each column."
    )
    source = "SDMetrics TVComplement"

    def compute(self, data) -> MetricResult:
        shapes = _column_shapes(data)
        categorical = {n: s for n, s in shapes.items() if s["kind"] == "categorical"}
        if not categorical:
            raise NotComputed("no categorical or boolean column to compare")
        view = _view(data)
        return MetricResult(
            value=_mean(s["score"] for s in categorical.values()),
            details={
                "columns": {n: {"score": _r(s["score"]), "tvd": _r(s["tvd"]), "levels": s["levels"]}
                            for n, s in categorical.items()},
                "rows_used": view.rows_used, "method": view.method,
            },
        )


class MissingSimilarity(Metric):
    name = "missing_similarity"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "For each column, one minus the absolute difference between the share of missing values in the real "
        "and in the synthetic table. 1 means every column is missing exactly as often as in the real data. "
        "The value is the mean over columns. It says nothing about which rows are missing together; "
        "missing_pattern_similarity (diversity) does."
    )
    source = "SDMetrics MissingValueSimilarity"

    def compute(self, data) -> MetricResult:
        rates = _missing_rates(data)
        return MetricResult(
            value=_mean(v["score"] for v in rates.values()),
            details={"columns": {n: {k: _r(x) for k, x in v.items()} for n, v in rates.items()},
                     "rows_used": {"real": len(data.real), "synthetic": len(data.synthetic)}, "method": "exact"},
        )


# -- pair trends ------------------------------------------------------------------------------------
class CorrelationSimilarity(Metric):
    name = "correlation_similarity"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "For each pair of numeric or datetime columns, 1 - |r_real - r_synthetic| / 2, where r is Spearman's "
        "rank correlation (ranks over each column's present values, correlated over the rows where both are "
        "present; robust to skew and outliers, and blind to non-monotone relations). 1 means the pair is "
        "correlated exactly as in the real data. The value is the mean over pairs; pairs whose correlation is "
        f"undefined (a constant column, fewer than {MIN_PAIR_ROWS} rows with both values) are listed, not scored. "
        "The heatmap shows synthetic minus real correlation."
    )
    source = "SDMetrics CorrelationSimilarity (Spearman coefficient)"

    def compute(self, data) -> MetricResult:
        corr = _correlations(data)
        if not corr["pairs"]:
            raise NotComputed("no pair of numeric columns has a defined correlation in both tables")
        columns, real, synthetic = corr["columns"], corr["real"], corr["synthetic"]
        diff = synthetic - real
        shown = list(range(len(columns)))
        title = "Spearman correlation, synthetic minus real"
        if len(columns) > HEATMAP_COLUMNS:
            worst = np.nan_to_num(np.abs(diff), nan=0.0).mean(axis=1)
            shown = sorted(np.argsort(-worst, kind="stable")[:HEATMAP_COLUMNS].tolist())
            title += f" ({HEATMAP_COLUMNS} of {len(columns)} columns, those that differ most)"
        matrix = [[_r(diff[i, j], 4) for j in shown] for i in shown]
        view = _view(data)
        position = {name: i for i, name in enumerate(columns)}
        pairs = [[a, b, _r(real[position[a], position[b]], 4), _r(synthetic[position[a], position[b]], 4), _r(v, 4)]
                 for (a, b), v in sorted(corr["pairs"].items(), key=lambda kv: kv[1])]
        return MetricResult(
            value=_mean(corr["pairs"].values()),
            details={
                "coefficient": "spearman", "pair_fields": ["column", "column", "real", "synthetic", "score"],
                "pairs": pairs, "undefined_pairs": corr["undefined"],
                "rows_used": view.rows_used, "method": view.method,
                "plot": {"type": "heatmap", "title": title, "labels": [columns[i] for i in shown],
                         "matrix": matrix, "vmin": -1.0, "vmax": 1.0},
            },
        )


class ContingencySimilarity(Metric):
    name = "contingency_similarity"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "For each pair of columns, one minus the total variation distance between the real and the synthetic "
        f"joint distributions of the pair. Numeric and datetime columns are cut into {PAIR_BINS} quantile bins of "
        f"the real values; categorical columns keep their {PAIR_LEVELS} most frequent real levels and pool the "
        "rest as 'other'; missing is a level of its own. So every kind of pair is covered. 1 means the pair's "
        f"cross-table matches exactly. The value is the mean over pairs. With more than {PAIR_CAP:,} pairs a "
        f"seeded sample of {PAIR_CAP:,} is scored (stated in details). Binning hides differences within a bin, and sampling "
        "noise alone lowers the score of small tables (2,000 real loans rows score about 0.95 against 8,000 "
        "others)."
    )
    source = "SDMetrics ContingencySimilarity (numeric columns discretised)"

    def compute(self, data) -> MetricResult:
        cont = _contingency(data)
        view = _view(data)
        return MetricResult(
            value=_mean(cont["pairs"].values()),
            details={
                "pair_fields": ["column", "column", "score"],
                "pairs": [[a, b, _r(v, 4)] for (a, b), v in sorted(cont["pairs"].items(), key=lambda kv: kv[1])],
                "pairs_scored": len(cont["pairs"]), "pairs_total": cont["total_pairs"],
                "pair_method": cont["method"], "bins": PAIR_BINS, "levels_kept": PAIR_LEVELS,
                "rows_used": view.rows_used, "method": view.method,
            },
        )


# -- whole rows -----------------------------------------------------------------------------------
def _tree_matrix(data, side: int, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` of the real (``side`` 0) or synthetic (1) table as a float matrix for the classifier.

    Numeric columns stay. A categorical column becomes level codes in :meth:`EvalData.levels` order (most
    frequent real level first; NaN for missing), reused from the codes the column shapes computed. Only the
    :data:`DETECTION_LEVELS` levels with the most rows in either table, and at least
    :data:`DETECTION_MIN_COUNT` of them, keep their own code; the rest share one "other" code. Without the
    pooling a level's mere presence in the real table gives rows away: rows drawn from the real table always
    carry a level the real table has, while fresh rows (even real holdout rows) often carry unseen ones, and
    the classifier learns "seen or not" instead of a difference in distribution (measured on loans'
    emp_title: AUC 0.79 for real holdout rows before pooling, 0.50 after). A level frequent in the synthetic
    table but absent from the real one keeps its code: that is a real difference. The trees split the codes
    as ordered values.
    """
    view = _view(data)
    frame = view.real if side == 0 else view.synthetic
    out = np.empty((len(rows), len(data.columns)))
    for k, name in enumerate(data.columns):
        if name in data.numeric:
            out[:, k] = frame[name].to_numpy(dtype=float)[rows]
            continue
        real, synthetic, n_codes = _category_codes(data, name)
        counts = np.maximum(np.bincount(real, minlength=n_codes), np.bincount(synthetic, minlength=n_codes))
        counts[-1] = 0   # the missing code is NaN, below
        top = np.argsort(-counts, kind="stable")[:DETECTION_LEVELS]
        keep = np.zeros(n_codes, dtype=bool)
        keep[top[counts[top] >= DETECTION_MIN_COUNT]] = True
        lookup = np.where(keep, np.arange(n_codes), n_codes).astype(float)
        lookup[-1] = np.nan
        out[:, k] = lookup[(real if side == 0 else synthetic)[rows]]
    return out


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC via average ranks (ties count one half)."""
    ranks = pd.Series(score).rank().to_numpy()
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _roc_points(y: np.ndarray, score: np.ndarray, points: int = 200) -> tuple[list[float], list[float]]:
    order = np.argsort(-score, kind="stable")
    s, t = score[order], y[order]
    distinct = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(t)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0.0, tps / max(t.sum(), 1)]
    fpr = np.r_[0.0, fps / max(len(t) - t.sum(), 1)]
    if len(fpr) > points:
        keep = np.unique(np.linspace(0, len(fpr) - 1, points).round().astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return [round(float(v), 4) for v in fpr], [round(float(v), 4) for v in tpr]


def _grouped_folds(x: np.ndarray, y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """A fold number per row: identical rows share a fold, and each fold gets a near-equal share of each class."""
    groups = pd.factorize(pd.util.hash_pandas_object(pd.DataFrame(x), index=False).to_numpy())[0]
    label = np.zeros(groups.max() + 1, dtype=int)
    label[groups] = y
    order = rng.permutation(len(label))
    fold_of = np.empty(len(label), dtype=int)
    for value in (0, 1):
        members = order[label[order] == value]
        fold_of[members] = np.arange(len(members)) % k
    return fold_of[groups]


class DetectionAUC(Metric):
    name = "detection_auc"
    family = "fidelity"
    goal = "minimize"
    range = (0.0, 1.0)
    # Hosmer & Lemeshow's rule of thumb calls AUC >= 0.8 "excellent discrimination": past it a classifier
    # tells most synthetic rows from real ones, so the table does not pass as real data.
    threshold = 0.8
    definition = (
        f"A gradient-boosting classifier (scikit-learn HistGradientBoosting, {DETECTION_TREES} trees of up to 15 "
        f"leaves) is trained to tell real rows from synthetic ones on {DETECTION_ROWS:,} rows drawn from each "
        f"table (fewer if a table is smaller), with {DETECTION_FOLDS}-fold cross-validation (folds balanced by "
        "class, identical rows kept in one fold); the value is the ROC AUC of its out-of-fold predictions. "
        f"A categorical column keeps apart its {DETECTION_LEVELS} levels with the most rows (at least "
        f"{DETECTION_MIN_COUNT}) in either table and pools the rest, so one-off values do not give rows away. "
        "0.5 is ideal (the classifier cannot tell the tables apart); 1 means every synthetic row gives itself "
        "away. The interval is Hanley and McNeil's 95% interval. Details list the columns whose shuffling "
        "costs the classifier most AUC (permutation importance on one fold): the ones that give synthetic rows "
        "away. A stronger classifier could separate the tables better, so a low value is not proof that they "
        "are indistinguishable."
    )
    source = "SDMetrics detection metrics (LogisticDetection), with a gradient-boosting classifier; Hanley & McNeil 1982"

    def compute(self, data) -> MetricResult:
        from sklearn.ensemble import HistGradientBoostingClassifier

        view = _view(data)
        n = min(DETECTION_ROWS, len(view.real), len(view.synthetic))
        if n < 2 * DETECTION_FOLDS:
            raise NotComputed(f"needs at least {2 * DETECTION_FOLDS} rows in each table")
        rng = data.rng("detection_auc")
        rows = [np.sort(rng.choice(len(frame), size=n, replace=False)) for frame in (view.real, view.synthetic)]
        x = np.vstack([_tree_matrix(data, 0, rows[0]), _tree_matrix(data, 1, rows[1])])
        y = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
        # identical rows (a synthetic row copying a real one) share a fold: otherwise the classifier is trained on
        # one twin with the opposite label of the other and scores below 0.5 for copies
        fold = _grouped_folds(x, y, DETECTION_FOLDS, rng)
        if any(len(np.unique(y[fold == f])) < 2 for f in range(DETECTION_FOLDS)):
            raise NotComputed("too few distinct rows to cross-validate a classifier")
        score = np.zeros(len(y))
        fold_aucs = []
        model = test = None
        with _one_thread():
            for f in range(DETECTION_FOLDS):
                train, test = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
                model = HistGradientBoostingClassifier(
                    max_iter=DETECTION_TREES, learning_rate=0.3, max_leaf_nodes=15, early_stopping=False,
                    random_state=int(rng.integers(2**31 - 1)))
                model.fit(x[train], y[train])
                score[test] = model.predict_proba(x[test])[:, 1]
                fold_aucs.append(_auc(y[test], score[test]))
            # permutation importance on (up to 700 rows of) the last fold: the AUC the classifier loses when one
            # column is shuffled; all columns in one batch so the trees are walked once
            keep = test[np.sort(rng.choice(len(test), size=min(len(test), 700), replace=False))]
            x_test, y_test = x[keep], y[keep]
            batch = np.tile(x_test, (x.shape[1], 1))
            for k in range(x.shape[1]):
                batch[k * len(keep):(k + 1) * len(keep), k] = x_test[rng.permutation(len(keep)), k]
            shuffled = model.predict_proba(batch)[:, 1].reshape(x.shape[1], len(keep))
        base = _auc(y_test, score[keep])
        drops = {name: base - _auc(y_test, shuffled[k]) for k, name in enumerate(data.columns)}
        auc = _auc(y, score)
        top = sorted(drops.items(), key=lambda kv: -kv[1])[:10]
        fpr, tpr = _roc_points(y, score)
        return MetricResult(
            value=auc, ci=_hanley_mcneil(auc, int((y == 1).sum()), int((y == 0).sum())),
            details={
                "fold_auc": [_r(a) for a in fold_aucs], "folds": DETECTION_FOLDS,
                "giveaway_columns": [{"column": k, "auc_drop": _r(v)} for k, v in top if v > 0],
                "rows_used": {"real": n, "synthetic": n},
                "method": "exact" if n == max(len(data.real), len(data.synthetic)) else
                f"subsampled to {n} rows per table (seeded)",
                "plot": {"type": "roc", "fpr": fpr, "tpr": tpr, "auc": _r(auc, 4)},
            },
        )


def _hanley_mcneil(auc: float, n_pos: int, n_neg: int, z: float = 1.959963984540054) -> tuple[float, float]:
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    half = z * math.sqrt(max(var, 0.0))
    return max(0.0, auc - half), min(1.0, auc + half)


def _squared_distances(a: np.ndarray, b: np.ndarray, a_sq: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    return np.maximum(a_sq[:, None] + b_sq[None, :] - 2.0 * (a @ b.T), 0.0)


def _knn_precision_recall(data) -> dict[str, Any]:
    """Kynkäänniemi et al.'s k-NN manifolds: which synthetic rows fall in the real one and vice versa.

    Every distance (the k-NN radii and the ball tests) comes from one float32 formula, on rows centred at the
    real mean (which keeps rounding near 1e-6); a point counts as inside a ball when its squared distance
    exceeds the squared radius by at most 1e-5, so an exact copy of a row always falls inside that row's ball.
    """
    def build():
        n = min(PRD_ROWS, len(data.real), len(data.synthetic))
        if n <= PRD_K:
            raise NotComputed(f"needs more than {PRD_K} rows in each table")
        encode = data.distance_encoder()
        real = encode(data.subsample(data.real, n, "knn_prd"))
        synthetic = encode(data.subsample(data.synthetic, n, "knn_prd"))
        used = (real != 0).any(axis=0) | (synthetic != 0).any(axis=0)   # empty slots add nothing to a distance
        centre = real[:, used].mean(axis=0)
        real, synthetic = real[:, used] - centre, synthetic[:, used] - centre
        r_sq, s_sq = (real * real).sum(axis=1), (synthetic * synthetic).sum(axis=1)
        slack = np.float32(1e-5)
        chunk = 1000
        with _one_thread():
            def radii2(points: np.ndarray, sq: np.ndarray) -> np.ndarray:
                # squared distance to the k-th nearest other point (the point itself is the nearest, at 0)
                out = np.empty(len(points), dtype=np.float32)
                for start in range(0, len(points), chunk):
                    d2 = _squared_distances(points[start:start + chunk], points, sq[start:start + chunk], sq)
                    out[start:start + chunk] = np.partition(d2, PRD_K, axis=1)[:, PRD_K]
                return out + slack

            real_r2, syn_r2 = radii2(real, r_sq), radii2(synthetic, s_sq)
            in_real = np.zeros(n, dtype=bool)       # synthetic row inside some real row's ball
            in_synthetic = np.zeros(n, dtype=bool)  # real row inside some synthetic row's ball
            for start in range(0, n, chunk):
                d2 = _squared_distances(synthetic[start:start + chunk], real, s_sq[start:start + chunk], r_sq)
                in_real[start:start + chunk] = (d2 <= real_r2[None, :]).any(axis=1)
                in_synthetic |= (d2 <= syn_r2[start:start + chunk, None]).any(axis=0)
        method = "exact" if n == max(len(data.real), len(data.synthetic)) else f"subsampled to {n} rows per table"
        return {"precision": int(in_real.sum()), "recall": int(in_synthetic.sum()), "n": n, "method": method,
                "dimensions": int(used.sum())}

    return data.memo("fidelity:knn_prd", build)


_PRD_CAVEAT = (
    "Distances are Gower-like (numeric columns scaled by the real range, a categorical mismatch counts 1). "
    f"Both tables are cut to the same number of rows, at most {PRD_ROWS:,} (seeded), since the balls shrink as rows "
    "grow; the interval is Wilson's 95% interval, which treats rows as independent and so is approximate. "
    "Outliers widen the balls and can inflate both figures."
)


class KNNPrecision(Metric):
    name = "knn_precision"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "Precision of the synthetic distribution (Kynkäänniemi et al.): around every real row draw the ball "
        f"reaching its {PRD_K}th nearest real neighbour; precision is the share of synthetic rows that fall inside at "
        "least one ball. 1 means every synthetic row looks like it could come from the real data; a low value "
        "means implausible rows. " + _PRD_CAVEAT
    )
    source = "Kynkäänniemi et al. 2019, Improved Precision and Recall Metric for Assessing Generative Models"

    def compute(self, data) -> MetricResult:
        prd = _knn_precision_recall(data)
        return MetricResult(value=prd["precision"] / prd["n"], ci=wilson_interval(prd["precision"], prd["n"]),
                            details={"k": PRD_K, "inside": prd["precision"], "rows_used": {"real": prd["n"],
                                     "synthetic": prd["n"]}, "method": prd["method"]})


class KNNRecall(Metric):
    name = "knn_recall"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "Recall of the synthetic distribution (Kynkäänniemi et al.): around every synthetic row draw the ball "
        f"reaching its {PRD_K}th nearest synthetic neighbour; recall is the share of real rows that fall inside at "
        "least one ball. 1 means the synthetic rows cover all of the real data; a low value means parts of the "
        "real data (modes, rare combinations) are missing. " + _PRD_CAVEAT
    )
    source = "Kynkäänniemi et al. 2019, Improved Precision and Recall Metric for Assessing Generative Models"

    def compute(self, data) -> MetricResult:
        prd = _knn_precision_recall(data)
        return MetricResult(value=prd["recall"] / prd["n"], ci=wilson_interval(prd["recall"], prd["n"]),
                            details={"k": PRD_K, "inside": prd["recall"], "rows_used": {"real": prd["n"],
                                     "synthetic": prd["n"]}, "method": prd["method"]})


# -- overall -------------------------------------------------------------------------------------------
def pair_trends(data) -> dict[tuple[str, str], tuple[str, float]]:
    """The pairs contingency similarity scores, each with its trend score: correlation similarity for two
    numeric columns (where defined), contingency similarity otherwise."""
    cont = _contingency(data)
    corr = _correlations(data)["pairs"] if len(data.numeric) >= 2 else {}
    return {pair: ("correlation", corr[pair]) if pair in corr else ("contingency", score)
            for pair, score in cont["pairs"].items()}


class FidelityScore(Metric):
    name = "fidelity_score"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    # A team convention, not a standard: below 0.8 the columns or pairs differ by a fifth of their mass on
    # average, which shows in any analysis. Override it with thresholds={"fidelity_score": ...}.
    threshold = 0.8
    summary = True
    definition = (
        "The mean of two scores. Column shapes: the mean over all columns of the KS complement (numeric, "
        "datetime) or the TV complement (categorical, boolean). Pair trends: the mean, over the column pairs "
        "that contingency_similarity scores, of the correlation similarity (two numeric columns) or the "
        "contingency similarity (any other pair). 1 means every column and every pair matches the real data. A single "
        "number hides where it fails: details break it down per column (its shape and the mean of its pairs) "
        "and list the worst pairs, and the plot overlays each column's real and synthetic distribution. "
        "It does not measure whole rows (see detection_auc) or privacy."
    )
    source = "SDMetrics QualityReport (Column Shapes and Column Pair Trends)"

    def compute(self, data) -> MetricResult:
        shapes = _column_shapes(data)
        missing = _missing_rates(data)
        column_shape = _mean(s["score"] for s in shapes.values())
        trends = pair_trends(data) if len(data.columns) >= 2 else {}
        pair_score = _mean(score for _, score in trends.values()) if trends else None
        value = column_shape if pair_score is None else (column_shape + pair_score) / 2.0
        per_column: dict[str, list[float]] = {name: [] for name in data.columns}
        for (a, b), (_, score) in trends.items():
            per_column[a].append(score)
            per_column[b].append(score)
        columns = {
            name: {"kind": shapes[name]["kind"], "shape": _r(shapes[name]["score"]),
                   "shape_measure": shapes[name]["measure"],
                   "pair_trend": _r(_mean(per_column[name])) if per_column[name] else None,
                   "missing_similarity": _r(missing[name]["score"])}
            for name in data.columns
        }
        worst = sorted(trends.items(), key=lambda kv: kv[1][1])[:20]
        view = _view(data)
        details = {
            "column_shapes": _r(column_shape), "pair_trends": _r(pair_score),
            "columns": columns,
            "worst_pairs": [{"columns": list(k), "measure": m, "score": _r(s)} for k, (m, s) in worst],
            "pairs_scored": len(trends),
            "pair_method": _contingency(data)["method"] if trends else "only one column: pair trends not scored",
            "rows_used": view.rows_used, "method": view.method,
            "plot": _marginals_plot(data),
        }
        return MetricResult(value=value, details=details)
