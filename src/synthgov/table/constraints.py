"""Constraints: expert knowledge that every synthetic row must satisfy.

Declare them in Python or in the schema JSON (``{"type": "inequality", ...}``).
A generator *encodes* the table before fitting (so the constraint holds by
construction: a difference is modelled instead of a column, a formula column is
dropped, fixed combinations become one column) and *decodes* after sampling.

>>> import pandas as pd
>>> df = pd.DataFrame({"start": [1, 2, 5], "end": [3, 2, 9], "total": [4, 4, 14]})
>>> Inequality(low="start", high="end").check(df).tolist()
[True, True, True]
>>> Formula(column="total", expression="start + end").check(df).tolist()
[True, True, True]
>>> constraint_from_dict({"type": "range", "column": "start", "low": 0}).describe()
'range(start >= 0)'
"""

from __future__ import annotations

import ast
import dataclasses
import json
import operator
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import ConstraintError

__all__ = [
    "Constraint",
    "Inequality",
    "Range",
    "Formula",
    "FixedCombinations",
    "constraint_from_dict",
    "CONSTRAINT_TYPES",
]

DIFF_PREFIX = "__diff__"
COMBO_PREFIX = "__combo__"


class Constraint(ABC):
    """Base class. Subclasses are frozen dataclasses with a ``type`` name."""

    type: ClassVar[str] = ""

    @property
    @abstractmethod
    def columns(self) -> tuple[str, ...]:
        """Every column the constraint reads or writes."""
        ...

    @property
    def derived(self) -> tuple[str, ...]:
        """Columns that are not modelled directly (so cannot be conditioned on)."""
        return ()

    @abstractmethod
    def describe(self) -> str:
        """A short human description."""
        ...

    @abstractmethod
    def check(self, df: pd.DataFrame) -> np.ndarray:
        """Boolean mask: rows that satisfy the constraint (rows with a missing input count as satisfying)."""
        ...

    def encode(self, df: pd.DataFrame) -> pd.DataFrame:
        """Rewrite the table into model space (default: unchanged)."""
        return df

    def decode(self, df: pd.DataFrame) -> pd.DataFrame:
        """Rewrite sampled model-space rows back into table space (default: unchanged)."""
        return df

    def repair(self, df: pd.DataFrame, steps: Mapping[str, float | None]) -> pd.DataFrame:
        """Final safety net on rounded model-space rows (numbers only): make every row satisfy."""
        return df

    def to_dict(self) -> dict[str, Any]:
        out = {"type": self.type}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def validate_against(self, df: pd.DataFrame) -> None:
        """Raise :class:`ConstraintError` if the data contradicts the constraint."""
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise ConstraintError(
                f"constraint {self.describe()} names unknown column(s): {', '.join(missing)}",
                hint=f"columns are: {', '.join(map(str, df.columns))}",
            )
        ok = self.check(df)
        bad = int((~ok).sum())
        if bad:
            first = np.flatnonzero(~ok)[:5].tolist()
            raise ConstraintError(
                f"the data contradicts constraint {self.describe()}: {bad} of {len(df)} rows violate it "
                f"(row positions {first}{'...' if bad > 5 else ''})",
                hint="fix those rows, or drop or correct the constraint",
                details={"violations": bad, "rows": first},
            )


def _numeric(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.astype("datetime64[ns]").to_numpy().astype("int64").astype("float64")
        values[series.isna().to_numpy()] = np.nan
        return values
    try:
        return pd.to_numeric(series, errors="raise").to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError):
        raise ConstraintError(
            f"column '{series.name}' must be numeric or datetime for this constraint",
            hint="use fixed_combinations for categorical columns",
        ) from None


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConstraintError(f"{what} must be a column name, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Inequality(Constraint):
    """``low <= high`` (or ``<`` with ``strict=True``) between two numeric or datetime columns.

    Modelled as ``low`` and the non-negative difference ``high - low``. When ``low`` has missing
    values (so the difference cannot carry ``high``), both are modelled as they are and rows
    drawn in the wrong order are swapped.
    """

    low: str
    high: str
    strict: bool = False
    type: ClassVar[str] = "inequality"

    def __post_init__(self) -> None:
        _name(self.low, "inequality low")
        _name(self.high, "inequality high")
        if self.low == self.high:
            raise ConstraintError(f"inequality compares column '{self.low}' with itself")

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.low, self.high)

    @property
    def derived(self) -> tuple[str, ...]:
        return (self.high,)

    @property
    def diff_column(self) -> str:
        return f"{DIFF_PREFIX}{self.high}"

    def describe(self) -> str:
        return f"inequality({self.low} {'<' if self.strict else '<='} {self.high})"

    def check(self, df: pd.DataFrame) -> np.ndarray:
        lo, hi = _numeric(df[self.low]), _numeric(df[self.high])
        with np.errstate(invalid="ignore"):
            ok = hi > lo if self.strict else hi >= lo
        return ok | np.isnan(lo) | np.isnan(hi)

    def encode(self, df: pd.DataFrame) -> pd.DataFrame:
        out = df.copy()
        out[self.diff_column] = df[self.high].astype("float64") - df[self.low].astype("float64")
        return out.drop(columns=[self.high])

    def decode(self, df: pd.DataFrame) -> pd.DataFrame:
        out = df.copy()
        out[self.high] = out[self.low].astype("float64") + out.pop(self.diff_column).astype("float64")
        return out

    def repair(self, df: pd.DataFrame, steps: Mapping[str, float | None]) -> pd.DataFrame:
        """Swap the two values where they are in the wrong order (then, if strict, lift ties by a step)."""
        lo = df[self.low].to_numpy(dtype="float64").copy()
        hi = df[self.high].to_numpy(dtype="float64").copy()
        with np.errstate(invalid="ignore"):
            swap = hi < lo
        lo[swap], hi[swap] = hi[swap], lo[swap]
        if self.strict:
            with np.errstate(invalid="ignore"):
                tie = hi <= lo
            step = steps.get(self.high) or 1e-9 * max(1.0, float(np.nanmax(np.abs(hi))) if len(hi) else 1.0)
            hi[tie] = lo[tie] + step
        if swap.any() or self.strict:
            df = df.copy()
            df[self.low], df[self.high] = lo, hi
        return df


