"""Public facts for the private path: bounds and category lists, declared or bought with budget.

A differentially private fit may use only what is public. Numeric and datetime
bounds and category lists come from, in this order: the synthesizer's
``bounds=`` / ``domains=``, the schema the user passed to ``fit`` (a schema given
by the user is taken as public), or a DP mechanism charged to the budget:

* bounds: a discrete Gaussian noisy histogram over a fixed public grid of cells
  (powers of 2**(1/4) and their negatives for numbers, quarter years 1900-2100
  for dates; sensitivity 1 under add/remove one row); the bounds are the edges
  of the outermost cells whose noisy count reaches a threshold set so that an
  empty cell passes with probability below 1 % over the whole grid.
* categories: a Gaussian sparse histogram: each value seen gets a discrete
  Gaussian noisy count and is kept if that reaches a threshold tau; a value only
  one row holds survives with probability at most delta, so the step is
  (rho, delta)-approximately zCDP. Other values become the rare label.

Value-level facts of regenerated columns (identifier and text shapes, missing
rates) are replaced by neutral ones, so nothing else about the rows reaches the
model. Column names and kinds are structural metadata: pass a schema to ``fit``
to declare them without inference looking at the data.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..table.infer import RARE_LABEL
from ..table.schema import Kind, TableSchema
from ._accountant import ZCDPAccountant
from ._codec import _to_ns
from ._dp import discrete_gaussian, gaussian_sigma2, sparse_histogram, sparse_threshold

__all__ = ["public_schema", "needed_mechanisms", "numbers_as_numbers"]

#: Chance that an empty cell of the public grid passes the bounds threshold, over the whole grid.
FALSE_CELL = 0.01
_NUMBER_GRID = np.unique(np.concatenate([[0.0], 2.0 ** (np.arange(-40, 129) / 2), -(2.0 ** (np.arange(-40, 129) / 2))]))
_DATE_GRID = np.array([pd.Timestamp(f"{y}-{m:02d}-01").value for y in range(1900, 2101) for m in (1, 4, 7, 10)],
                      dtype="float64")


def _declared(col, bounds, domains, given: bool) -> bool:
    if col.kind in (Kind.NUMERIC, Kind.DATETIME):
        return col.name in bounds or (given and col.minimum is not None and col.maximum is not None)
    if col.kind in (Kind.CATEGORICAL, Kind.BOOLEAN):
        return col.name in domains or (given and col.categories is not None) or col.dtype == "bool"
    return True


def numbers_as_numbers(df: pd.DataFrame, schema: TableSchema, domains: dict, given: bool) -> TableSchema:
    """Categorical / boolean columns stored as numbers, with no declared levels, become numeric columns.

    Their levels would have to be found privately, and a rare label cannot share a numeric type; as
    numbers they need only bounds and keep their type. Whether the values are whole numbers is read
    as structural metadata, like the rest of the kind inference.
    """
    cols = []
    for col in schema:
        if col.kind in (Kind.CATEGORICAL, Kind.BOOLEAN) and col.dtype in ("int", "float") \
                and col.name not in domains and not (given and col.categories is not None):
            x = pd.to_numeric(df[col.name], errors="coerce").to_numpy(dtype="float64")
            whole = bool(np.all(np.mod(x[~np.isnan(x)], 1) == 0))
            col = dataclasses.replace(col, kind=Kind.NUMERIC, integer=whole, decimals=0 if whole else None,
                                      categories=None, rare_grouped=0, rare_label=None, minimum=None, maximum=None)
        cols.append(col)
    return dataclasses.replace(schema, columns=tuple(cols))


def needed_mechanisms(schema: TableSchema, bounds: dict, domains: dict, given: bool) -> tuple[int, int]:
    """(number of bound histograms, number of category histograms) the undeclared facts need."""
    q = sum(1 for c in schema if c.kind in (Kind.NUMERIC, Kind.DATETIME) and not _declared(c, bounds, domains, given))
    h = sum(1 for c in schema if c.kind in (Kind.CATEGORICAL, Kind.BOOLEAN) and not _declared(c, bounds, domains, given))
    return q, h


def _values(series: pd.Series, col) -> np.ndarray:
    if col.kind is Kind.DATETIME:
        return _to_ns(series, col)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")


def _dp_bounds(x: np.ndarray, col, rho: Fraction, accountant: ZCDPAccountant, rng) -> tuple[float, float]:
    """Outermost cells of a public grid whose discrete-Gaussian noisy count reaches the threshold."""
    x = x[~np.isnan(x)]
    grid = _DATE_GRID if col.kind is Kind.DATETIME else _NUMBER_GRID
    if col.kind is Kind.NUMERIC and col.integer:
        grid = np.unique(np.round(grid))
    sigma2 = gaussian_sigma2(rho)
    sigma = math.sqrt(float(sigma2))
    tau = math.ceil(sigma * math.sqrt(2 * math.log(len(grid) / FALSE_CELL)))
    accountant.spend(1 / (2 * sigma2), mechanism="discrete Gaussian", purpose=f"bounds of {col.name!r}",
                     sigma=round(sigma, 4), cells=len(grid) + 1, threshold=tau)
    cells = np.searchsorted(grid, x, side="right")  # cell i: [grid[i-1], grid[i]); 0 and len(grid): outside
    noisy = np.bincount(cells, minlength=len(grid) + 1) + discrete_gaussian(rng, sigma2, len(grid) + 1)
    kept = np.flatnonzero(noisy[1:-1] >= tau)  # inner cells only: the outer two have no finite edge
    if kept.size == 0:  # nothing stands out from the noise: the fullest cell (post-processing)
        kept = np.array([int(np.argmax(noisy[1:-1]))])
    return float(grid[kept[0]]), float(grid[kept[-1] + 1])


def _dp_categories(series: pd.Series, col, rho: Fraction, delta: Fraction, accountant: ZCDPAccountant, rng) -> tuple:
    counts = series.dropna().astype(object).value_counts(sort=False)
    counts = counts.sort_index(key=lambda idx: idx.map(str))  # an order that does not depend on the counts
    sigma2 = gaussian_sigma2(rho)
    accountant.spend(1 / (2 * sigma2), delta=delta, mechanism="Gaussian sparse histogram",
                     purpose=f"categories of {col.name!r}", sigma=round(math.sqrt(float(sigma2)), 4),
                     threshold=sparse_threshold(sigma2, float(delta)))
    keep, noisy = sparse_histogram(rng, counts.to_numpy(dtype=np.int64), rho, float(delta))
    levels = [v.item() if hasattr(v, "item") else v for v in counts.index[keep]]
    order = np.argsort(-noisy[keep], kind="stable")
    return tuple(levels[i] for i in order)


def public_schema(df: pd.DataFrame, schema: TableSchema, *, bounds: dict, domains: dict, given: bool,
                  accountant: ZCDPAccountant, rho: Fraction, rng: np.random.Generator) -> TableSchema:
    """``schema`` with every value-level fact declared or derived privately (``rho`` for all derivations)."""
    q, h = needed_mechanisms(schema, bounds, domains, given)
    each = Fraction(math.floor(Fraction(rho) / max(q + h, 1) * 2**48), 2**48)
    delta_each = Fraction(math.floor(accountant.delta / max(h, 1) * 2**48), 2**48) if h else Fraction(0)
    if h and delta_each <= 0:
        raise ParameterError("no delta is reserved for finding category lists privately",
                             hint="declare the categories with domains= or a schema, or give delta > 0")
    cols = []
    for col in schema:
        facts: dict = {}
        if col.kind in (Kind.NUMERIC, Kind.DATETIME):
            if col.name in bounds:
                lo, hi = bounds[col.name]
            elif given and col.minimum is not None and col.maximum is not None:
                lo, hi = col.minimum, col.maximum
            else:
                lo, hi = _dp_bounds(_values(df[col.name], col), col, each, accountant, rng)
                if col.kind is Kind.DATETIME:
                    lo, hi = (pd.Timestamp(int(v)).isoformat() for v in (lo, hi))
                elif col.integer:
                    lo, hi = int(lo), int(hi)
            facts.update(minimum=lo, maximum=hi)
        elif col.kind in (Kind.CATEGORICAL, Kind.BOOLEAN):
            if col.name in domains:
                cats = tuple(domains[col.name])
            elif given and col.categories is not None:
                cats = tuple(col.categories)
            elif col.dtype == "bool":
                cats = (True, False)
            else:
                cats = _dp_categories(df[col.name], col, each, delta_each, accountant, rng)
            facts.update(categories=cats, rare_grouped=1, rare_label=RARE_LABEL)
        elif not given:  # regenerated: neutral shapes, nothing read off the rows
            digits = col.dtype in ("int", "float")
            facts.update(shape="99999999" if digits else "aaaaaaaa", missing_rate=0.0,
                         minimum=1 if "sequential" in col.flags else None)
        if not given:
            facts.setdefault("missing_rate", 0.0)
        cols.append(dataclasses.replace(col, **facts))
    return dataclasses.replace(schema, columns=tuple(cols), n_rows=None)
