"""Privacy attacks in Anonymeter's design: singling out, linkability and attribute inference.

Each attack is run three ways (Giomi et al. 2023, *A Unified Framework for
Quantifying Privacy Risk in Synthetic Data*, PoPETs):

* **main**: the attacker uses the synthetic table against records of the
  training table (members, whose information the generator saw);
* **control**: the same attack against holdout records (non-members, drawn
  from the same population but never shown to the generator): what the
  synthetic table reveals about *anyone* of that population;
* **baseline**: a naive attacker guessing at random, without using the
  synthetic table's joint structure. When it does as well as the main attack
  the measurement says nothing (the details say so).

Success rates are proportions with 95% Wilson intervals. Only the excess of
main over control is counted as risk::

    risk = (main_rate - control_rate) / (1 - control_rate)

with its interval propagated from the two half-widths to first order and
clipped to [0, 1]. Where attacks are correlated (singling-out predicates built
from the same synthetic row) the Wilson intervals use the effective number of
attacks; where the singling-out control must be extrapolated to the training
table's size, its interval also covers the extrapolation's spread. These are
empirical attacks on one synthetic table, not guarantees: a stronger attacker
may do better.

Differences from the anonymeter package, all deliberate: rates are over the
attacks actually made (anonymeter divides by the number requested even when it
found fewer predicates); duplicate rows are kept (anonymeter drops them, so two
identical people could be "singled out"); the singling-out search is exhaustive
when the column combinations are few, and vectorised otherwise; the size
correction is fitted to exact subsample shares rather than to random subsamples.

>>> wilson_interval(5, 10)
(0.2366, 0.7634)
>>> risk, ci = attack_risk(SuccessRate(60, 100), SuccessRate(20, 100))
>>> round(risk, 4), tuple(round(v, 4) for v in ci)
(0.5, (0.3725, 0.6275))
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln

from ..errors import ParameterError
from ..table.schema import Kind
from ._neighbours import nearest
from .base import Metric, MetricResult, NotComputed

__all__ = [
    "SuccessRate", "wilson_interval", "attack_risk", "effective_trials", "size_corrected_rate",
    "SinglingOutRisk", "LinkabilityRisk", "InferenceRisk",
]

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054
_SOURCE = ("Giomi et al. 2023, A Unified Framework for Quantifying Privacy Risk in Synthetic Data "
           "(Anonymeter), PoPETs")
#: Elements per block when predicates are matched against a table (bounds the temporary memory).
_BLOCK_CELLS = 1 << 22
#: Synthetic rows in the cheap first passes that discard predicates already matching another row.
_PREFILTER_ROWS = (32, 256, 2048, 16384, 65536)
#: Enumerate every predicate (instead of drawing at random) when combinations x synthetic rows stay below this.
_ENUMERATE_CELLS = 20_000_000
#: Passes the exhaustive search may spend on one column combination before the random search takes over.
_MAX_SKYLINE_PASSES = 2000
#: Random half-samples of the holdout that measure how uncertain the size-corrected control rate is.
_HALF_SAMPLES = 20


def wilson_interval(successes: float, trials: int, *, z: float = Z95, digits: int | None = 4) -> tuple[float, float]:
    """The Wilson score interval for ``successes`` out of ``trials`` (rounded to ``digits``; ``None``: exact).

    >>> wilson_interval(0, 10)
    (0.0, 0.2775)
    """
    if trials <= 0:
        raise ParameterError(f"trials must be positive, got {trials!r}")
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(max(p * (1 - p) / trials + z2 / (4 * trials * trials), 0.0))
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return (round(low, digits), round(high, digits)) if digits is not None else (low, high)


@dataclasses.dataclass(frozen=True)
class SuccessRate:
    """``successes`` of ``trials`` attacks, with its 95% interval.

    The interval is Wilson's, unless ``half_width`` is given: then it is the rate
    plus or minus ``half_width`` (an estimated rate, such as the size-corrected
    singling-out control, whose uncertainty is not binomial).
    """

    successes: float
    trials: int
    half_width: float | None = None
    #: Fewer independent attacks than ``trials`` when attacks are correlated; Wilson's interval then uses it.
    effective_trials: float | None = None

    @property
    def rate(self) -> float:
        return self.successes / self.trials

    def _wilson(self) -> tuple[float, float]:
        n = self.trials if self.effective_trials is None else self.effective_trials
        return wilson_interval(self.rate * n, n, digits=None)

    @property
    def error(self) -> float:
        """Half-width of the 95% interval (before clipping to [0, 1] for ``half_width``)."""
        if self.half_width is not None:
            return self.half_width
        low, high = self._wilson()
        return (high - low) / 2

    @property
    def interval(self) -> tuple[float, float]:
        if self.half_width is not None:
            return max(0.0, self.rate - self.half_width), min(1.0, self.rate + self.half_width)
        return self._wilson()

    def to_dict(self) -> dict[str, Any]:
        low, high = self.interval
        out = {"rate": round(self.rate, 6), "ci": [round(low, 6), round(high, 6)],
               "successes": round(float(self.successes), 3), "n_attacks": int(self.trials)}
        if self.effective_trials is not None:
            out["effective_n_attacks"] = round(float(self.effective_trials), 1)
        return out


def effective_trials(values, clusters) -> float:
    """How many independent attacks ``values`` (per-attack success, 0/1 or a probability) are worth when
    attacks in the same cluster are correlated: ``n`` over the design effect, the cluster-robust variance of
    the mean relative to the binomial variance (never above ``n``).

    >>> effective_trials([1, 1, 0, 0], [0, 1, 2, 3])   # no two attacks share a cluster
    4.0
    >>> effective_trials([1, 1, 0, 0], [0, 0, 1, 1])   # two pairs that always agree: worth 2 attacks
    2.0
    """
    values = np.asarray(values, dtype=float)
    n = values.size
    _, inverse = np.unique(np.asarray(clusters), return_inverse=True)
    n_clusters = int(inverse.max()) + 1 if n else 0
    mean = float(values.mean()) if n else 0.0
    binomial = mean * (1.0 - mean) / n if n else 0.0
    if n_clusters < 2 or n_clusters == n or binomial <= 0.0:
        return float(n)
    sums = np.bincount(inverse.ravel(), weights=values - mean)
    robust = float((sums ** 2).sum()) / n ** 2
    return float(n) if robust <= 0.0 else float(min(n, max(1.0, n * binomial / robust)))


def attack_risk(main: SuccessRate, control: SuccessRate) -> tuple[float, tuple[float, float]]:
    """Risk ``(main - control) / (1 - control)`` and its interval, both clipped to [0, 1].

    The interval is the risk plus or minus the first-order propagation of the two
    half-widths ``dm`` and ``dc`` (Wilson's, as a rule):
    ``sqrt((dm / (1 - c))**2 + (dc * (1 - m) / (1 - c)**2)**2)``. When the control
    attack always succeeds the risk cannot be told apart from what the synthetic
    table reveals about anyone: 0 with interval (0, 1).
    """
    m, c = main.rate, control.rate
    if c >= 1.0:
        return 0.0, (0.0, 1.0)
    dm, dc = main.error, control.error
    risk = (m - c) / (1 - c)
    err = math.hypot(dm / (1 - c), dc * (1 - m) / (1 - c) ** 2)
    clip = lambda v: min(1.0, max(0.0, v))  # noqa: E731
    return clip(risk), (clip(risk - err), clip(risk + err))


def _result(main: SuccessRate, control: SuccessRate, baseline: SuccessRate, details: dict[str, Any],
            start: float) -> MetricResult:
    risk, ci = attack_risk(main, control)
    return MetricResult(value=risk, ci=ci, details={**_rates_details(main, control, baseline, risk, ci), **details,
                                                    "seconds": round(time.perf_counter() - start, 4)})


def _rates_details(main: SuccessRate, control: SuccessRate, baseline: SuccessRate, risk: float,
                   ci: tuple[float, float]) -> dict[str, Any]:
    informative = main.rate > baseline.rate and control.rate < 1.0
    if control.rate >= 1.0:
        check = ("the control attack succeeds every time (or its size-corrected estimate saturates), so what the "
                 "synthetic table reveals about members cannot be told apart from what it reveals about anyone: "
                 "this risk figure is not informative")
    elif informative and main.interval[0] > baseline.interval[1]:
        check = "the main attack beats the random baseline: the risk figure is informative"
    elif informative:
        check = ("the main attack does only slightly better than the random baseline (their intervals overlap): "
                 "read the risk with caution")
    else:
        check = ("the random baseline does as well as the main attack: the attack learnt nothing from the "
                 "synthetic table here, so this risk figure is not informative")
    return {"risk": round(risk, 6), "risk_ci": [round(ci[0], 6), round(ci[1], 6)], "main": main.to_dict(),
            "control": control.to_dict(), "baseline": baseline.to_dict(), "informative": informative,
            "baseline_check": check,
            "plot": {"type": "bars", "title": "Attack success rates", "groups": ["main", "control", "baseline"],
                     "series": {"success rate": [round(r.rate, 6) for r in (main, control, baseline)]},
                     "ylabel": "share of successful attacks"}}


def _positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# -- singling out: predicates over rank codes -------------------------------------------------
class _Codes:
    """Every table as per-column integer codes sharing one order, so predicates compare integers.

    Numeric values become their rank among all values of the tables;
    categorical values an arbitrary level code (only equality is used). Missing
    values get the code ``missing[c]`` (one above the others). ``tables[name]``
    is a ``(columns, rows)`` array, contiguous per column. The first table
    (the synthetic one) sets the medians that orient the attack's conditions.
    """

    def __init__(self, frames: dict[str, pd.DataFrame], columns: list[str], numeric: set[str]):
        names = list(frames)
        sizes = [len(frames[n]) for n in names]
        coded, top, missing, split = [], [], [], []
        for col in columns:
            if col in numeric:
                values = np.concatenate([frames[n][col].to_numpy(dtype=float) for n in names])
                finite = np.isfinite(values)
                levels, inverse = np.unique(values[finite], return_inverse=True)
                code = np.full(values.shape, len(levels), dtype=np.int64)
                code[finite] = inverse.ravel()
                first = frames[names[0]][col].to_numpy(dtype=float)
                first = first[np.isfinite(first)]
                median = float(np.median(first)) if first.size else np.inf
                split.append(int(np.searchsorted(levels, median, side="right")))
            else:
                values = pd.concat([frames[n][col] for n in names], ignore_index=True)
                code, levels = pd.factorize(values, use_na_sentinel=True)
                code = np.where(code < 0, len(levels), code).astype(np.int64)
                split.append(len(levels) + 1)
            coded.append(code)
            top.append(max(len(levels) - 1, 0))
            missing.append(len(levels))
        dtype = np.uint16 if max(missing, default=0) < np.iinfo(np.uint16).max else np.uint32
        stacked = np.vstack(coded).astype(dtype) if coded else np.zeros((0, sum(sizes)), dtype)
        bounds = np.cumsum([0, *sizes])
        self.tables = {n: np.ascontiguousarray(stacked[:, bounds[i]:bounds[i + 1]]) for i, n in enumerate(names)}
        self.dtype = dtype
        self.top = np.asarray(top, dtype=dtype)
        self.missing = np.asarray(missing, dtype=dtype)
        self.is_numeric = np.asarray([c in numeric for c in columns])
        #: codes at or above ``split`` lie above the first table's median: the attack uses ``>=`` for them.
        self.split = np.asarray(split, dtype=np.int64)

    def operators(self, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The attack's operator per condition: ``>=`` (1) above the median, else ``<=`` (0) (Anonymeter's rule)."""
        return ((values >= self.split[cols]) & (values != self.missing[cols])).astype(np.int64)


def _bounds(codes: _Codes, cols: np.ndarray, values: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive code ranges: numeric ``<= v`` (op 0) or ``>= v`` (op 1); categorical and missing: ``== v``."""
    ranged = codes.is_numeric[cols] & (values != codes.missing[cols])
    lo = np.where(ranged & (ops == 0), 0, values).astype(codes.dtype)
    hi = np.where(ranged & (ops == 1), codes.top[cols], values).astype(codes.dtype)
    return lo, hi


def _count(table: np.ndarray, cols: np.ndarray, lo: np.ndarray, hi: np.ndarray,
           weights: np.ndarray | None = None) -> np.ndarray:
    """Rows of ``table`` each predicate matches (all its conditions).

    With ``weights`` (rows x r, 0/1) it returns, for each of the r row subsets,
    how many of its rows each predicate matches. A condition ``lo <= x <= hi``
    is tested as one unsigned comparison ``(x - lo) mod 2**bits <= hi - lo``.
    """
    n_pred, k = cols.shape
    n_rows = table.shape[1]
    out = np.zeros((n_pred,) if weights is None else (n_pred, weights.shape[1]), dtype=np.int64)
    if n_pred == 0 or n_rows == 0:
        return out
    width = hi - lo
    block = max(1, _BLOCK_CELLS // n_rows)
    for start in range(0, n_pred, block):
        sl = slice(start, start + block)
        match = None
        for j in range(k):
            x = table[cols[sl, j]]
            x -= lo[sl, j, None]
            ok = x <= width[sl, j, None]
            match = ok if match is None else np.logical_and(match, ok, out=match)
        if weights is None:
            out[sl] = np.count_nonzero(match, axis=1)
        else:
            out[sl] = np.rint(match.astype(np.float32) @ weights)
    return out


def _distinct_columns(rng: np.random.Generator, d: int, size: int, k: int) -> np.ndarray:
    """``size`` sorted sets of ``k`` distinct columns out of ``d``, each set uniform (redrawn on a repeat)."""
    cols = np.sort(rng.integers(d, size=(size, k)), axis=1)
    while True:
        bad = np.flatnonzero((cols[:, 1:] == cols[:, :-1]).any(axis=1))
        if not bad.size:
            return cols
        cols[bad] = np.sort(rng.integers(d, size=(bad.size, k)), axis=1)


def _draw(rng: np.random.Generator, codes: _Codes, source: np.ndarray, size: int, k: int,
          independent: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``size`` random predicates of ``k`` conditions on distinct columns.

    The attack takes every value from one random ``source`` row, with ``>=``
    for a number above its median and ``<=`` otherwise, so each predicate
    matches its row. The random baseline (``independent``) takes each value
    from its own random row and a random ``<=``/``>=``: it knows only the
    marginals. Returns (rows, cols, lo, hi).
    """
    d, n = source.shape
    cols = _distinct_columns(rng, d, size, k)
    rows = rng.integers(n, size=size)
    if independent:
        values = source[cols, rng.integers(n, size=(size, k))]
        ops = rng.integers(2, size=(size, k))
    else:
        values = source[cols, rows[:, None]]
        ops = codes.operators(cols, values)
    lo, hi = _bounds(codes, cols, values, ops)
    return rows, cols, lo, hi


def _rejection_search(rng: np.random.Generator, codes: _Codes, n_attacks: int, k: int,
                      max_candidates: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Draw predicates from random synthetic rows until ``n_attacks`` distinct ones match exactly one synthetic row.

    Cheap passes on growing random subsets of synthetic rows drop predicates
    that already match another row; survivors are counted on the whole table.
    Returns (cols, lo, hi, source rows, candidates tried).
    """
    syn = codes.tables["synthetic"]
    n_syn = syn.shape[1]
    order = rng.permutation(n_syn)
    tiers = []
    for size in _PREFILTER_ROWS:
        if size < n_syn:
            member = np.zeros(n_syn, dtype=bool)
            member[order[:size]] = True
            tiers.append((np.ascontiguousarray(syn[:, np.sort(order[:size])]), member))
    found = np.zeros((0, 3 * k + 1), dtype=np.int64)
    tried, yield_rate = 0, 0.05
    while len(found) < n_attacks and tried < max_candidates:
        need = n_attacks - len(found)
        size = int(min(max_candidates - tried, max(1024, 1.3 * need / yield_rate)))
        rows, cols, lo, hi = _draw(rng, codes, syn, size, k)
        tried += size
        for table, member in tiers:
            keep = _count(table, cols, lo, hi) - member[rows] == 0
            rows, cols, lo, hi = rows[keep], cols[keep], lo[keep], hi[keep]
        keep = _count(syn, cols, lo, hi) == 1
        keys = np.concatenate([found, np.concatenate([cols[keep], lo[keep], hi[keep], rows[keep, None]], axis=1)])
        _, first = np.unique(keys[:, :3 * k], axis=0, return_index=True)
        found = keys[np.sort(first)]
        yield_rate = min(max(len(found) / tried, 1e-4), 1.0)
    found = found[:n_attacks]
    return (found[:, :k], found[:, k:2 * k].astype(codes.dtype), found[:, 2 * k:3 * k].astype(codes.dtype),
            found[:, 3 * k], tried)


class _TooManyMinimal(Exception):
    """The exhaustive search would take too many passes; the random search is used instead."""


def _minimal_unique_rows(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Rows no other row of their group weakly dominates (``<=`` in every column of ``values``, shape (m, n)).

    One or two columns: sort by (group, x, y); a row is minimal when its ``y`` is
    below every ``y`` before it in its group, and unique when the next row differs.
    More columns: sort-filter skyline, one pass per minimal row of the largest
    group (the remaining row with the smallest sum in each group is minimal; it
    and the rows it dominates leave), at most :data:`_MAX_SKYLINE_PASSES` passes.
    """
    m, n = values.shape
    if m <= 2:
        x = values[0]
        y = values[1] if m == 2 else np.zeros(n, dtype=values.dtype)
        order = np.lexsort((y, x, groups))
        g, xs, ys = groups[order], x[order], y[order]
        starts = np.ones(n, dtype=bool)
        starts[1:] = g[1:] != g[:-1]
        rank = np.cumsum(starts)
        # earlier groups get larger offsets, so a running minimum never crosses into the next group
        span = int(ys.max()) + 1 if n else 1
        shifted = ys + (rank[-1] - rank if n else rank) * span
        before = np.full(n, np.iinfo(np.int64).max)
        before[1:] = np.minimum.accumulate(shifted)[:-1]
        same_next = np.zeros(n, dtype=bool)
        same_next[:-1] = (g[1:] == g[:-1]) & (xs[1:] == xs[:-1]) & (ys[1:] == ys[:-1])
        return np.sort(order[(shifted < before) & ~same_next])
    remaining = np.lexsort((values.sum(axis=0), groups))
    unique = []
    for _ in range(_MAX_SKYLINE_PASSES):
        if not remaining.size:
            return np.concatenate(unique) if unique else np.zeros(0, dtype=np.int64)
        g = groups[remaining]
        first = np.ones(remaining.size, dtype=bool)
        first[1:] = g[1:] != g[:-1]
        owner = np.cumsum(first) - 1
        picked = remaining[first]
        mine = values[:, picked[owner]]
        theirs = values[:, remaining]
        dominated = (mine <= theirs).all(axis=0)
        equal = (mine == theirs).all(axis=0)
        copies = np.bincount(owner[equal], minlength=picked.size)
        unique.append(picked[copies == 1])
        remaining = remaining[~dominated]
    raise _TooManyMinimal


def _combinations(codes: _Codes, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every (columns, operators) the attack can use: ``k`` columns, ``<=``/``>=`` per numeric column."""
    out = []
    for cols in itertools.combinations(range(len(codes.is_numeric)), k):
        cols = np.asarray(cols)
        numeric = codes.is_numeric[cols]
        for pattern in itertools.product((0, 1), repeat=int(numeric.sum())):
            ops = np.zeros(k, dtype=np.int64)
            ops[numeric] = pattern
            out.append((cols, ops))
    return out


def _enumerated_search(rng: np.random.Generator, codes: _Codes, n_attacks: int, k: int,
                       combos: list[tuple[np.ndarray, np.ndarray]]
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Every predicate matching exactly one synthetic row, then ``n_attacks`` of them drawn at random.

    The random search draws a row and ``k`` columns uniformly (the operators
    follow from the row) and keeps distinct predicates that single out: in
    distribution, a uniform draw without replacement from all singling-out
    predicates, which is what this does. Returns (cols, lo, hi, source rows, pool size).
    """
    syn = codes.tables["synthetic"].astype(np.int64)
    pool_rows, pool_combo = [], []
    for index, (cols, ops) in enumerate(combos):
        x = syn[cols]
        missing = x == codes.missing[cols][:, None]
        numeric = codes.is_numeric[cols]
        radix = np.where(numeric, 2, codes.missing[cols].astype(np.int64) + 1)
        part = np.where(numeric[:, None], missing, x)
        if np.prod(radix.astype(float)) < 2.0 ** 62:
            groups = np.zeros(x.shape[1], dtype=np.int64)
            for r, v in zip(radix, part, strict=True):
                groups = groups * r + v
        else:
            groups = np.unique(part, axis=1, return_inverse=True)[1].ravel()
        if numeric.any():
            top = codes.top[cols][numeric].astype(np.int64)[:, None]
            oriented = np.where(ops[numeric][:, None] == 1, top - x[numeric], x[numeric])
            rows = _minimal_unique_rows(np.where(missing[numeric], 0, oriented), groups)
            # each row's own operators decide which combination it belongs to
            own = codes.operators(cols[numeric][:, None], x[numeric][:, rows])
            rows = rows[(own == ops[numeric][:, None]).all(axis=0)]
        else:
            _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
            rows = np.flatnonzero(counts[inverse] == 1)
        pool_rows.append(rows)
        pool_combo.append(np.full(rows.size, index))
    rows = np.concatenate(pool_rows)
    combo = np.concatenate(pool_combo)
    chosen = np.sort(rng.permutation(rows.size)[:n_attacks])
    if not chosen.size:
        empty = np.zeros((0, k), dtype=codes.dtype)
        return np.zeros((0, k), dtype=np.int64), empty, empty, np.zeros(0, dtype=np.int64), 0
    cols = np.stack([combos[i][0] for i in combo[chosen]])
    ops = np.stack([combos[i][1] for i in combo[chosen]])
    lo, hi = _bounds(codes, cols, codes.tables["synthetic"][cols, rows[chosen][:, None]], ops)
    return cols, lo, hi, rows[chosen], int(rows.size)


def _singling_probability(n: np.ndarray, w_max: np.ndarray) -> np.ndarray:
    """Mean of ``n w (1 - w)**(n - 1)`` (exactly one of ``n`` rows matches) over ``w`` uniform on (0, w_max)."""
    n, w_max = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(w_max, dtype=float))
    none_match = np.exp(n * np.log1p(-np.minimum(w_max, 1 - 1e-15)))
    return (1.0 - (1.0 + n * w_max) * none_match) / ((n + 1.0) * w_max)


def _one_in_sample(counts: np.ndarray, n_rows: int, sizes: np.ndarray) -> np.ndarray:
    """Probability that a random ``size``-row subsample of ``n_rows`` rows keeps exactly one of the ``count``
    rows a predicate matches: ``c * C(n - c, m - 1) / C(n, m)`` (hypergeometric), for each count x size."""
    c = np.asarray(counts, dtype=float)[:, None]
    m = np.asarray(sizes, dtype=float)[None, :]
    possible = (c >= 1) & (m >= 1) & (m - 1 <= n_rows - c)
    rest = np.maximum(n_rows - c - m + 1, 0.0)
    log_p = (np.log(np.maximum(c, 1.0)) + gammaln(n_rows - c + 1) - gammaln(m) - gammaln(rest + 1)
             - gammaln(n_rows + 1.0) + gammaln(m + 1) + gammaln(n_rows - m + 1))
    return np.where(possible, np.exp(np.where(possible, log_p, 0.0)), 0.0)


def _subsample_single_share(counts: np.ndarray, n_rows: int, sizes: np.ndarray) -> np.ndarray:
    """Expected share of predicates matching exactly one row of a random ``size``-row subsample (per size),
    given how many of the ``n_rows`` rows each predicate matches (hypergeometric, exact)."""
    values, freq = np.unique(np.asarray(counts, dtype=np.int64), return_counts=True)
    return (freq[:, None] * _one_in_sample(values, n_rows, sizes)).sum(axis=0) / freq.sum()


def size_corrected_rate(counts, n_rows: int, n_target: int) -> float:
    """Share of predicates that would match exactly one row of ``n_target`` holdout-like rows.

    ``counts[i]`` is how many of ``n_rows`` holdout rows predicate ``i`` matches.
    With ``n_target <= n_rows`` the answer is exact: the expected share for a
    random ``n_target``-row subsample. Beyond, it is extrapolated as Anonymeter
    does: the share measured at ``n_rows`` times ``m(n_target) / m(n_rows)``,
    where ``m(n) = a * mean(n w (1 - w)**(n - 1))`` over predicate weights ``w``
    uniform on (0, w_max), fitted (``a``, ``w_max`` on a log grid) to the exact
    shares of subsamples of 10% to 100% of the rows. A larger table is singled
    out less easily by chance than a smaller one, so the raw share would be wrong.

    >>> size_corrected_rate([1, 1, 0, 2], 10, 10)
    0.5
    >>> round(size_corrected_rate([1, 1, 0, 2], 10, 5), 4)
    0.3889
    """
    counts = np.asarray(counts, dtype=np.int64)
    if n_target <= n_rows:
        return float(_subsample_single_share(counts, n_rows, np.asarray([n_target]))[0])
    raw = float(np.mean(counts == 1))
    sizes = np.unique(np.clip(np.rint(np.linspace(0.1, 1.0, 20) * n_rows), 1, n_rows)).astype(np.int64)
    shares = _subsample_single_share(counts, n_rows, sizes)
    if raw == 0.0 or not shares.any():
        return raw
    grid = np.logspace(-9, 0, 271)
    g = _singling_probability(sizes[:, None], grid[None, :])
    scale = np.maximum((shares[:, None] * g).sum(axis=0) / (g * g).sum(axis=0), 0.0)
    best = int(np.argmin(((shares[:, None] - scale * g) ** 2).sum(axis=0)))
    ratio = _singling_probability(n_target, grid[best]) / _singling_probability(n_rows, grid[best])
    return float(min(1.0, raw * ratio))


def _singling_out(codes: _Codes, cols: np.ndarray, lo: np.ndarray, hi: np.ndarray, sources: np.ndarray,
                  rng: np.random.Generator, baseline: tuple[np.ndarray, np.ndarray, np.ndarray]
                  ) -> tuple[SuccessRate, SuccessRate, SuccessRate, dict[str, Any]]:
    """Main, control (size-corrected) and baseline success of the predicates ``cols, lo, hi``.

    Predicates built from the same synthetic row (``sources``) tend to succeed
    or fail together, so the Wilson intervals use the effective number of
    attacks (:func:`effective_trials`). When the holdout is smaller than the
    training table the control share is extrapolated
    (:func:`size_corrected_rate`); its interval is then the larger of Wilson's
    and 1.96 standard deviations of the same estimate over random half-samples
    of the holdout (the extrapolation is the noisy part).
    """
    train, hold = codes.tables["real"], codes.tables["holdout"]
    n_train, n_hold, n = train.shape[1], hold.shape[1], len(cols)
    hits = _count(train, cols, lo, hi) == 1
    main = SuccessRate(int(hits.sum()), n, effective_trials=effective_trials(hits, sources))
    base = SuccessRate(int((_count(train, *baseline) == 1).sum()), len(baseline[0]))
    if n_hold >= n_train:
        counts = _count(hold, cols, lo, hi)
        each = _one_in_sample(counts, n_hold, np.asarray([n_train]))[:, 0]
        control = SuccessRate(float(each.sum()), n, effective_trials=effective_trials(each, sources))
        return main, control, base, {"control_method": (
            f"expected share singled out in a random {n_train}-row sample of the {n_hold} holdout rows "
            "(as many as training rows; exact)")}
    half = n_hold // 2
    weights = np.zeros((n_hold, 1 + _HALF_SAMPLES), dtype=np.float32)
    weights[:, 0] = 1.0
    for r in range(1, 1 + _HALF_SAMPLES):
        weights[rng.permutation(n_hold)[:half], r] = 1.0
    counts = _count(hold, cols, lo, hi, weights=weights)
    rate = size_corrected_rate(counts[:, 0], n_hold, n_train)
    spread = float(np.std([size_corrected_rate(counts[:, r], half, n_train) for r in range(1, 1 + _HALF_SAMPLES)],
                          ddof=1)) if half >= 1 else 1.0
    n_eff = effective_trials(counts[:, 0] == 1, sources)
    wilson = SuccessRate(rate * n, n, effective_trials=n_eff).error
    control = SuccessRate(rate * n, n, half_width=max(wilson, Z95 * spread), effective_trials=n_eff)
    how = (f"share singled out among the {n_hold} holdout rows ({float(np.mean(counts[:, 0] == 1)):.4f}) scaled "
           f"to the {n_train} training rows with Anonymeter's size model (predicate weights uniform on (0, w)); "
           f"interval: the larger of Wilson's and 1.96 x the spread of the same estimate over {_HALF_SAMPLES} "
           f"random half-samples of the holdout (sd {spread:.4f}). A holdout as large as the training table "
           "needs no extrapolation")
    return main, control, base, {"control_method": how}


def _univariate_predicates(codes: _Codes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-condition predicates matching exactly one synthetic row: a level (or missing) seen once,
    ``<= minimum`` or ``>= maximum`` of a numeric column when only one row holds it."""
    syn = codes.tables["synthetic"]
    cols, lo, hi = [], [], []
    for c in range(syn.shape[0]):
        missing = int(codes.missing[c])
        counts = np.bincount(syn[c].astype(np.int64), minlength=missing + 1)
        if codes.is_numeric[c]:
            present = np.flatnonzero(counts[:missing])
            picks = [(int(codes.missing[c]),) * 2] if counts[missing] == 1 else []
            if present.size:
                low, high = int(present[0]), int(present[-1])
                picks += [(0, low)] if counts[low] == 1 else []
                picks += [(high, int(codes.top[c]))] if counts[high] == 1 and high != low else []
        else:
            picks = [(int(v), int(v)) for v in np.flatnonzero(counts == 1)]
        for a, b in picks:
            cols.append(c)
            lo.append(a)
            hi.append(b)
    return (np.asarray(cols, dtype=np.int64).reshape(-1, 1), np.asarray(lo, dtype=codes.dtype).reshape(-1, 1),
            np.asarray(hi, dtype=codes.dtype).reshape(-1, 1))


def _targets(data, n_attacks: int, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """At most ``n_attacks`` training rows (main targets) and holdout rows (control targets), seeded."""
    return (data.subsample(data.real, n_attacks, f"{name}:main"),
            data.subsample(data.holdout, n_attacks, f"{name}:control"))


def _nearest(data, columns: list[str], targets: pd.DataFrame, k: int) -> np.ndarray:
    """Positions of the ``k`` synthetic rows nearest to each target on ``columns`` (Gower-like distance, exact;
    ties go to the lower position)."""
    return nearest(data, targets, "synthetic", k=min(k, len(data.synthetic)), key=None, columns=columns).indices


def _require_holdout(data) -> None:
    if data.holdout is None or len(data.holdout) == 0:
        raise NotComputed(data.holdout_problem or "needs a real holdout")


class SinglingOutRisk(Metric):
    """Multivariate singling-out risk: predicates isolating one synthetic row, tried on the real rows."""

    name = "singling_out_risk"
    family = "privacy"
    goal = "minimize"
    range = (0.0, 1.0)
    needs = frozenset({"holdout"})
    source = _SOURCE
    definition = (
        "How much the synthetic table helps an attacker single out a real person. The attacker writes "
        "predicates from synthetic rows: a conjunction of conditions on 3 random columns by default (equal to the row's "
        "category; for a number, at least the row's value when it lies above the median, else at most it; or "
        "missing), kept when it matches exactly one synthetic row, and claims each isolates one real person. "
        "Success on the training rows (main attack) is compared with success on holdout rows the generator "
        "never saw (control; when the holdout is smaller than the training table its rate is scaled to the "
        "training size with Anonymeter's model, and the interval widened by the scaling's uncertainty): "
        "risk = (main - control) / (1 - control), with a 95% interval from the two rates' intervals "
        "(Wilson, counting predicates built from the same synthetic row as correlated), clipped to [0, 1]. "
        "0 is ideal: the predicates isolate training people no more often than anyone else. A random-predicate "
        "baseline shows whether the attack is informative at all. This is an empirical attack, not a "
        "guarantee: a stronger attacker may do better."
    )

    def __init__(self, *, n_attacks: int = 500, n_conditions: int = 3, max_candidates: int = 200_000):
        self.n_attacks = _positive_int("n_attacks", n_attacks)
        self.n_conditions = _positive_int("n_conditions", n_conditions)
        self.max_candidates = _positive_int("max_candidates", max_candidates)

    def compute(self, data) -> MetricResult:
        start = time.perf_counter()
        _require_holdout(data)
        columns = list(data.columns)
        k = min(self.n_conditions, len(columns))
        rng = data.rng(self.name)
        codes = _Codes({"synthetic": data.synthetic, "real": data.real, "holdout": data.holdout},
                       columns, set(data.numeric))
        syn = codes.tables["synthetic"]
        exhaustive = math.comb(len(columns), k) * 2 ** k * len(data.synthetic) <= _ENUMERATE_CELLS
        if exhaustive:
            combos = _combinations(codes, k)
            try:
                cols, lo, hi, sources, pool = _enumerated_search(rng, codes, self.n_attacks, k, combos)
            except _TooManyMinimal:
                exhaustive = False
        if exhaustive:
            search = {"search": "exhaustive: every predicate singling out a synthetic row, then drawn at random",
                      "predicates_singling_out_synthetic": pool, "column_operator_combinations": len(combos)}
            shortfall = f"only {pool} predicates match exactly one synthetic row"
        else:
            cols, lo, hi, sources, tried = _rejection_search(rng, codes, self.n_attacks, k, self.max_candidates)
            search = {"search": "random predicates from random synthetic rows, kept when they match exactly one",
                      "candidates_tried": tried}
            shortfall = f"only {len(cols)} distinct predicates matching one synthetic row were found in {tried} tries"
        if len(cols) == 0:
            raise NotComputed(f"no predicate of {k} conditions matches exactly one synthetic row "
                              "(" + shortfall + "): the attacker finds nothing to single out")
        baseline = _draw(rng, codes, syn, len(cols), k, independent=True)[1:]
        main, control, base, extra = _singling_out(codes, cols, lo, hi, sources, rng, baseline)
        details: dict[str, Any] = {
            "mode": "multivariate", "n_conditions": k, "columns": columns, "n_attacks": len(cols),
            "n_attacks_requested": self.n_attacks, **search,
            "rows_used": {"real": len(data.real), "holdout": len(data.holdout), "synthetic": len(data.synthetic)},
            "method": "exact (every row of each table)", **extra,
        }
        if len(cols) < self.n_attacks:
            details["note"] = f"{shortfall} (asked for {self.n_attacks}); intervals are wider accordingly"
        details["univariate"] = self._univariate(codes, rng)
        return _result(main, control, base, details, start)

    def _univariate(self, codes: _Codes, rng: np.random.Generator) -> dict[str, Any]:
        """Anonymeter's univariate mode, for comparison: single conditions (rare levels, extremes)."""
        cols, lo, hi = _univariate_predicates(codes)
        if len(cols) == 0:
            return {"n_attacks": 0, "note": "no single condition matches exactly one synthetic row"}
        if len(cols) > self.n_attacks:
            keep = np.sort(rng.permutation(len(cols))[:self.n_attacks])
            cols, lo, hi = cols[keep], lo[keep], hi[keep]
        baseline = _draw(rng, codes, codes.tables["synthetic"], len(cols), 1, independent=True)[1:]
        main, control, base, extra = _singling_out(codes, cols, lo, hi, np.arange(len(cols)), rng, baseline)
        risk, ci = attack_risk(main, control)
        out = _rates_details(main, control, base, risk, ci)
        out.pop("plot")
        return {"n_attacks": len(cols), **out, **extra}


class LinkabilityRisk(Metric):
    """Linkability risk: can the synthetic table link two halves of a real person's record?"""

    name = "linkability_risk"
    family = "privacy"
    goal = "minimize"
    range = (0.0, 1.0)
    needs = frozenset({"holdout"})
    source = _SOURCE
    definition = (
        "How much the synthetic table helps an attacker link two pieces of information about the same real person. "
        "The known columns (the quasi-identifiers, or every compared column but the named secrets) are split into two "
        "halves in table order, as if held in two separate databases; for each target record the attacker finds its "
        "nearest synthetic rows on each half (Gower-like distance; ties go to the first synthetic row) and links the "
        "halves when the same synthetic row is among both. Success on training records (main) is compared with "
        "success on holdout records the generator never saw (control): risk = (main - control) / (1 - control), with "
        "a 95% interval from the Wilson intervals, clipped to [0, 1]; 0 is ideal. A baseline linking random synthetic "
        "rows shows whether the attack is informative. An empirical attack, not a guarantee."
    )

    def __init__(self, *, n_attacks: int = 500, n_neighbors: int = 1):
        self.n_attacks = _positive_int("n_attacks", n_attacks)
        self.n_neighbors = _positive_int("n_neighbors", n_neighbors)

    def compute(self, data) -> MetricResult:
        start = time.perf_counter()
        _require_holdout(data)
        known = list(data.quasi_identifiers) or [c for c in data.columns if c not in data.secrets]
        if len(known) < 2:
            raise NotComputed("linkability needs at least two known columns to split into two halves")
        half = (len(known) + 1) // 2
        halves = (known[:half], known[half:])
        main_t, control_t = _targets(data, self.n_attacks, self.name)
        targets = pd.concat([main_t, control_t], ignore_index=True)
        k = min(self.n_neighbors, len(data.synthetic))
        first, second = (_nearest(data, cols, targets, k) for cols in halves)
        linked = (first[:, :, None] == second[:, None, :]).any(axis=(1, 2))
        rng = data.rng(self.name)
        n_syn = len(data.synthetic)
        guess = (rng.integers(n_syn, size=(len(main_t), k)), rng.integers(n_syn, size=(len(main_t), k)))
        by_chance = (guess[0][:, :, None] == guess[1][:, None, :]).any(axis=(1, 2))
        main = SuccessRate(int(linked[:len(main_t)].sum()), len(main_t))
        control = SuccessRate(int(linked[len(main_t):].sum()), len(control_t))
        baseline = SuccessRate(int(by_chance.sum()), len(main_t))
        details = {"columns": {"first": halves[0], "second": halves[1]}, "n_neighbors": k,
                   "n_attacks": len(main_t), "n_attacks_requested": self.n_attacks,
                   "rows_used": {"real": len(main_t), "holdout": len(control_t), "synthetic": n_syn},
                   "method": f"targets subsampled to at most {self.n_attacks} rows per table; exact neighbour search"}
        return _result(main, control, baseline, details, start)


def _correct(guess: np.ndarray, truth: np.ndarray, allowed: np.ndarray | float | None) -> np.ndarray:
    """Right guesses: for numbers, within ``allowed`` of the truth (missing = missing); for categories
    (``allowed`` None), equal (missing = missing)."""
    if allowed is None:
        return np.asarray([g == t for g, t in zip(guess, truth, strict=True)], dtype=bool)
    guess, truth = guess.astype(float), truth.astype(float)
    return (np.isnan(guess) & np.isnan(truth)) | (np.abs(guess - truth) <= allowed)


def _tolerance(data, secret: str, truth: np.ndarray, tolerance: float) -> tuple[np.ndarray | float | None, str]:
    """How far a guess of ``secret`` may be from the truth, and how to say it."""
    if secret not in data.numeric:
        return None, "guess equals the true category"
    if data.schema[secret].kind is Kind.DATETIME:
        # a date's distance to 1970 means nothing; its share of the real date range does
        values = data.real[secret].to_numpy(dtype=float)
        span = float(np.nanmax(values) - np.nanmin(values)) if np.isfinite(values).any() else 0.0
        return tolerance * span, f"guess within {tolerance:.0%} of the real date range of the true date"
    return tolerance * np.abs(truth.astype(float)), f"guess within {tolerance:.0%} of the true value"


class InferenceRisk(Metric):
    """Attribute-inference risk: guessing a secret column from the nearest synthetic row."""

    name = "inference_risk"
    family = "privacy"
    goal = "minimize"
    range = (0.0, 1.0)
    needs = frozenset({"holdout"})
    source = _SOURCE
    definition = (
        "How much the synthetic table helps an attacker infer a secret attribute of a real person. For each secret "
        "column (the named secrets, else the target, else the last column) the attacker knows the person's other "
        "columns (the quasi-identifiers when named; never the secrets), finds the nearest synthetic row (Gower-like "
        "distance) and guesses its secret value: right when the category matches, when a number is within 5% of the "
        "true value, or a date within 5% of the real date range. Success on training records (main) is compared with "
        "success on holdout records the generator never saw (control): risk = (main - control) / (1 - control), with "
        "a 95% interval from the Wilson intervals, clipped to [0, 1]; 0 is ideal. The value is the largest risk over "
        "the secrets. A baseline guessing the secret of a random synthetic row shows whether the attack is "
        "informative. An empirical attack, not a guarantee."
    )

    def __init__(self, *, n_attacks: int = 500, tolerance: float = 0.05):
        self.n_attacks = _positive_int("n_attacks", n_attacks)
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance < 1:
            raise ParameterError(f"tolerance must be a number in [0, 1), got {tolerance!r}")
        self.tolerance = float(tolerance)

    def compute(self, data) -> MetricResult:
        start = time.perf_counter()
        _require_holdout(data)
        secrets = list(data.secrets) or [data.target or data.columns[-1]]
        base_known = list(data.quasi_identifiers) or list(data.columns)
        main_t, control_t = _targets(data, self.n_attacks, self.name)
        targets = pd.concat([main_t, control_t], ignore_index=True)
        rng = data.rng(self.name)
        n_main, n_syn = len(main_t), len(data.synthetic)
        nearest: dict[tuple[str, ...], np.ndarray] = {}
        per_secret: dict[str, Any] = {}
        best: tuple[float, Any] | None = None
        for secret in secrets:
            known = [c for c in base_known if c != secret and c not in secrets]
            if not known:
                per_secret[secret] = {"reason": "no known column is left once the secrets are set aside"}
                continue
            if tuple(known) not in nearest:
                nearest[tuple(known)] = _nearest(data, known, targets, 1)[:, 0]
            values = data.synthetic[secret].to_numpy()
            truth = targets[secret].to_numpy()
            allowed, success = _tolerance(data, secret, truth, self.tolerance)
            hit = _correct(values[nearest[tuple(known)]], truth, allowed)
            lucky = _correct(values[rng.integers(n_syn, size=n_main)], truth[:n_main],
                             allowed[:n_main] if isinstance(allowed, np.ndarray) else allowed)
            main = SuccessRate(int(hit[:n_main].sum()), n_main)
            control = SuccessRate(int(hit[n_main:].sum()), len(control_t))
            baseline = SuccessRate(int(lucky.sum()), n_main)
            risk, ci = attack_risk(main, control)
            entry = {**_rates_details(main, control, baseline, risk, ci), "known_columns": known,
                     "success": success}
            entry.pop("plot")
            per_secret[secret] = entry
            if best is None or risk > best[0]:
                best = (risk, secret, main, control, baseline)
        if best is None:
            raise NotComputed("no secret column can be attacked: " + "; ".join(
                f"'{s}': {v['reason']}" for s, v in per_secret.items()))
        _, worst, main, control, baseline = best
        attacked = [s for s in secrets if "reason" not in per_secret[s]]
        details = {
            "secret": worst, "secrets": per_secret, "n_attacks": n_main, "n_attacks_requested": self.n_attacks,
            "tolerance": self.tolerance,
            "rows_used": {"real": n_main, "holdout": len(control_t), "synthetic": n_syn},
            "method": f"targets subsampled to at most {self.n_attacks} rows per table; exact neighbour search",
        }
        result = _result(main, control, baseline, details, start)
        result.details["plot"] = {
            "type": "bars", "title": "Inference success rate per secret", "groups": attacked,
            "series": {w: [per_secret[s][w]["rate"] for s in attacked] for w in ("main", "control", "baseline")},
            "ylabel": "share of right guesses"}
        return result
