"""Table codec: between a user's table and the numbers and levels a generator models.

Shared by every generator so that they all treat kinds, rare levels, datetimes,
rounding, bounds, constraints and regenerated columns the same way:

* :meth:`TableCodec.fit` checks the data against the schema, fills in the facts
  each column needs, checks every constraint holds for the data, and returns the
  *model frame*: numeric and datetime columns as floats (datetimes in ns), categorical
  and boolean columns as levels (rare ones grouped), with constraints encoded.
* :meth:`TableCodec.decode` turns sampled model rows back into a table: decodes
  constraints, rounds to each column's step, clips to bounds, repairs any
  constraint rounding broke, restores dtypes and datetime formats, and makes
  fresh identifiers and placeholder text.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConditionError, ConstraintError, SchemaError
from ..table.constraints import (
    Constraint,
    FixedCombinations,
    Formula,
    Inequality,
    constraint_from_dict,
    order_for_encoding,
)
from ..table.infer import complete_column, parse_datetimes
from ..table.schema import Column, Kind, TableSchema
from ._regenerate import shaped_values

__all__ = ["TableCodec", "ModelColumn"]

_DT_UNITS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)


@dataclasses.dataclass(frozen=True)
class ModelColumn:
    """One column of the model frame."""

    name: str
    kind: str  # "numeric" or "categorical"
    step: float | None = None
    lo: float | None = None
    hi: float | None = None
    levels: tuple | None = None  # categorical: known levels in order (rare label last)
    source: str | None = None  # the table column it stands for (None for derived ones)


def _step_of(col: Column) -> float | None:
    if col.integer:
        return 1.0
    return 10.0 ** -col.decimals if col.decimals is not None else None


def _datetime_step(ns: np.ndarray) -> float:
    """The coarsest unit (day, hour, minute, second, ms, us, ns) every int64 timestamp is a multiple of."""
    for unit in _DT_UNITS:
        if np.all(ns % unit == 0):
            return float(unit)
    return 1.0


def _wall_clock(stamps: pd.Series, col: Column) -> pd.Series:
    """Naive datetime64[ns]: aware values in the column's zone (or UTC) with the zone dropped."""
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert(col.timezone or "UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[ns]")


def _to_ns_int(values: pd.Series, col: Column) -> tuple[np.ndarray, np.ndarray]:
    """(int64 nanoseconds, missing mask). Aware datetimes are modelled as wall-clock time in their zone."""
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = _wall_clock(values, col)
    else:
        text = values.astype(object).where(values.notna(), None)
        parsed = parse_datetimes(pd.Series(text, index=values.index, dtype=object).dropna().astype(str), col.datetime_format)
        parsed = parsed.reindex(values.index)
    missing = pd.isna(parsed).to_numpy()
    ns = parsed.to_numpy(dtype="datetime64[ns]").astype("int64")
    ns[missing] = 0
    return ns, missing


def _to_ns(values: pd.Series, col: Column) -> np.ndarray:
    ns, missing = _to_ns_int(values, col)
    out = ns.astype("float64")
    out[missing] = np.nan
    return out


