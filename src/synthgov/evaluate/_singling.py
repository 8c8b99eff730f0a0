"""The singling-out attack's machinery: predicates over coded tables, their search, and their success rates.

Every table becomes integer codes sharing one order (:class:`Codes`), so a
predicate (a conjunction of ``<=``, ``>=`` or ``==`` conditions on distinct
columns) is a set of code ranges that is matched against a whole table at once.
:func:`find_predicates` finds the predicates that match exactly one synthetic
row (exhaustively when the column combinations are few, otherwise by a
vectorised random search), :func:`baseline_predicates` draws the random
baseline's, :func:`univariate_predicates` lists the single conditions that
single out a synthetic row, and :func:`singling_out_rates` counts how often
predicates single out a training row (main) and a holdout row (control, scaled
to the training table's size). The metric is declared in
:mod:`synthgov.evaluate.attacks`; the rates and risk come from ``_risk``.

A hand-worked example: in the synthetic rows (x, c) = (1, a), (2, a), (3, b)
the single conditions x <= 1, x >= 3 and c = b each isolate one row. Numbers
are coded by rank (1, 2, 3 -> 0, 1, 2) and categories by level (a -> 0, b -> 1):

>>> import pandas as pd
>>> synthetic = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "a", "b"]})
>>> codes = Codes({"synthetic": synthetic}, ["x", "c"], {"x"})
>>> codes.tables["synthetic"].tolist()
[[0, 1, 2], [0, 0, 1]]
>>> cols, lo, hi = univariate_predicates(codes)   # column, lowest and highest code of each condition
>>> cols.ravel().tolist(), lo.ravel().tolist(), hi.ravel().tolist()
([0, 0, 1], [0, 2, 1], [0, 2, 1])
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

from ._risk import Z95, SuccessRate, effective_trials, one_in_sample, size_corrected_rate

__all__ = [
    "Codes", "Predicates", "find_predicates", "baseline_predicates", "univariate_predicates", "singling_out_rates",
]

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


class Codes:
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


def _bounds(codes: Codes, cols: np.ndarray, values: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _draw(rng: np.random.Generator, codes: Codes, source: np.ndarray, size: int, k: int,
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


def _rejection_search(rng: np.random.Generator, codes: Codes, n_attacks: int, k: int,
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


def _combinations(codes: Codes, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
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


def _enumerated_search(rng: np.random.Generator, codes: Codes, n_attacks: int, k: int,
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


@dataclasses.dataclass(frozen=True)
class Predicates:
    """Predicates singling out one synthetic row: ``cols``, ``lo``, ``hi`` (n x k, inclusive code ranges), the
    synthetic row each was built from (``sources``), how they were found (``search``, for the details) and,
    should fewer be found than asked for, why (``shortfall``)."""

    cols: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    sources: np.ndarray
    search: dict[str, Any]
    shortfall: str


def find_predicates(rng: np.random.Generator, codes: Codes, n_attacks: int, k: int, max_candidates: int) -> Predicates:
    """Up to ``n_attacks`` distinct predicates of ``k`` conditions, each matching exactly one synthetic row.

    Exhaustive (every such predicate, then a random draw of them) when column combinations x synthetic rows stay
    below :data:`_ENUMERATE_CELLS` and the skyline search finishes in time; otherwise random predicates from
    random synthetic rows, at most ``max_candidates`` tried.
    """
    n_columns, n_synthetic = len(codes.is_numeric), codes.tables["synthetic"].shape[1]
    exhaustive = math.comb(n_columns, k) * 2 ** k * n_synthetic <= _ENUMERATE_CELLS
    if exhaustive:
        combos = _combinations(codes, k)
        try:
            cols, lo, hi, sources, pool = _enumerated_search(rng, codes, n_attacks, k, combos)
        except _TooManyMinimal:
            exhaustive = False
    if exhaustive:
        search = {"search": "exhaustive: every predicate singling out a synthetic row, then drawn at random",
                  "predicates_singling_out_synthetic": pool, "column_operator_combinations": len(combos)}
        shortfall = f"only {pool} predicates match exactly one synthetic row"
    else:
        cols, lo, hi, sources, tried = _rejection_search(rng, codes, n_attacks, k, max_candidates)
        search = {"search": "random predicates from random synthetic rows, kept when they match exactly one",
                  "candidates_tried": tried}
        shortfall = f"only {len(cols)} distinct predicates matching one synthetic row were found in {tried} tries"
    return Predicates(cols, lo, hi, sources, search, shortfall)


def baseline_predicates(rng: np.random.Generator, codes: Codes, size: int,
                        k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The random baseline's ``size`` predicates of ``k`` conditions (cols, lo, hi): each value from its own
    random synthetic row, each operator at random (see :func:`_draw`)."""
    return _draw(rng, codes, codes.tables["synthetic"], size, k, independent=True)[1:]


def singling_out_rates(codes: Codes, cols: np.ndarray, lo: np.ndarray, hi: np.ndarray, sources: np.ndarray,
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
        each = one_in_sample(counts, n_hold, np.asarray([n_train]))[:, 0]
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


def univariate_predicates(codes: Codes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
