"""Gaussian copula synthesizer.

Each modelled column gets its own marginal (smoothed empirical quantiles for
continuous numbers and datetimes, value-ordered levels for numbers with few
distinct values, frequency-ordered intervals for categories); a column with
missing values gets a missingness indicator of its own, correlated with the rest.
Rows are mapped to normal scores with randomised ranks, and the dependence
between columns is their correlation matrix.

Sampling draws normal scores and maps them back through the marginals.
Conditions (equality or ranges, one value for all rows or one per row) are
exact: they fix or bound the normal scores of the conditioned columns and the
others are drawn from the conditional normal (Gibbs sweeps of inverse-CDF
truncated-normal draws where bounds apply, never a rejection loop).

This generator offers **no formal privacy guarantee** (``privacy_`` is None):
it learns marginals and correlations from the real data, and extreme values
of numeric columns can appear in the output.

>>> import pandas as pd, synthgov as sg
>>> df = pd.DataFrame({"age": list(range(20, 80)) * 2, "sex": ["f", "m", "f"] * 40})
>>> syn = sg.CopulaSynthesizer(random_state=0).fit(df)
>>> out = syn.sample(100, conditions={"sex": "m", "age": (30, 40)})
>>> bool((out["sex"] == "m").all()), int(out["age"].min()) >= 30, int(out["age"].max()) <= 40
(True, True, True)
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from ..errors import ConditionError, ParameterError
from ..table.constraints import Constraint, constraint_from_dict
from ..table.schema import TableSchema
from ._codec import ModelColumn, TableCodec
from ._gaussian import (
    EPS,
    hermite_coefficients,
    latent_correlation,
    latent_from_intervals,
    sample_truncated,
    to_z_bounds,
)
from ._marginals import (
    Categorical,
    Continuous,
    Discrete,
    Marginal,
    fit_numeric,
    marginal_from_state,
)
from .base import ProgressCallback, Synthesizer, check_random_state, condition_items

__all__ = ["CopulaSynthesizer"]

CHUNK = 100_000
#: Pairs of columns with at most this many levels get their latent correlation solved exactly.
EXACT_LEVELS = 16


class _Bounds:
    """Normal-score bounds of the conditioned dimensions, one value for all rows or one per row."""

    def __init__(self, n: int, d: int):
        self.n, self.d = n, d
        self.by_dim: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def set(self, j: int, lo, hi) -> None:
        """Bound dimension ``j`` to the CDF interval [lo, hi] (scalars or arrays of length n)."""
        self.by_dim[j] = to_z_bounds(np.asarray(lo, dtype="float64"), np.asarray(hi, dtype="float64"))

    def block(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        lower = np.full((stop - start, self.d), -np.inf)
        upper = np.full((stop - start, self.d), np.inf)
        for j, (zl, zh) in self.by_dim.items():
            lower[:, j] = zl[start:stop] if zl.ndim else zl
            upper[:, j] = zh[start:stop] if zh.ndim else zh
        return lower, upper


@dataclasses.dataclass
class _Dim:
    column: str  # model column
    marginal: Marginal
    indicator: bool = False  # True: the missingness indicator of `column`


def _association_order(values: np.ndarray, levels: list, scores: list[np.ndarray]) -> list | None:
    """Levels sorted by their mean normal score on the number they are most associated with.

    A copula puts a category's levels on one axis; in frequency order an ordinal category (loan
    grades A-G) would be scrambled against the numbers that follow it (interest rates). Ordering the
    levels by the numeric column with the largest correlation ratio (eta squared, at least 0.01)
    keeps that link monotone. ``scores`` are the numeric columns' centred normal scores (NaN where
    missing). Returns None when no number is associated.
    """
    codes = pd.Index(levels, dtype=object).get_indexer(pd.Index(values, dtype=object))
    best, best_eta = None, 0.01
    for z in scores:
        ok = ~np.isnan(z) & (codes >= 0)
        if ok.sum() < 3:
            continue
        c, zc = codes[ok], z[ok]
        counts = np.bincount(c, minlength=len(levels))
        means = np.bincount(c, weights=zc, minlength=len(levels)) / np.maximum(counts, 1)
        eta = float((counts * means**2).sum() / max((zc**2).sum(), 1e-12))
        if eta > best_eta:
            best, best_eta = means, eta
    if best is None:
        return None
    return [levels[i] for i in np.argsort(best, kind="stable")]


class CopulaSynthesizer(Synthesizer):
    """Gaussian copula over per-column marginals (see module docs).

    Args:
        random_state: seed; the same seed gives byte-identical output, fit included.
        constraints: :mod:`synthgov.table.constraints` objects (or their dict form),
            added to those in the schema.
        quantile_points: grid size of continuous marginals (more: closer to the data's shape).
    """

    name = "copula"

    def __init__(self, *, random_state: int | None = None, constraints=(), quantile_points: int = 2001):
        self.random_state = check_random_state(random_state)
        if isinstance(constraints, (Constraint, dict)):
            constraints = [constraints]
        self.constraints = tuple(c if isinstance(c, Constraint) else constraint_from_dict(c) for c in constraints)
        if isinstance(quantile_points, bool) or not isinstance(quantile_points, int) or not 2 <= quantile_points <= 100_000:
            raise ParameterError(f"quantile_points must be an integer in 2..100000, got {quantile_points!r}")
        self.quantile_points = quantile_points
        self.schema_: TableSchema | None = None

    # -- fit -----------------------------------------------------------------
    def fit(self, data, *, schema=None, progress: ProgressCallback | None = None) -> CopulaSynthesizer:
        df = self._training_frame(data)
        if schema is None:
            schema = TableSchema.infer(df)
        elif not isinstance(schema, TableSchema):
            schema = TableSchema.load(schema)
        codec, model = TableCodec.fit(df, schema, self.constraints)
        rng = np.random.default_rng(self.random_state)
        k = codec.schema.rare_threshold
        fitted: dict[str, tuple[Marginal, np.ndarray, np.ndarray]] = {}  # model column -> (marginal, values, present)
        numeric_z: list[np.ndarray] = []  # mid-interval normal scores of the numeric columns, centred
        intervals: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for mc in codec.model_columns:  # numbers first: their scores order the categories below
            if mc.kind == "numeric":
                x = model[mc.name].to_numpy(dtype="float64")
                present = ~np.isnan(x)
                private = bool(mc.source and codec.schema[mc.source].pii)
                marginal = fit_numeric(x[present], step=mc.step, points=self.quantile_points, rare=k, private=private)
                fitted[mc.name] = (marginal, x, present)
                lo, hi = marginal.to_intervals(x)
                intervals[mc.name] = (lo, hi)
                mid = np.where(present, ndtri(np.clip((lo + hi) / 2, EPS, 1 - EPS)), np.nan)
                numeric_z.append(mid - np.nanmean(mid))
        for mc in codec.model_columns:
            if mc.kind != "numeric":
                values = model[mc.name].to_numpy(dtype=object)
                levels = list(mc.levels) if mc.levels else None
                marginal = Categorical.fit(values, levels=levels)
                if len(marginal.levels) > 2 and numeric_z:
                    order = _association_order(values, marginal.levels, numeric_z)
                    if order is not None:
                        marginal = Categorical.fit(values, levels=order)
                fitted[mc.name] = (marginal, values, pd.notna(values))
        dims: list[_Dim] = []
        latent: list[np.ndarray] = []
        signal: list[np.ndarray] = []
        total = len(codec.model_columns)
        for i, mc in enumerate(codec.model_columns):
            marginal, x, present = fitted[mc.name]
            lo, hi = intervals[mc.name] if mc.name in intervals else marginal.to_intervals(x)
            dims.append(_Dim(mc.name, marginal))
            z = latent_from_intervals(lo, hi, rng)
            z[~present] = np.nan  # correlations use the rows where both columns are present
            latent.append(z)
            signal.append(hermite_coefficients(lo[present], hi[present]))
            if not present.all():
                state = np.where(present, "present", "missing").astype(object)
                ind = Categorical.fit(state)
                dims.append(_Dim(mc.name, ind, indicator=True))
                lo, hi = ind.to_intervals(state)
                latent.append(latent_from_intervals(lo, hi, rng))
                signal.append(hermite_coefficients(lo, hi))
            if isinstance(marginal, Continuous):
                marginal.forget_rows()
            if progress:
                progress("fit", i + 1, total)
        z = np.column_stack(latent) if latent else np.zeros((len(df), 0))
        d = z.shape[1]
        self.codec_ = codec
        self.dims_ = dims
        few_levels = {j: dim.marginal.cum for j, dim in enumerate(dims)
                      if isinstance(dim.marginal, (Categorical, Discrete)) and len(dim.marginal.levels) <= EXACT_LEVELS}
        self.corr_ = latent_correlation(z, np.vstack(signal), levels=few_levels) if d > 1 else np.eye(d)
        self.schema_ = codec.schema
        self.n_rows_ = len(df)
        self._rng = np.random.default_rng(rng.integers(0, 2**63))
        self.privacy_ = None
        return self

    # -- conditions ------------------------------------------------------------
    def _dim_index(self, column: str, indicator: bool = False) -> int | None:
        for i, d in enumerate(self.dims_):
            if d.column == column and d.indicator == indicator:
                return i
        return None

    def _conditions(self, conditions, n: int, rng) -> tuple[_Bounds, dict, dict]:
        bounds = _Bounds(n, len(self.dims_))
        forced: dict[str, np.ndarray] = {}
        clips: dict[str, tuple[float, float]] = {}
        if conditions is None:
            return bounds, forced, clips
        per_row, items = condition_items(conditions)
        combos: dict[Any, dict[str, Any]] = {}
        for column, value in items:
            combo = self.codec_.combination_for(column) if column in self.schema_ else None
            if combo is not None:
                combos.setdefault(combo, {})[column] = value
                continue
            mc = self.codec_.model_column_for(column)
            if per_row:
                self._row_condition(mc, value, bounds, forced)
            else:
                self._scalar_condition(mc, value, bounds, forced, clips)
        for combo, given in combos.items():
            self._combo_condition(combo, given, n, per_row, bounds, rng)
        return bounds, forced, clips

    def _presence(self, column: str, bounds, missing) -> None:
        """Fix the missingness indicator (True: missing) where it exists."""
        j = self._dim_index(column, indicator=True)
        if j is None:
            if np.any(missing):
                raise ConditionError(f"column {column!r} was never missing in the data, so it cannot be conditioned to be missing",
                                     hint="condition it on a value or a range instead")
            return
        ind: Categorical = self.dims_[j].marginal  # type: ignore[assignment]
        codes = np.where(np.asarray(missing), ind.levels.index("missing"), ind.levels.index("present"))
        lo, hi = ind.interval_of_codes(np.broadcast_to(codes, (bounds.n,)).astype(np.int64))
        bounds.set(j, lo, hi)

    def _scalar_condition(self, mc: ModelColumn, value, bounds, forced, clips) -> None:
        name = mc.source
        j = self._dim_index(mc.name)
        marginal = self.dims_[j].marginal
        if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
            self._presence(name, bounds, True)
            return
        self._presence(name, bounds, False)
        if mc.kind == "categorical":
            if isinstance(value, (tuple, list, set)):
                raise ConditionError(f"column {name!r} is categorical: condition it on one value, not {value!r}")
            v = value.item() if hasattr(value, "item") else value
            if v not in marginal.levels:
                shown = ", ".join(repr(x) for x in marginal.levels[:10])
                col = self.schema_[name]
                note = f" (levels seen fewer than {self.schema_.rare_threshold} times are grouped as {col.rare_label!r})" \
                    if col.rare_grouped else ""
                raise ConditionError(f"impossible condition: {name!r} never takes the value {value!r}{note}",
                                     hint=f"use one of: {shown}")
            lo, hi = marginal.interval_of_codes(np.array([marginal.levels.index(v)]))
            bounds.set(j, lo[0], hi[0])
            return
        if isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise ConditionError(f"a range condition on {name!r} needs (low, high), got {value!r}")
            low, high = (None if v is None or (pd.api.types.is_scalar(v) and pd.isna(v))
                         else float(self.codec_.model_values(name, pd.Series([v]))[0]) for v in value)
            if low is not None and high is not None and low > high:
                raise ConditionError(f"range condition on {name!r} has low above high: {value!r}")
            lo_b, hi_b = (low if low is not None else -np.inf), (high if high is not None else np.inf)
            step = mc.step
            g_lo = np.ceil(lo_b / step - 1e-9) * step if step and np.isfinite(lo_b) else lo_b
            g_hi = np.floor(hi_b / step + 1e-9) * step if step and np.isfinite(hi_b) else hi_b
            m_lo, m_hi = marginal.bounds
            if g_lo > g_hi or g_lo > m_hi or g_hi < m_lo:
                raise ConditionError(f"impossible condition: no value of {name!r} lies in {value!r}",
                                     hint=f"values range from {self._show(name, m_lo)} to {self._show(name, m_hi)}")
            if isinstance(marginal, Discrete):
                u_lo, u_hi = marginal.range_interval(g_lo if np.isfinite(g_lo) else None, g_hi if np.isfinite(g_hi) else None)
                if u_hi <= u_lo:
                    raise ConditionError(f"impossible condition: no value of {name!r} seen in the data lies in {value!r}")
            else:
                u_lo, u_hi = marginal.cdf(g_lo), marginal.cdf(g_hi)
                if u_hi <= u_lo:
                    v = max(g_lo, m_lo) if np.isfinite(g_lo) else g_hi
                    forced[mc.name] = np.full(bounds.n, v)
                    u_lo = u_hi = min(max(marginal.cdf(v), EPS), 1 - EPS)
            bounds.set(j, u_lo, u_hi)
            clips[mc.name] = (g_lo, g_hi)
            return
        x = float(self.codec_.model_values(name, pd.Series([value]))[0])
        m_lo, m_hi = marginal.bounds
        if not m_lo <= x <= m_hi:
            raise ConditionError(f"impossible condition: {name!r} = {value!r} is outside the range seen in the data",
                                 hint=f"values range from {self._show(name, m_lo)} to {self._show(name, m_hi)}")
        if mc.step and abs(x / mc.step - round(x / mc.step)) > 1e-6:
            raise ConditionError(f"impossible condition: {name!r} = {value!r} is finer than the column's precision",
                                 hint=f"{name!r} is recorded in steps of {self._show_step(name, mc.step)}")
        if isinstance(marginal, Discrete):
            lo, hi = marginal.to_intervals(np.array([x]))
            if x not in marginal.levels or hi[0] <= lo[0]:
                raise ConditionError(f"impossible condition: {name!r} never takes the value {value!r}",
                                     hint=f"values seen: {', '.join(f'{v:g}' for v in marginal.levels[:10])}")
            bounds.set(j, lo[0], hi[0])
        else:
            u = min(max(marginal.cdf(x), EPS), 1 - EPS)
            bounds.set(j, u, u)
        forced[mc.name] = np.full(bounds.n, x)

    def _show(self, name: str, value: float) -> str:
        """A model value as a person reads it (dates for datetime columns)."""
        if self.schema_[name].kind.value == "datetime":
            return pd.Timestamp(int(value)).isoformat()
        return f"{value:g}"

    def _show_step(self, name: str, step: float) -> str:
        if self.schema_[name].kind.value == "datetime":
            units = {86_400e9: "a day", 3_600e9: "an hour", 60e9: "a minute", 1e9: "a second"}
            return units.get(step, f"{step:g} ns")
        return "1 (whole numbers)" if step == 1 else f"{step:g}"

    def _row_condition(self, mc: ModelColumn, values: pd.Series, bounds, forced) -> None:
        name = mc.source
        j = self._dim_index(mc.name)
        marginal = self.dims_[j].marginal
        missing = values.isna().to_numpy()
        if self._dim_index(name, indicator=True) is not None or missing.any():
            self._presence(name, bounds, missing)  # refuses missing values in a column never missing
        x = self.codec_.model_values(name, values)
        if mc.kind == "categorical":
            codes = marginal.codes_of(x)
            unknown = np.flatnonzero((codes < 0) & ~missing)
            if len(unknown):
                row = int(unknown[0])
                raise ConditionError(
                    f"impossible condition in row {row}: {name!r} never takes the value {values.iloc[row]!r}"
                    f" ({len(unknown)} row(s) like this)",
                    hint=f"use one of: {', '.join(repr(v) for v in marginal.levels[:10])}",
                )
            lo, hi = marginal.interval_of_codes(codes)  # missing: unbounded
        elif isinstance(marginal, Discrete):
            lv = np.asarray(marginal.levels, dtype="float64")
            idx = np.clip(np.searchsorted(lv, x), 0, len(lv) - 1)
            prev = np.clip(idx - 1, 0, len(lv) - 1)
            idx = np.where(np.abs(lv[prev] - x) < np.abs(lv[idx] - x), prev, idx)
            lo, hi = marginal.interval_of_codes(np.where(np.isnan(x), -1, idx))
        else:
            u = np.clip(marginal.cdf(x), EPS, 1 - EPS)
            lo = np.where(np.isnan(x), 0.0, u)
            hi = np.where(np.isnan(x), 1.0, u)
            forced[mc.name] = x
        bounds.set(j, lo, hi)

    def _combo_condition(self, combo, given: dict, n: int, per_row: bool, bounds, rng) -> None:
        mc = next(m for m in self.codec_.model_columns if m.name == combo.combo_column)
        j = self._dim_index(mc.name)
        marginal: Categorical = self.dims_[j].marginal  # type: ignore[assignment]
        parsed = [dict(zip(combo.columns, json.loads(level), strict=True)) for level in marginal.levels]
        probs = marginal.probs
        cache: dict[tuple, np.ndarray] = {}

        def candidates(cond: dict) -> np.ndarray:
            key = tuple(sorted((c, None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)) for c, v in cond.items()))
            if key not in cache:
                ok = np.array([all(v is None or p[c] == v for c, v in key) for p in parsed]) & (probs > 0)
                if not ok.any():
                    raise ConditionError(f"impossible condition: no combination of {', '.join(combo.columns)} "
                                         f"seen in the data matches {dict(key)}")
                cache[key] = np.flatnonzero(ok)
            return cache[key]

        def draw(cand: np.ndarray, size: int) -> np.ndarray:
            return rng.choice(cand, size=size, p=probs[cand] / probs[cand].sum())

        if per_row:
            codes = np.array([draw(candidates({c: v.iloc[i] for c, v in given.items()}), 1)[0] for i in range(n)])
        else:
            codes = draw(candidates(given), n)
        lo, hi = marginal.interval_of_codes(codes)
        bounds.set(j, lo, hi)

    # -- sample -----------------------------------------------------------------
    def sample(self, n: int | None = None, *, conditions=None, random_state: int | None = None,
               progress: ProgressCallback | None = None) -> pd.DataFrame:
        """Draw ``n`` rows.

        Args:
            n: number of rows (defaults to the number of condition rows when
                ``conditions`` is a DataFrame).
            conditions: ``{column: value}`` for equality, ``{column: (low, high)}`` for
                an inclusive range (either end may be None), ``{column: None}`` for
                missing; or a DataFrame with one row of exact values per sample.
            random_state: seed for this draw; if None the synthesizer's own stream
                continues (so two calls give different rows, reproducibly).
        """
        self._check_fitted()
        n, rng = self._sample_setup(n, conditions, random_state)
        bounds, forced, clips = self._conditions(conditions, n, rng)
        chol = np.linalg.cholesky(self.corr_) if self.corr_.size else None
        decoded = [np.empty(n, dtype=np.int64 if isinstance(dim.marginal, Categorical) else np.float64)
                   for dim in self.dims_]
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            if not self.dims_:
                z = np.zeros((stop - start, 0))
            elif bounds.by_dim:
                z = sample_truncated(self.corr_, *bounds.block(start, stop), rng)
            else:
                z = rng.standard_normal((stop - start, len(self.dims_))) @ chol.T
            u = ndtr(z)
            for j, dim in enumerate(self.dims_):
                m = dim.marginal
                decoded[j][start:stop] = m.codes_from_uniform(u[:, j]) if isinstance(m, Categorical) \
                    else m.from_uniform(u[:, j])
            if progress:
                progress("sample", stop, n)
        model: dict[str, Any] = {}
        missing: dict[str, np.ndarray] = {}
        for dim, values in zip(self.dims_, decoded, strict=True):
            if not dim.indicator:
                model[dim.column] = dim.marginal.levels_array()[values] if isinstance(dim.marginal, Categorical) \
                    else values
                missing[dim.column] = np.zeros(n, dtype=bool)
        for dim, values in zip(self.dims_, decoded, strict=True):
            if dim.indicator:
                missing[dim.column] = values == dim.marginal.levels.index("missing")
                col = model[dim.column]
                col[missing[dim.column]] = None if col.dtype == object else np.nan
        for name, (lo, hi) in clips.items():
            model[name] = np.clip(model[name], lo, hi)
        for name, x in forced.items():
            model[name] = np.where(np.isnan(x), model[name], x)
        return self.codec_.decode(model, n, rng, missing={k: v for k, v in missing.items() if model[k].dtype == object})

    # -- persistence ------------------------------------------------------------
    def _state(self):
        meta_dims, arrays = [], {"corr": self.corr_}
        for i, dim in enumerate(self.dims_):
            meta, arr = dim.marginal.state()
            meta_dims.append({"column": dim.column, "indicator": dim.indicator, "marginal": meta})
            arrays.update({f"d{i}_{k}": v for k, v in arr.items()})
        state = {
            "codec": self.codec_.state(),
            "dims": meta_dims,
            "n_rows": self.n_rows_,
            "rng": self._rng.bit_generator.state,
        }
        return state, arrays

    @classmethod
    def _from_state(cls, params, meta, arrays):
        params = dict(params)
        obj = cls(**params)
        obj.codec_ = TableCodec.from_state(meta["codec"])
        obj.dims_ = []
        for i, d in enumerate(meta["dims"]):
            prefix = f"d{i}_"
            arr = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            obj.dims_.append(_Dim(d["column"], marginal_from_state(d["marginal"], arr), d["indicator"]))
        obj.corr_ = arrays["corr"]
        obj.schema_ = obj.codec_.schema
        obj.n_rows_ = meta["n_rows"]
        obj._rng = np.random.default_rng()
        obj._rng.bit_generator.state = meta["rng"]
        obj.privacy_ = None
        return obj
