"""Tokens for the neural generator: every model column becomes one or two discrete sub-columns.

* a categorical column: one token per level (the codec has already grouped rare levels),
  plus a ``missing`` token where the column can be missing;
* a numeric column with few distinct values (at most ``max_levels``): one token per value;
* any other numeric column: equal-count bins on randomised ranks, split in two sub-columns,
  a *coarse* bin and a *fine* bin inside it (``n_coarse * n_fine`` bins in all). A value is
  drawn uniformly between the smallest and largest training value of its fine bin, so heaped
  values (many rows with exactly 500.00) come back exactly.

With ``public=True`` (differentially private fitting) nothing is read off the data: numbers
are cut in equal-width bins between the schema's declared bounds, and a column has a
``missing`` token when the (public) schema says it can be missing.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> col = NumericTokens.fit("x", rng.normal(size=2000), step=None, rng=rng, max_levels=10, bins=64)
>>> col.n_coarse, col.n_fine, col.missing
(8, 8, False)
>>> coarse, fine = col.encode(np.array([-5.0, 0.0, 5.0]), rng)
>>> coarse.tolist(), fine.tolist()
([0, 4, 7], [0, 1, 7])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CategoricalTokens", "NumericTokens", "DiscreteTokens", "tokens_from_state"]


def _jsonable(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


class CategoricalTokens:
    """Levels of a categorical (or boolean, or combination) model column."""

    kind = "categorical"

    def __init__(self, name: str, levels: list, missing: bool):
        self.name, self.levels, self.missing = name, list(levels), bool(missing)

    @classmethod
    def fit(cls, name: str, values: np.ndarray, *, levels=None, public: bool = False,
            public_missing: bool = True) -> CategoricalTokens:
        present = pd.Series(values, dtype=object).dropna()
        found = [_jsonable(v) for v in pd.unique(present)] if not public else []
        known = list(levels) if levels else []
        seen = set(known)
        extra = sorted((v for v in found if v not in seen), key=str)
        return cls(name, known + extra, public_missing if public else len(present) < len(values))

    @property
    def cards(self) -> list[int]:
        return [len(self.levels) + int(self.missing)]

    @property
    def missing_token(self) -> int | None:
        return len(self.levels) if self.missing else None

    def codes(self, values) -> np.ndarray:
        """Token of each value: -1 for unknown levels, the missing token (or -1) for missing values."""
        arr = np.asarray(values, dtype=object)
        idx = pd.Index(self.levels, dtype=object).get_indexer(pd.Index(arr, dtype=object)).astype(np.int64)
        miss = pd.isna(arr)
        idx[miss] = self.missing_token if self.missing else -1
        return idx

    def encode(self, values, rng) -> list[np.ndarray]:
        return [self.codes(values)]

    def decode(self, tokens: list[np.ndarray], rng) -> tuple[np.ndarray, np.ndarray]:
        (t,) = tokens
        levels = np.empty(len(self.levels) + 1, dtype=object)
        levels[: len(self.levels)] = self.levels
        levels[-1] = None
        out = levels[np.minimum(t, len(self.levels))]
        return out, t >= len(self.levels)

    def state(self) -> tuple[dict, dict]:
        return {"kind": self.kind, "name": self.name, "levels": [_jsonable(v) for v in self.levels],
                "missing": self.missing}, {}


class DiscreteTokens:
    """A number with few distinct values: one token per value."""

    kind = "discrete"

    def __init__(self, name: str, values: np.ndarray, missing: bool):
        self.name, self.values, self.missing = name, np.asarray(values, dtype="float64"), bool(missing)

    @property
    def cards(self) -> list[int]:
        return [len(self.values) + int(self.missing)]

    @property
    def missing_token(self) -> int | None:
        return len(self.values) if self.missing else None

    def nearest(self, x: np.ndarray) -> np.ndarray:
        idx = np.clip(np.searchsorted(self.values, x), 0, len(self.values) - 1)
        prev = np.clip(idx - 1, 0, len(self.values) - 1)
        return np.where(np.abs(self.values[prev] - x) < np.abs(self.values[idx] - x), prev, idx)

    def encode(self, x: np.ndarray, rng) -> list[np.ndarray]:
        miss = np.isnan(x)
        t = self.nearest(np.where(miss, self.values[0], x))
        return [np.where(miss, self.missing_token if self.missing else -1, t).astype(np.int64)]

    def decode(self, tokens, rng) -> tuple[np.ndarray, np.ndarray]:
        (t,) = tokens
        miss = t >= len(self.values)
        return np.where(miss, np.nan, self.values[np.minimum(t, len(self.values) - 1)]), miss

    def state(self):
        return {"kind": self.kind, "name": self.name, "missing": self.missing}, {"values": self.values}


class NumericTokens:
    """A continuous number as a (coarse, fine) pair of bin tokens; ``lo``/``hi`` bound each fine bin."""

    kind = "numeric"

    def __init__(self, name: str, lo: np.ndarray, hi: np.ndarray, n_coarse: int, n_fine: int, missing: bool):
        self.name = name
        self.lo, self.hi = np.asarray(lo, dtype="float64"), np.asarray(hi, dtype="float64")
        self.n_coarse, self.n_fine, self.missing = int(n_coarse), int(n_fine), bool(missing)

    @classmethod
    def fit(cls, name: str, x: np.ndarray, *, step, rng, max_levels: int, bins: int,
            private: bool = False, public_bounds: tuple[float, float] | None = None,
            public_missing: bool = True) -> DiscreteTokens | NumericTokens:
        miss = np.isnan(x)
        if public_bounds is not None:  # DP: equal-width bins between declared bounds, nothing from the data
            lo_b, hi_b = public_bounds
            if step and (hi_b - lo_b) / step + 1 <= max_levels:
                return DiscreteTokens(name, np.arange(round((hi_b - lo_b) / step) + 1) * step + lo_b, public_missing)
            n_coarse, n_fine = _split(bins)
            edges = np.linspace(lo_b, hi_b, n_coarse * n_fine + 1)
            return cls(name, edges[:-1], edges[1:], n_coarse, n_fine, public_missing)
        v = x[~miss]
        distinct = np.unique(v)
        if not private and len(distinct) <= max_levels:
            return DiscreteTokens(name, distinct, bool(miss.any()))
        total = max(2, min(bins if not private else min(bins, 100), len(v) // 20))
        n_coarse, n_fine = _split(total)
        k = n_coarse * n_fine
        idx = cls._ranks(v, k, rng)
        if private:  # smoothed: quantile edges, never a single row's exact value at the extremes
            edges = np.quantile(v, np.linspace(0, 1, k + 1))
            lo, hi = edges[:-1], edges[1:]
        else:
            lo = np.full(k, np.nan)
            hi = np.full(k, np.nan)
            np.fmin.at(lo, idx, v)
            np.fmax.at(hi, idx, v)
            empty = np.isnan(lo)
            if empty.any():  # k <= len(v) // 4 makes this rare; fill from the neighbours
                filled = pd.Series(lo).ffill().bfill().to_numpy()
                lo[empty] = hi[empty] = filled[empty]
        return cls(name, lo, hi, n_coarse, n_fine, bool(miss.any()))

    @staticmethod
    def _ranks(v: np.ndarray, k: int, rng) -> np.ndarray:
        """Equal-count bin of each value; ties are split at random so heaps fill whole bins."""
        order = np.lexsort((rng.random(len(v)), v))
        ranks = np.empty(len(v), dtype=np.int64)
        ranks[order] = np.arange(len(v))
        return np.minimum(ranks * k // max(len(v), 1), k - 1)

    @property
    def cards(self) -> list[int]:
        return [self.n_coarse + int(self.missing), self.n_fine + int(self.missing)]

    @property
    def missing_token(self) -> int | None:
        return self.n_coarse if self.missing else None

    def bins_containing(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First and last fine bin whose [lo, hi] holds each value (nearest bin when none does)."""
        first = np.searchsorted(self.hi, x, side="left")
        last = np.searchsorted(self.lo, x, side="right") - 1
        first = np.clip(first, 0, len(self.lo) - 1)
        last = np.clip(last, 0, len(self.lo) - 1)
        gap = last < first  # between two bins: take the nearer one
        near = np.where(np.abs(self.hi[last] - x) <= np.abs(self.lo[first] - x), last, first)
        return np.where(gap, near, first), np.where(gap, near, last)

    def encode(self, x: np.ndarray, rng) -> list[np.ndarray]:
        miss = np.isnan(x)
        first, last = self.bins_containing(np.where(miss, self.lo[0], x))
        fine = first + np.floor(rng.random(len(x)) * (last - first + 1)).astype(np.int64)
        coarse, sub = fine // self.n_fine, fine % self.n_fine
        if self.missing:
            coarse = np.where(miss, self.n_coarse, coarse)
            sub = np.where(miss, self.n_fine, sub)
        return [coarse.astype(np.int64), sub.astype(np.int64)]

    def decode(self, tokens, rng) -> tuple[np.ndarray, np.ndarray]:
        coarse, sub = tokens
        miss = coarse >= self.n_coarse
        fine = np.minimum(coarse, self.n_coarse - 1) * self.n_fine + np.minimum(sub, self.n_fine - 1)
        lo, hi = self.lo[fine], self.hi[fine]
        x = lo + rng.random(len(fine)) * (hi - lo)
        return np.where(miss, np.nan, x), miss

    def state(self):
        return ({"kind": self.kind, "name": self.name, "n_coarse": self.n_coarse, "n_fine": self.n_fine,
                 "missing": self.missing}, {"lo": self.lo, "hi": self.hi})


def _split(total: int) -> tuple[int, int]:
    coarse = max(1, int(math.ceil(math.sqrt(total))))
    return coarse, max(1, int(math.ceil(total / coarse)))


def tokens_from_state(meta: dict, arrays: dict[str, np.ndarray]):
    kind = meta["kind"]
    if kind == "categorical":
        return CategoricalTokens(meta["name"], meta["levels"], meta["missing"])
    if kind == "discrete":
        return DiscreteTokens(meta["name"], arrays["values"], meta["missing"])
    if kind == "numeric":
        return NumericTokens(meta["name"], arrays["lo"], arrays["hi"], meta["n_coarse"], meta["n_fine"], meta["missing"])
    raise ValueError(f"unknown token kind {kind!r}")