@dataclasses.dataclass(frozen=True)
class Range(Constraint):
    """``low <= column <= high`` with constant bounds (either may be omitted)."""

    column: str
    low: float | None = None
    high: float | None = None
    type: ClassVar[str] = "range"

    def __post_init__(self) -> None:
        _name(self.column, "range column")
        for bound in (self.low, self.high):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))):
                raise ConstraintError(f"range bounds must be numbers, got {bound!r}")
        if self.low is None and self.high is None:
            raise ConstraintError(f"range on '{self.column}' needs a low or a high bound")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ConstraintError(f"range on '{self.column}': low {self.low} is above high {self.high}")

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def describe(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{self.column} >= {self.low}")
        if self.high is not None:
            parts.append(f"{self.column} <= {self.high}")
        return f"range({' and '.join(parts)})"

    def check(self, df: pd.DataFrame) -> np.ndarray:
        x = _numeric(df[self.column])
        ok = np.ones(len(x), dtype=bool)
        with np.errstate(invalid="ignore"):
            if self.low is not None:
                ok &= x >= self.low
            if self.high is not None:
                ok &= x <= self.high
        return ok | np.isnan(x)

    def decode(self, df: pd.DataFrame) -> pd.DataFrame:
        out = df.copy()
        out[self.column] = out[self.column].clip(lower=self.low, upper=self.high)
        return out

    def repair(self, df: pd.DataFrame, steps: Mapping[str, float | None]) -> pd.DataFrame:
        x = df[self.column].to_numpy(dtype="float64").copy()
        step = steps.get(self.column)
        lo = self.low if self.low is not None else -np.inf
        hi = self.high if self.high is not None else np.inf
        if step:
            lo = np.ceil(lo / step - 1e-9) * step if np.isfinite(lo) else lo
            hi = np.floor(hi / step + 1e-9) * step if np.isfinite(hi) else hi
        df = df.copy()
        df[self.column] = np.clip(x, lo, hi)
        return df


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _formula_names(node: ast.AST, expression: str) -> list[str]:
    if isinstance(node, ast.Expression):
        return _formula_names(node.body, expression)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _formula_names(node.left, expression) + _formula_names(node.right, expression)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _formula_names(node.operand, expression)
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return []
    raise ConstraintError(
        f"formula {expression!r} may only use column names, numbers, + - * / and parentheses",
        hint="for column names with spaces, rename the column first",
    )


def _evaluate(node: ast.AST, values: Mapping[str, np.ndarray]) -> np.ndarray | float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, values)
    if isinstance(node, ast.BinOp):
        with np.errstate(divide="ignore", invalid="ignore"):
            return _BINOPS[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Name):
        return values[node.id]
    return float(node.value)  # type: ignore[attr-defined]


