"""Sampling conditions of the neural generator as masks over tokens.

A condition on a column becomes a 0/1 mask over the tokens of its (first) sub-column, one mask
for all rows or one per row; for a binned number also a mask over its fine bins (applied once
the coarse bin is drawn), a forced value (equality) or a clip (range). Conditioned columns are
sampled first, so an equality condition is exact and the other columns follow from the model's
conditional distribution; several range conditions are met exactly but drawn one after another.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..errors import ConditionError
from ._nn_encode import CategoricalTokens, DiscreteTokens, NumericTokens
from .base import condition_items

__all__ = ["Conditions"]


def _is_missing(value) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and pd.isna(value))


class Conditions:
    """Masks, forced values and clips for one :meth:`NeuralSynthesizer.sample` call."""

    def __init__(self, syn, n: int):
        self.syn, self.n = syn, n
        self.masks: dict[int, np.ndarray] = {}
        self.fine: dict[int, np.ndarray] = {}
        self.forced: dict[str, np.ndarray] = {}
        self.clips: dict[str, tuple[float, float]] = {}
        self.sources: set[int] = set()
        self._start = {}
        k = 0
        for i, tok in enumerate(syn.tokenizers_):
            self._start[tok.name] = (i, k)
            k += len(tok.cards)

    @classmethod
    def build(cls, syn, conditions, n: int) -> Conditions:
        cond = cls(syn, n)
        if conditions is None:
            return cond
        per_row, items = condition_items(conditions)
        combos: dict = {}
        for column, value in items:
            combo = syn.codec_.combination_for(column) if column in syn.schema_ else None
            if combo is not None:
                combos.setdefault(combo, {})[column] = value
            else:
                cond._add(column, value, per_row)
        for combo, given in combos.items():
            cond._combo(combo, given, per_row)
        return cond

    # -- helpers -------------------------------------------------------------------------
    def _target(self, name: str):
        i, k = self._start[name]
        self.sources.add(i)
        return self.syn.tokenizers_[i], k

    def _missing_mask(self, tok, column: str) -> np.ndarray:
        if tok.missing_token is None:
            raise ConditionError(f"column {column!r} was never missing in the data, so it cannot be conditioned to be missing",
                                 hint="condition it on a value or a range instead")
        mask = np.zeros((1, tok.cards[0]))
        mask[0, tok.missing_token] = 1.0
        return mask

    def _add(self, column: str, value, per_row: bool) -> None:
        mc = self.syn.codec_.model_column_for(column)  # unknown / regenerated / derived: ConditionError
        tok, k = self._target(mc.name)
        if per_row:
            self._rows(column, tok, k, value)
        elif _is_missing(value):
            self.masks[k] = self._missing_mask(tok, column)
        elif isinstance(tok, CategoricalTokens):
            self._category(column, tok, k, value)
        elif isinstance(value, (tuple, list)):
            self._range(column, mc, tok, k, value)
        else:
            self._equal(column, mc, tok, k, value)

    def _category(self, column, tok: CategoricalTokens, k: int, value) -> None:
        if isinstance(value, (tuple, list, set)):
            raise ConditionError(f"column {column!r} is categorical: condition it on one value, not {value!r}")
        v = value.item() if hasattr(value, "item") else value
        if v not in tok.levels:
            col = self.syn.schema_[column]
            note = f" (levels seen fewer than {self.syn.schema_.rare_threshold} times are grouped as {col.rare_label!r})" \
                if col.rare_grouped else ""
            raise ConditionError(f"impossible condition: {column!r} never takes the value {value!r}{note}",
                                 hint=f"use one of: {', '.join(repr(x) for x in tok.levels[:10])}")
        mask = np.zeros((1, tok.cards[0]))
        mask[0, tok.levels.index(v)] = 1.0
        self.masks[k] = mask

    def _show(self, column: str, value: float) -> str:
        if self.syn.schema_[column].kind.value == "datetime":
            return pd.Timestamp(int(value)).isoformat()
        return f"{value:g}"

    @staticmethod
    def _span(tok) -> tuple[float, float]:
        if isinstance(tok, DiscreteTokens):
            return float(tok.values[0]), float(tok.values[-1])
        return float(tok.lo[0]), float(tok.hi[-1])

    def _equal(self, column, mc, tok, k: int, value) -> None:
        x = float(self.syn.codec_.model_values(column, pd.Series([value]))[0])
        lo, hi = self._span(tok)
        if not lo <= x <= hi:
            raise ConditionError(f"impossible condition: {column!r} = {value!r} is outside the range seen in the data",
                                 hint=f"values range from {self._show(column, lo)} to {self._show(column, hi)}")
        if mc.step and abs(x / mc.step - round(x / mc.step)) > 1e-6:
            raise ConditionError(f"impossible condition: {column!r} = {value!r} is finer than the column's precision",
                                 hint=f"{column!r} is recorded in steps of {mc.step:g}")
        if isinstance(tok, DiscreteTokens):
            match = np.abs(tok.values - x) <= 1e-9 * max(1.0, abs(x))
            if not match.any():
                raise ConditionError(f"impossible condition: {column!r} never takes the value {value!r}",
                                     hint=f"values seen: {', '.join(f'{v:g}' for v in tok.values[:10])}")
            self.masks[k] = np.concatenate([match, np.zeros(int(tok.missing))])[None].astype("float64")
        else:
            first, last = tok.bins_containing(np.array([x]))
            full = np.zeros(len(tok.lo))
            full[first[0]:last[0] + 1] = 1.0
            self._numeric_masks(tok, k, full[None])
        self.forced[mc.name] = np.full(self.n, x)

    def _numeric_masks(self, tok: NumericTokens, k: int, full: np.ndarray) -> None:
        coarse = full.reshape(len(full), tok.n_coarse, tok.n_fine).max(axis=2)
        if tok.missing:
            coarse = np.concatenate([coarse, np.zeros((len(full), 1))], axis=1)
        self.masks[k] = coarse
        self.fine[k + 1] = full

    def _range(self, column, mc, tok, k: int, value) -> None:
        if len(value) != 2:
            raise ConditionError(f"a range condition on {column!r} needs (low, high), got {value!r}")
        low, high = (None if _is_missing(v) else float(self.syn.codec_.model_values(column, pd.Series([v]))[0]) for v in value)
        if low is not None and high is not None and low > high:
            raise ConditionError(f"range condition on {column!r} has low above high: {value!r}")
        lo_b = low if low is not None else -np.inf
        hi_b = high if high is not None else np.inf
        span = self._span(tok)
        if isinstance(tok, DiscreteTokens):
            match = (tok.values >= lo_b - 1e-9) & (tok.values <= hi_b + 1e-9)
            if not match.any():
                raise ConditionError(f"impossible condition: no value of {column!r} seen in the data lies in {value!r}",
                                     hint=f"values range from {self._show(column, span[0])} to {self._show(column, span[1])}")
            self.masks[k] = np.concatenate([match, np.zeros(int(tok.missing))])[None].astype("float64")
        else:
            full = (tok.hi >= lo_b) & (tok.lo <= hi_b)
            if not full.any():
                raise ConditionError(f"impossible condition: no value of {column!r} lies in {value!r}",
                                     hint=f"values range from {self._show(column, span[0])} to {self._show(column, span[1])}")
            self._numeric_masks(tok, k, full[None].astype("float64"))
            self.clips[mc.name] = (lo_b, hi_b)

    def _rows(self, column: str, tok, k: int, values: pd.Series) -> None:
        missing = values.isna().to_numpy()
        if missing.any() and tok.missing_token is None:
            self._missing_mask(tok, column)  # raises
        x = self.syn.codec_.model_values(column, values)
        if isinstance(tok, CategoricalTokens):
            codes = tok.codes(x)
            unknown = np.flatnonzero(codes < 0)
            if len(unknown):
                row = int(unknown[0])
                raise ConditionError(
                    f"impossible condition in row {row}: {column!r} never takes the value {values.iloc[row]!r}"
                    f" ({len(unknown)} row(s) like this)", hint=f"use one of: {', '.join(repr(v) for v in tok.levels[:10])}")
            self.masks[k] = np.eye(tok.cards[0], dtype="float32")[codes]
            return
        x = np.asarray(x, dtype="float64")
        if isinstance(tok, DiscreteTokens):
            codes = np.where(missing, tok.missing_token if tok.missing else 0, tok.nearest(np.where(missing, tok.values[0], x)))
            self.masks[k] = np.eye(tok.cards[0], dtype="float32")[codes]
        else:
            first, last = tok.bins_containing(np.where(missing, tok.lo[0], x))
            ar = np.arange(len(tok.lo))
            full = ((ar >= first[:, None]) & (ar <= last[:, None]) & ~missing[:, None]).astype("float32")
            self._numeric_masks(tok, k, full)
            if tok.missing:
                self.masks[k][missing, -1] = 1.0
        self.forced[tok.name] = np.where(missing, np.nan, x)

    def _combo(self, combo, given: dict, per_row: bool) -> None:
        name = combo.combo_column
        tok, k = self._target(name)
        parsed = [dict(zip(combo.columns, json.loads(level), strict=True)) for level in tok.levels]

        def allowed(cond: dict) -> np.ndarray:
            key = {c: None if _is_missing(v) else (v.item() if hasattr(v, "item") else v) for c, v in cond.items()}
            ok = np.array([all(v is None or p[c] == v for c, v in key.items()) for p in parsed], dtype="float64")
            if not ok.any():
                raise ConditionError(f"impossible condition: no combination of {', '.join(combo.columns)} "
                                     f"seen in the data matches {key}")
            return np.concatenate([ok, np.zeros(int(tok.missing))])

        if per_row:
            cache: dict = {}
            rows = []
            for i in range(self.n):
                cond = {c: v.iloc[i] for c, v in given.items()}
                key = json.dumps({c: None if _is_missing(v) else str(v) for c, v in cond.items()}, sort_keys=True)
                if key not in cache:
                    cache[key] = allowed(cond)
                rows.append(cache[key])
            self.masks[k] = np.vstack(rows)
        else:
            self.masks[k] = allowed(given)[None]
