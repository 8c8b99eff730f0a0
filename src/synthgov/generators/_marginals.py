"""Per-dimension marginals for copula-style generators.

Each marginal maps values to intervals of the unit interval (``to_intervals``)
and back (``from_uniform``):

* :class:`Continuous` – smoothed empirical quantiles (linear interpolation
  between up to ``grid`` order statistics), rounded to a step and clipped to bounds.
* :class:`Discrete` – numeric values with few distinct levels, kept in value
  order so that the copula's correlations stay meaningful.
* :class:`Categorical` – levels in frequency order, each owning an interval
  whose width is its probability.

They hold no rows: only quantile grids, levels and probabilities, and they
serialise to a JSON dict plus named numpy arrays (no pickle).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Marginal", "Continuous", "Discrete", "Categorical", "marginal_from_state", "fit_numeric"]

#: Numeric columns with at most this many distinct values are modelled as discrete.
MAX_DISCRETE = 64


def _jsonable(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


class Marginal(ABC):
    kind = ""

    @abstractmethod
    def to_intervals(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper CDF bounds of each value (missing values get (0, 1))."""
        ...

    @abstractmethod
    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        """Values for uniforms ``u`` in (0, 1)."""
        ...

    @abstractmethod
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-friendly metadata, named arrays)."""
        ...


def _round(x: np.ndarray, step: float | None, lo: float, hi: float) -> np.ndarray:
    if step:
        x = np.round(x / step) * step
        # keep inside the bounds after rounding, on the grid
        x = np.where(x < lo, np.ceil(lo / step - 1e-9) * step, x)
        x = np.where(x > hi, np.floor(hi / step + 1e-9) * step, x)
    return np.clip(x, lo, hi)


class Continuous(Marginal):
    """Smoothed empirical quantile function."""

    kind = "continuous"

    def __init__(self, grid: np.ndarray, step: float | None, sorted_values: np.ndarray | None = None):
        self.grid = np.asarray(grid, dtype="float64")
        self.step = step
        self._sorted = sorted_values  # only during fit, never saved

    @classmethod
    def fit(cls, x: np.ndarray, *, step: float | None, points: int = 2001) -> Continuous:
        """Quantiles at ``points`` evenly spaced probabilities."""
        s = np.sort(x)
        k = int(max(2, min(len(s), points)))
        grid = np.quantile(s, np.linspace(0.0, 1.0, k))
        return cls(grid, step, s)

    @classmethod
    def fit_aggregated(cls, x: np.ndarray, *, step: float | None, points: int) -> Continuous:
        """Grid of the means of ``points`` equal groups of sorted values (each group >= n / points values)."""
        s = np.sort(x)
        groups = np.array_split(s, int(max(2, min(len(s), points))))
        return cls(np.array([g.mean() for g in groups if len(g)]), step, s)

    def forget_rows(self) -> None:
        """Drop the training values kept for ranking during fit; only the quantile grid remains."""
        self._sorted = None

    def to_intervals(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self._sorted if self._sorted is not None else self.grid
        n = len(s)
        lo, hi = np.zeros(len(values)), np.ones(len(values))
        present = np.flatnonzero(~np.isnan(values))
        order = present[np.argsort(values[present], kind="stable")]
        ranked = values[order]  # sorted queries make searchsorted fast
        lo[order] = np.searchsorted(s, ranked, side="left") / n
        hi[order] = np.searchsorted(s, ranked, side="right") / n
        return lo, hi

    def cdf(self, value):
        """Smoothed CDF (inverse of :meth:`from_uniform` before rounding); scalars or arrays."""
        g = self.grid
        u = np.interp(value, g, np.linspace(0.0, 1.0, len(g)))
        u = np.where(np.asarray(value) <= g[0], 0.0, np.where(np.asarray(value) >= g[-1], 1.0, u))
        return float(u) if np.ndim(u) == 0 else u

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        g = self.grid
        # the grid sits at evenly spaced probabilities, so the segment is found by arithmetic, not search
        pos = np.clip(u, 0.0, 1.0) * (len(g) - 1)
        i = np.minimum(pos.astype(np.int64), len(g) - 2)
        x = g[i] + (pos - i) * (g[i + 1] - g[i])
        return _round(x, self.step, g[0], g[-1])

    @property
    def bounds(self) -> tuple[float, float]:
        return float(self.grid[0]), float(self.grid[-1])

    def state(self):
        return {"kind": self.kind, "step": self.step}, {"grid": self.grid}


class _Levels(Marginal):
    """Shared machinery for marginals over a finite set of levels."""

    def __init__(self, levels: list, probs: np.ndarray):
        self.levels = list(levels)
        p = np.asarray(probs, dtype="float64")
        self.probs = p / p.sum()
        self.cum = np.concatenate([[0.0], np.cumsum(self.probs)])
        self.cum[-1] = 1.0

    def codes_of(self, values) -> np.ndarray:
        """Index of each value's level (-1 for unknown or missing)."""
        idx = pd.Index(self.levels, dtype=object).get_indexer(pd.Index(np.asarray(values, dtype=object), dtype=object))
        return idx.astype(np.int64)

    def interval_of_codes(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo = np.where(codes >= 0, self.cum[np.maximum(codes, 0)], 0.0)
        hi = np.where(codes >= 0, self.cum[np.maximum(codes, 0) + 1], 1.0)
        return lo, hi

    def codes_from_uniform(self, u: np.ndarray) -> np.ndarray:
        codes = np.searchsorted(self.cum, u, side="right") - 1
        codes = np.clip(codes, 0, len(self.levels) - 1)
        # never land on a zero-probability level
        zero = self.probs[codes] == 0
        if zero.any():
            nz = np.flatnonzero(self.probs > 0)
            codes[zero] = nz[np.searchsorted(nz, codes[zero]).clip(0, len(nz) - 1)]
        return codes


class Discrete(_Levels):
    """Numeric levels in value order."""

    kind = "discrete"

    def to_intervals(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lv = np.asarray(self.levels, dtype="float64")
        codes = np.searchsorted(lv, values)
        known = (codes < len(lv)) & (lv[np.minimum(codes, len(lv) - 1)] == values)
        return self.interval_of_codes(np.where(known, codes, -1))

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        return np.asarray(self.levels, dtype="float64")[self.codes_from_uniform(u)]

    def range_interval(self, low: float | None, high: float | None) -> tuple[float, float]:
        lv = np.asarray(self.levels, dtype="float64")
        i = 0 if low is None else int(np.searchsorted(lv, low, side="left"))
        j = len(lv) if high is None else int(np.searchsorted(lv, high, side="right"))
        return float(self.cum[i]), float(self.cum[j]) if j > i else float(self.cum[i])

    @property
    def bounds(self) -> tuple[float, float]:
        return float(self.levels[0]), float(self.levels[-1])

    def state(self):
        return {"kind": self.kind}, {"levels": np.asarray(self.levels, dtype="float64"), "probs": self.probs}


class Categorical(_Levels):
    """Levels in frequency order (most frequent first)."""

    kind = "categorical"

    @classmethod
    def fit(cls, values, *, levels: list | None = None) -> Categorical:
        """Fit on ``values`` (missing ignored); ``levels`` fixes the order of known levels."""
        counts = pd.Series(values, dtype=object).dropna().value_counts()
        counts.index = [_jsonable(v) for v in counts.index]
        found = sorted(counts.index, key=lambda v: (-counts[v], str(v)))
        if levels is not None:
            known = set(levels)
            found = list(levels) + [v for v in found if v not in known]
        probs = np.array([counts.get(v, 0) for v in found], dtype="float64")
        if probs.sum() == 0:
            probs[:] = 1.0
        return cls(found, probs)

    def to_intervals(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.interval_of_codes(self.codes_of(values))

    def levels_array(self) -> np.ndarray:
        """The levels as an object array (index it with codes)."""
        arr = np.empty(len(self.levels), dtype=object)
        arr[:] = self.levels
        return arr

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        return self.levels_array()[self.codes_from_uniform(u)]

    def state(self):
        return {"kind": self.kind, "levels": [_jsonable(v) for v in self.levels]}, {"probs": self.probs}


def fit_numeric(x: np.ndarray, *, step: float | None, points: int = 2001, rare: int = 1,
                private: bool = False) -> Marginal:
    """The marginal of a numeric column.

    Few distinct values: a :class:`Discrete` marginal whose levels seen fewer than ``rare`` times are
    merged into the nearest frequent level (rare values identify people). Otherwise smoothed quantiles
    on a grid of at most ``points`` (and at most n / ``rare``) quantiles, so the model never holds the
    column's values. ``private`` (PII-tagged columns) always smooths, on at most 101 quantiles, and
    trims the ``rare`` most extreme values at each end.
    """
    n = len(x)
    if not private:
        uniq, counts = np.unique(x, return_counts=True)
        keep = counts >= rare
        if len(uniq) <= MAX_DISCRETE and keep.any():
            kept = uniq[keep]
            pos = np.clip(np.searchsorted(kept, uniq), 1, max(len(kept) - 1, 1))
            left = kept[pos - 1] if len(kept) > 1 else kept[np.zeros_like(pos)]
            right = kept[np.minimum(pos, len(kept) - 1)]
            nearest = np.where(np.abs(uniq - left) <= np.abs(right - uniq), left, right)
            merged = np.bincount(np.searchsorted(kept, nearest), weights=counts, minlength=len(kept))
            return Discrete(list(kept), merged.astype("float64"))
    points = min(points, max(2, n // max(rare, 1)))
    if private:
        return Continuous.fit_aggregated(x, step=step, points=min(points, 101))
    return Continuous.fit(x, step=step, points=points)


def marginal_from_state(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Marginal:
    kind = meta.get("kind")
    if kind == "continuous":
        return Continuous(arrays["grid"], meta.get("step"))
    if kind == "discrete":
        return Discrete(list(arrays["levels"]), arrays["probs"])
    if kind == "categorical":
        return Categorical(list(meta["levels"]), arrays["probs"])
    raise ValueError(f"unknown marginal kind {kind!r}")