@dataclasses.dataclass(frozen=True)
class Formula(Constraint):
    """``column = expression`` over other numeric columns (``+ - * /``, numbers, parentheses).

    The column is not modelled: it is computed from the others after sampling,
    then rounded to the column's decimals, so it holds to within half a unit of
    its last digit (``tolerance``).
    """

    column: str
    expression: str
    tolerance: float = 1e-6
    type: ClassVar[str] = "formula"

    def __post_init__(self) -> None:
        _name(self.column, "formula column")
        if not isinstance(self.expression, str) or not self.expression.strip():
            raise ConstraintError("formula expression must be non-empty text")
        try:
            tree = ast.parse(self.expression.strip(), mode="eval")
        except SyntaxError:
            raise ConstraintError(f"formula {self.expression!r} is not a valid expression") from None
        names = _formula_names(tree, self.expression)
        if not names:
            raise ConstraintError(f"formula {self.expression!r} uses no column")
        if self.column in names:
            raise ConstraintError(f"formula for '{self.column}' refers to itself")
        object.__setattr__(self, "_tree", tree)
        object.__setattr__(self, "_inputs", tuple(dict.fromkeys(names)))

    @property
    def inputs(self) -> tuple[str, ...]:
        return self._inputs  # type: ignore[attr-defined]

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column, *self.inputs)

    @property
    def derived(self) -> tuple[str, ...]:
        return (self.column,)

    def describe(self) -> str:
        return f"formula({self.column} = {self.expression})"

    def compute(self, df: pd.DataFrame) -> np.ndarray:
        values = {name: _numeric(df[name]) for name in self.inputs}
        result = _evaluate(self._tree, values)  # type: ignore[attr-defined]
        return np.broadcast_to(np.asarray(result, dtype="float64"), (len(df),)).copy()

    def check(self, df: pd.DataFrame) -> np.ndarray:
        expected = self.compute(df)
        actual = _numeric(df[self.column])
        tol = np.maximum(self.tolerance, 1e-9 * np.abs(expected))
        with np.errstate(invalid="ignore"):
            ok = np.abs(actual - expected) <= tol
        return ok | np.isnan(actual) | np.isnan(expected)

    def encode(self, df: pd.DataFrame) -> pd.DataFrame:
        return df.drop(columns=[self.column])

    def decode(self, df: pd.DataFrame) -> pd.DataFrame:
        out = df.copy()
        out[self.column] = self.compute(out)
        return out

    def repair(self, df: pd.DataFrame, steps: Mapping[str, float | None]) -> pd.DataFrame:
        value = self.compute(df)
        step = steps.get(self.column)
        df = df.copy()
        df[self.column] = np.round(value / step) * step if step else value
        return df

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "column": self.column, "expression": self.expression, "tolerance": self.tolerance}


@dataclasses.dataclass(frozen=True)
class FixedCombinations(Constraint):
    """Only combinations of these columns' values that occur in the data may appear."""

    columns_: tuple[str, ...]
    type: ClassVar[str] = "fixed_combinations"

    def __init__(self, columns) -> None:  # noqa: D107 - public name is `columns`
        if isinstance(columns, str) or not all(isinstance(c, str) and c for c in columns):
            raise ConstraintError(f"fixed_combinations needs a list of column names, got {columns!r}")
        cols = tuple(columns)
        if len(cols) < 2 or len(set(cols)) != len(cols):
            raise ConstraintError(f"fixed_combinations needs two or more distinct columns, got {list(cols)}")
        object.__setattr__(self, "columns_", cols)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.columns_

    @property
    def derived(self) -> tuple[str, ...]:
        return self.columns_

    @property
    def combo_column(self) -> str:
        return COMBO_PREFIX + "|".join(self.columns_)

    def describe(self) -> str:
        return f"fixed_combinations({', '.join(self.columns_)})"

    def check(self, df: pd.DataFrame) -> np.ndarray:  # holds for the data by definition
        return np.ones(len(df), dtype=bool)

    @staticmethod
    def _key(values: tuple) -> str:
        return json.dumps([None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in values])

    def encode(self, df: pd.DataFrame) -> pd.DataFrame:
        keys = [self._key(t) for t in zip(*(df[c].tolist() for c in self.columns_), strict=True)]
        out = df.drop(columns=list(self.columns_))
        out[self.combo_column] = pd.Series(keys, index=df.index, dtype=object)
        return out

    def decode(self, df: pd.DataFrame) -> pd.DataFrame:
        out = df.copy()
        parts = [json.loads(k) for k in out.pop(self.combo_column)]
        for i, col in enumerate(self.columns_):
            out[col] = pd.Series([p[i] for p in parts], index=out.index, dtype=object)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "columns": list(self.columns_)}


CONSTRAINT_TYPES: dict[str, type[Constraint]] = {
    cls.type: cls for cls in (Inequality, Range, Formula, FixedCombinations)
}


def constraint_from_dict(data: Mapping[str, Any]) -> Constraint:
    """Build a constraint from its dict form (``{"type": ..., ...}``)."""
    if not isinstance(data, Mapping) or "type" not in data:
        raise ConstraintError(f"a constraint must be an object with a 'type', got {data!r}")
    kind = data["type"]
    cls = CONSTRAINT_TYPES.get(kind)
    if cls is None:
        raise ConstraintError(f"unknown constraint type {kind!r}", hint=f"use one of: {', '.join(CONSTRAINT_TYPES)}")
    kwargs = {k: v for k, v in data.items() if k != "type"}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConstraintError(f"constraint {kind!r}: {exc}", hint="check the field names") from None


def order_for_encoding(constraints) -> list[Constraint]:
    """Formulas first (so they decode last, after the columns they read are restored); check overlaps."""
    cons = sorted(constraints, key=lambda c: 0 if isinstance(c, Range) else 1 if isinstance(c, Formula) else 2)
    seen: dict[str, str] = {}
    for con in cons:
        for col in con.derived:
            if col in seen:
                raise ConstraintError(
                    f"column '{col}' is derived by both {seen[col]} and {con.describe()}",
                    hint="a column can be computed by one constraint only",
                )
            seen[col] = con.describe()
    return cons