class TableCodec:
    """Translate between a table and a generator's model frame (see module docs)."""

    def __init__(self, schema: TableSchema, constraints: list[Constraint], model_columns: list[ModelColumn],
                 steps: dict[str, float | None], encoded: list[int]):
        self.schema = schema
        self.constraints = constraints
        self.model_columns = model_columns
        self.steps = steps
        self.encoded = encoded  # positions of the constraints that rewrite the model frame

    # -- fit ---------------------------------------------------------------------
    @classmethod
    def fit(cls, df: pd.DataFrame, schema: TableSchema, extra_constraints=()) -> tuple[TableCodec, pd.DataFrame]:
        missing = [c for c in schema.names if c not in df.columns]
        if missing:
            raise SchemaError(f"the data lacks column(s) named in the schema: {', '.join(missing)}",
                              hint="use the schema made from this table, or add the columns")
        extra = [c for c in df.columns if c not in schema]
        if extra:
            raise SchemaError(f"the data has column(s) the schema does not describe: {', '.join(map(str, extra))}",
                              hint="drop them from the data or add them to the schema")
        k = schema.rare_threshold
        extra_constraints = tuple(c if isinstance(c, Constraint) else constraint_from_dict(c) for c in extra_constraints)
        schema = dataclasses.replace(schema, constraints=schema.constraints + extra_constraints)
        for con in schema.constraints:  # 0/1 numbers in arithmetic constraints are numbers, not booleans
            if not isinstance(con, FixedCombinations):
                for name in con.columns:
                    col = schema[name] if name in schema else None
                    if col is not None and col.kind is Kind.BOOLEAN and col.dtype in ("int", "float"):
                        schema = schema.with_column(name, kind=Kind.NUMERIC)
        completed = tuple(complete_column(col, df[col.name], k) for col in schema.columns)
        schema = dataclasses.replace(schema, columns=completed)
        constraints = order_for_encoding(schema.constraints)
        for con in constraints:
            bad = [c for c in con.columns if not schema[c].modelled]
            if bad:
                raise ConstraintError(
                    f"constraint {con.describe()} names column(s) that are regenerated, not modelled: {', '.join(bad)}",
                    hint="constraints apply to numeric, datetime, categorical and boolean columns",
                )
            if not isinstance(con, FixedCombinations):
                wrong = [c for c in con.columns if schema[c].kind not in (Kind.NUMERIC, Kind.DATETIME)]
                if wrong:
                    raise ConstraintError(f"constraint {con.describe()} needs numeric or datetime columns, "
                                          f"but {', '.join(wrong)} is not", hint="use fixed_combinations for categories")

        frame: dict[str, Any] = {}
        steps: dict[str, float | None] = {}
        for col in schema.columns:
            if not col.modelled:
                continue
            series = df[col.name]
            if col.kind is Kind.NUMERIC:
                frame[col.name] = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")
                steps[col.name] = _step_of(col)
            elif col.kind is Kind.DATETIME:
                ns, gone = _to_ns_int(series, col)
                frame[col.name] = np.where(gone, np.nan, ns.astype("float64"))
                steps[col.name] = _datetime_step(ns[~gone])
            else:
                frame[col.name] = cls._levels_of(series, col, strict=True)
        model = pd.DataFrame(frame, index=pd.RangeIndex(len(df)))
        for con in constraints:
            con.validate_against(model)
        encoded = [i for i, con in enumerate(constraints)
                   if not (isinstance(con, Inequality) and model[con.low].isna().any())]  # else: repair only
        for i in encoded:
            model = constraints[i].encode(model)

        mcols: list[ModelColumn] = []
        for name in model.columns:
            if name in schema and schema[name].modelled:
                col = schema[name]
                if col.kind in (Kind.NUMERIC, Kind.DATETIME):
                    lo, hi = cls._bounds(col)
                    mcols.append(ModelColumn(name, "numeric", steps[name], lo, hi, source=name))
                else:
                    levels = tuple(col.categories or ()) + ((col.rare_label,) if col.rare_grouped and col.rare_label else ())
                    mcols.append(ModelColumn(name, "categorical", levels=levels, source=name))
            else:  # derived by a constraint
                con = next(c for c in constraints if name in (getattr(c, "diff_column", None), getattr(c, "combo_column", None)))
                if isinstance(con, Inequality):
                    x = model[name].to_numpy(dtype="float64")
                    s_lo, s_hi = steps.get(con.low), steps.get(con.high)
                    step = min(s_lo, s_hi) if s_lo and s_hi else None
                    mcols.append(ModelColumn(name, "numeric", step, float(np.nanmin(x)), float(np.nanmax(x))))
                else:
                    mcols.append(ModelColumn(name, "categorical"))
        return cls(schema, constraints, mcols, steps, encoded), model

    @staticmethod
    def _bounds(col: Column) -> tuple[float, float]:
        if col.kind is Kind.DATETIME:
            return float(pd.Timestamp(col.minimum).value), float(pd.Timestamp(col.maximum).value)
        return float(col.minimum), float(col.maximum)

    @staticmethod
    def _levels_of(series: pd.Series, col: Column, *, strict: bool) -> np.ndarray:
        """Values mapped onto the column's levels; unknown ones go to the rare label."""
        values = series.astype(object)
        missing = values.isna().to_numpy()
        cats = list(col.categories or ())
        known = values.isin(cats).to_numpy() | missing
        out = values.to_numpy(dtype=object).copy()
        out[missing] = None
        unknown: list = []
        if not known.all():
            if col.rare_grouped and col.rare_label is not None:
                out[~known] = col.rare_label
            else:
                unknown = list(pd.unique(values[~known]))
        if unknown and strict:
            raise SchemaError(
                f"column '{col.name}' holds value(s) not among its categories: "
                f"{', '.join(repr(v) for v in list(dict.fromkeys(unknown))[:3])}",
                hint="add them to the schema's categories or let inference list them",
            )
        return out

    # -- conditions ----------------------------------------------------------------
    def model_column_for(self, name: str) -> ModelColumn:
        """The model column conditions on table column ``name`` act on (raises ConditionError)."""
        if name not in self.schema:
            raise ConditionError(f"unknown column {name!r} in conditions",
                                 hint=f"columns are: {', '.join(self.schema.names)}")
        col = self.schema[name]
        if not col.modelled:
            raise ConditionError(f"column {name!r} is {col.kind.value}: it is regenerated, so it cannot be conditioned on")
        for i, con in enumerate(self.constraints):
            if i not in self.encoded and name in con.columns:  # kept by reordering rows after sampling
                raise ConditionError(
                    f"column {name!r} cannot be conditioned on: constraint {con.describe()} is kept by "
                    "swapping values after sampling (its low column has missing values), which a condition would not survive",
                    hint="fill the missing values of the low column, or drop the condition",
                )
        for i in self.encoded:
            con = self.constraints[i]
            if name in con.derived and not isinstance(con, FixedCombinations):
                raise ConditionError(
                    f"column {name!r} is computed by constraint {con.describe()}, so it cannot be conditioned on",
                    hint="condition on the columns it is computed from",
                )
        found = next((m for m in self.model_columns if m.source == name), None)
        if found is None:
            combo = self.combination_for(name)
            found = next(m for m in self.model_columns if combo is not None and m.name == combo.combo_column)
        return found

    def combination_for(self, name: str) -> FixedCombinations | None:
        return next((c for c in self.constraints if isinstance(c, FixedCombinations) and name in c.columns), None)

    def model_values(self, name: str, values: pd.Series) -> np.ndarray:
        """Table values of column ``name`` as model values (floats or levels)."""
        col = self.schema[name]
        if col.kind is Kind.NUMERIC:
            try:
                return pd.to_numeric(values, errors="raise").to_numpy(dtype="float64")
            except (TypeError, ValueError):
                raise ConditionError(f"condition on numeric column {name!r} must be a number, got {values.iloc[0]!r}") from None
        if col.kind is Kind.DATETIME:
            if not pd.api.types.is_datetime64_any_dtype(values):
                obj = values.astype(object)
                if all(isinstance(v, pd.Timestamp) or v is None or v is pd.NaT for v in obj):
                    parsed = pd.Series(pd.to_datetime(obj, utc=any(getattr(v, "tz", None) for v in obj)))
                else:  # text: read it the way the column is written (day-first stays day-first)
                    parsed = parse_datetimes(obj.where(obj.notna(), None).dropna().astype(str), col.datetime_format)
                    parsed = parsed.reindex(values.index)
                if parsed[values.notna().to_numpy()].isna().any():
                    raise ConditionError(f"condition on datetime column {name!r} is not a date: {values.iloc[0]!r}",
                                         hint=f"write it like the data: {col.datetime_format or 'ISO 8601'}")
                values = parsed
            return _to_ns(values, col)
        return self._levels_of(values, col, strict=False)

    # -- decode --------------------------------------------------------------------
    def decode(self, model: dict[str, np.ndarray], n: int, rng: np.random.Generator,
               missing: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
        """``n`` sampled rows of model columns (arrays by name) to a table in the schema's order and types.

        ``missing`` optionally gives known missing masks of categorical columns (by name).
        """
        missing = {} if self.constraints else dict(missing or {})
        if self.constraints:  # constraints work on frames; without them no frame is built
            frame = pd.DataFrame(model)
            for i in reversed(self.encoded):
                frame = self.constraints[i].decode(frame)
            model = {c: frame[c].to_numpy() for c in frame.columns}
        for col in self.schema.columns:
            if col.kind in (Kind.NUMERIC, Kind.DATETIME):
                model[col.name] = self._finish_numeric(col, np.asarray(model[col.name], dtype="float64"))
        if self.constraints:
            frame = pd.DataFrame(model)
            for con in sorted(self.constraints, key=lambda c: isinstance(c, Formula)):
                frame = con.repair(frame, self.steps)
            model = {c: frame[c].to_numpy() for c in frame.columns}
        out: dict[str, Any] = {}
        for col in self.schema.columns:
            if col.modelled:
                out[col.name] = self._cast(col, model[col.name], missing.get(col.name), self.steps.get(col.name))
            else:
                out[col.name] = self._regenerate(col, n, rng)
        index = pd.RangeIndex(n)
        # Series without copies: a frame of separate blocks, no consolidation copy of every column
        frame = pd.DataFrame({k: pd.Series(v, index=index, copy=False) for k, v in out.items()}, index=index)
        for col in self.schema.columns:
            if col.storage and str(frame[col.name].dtype) != col.storage:
                try:  # back to the source's exact dtype (float32, uint16, category, Int64, ...)
                    frame[col.name] = frame[col.name].astype(col.storage)
                except (TypeError, ValueError, OverflowError):
                    pass  # e.g. a category level "(other)" in an integer dtype: keep the portable type
        return frame

    def _finish_numeric(self, col: Column, x: np.ndarray) -> np.ndarray:
        step = self.steps.get(col.name)
        lo, hi = self._bounds(col)
        if step:
            x = np.round(x / step) * step
            lo_g, hi_g = np.ceil(lo / step - 1e-9) * step, np.floor(hi / step + 1e-9) * step
            if lo_g <= hi_g:
                lo, hi = lo_g, hi_g
        return np.clip(x, lo, hi)

    @staticmethod
    def _ints(x: np.ndarray, missing: np.ndarray):
        """int64, or nullable Int64 where values are missing."""
        if not missing.any():
            return x.astype("int64")
        return pd.arrays.IntegerArray(np.where(missing, 0, x).astype("int64"), missing.copy())

    @classmethod
    def _cast(cls, col: Column, values: np.ndarray, missing: np.ndarray | None = None, step: float | None = None):
        """Model values of one column to the source's type (an array pandas takes as a column).

        ``missing`` (optional) is the column's known missing mask, which spares a scan of object arrays.
        """
        missing = pd.isna(values) if missing is None else missing
        if col.kind is Kind.NUMERIC:
            x = values.astype("float64")
            if col.dtype == "int":
                return cls._ints(x, missing)
            return np.round(x, col.decimals) if col.decimals is not None else x
        if col.kind is Kind.DATETIME:
            ns = np.where(missing, 0, values).astype("float64")
            unit = int(step or 1)  # round in integers: float64 cannot hold every nanosecond of a date
            stamps = (np.round(ns / unit).astype("int64") * unit).astype("datetime64[ns]")
            stamps[missing] = np.datetime64("NaT")
            if col.dtype == "datetime" or col.datetime_format is None:
                if col.timezone:  # modelled as wall-clock time in the zone
                    return pd.DatetimeIndex(stamps).tz_localize(
                        col.timezone, ambiguous=np.zeros(len(stamps), dtype=bool), nonexistent="shift_forward").array
                return stamps
            uniq, inverse = np.unique(stamps[~missing], return_inverse=True)
            index = pd.DatetimeIndex(uniq)
            if "%z" in col.datetime_format or "%Z" in col.datetime_format:
                index = index.tz_localize("UTC")  # offsets were read into UTC; write them as +0000
            text = np.asarray(index.strftime(col.datetime_format), dtype=object)
            out = np.full(len(stamps), None, dtype=object)
            out[~missing] = text[inverse]
            return out
        # categorical / boolean
        obj = values.astype(object)
        if col.dtype == "bool":
            if not missing.any():
                return obj.astype(bool)
            return pd.arrays.BooleanArray(np.where(missing, False, obj).astype(bool), missing.copy())
        if col.dtype in ("int", "float"):
            if col.rare_grouped and col.rare_label:  # numbers and the rare label: one type, text
                text = np.array([None if m else str(v) for v, m in zip(obj, missing, strict=True)], dtype=object)
                return text
            x = np.where(missing, np.nan, obj).astype("float64")
            return cls._ints(x, missing) if col.dtype == "int" else x
        return obj

    def _regenerate(self, col: Column, n: int, rng: np.random.Generator):
        """Fresh values for an identifier or text column: never drawn from the real values."""
        if "sequential" in col.flags and col.minimum is not None:
            return np.arange(int(col.minimum), int(col.minimum) + n, dtype="int64")
        unique = col.kind is Kind.IDENTIFIER
        numeric = col.dtype in ("int", "float")
        values = np.asarray(shaped_values(col.shape, n, rng, unique=unique, email=col.pii == "email"), dtype=object)
        if numeric:
            values = values.astype("int64").astype("float64")
        missing = rng.random(n) < col.missing_rate if col.missing_rate > 0 else np.zeros(n, dtype=bool)
        if numeric:
            return self._ints(values, missing) if col.dtype == "int" else np.where(missing, np.nan, values)
        values[missing] = None
        return values

    # -- persistence ----------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "schema": self.schema.to_dict(),
            "steps": self.steps,
            "encoded": self.encoded,
            "model_columns": [dataclasses.asdict(m) | {"levels": list(m.levels) if m.levels is not None else None}
                              for m in self.model_columns],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TableCodec:
        schema = TableSchema.from_dict(state["schema"])
        mcols = [ModelColumn(**{**m, "levels": tuple(m["levels"]) if m.get("levels") is not None else None})
                 for m in state["model_columns"]]
        return cls(schema, order_for_encoding(schema.constraints), mcols, dict(state["steps"]), list(state["encoded"]))
