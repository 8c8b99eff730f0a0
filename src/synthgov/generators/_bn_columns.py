"""Discretised columns for the Bayesian-network synthesizer.

Each model column has *cells* (fine: one per numeric interval or value, one
per category level, plus one for "missing" where the column can be missing)
and *codes* (coarse: consecutive numeric cells merged into at most ``bins``
groups of about equal weight). The network works on codes; a sampled code
becomes a value by drawing one of its cells in proportion to the cell weights
and then a value inside the cell (on the column's step grid).

* Without differential privacy the cells are the data's quantiles (or its
  distinct values, when there are few) and the weights are exact counts.
* With differential privacy the cells are fixed by public facts only (bounds
  and step: equal-width cells, or one per value when the range is short) and
  the weights are noisy counts; merging cells into codes uses only those noisy
  counts, so it is post-processing.

They hold no rows, only edges, levels and weights, and serialise to JSON plus
numpy arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["NumericColumn", "CategoricalColumn", "column_from_state"]

#: Numeric columns with at most this many distinct values (or grid points) get one cell per value.
MAX_EXACT = 64
#: Quantile cells of a numeric column without differential privacy.
QUANTILE_CELLS = 256
#: Equal-width cells of a numeric column under differential privacy.
DP_CELLS = 64


def _merge(weights: np.ndarray, bins: int) -> np.ndarray:
    """Coarse code of each cell: consecutive cells grouped into at most ``bins`` groups of about equal weight."""
    f = len(weights)
    if f <= bins:
        return np.arange(f, dtype=np.int64)
    w = np.maximum(np.asarray(weights, dtype="float64"), 0) + 1e-9
    cum = np.cumsum(w)
    mid = (cum - w / 2) / cum[-1]
    raw = np.minimum((mid * bins).astype(np.int64), bins - 1)
    return np.unique(raw, return_inverse=True)[1].astype(np.int64)


class NumericColumn:
    """A numeric (or datetime, as ns) model column: cells between edges, or one cell per value when ``exact``."""

    kind = "numeric"

    def __init__(self, name: str, edges, exact: bool, step: float | None, weights, cell_code, missing: bool):
        self.name = name
        self.edges = np.asarray(edges, dtype="float64")
        self.exact = bool(exact)
        self.step = step
        self.weights = np.asarray(weights, dtype="float64")  # one per cell, missing cell last if present
        self.cell_code = np.asarray(cell_code, dtype=np.int64)  # one per cell (missing cell -> last code)
        self.missing = bool(missing)

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_data(cls, name: str, x: np.ndarray, step: float | None, *, bins: int, rare: int, missing: bool) -> NumericColumn:
        """Quantile cells (or distinct values) with exact counts: no formal privacy."""
        present = x[~np.isnan(x)]
        uniq, counts = np.unique(present, return_counts=True)
        keep = counts >= rare
        if len(uniq) <= MAX_EXACT and keep.any():
            kept = uniq[keep]  # rare values are merged into the nearest kept one: they would single people out
            edges = np.append(kept, kept[-1] + (step or 1.0))
            obj = cls(name, edges, True, step, np.zeros(len(kept) + missing), np.zeros(len(kept) + missing), missing)
        else:
            edges = np.unique(np.quantile(present, np.linspace(0, 1, QUANTILE_CELLS + 1)))
            if len(edges) < 2:
                edges = np.array([edges[0], edges[0] + (step or 1.0)])
            f = len(edges) - 1
            obj = cls(name, edges, False, step, np.zeros(f + missing), np.zeros(f + missing), missing)
        cells = obj.cells_of(x)
        obj.weights = np.bincount(cells, minlength=obj.n_cells).astype("float64")
        obj.set_codes(bins)
        return obj

    @classmethod
    def public(cls, name: str, lo: float, hi: float, step: float | None) -> NumericColumn:
        """Cells from public bounds and step only (weights to be measured)."""
        if step and (hi - lo) / step + 1 <= MAX_EXACT:
            values = np.arange(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) + 1) * step
            if len(values) == 0:
                values = np.array([lo])
            edges = np.append(values, values[-1] + step)
            exact = True
        else:
            if hi <= lo:
                hi = lo + (step or 1.0)
            edges = np.linspace(lo, hi, DP_CELLS + 1)
            if step:  # cell edges on the step grid, inside the bounds
                first, last = math.ceil(lo / step - 1e-9) * step, math.floor(hi / step + 1e-9) * step
                edges = np.unique(np.clip(np.round(edges / step) * step, first, last)) if first < last \
                    else np.array([lo, hi if hi > lo else lo + step])
            exact = False
        f = len(edges) - 1
        return cls(name, edges, exact, step, np.zeros(f + 1), np.arange(f + 1), True)

    def set_codes(self, bins: int) -> None:
        """Group the value cells into at most ``bins`` codes by the current weights (missing cell: its own code)."""
        f = self.n_value_cells
        codes = _merge(self.weights[:f], bins)
        if self.missing:
            codes = np.append(codes, codes.max() + 1 if f else 0)
        self.cell_code = codes

    # -- shape --------------------------------------------------------------------------
    @property
    def n_value_cells(self) -> int:
        return len(self.edges) - 1

    @property
    def n_cells(self) -> int:
        return self.n_value_cells + int(self.missing)

    @property
    def n_codes(self) -> int:
        return int(self.cell_code.max()) + 1 if len(self.cell_code) else 0

    @property
    def missing_code(self) -> int | None:
        return int(self.cell_code[-1]) if self.missing else None

    @property
    def bounds(self) -> tuple[float, float]:
        return float(self.edges[0]), float(self.edges[-2] if self.exact else self.edges[-1])

    # -- values <-> cells <-> codes ----------------------------------------------------------
    def cells_of(self, x: np.ndarray) -> np.ndarray:
        """Fine cell of each value (values outside the edges go to the end cells; missing to the missing cell)."""
        x = np.asarray(x, dtype="float64")
        nan = np.isnan(x)
        f = self.n_value_cells
        xs = np.where(nan, self.edges[0], x)
        if self.exact:
            v = self.edges[:-1]
            i = np.clip(np.searchsorted(v, xs), 0, f - 1)
            j = np.clip(i - 1, 0, f - 1)
            cells = np.where(np.abs(v[j] - xs) <= np.abs(v[i] - xs), j, i)
        else:
            cells = np.clip(np.searchsorted(self.edges, xs, side="right") - 1, 0, f - 1)
        if self.missing:
            return np.where(nan, f, cells).astype(np.int64)
        return cells.astype(np.int64)

    def codes_of(self, x: np.ndarray) -> np.ndarray:
        return self.cell_code[self.cells_of(x)]

    def codes_in_range(self, low: float, high: float) -> np.ndarray:
        """Codes with at least one value cell meeting [low, high] (and weight > 0)."""
        ok = self._cells_meeting(low, high) & (self.weights[: self.n_value_cells] > 0)
        return np.unique(self.cell_code[: self.n_value_cells][ok])

    def _cells_meeting(self, low: float, high: float) -> np.ndarray:
        e = self.edges
        if self.exact:
            return (e[:-1] >= low) & (e[:-1] <= high)
        last = np.zeros(len(e) - 1, dtype=bool)
        last[-1] = True
        return (e[1:] > low) & (e[:-1] <= high) | (last & (e[-1] >= low) & (e[-2] <= high))

    def decode(self, codes: np.ndarray, rng: np.random.Generator, low: float = -np.inf, high: float = np.inf) -> np.ndarray:
        """Values for codes: a cell in proportion to its weight, then a value in it (NaN for the missing code)."""
        codes = np.asarray(codes, dtype=np.int64)
        out = np.full(len(codes), np.nan)
        f = self.n_value_cells
        meets = self._cells_meeting(low, high)
        w_all = np.maximum(self.weights[:f], 0)
        for code in np.unique(codes):
            if self.missing and code == self.missing_code:
                continue
            rows = np.flatnonzero(codes == code)
            mine = (self.cell_code[:f] == code) & meets
            w = np.where(mine, w_all, 0.0)
            if w.sum() <= 0:
                w = mine.astype("float64")
            if w.sum() <= 0:
                continue  # no cell of this code meets the range: caller never asks for it
            cells = rng.choice(f, size=len(rows), p=w / w.sum())
            out[rows] = self._value_in(cells, rng, low, high)
        return out

    def _value_in(self, cells: np.ndarray, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
        e = self.edges
        if self.exact:
            return e[cells]
        lo = np.maximum(e[cells], low)
        last = cells == len(e) - 2
        hi = np.minimum(e[cells + 1], high)
        step = self.step
        if step:
            first = np.ceil(lo / step - 1e-9) * step
            top = np.where(last | (hi < e[cells + 1]), np.floor(hi / step + 1e-9), np.ceil(hi / step - 1e-9) - 1) * step
            count = np.maximum(np.round((top - first) / step).astype(np.int64) + 1, 1)
            return first + step * rng.integers(0, count)
        return lo + rng.random(len(cells)) * (hi - lo)

    # -- persistence -------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {"kind": self.kind, "name": self.name, "exact": self.exact, "step": self.step, "missing": self.missing}
        return meta, {"edges": self.edges, "weights": self.weights, "cell_code": self.cell_code}


class CategoricalColumn:
    """A categorical or boolean model column: one cell (and code) per level, plus one for missing."""

    kind = "categorical"

    def __init__(self, name: str, levels: list, weights, missing: bool, other: Any = None):
        self.name = name
        self.levels = list(levels)
        self.weights = np.asarray(weights, dtype="float64")
        self.missing = bool(missing)
        self.other = other  # the level unknown values map to (the rare label), if any
        self.cell_code = np.arange(self.n_cells, dtype=np.int64)

    @property
    def n_cells(self) -> int:
        return len(self.levels) + int(self.missing)

    @property
    def n_codes(self) -> int:
        return self.n_cells

    @property
    def missing_code(self) -> int | None:
        return len(self.levels) if self.missing else None

    def set_codes(self, bins: int) -> None:  # levels are never merged
        return None

    def cells_of(self, values: np.ndarray) -> np.ndarray:
        idx = pd.Index(self.levels, dtype=object).get_indexer(pd.Index(np.asarray(values, dtype=object), dtype=object))
        missing = pd.isna(np.asarray(values, dtype=object))
        if self.other is not None and self.other in self.levels:
            idx = np.where((idx < 0) & ~missing, self.levels.index(self.other), idx)
        if self.missing:
            idx = np.where(missing, len(self.levels), idx)
        if (idx < 0).any():
            bad = np.asarray(values, dtype=object)[idx < 0][0]
            raise ValueError(f"column {self.name!r}: value {bad!r} is not a known level")
        return idx.astype(np.int64)

    codes_of = cells_of

    def decode(self, codes: np.ndarray, rng: np.random.Generator, low=None, high=None) -> np.ndarray:
        arr = np.empty(len(self.levels) + 1, dtype=object)
        arr[: len(self.levels)] = self.levels
        arr[-1] = None
        codes = np.asarray(codes, dtype=np.int64)
        return arr[np.where(codes >= len(self.levels), len(self.levels), codes)]

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {"kind": self.kind, "name": self.name, "levels": [v.item() if hasattr(v, "item") else v for v in self.levels],
                "missing": self.missing, "other": self.other}
        return meta, {"weights": self.weights}


def column_from_state(meta: dict[str, Any], arrays: dict[str, np.ndarray]):
    if meta["kind"] == "numeric":
        return NumericColumn(meta["name"], arrays["edges"], meta["exact"], meta["step"], arrays["weights"],
                             arrays["cell_code"], meta["missing"])
    if meta["kind"] == "categorical":
        return CategoricalColumn(meta["name"], meta["levels"], arrays["weights"], meta["missing"], meta.get("other"))
    raise ValueError(f"unknown column kind {meta['kind']!r}")
