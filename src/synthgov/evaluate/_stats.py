"""Exact statistical formulas the metric families share (fidelity and diversity import them).

Two-sample Kolmogorov-Smirnov statistic, total variation distance, Wilson's
score interval for a proportion, and Pearson correlation of every pair of
columns over the rows where both are present. Each is a plain function of
arrays: no :class:`~synthgov.evaluate.data.EvalData`, no memoisation, no
randomness, so tests can check it against a hand-worked answer.

>>> import numpy as np
>>> ks_statistic(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 9.0]))
0.25
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError

__all__ = ["ks_statistic", "total_variation", "wilson_interval", "pairwise_correlation"]


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


def wilson_interval(successes: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval (95% by default) for a proportion ``successes / n``.

    ``successes`` may be fractional (ties counted as halves) and ``n`` an effective
    number of trials; at 0 or ``n`` successes the bound is exactly 0 or 1.

    >>> [round(v, 4) for v in wilson_interval(5, 10)]
    [0.2366, 0.7634]
    >>> wilson_interval(0, 10)[0], wilson_interval(10, 10)[1]
    (0.0, 1.0)
    """
    if not n > 0 or not -1e-9 * n <= successes <= n * (1 + 1e-9):
        raise ParameterError(f"wilson_interval needs 0 <= successes <= n and n > 0, got {successes} of {n}")
    successes = min(max(successes, 0.0), n)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / denom
    # at 0 or n successes the bound is exactly 0 or 1; rounding would leave it a hair inside
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def pairwise_correlation(x: np.ndarray, min_rows: int = 10) -> np.ndarray:
    """Pearson correlation of every pair of columns of ``x`` over the rows where both are present (not NaN).

    All pairs at once from matrix products of the centred values and the presence masks. NaN where fewer
    than ``min_rows`` rows have both values or a column is constant over them.

    >>> x = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, np.nan], [4.0, 8.0]])
    >>> pairwise_correlation(x, min_rows=2).round(6).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    present = np.isfinite(x)
    m = present.astype(float)
    # column means over the present values (0 for a column with none: it is undefined below anyway, and
    # np.nanmean would warn "Mean of empty slice")
    count = m.sum(axis=0)
    mean = np.where(present, x, 0.0).sum(axis=0) / np.maximum(count, 1.0)
    x = np.where(present, x - mean, 0.0)
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
