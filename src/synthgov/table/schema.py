"""Table schema: a frozen, JSON round-trippable description of a table.

A :class:`TableSchema` holds one :class:`Column` per column: its kind, missing
rate, PII tag and the facts a generator needs (bounds, decimals, category
levels, datetime format, the *shape* of identifiers). It never holds real rows.
Category lists are a privacy decision: levels seen fewer than ``rare_threshold``
times are grouped under one label and only their number is kept.

>>> col = Column(name="age", kind="numeric", integer=True, minimum=18, maximum=90)
>>> schema = TableSchema(columns=(col,))
>>> TableSchema.from_json(schema.to_json()) == schema
True
>>> schema.with_column("age", pii="dob")["age"].pii
'dob'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from enum import Enum
from typing import Any

from .._atomic import atomic_write_text
from ..errors import SchemaError

__all__ = ["Kind", "Column", "TableSchema", "SCHEMA_FORMAT", "PII_TAGS"]

SCHEMA_FORMAT = "synthgov.schema/1"

#: PII tags the built-in detectors emit. Plugins may emit others.
PII_TAGS = ("name", "email", "phone", "national_id", "location", "dob", "address")


class Kind(str, Enum):
    """What a column holds, which decides how it is modelled."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    IDENTIFIER = "identifier"
    TEXT = "text"

    def __str__(self) -> str:  # so f-strings show "numeric", not "Kind.NUMERIC"
        return self.value


#: Kinds a generator learns from the data; the others are regenerated.
MODELLED_KINDS = (Kind.NUMERIC, Kind.CATEGORICAL, Kind.BOOLEAN, Kind.DATETIME)


def _check_scalar(name: str, field: str, value: Any) -> None:
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, (int, float)) and not (isinstance(value, float) and not math.isfinite(value)):
        return
    raise SchemaError(
        f"column '{name}': {field} must be a finite number, text or a boolean, got {value!r}",
        hint="fix the value in the schema JSON",
    )


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a :class:`TableSchema`.

    Args:
        name: the column name.
        kind: one of :class:`Kind` (a string works too).
        missing_rate: share of missing values in [0, 1].
        pii: a PII tag (``"name"``, ``"email"``, ...) or ``None``.
        dtype: the source's storage type family (``"int"``, ``"float"``,
            ``"bool"``, ``"string"``, ``"datetime"``), used to restore it on output.
        integer: numeric only: values are whole numbers.
        minimum, maximum: numeric bounds; datetime bounds as ISO-8601 text.
        decimals: numeric only: digits after the decimal point.
        categories: categorical/boolean: the levels kept (frequent first).
        rare_grouped: number of levels seen fewer than ``rare_threshold`` times,
            replaced by ``rare_label``; their values are not stored.
        rare_label: the label rare levels are grouped under.
        datetime_format: strftime format of text datetimes; ``None`` for native datetimes.
        timezone: the time zone of native timezone-aware datetimes (values are modelled in UTC).
        shape: identifier/text: a character-class template (``9`` digit, ``A`` upper,
            ``a`` lower, anything else literal) used to make fresh values.
        storage: the source's exact pandas dtype where it is not the default for the kind
            (``"float32"``, ``"uint16"``, ``"category"``, ``"Int64"``...); output is cast back to it.
        flags: notes for people (``"high-cardinality"``, ``"not-modelled"``, ...).
    """

    name: str
    kind: Kind
    missing_rate: float = 0.0
    pii: str | None = None
    dtype: str | None = None
    integer: bool = False
    minimum: float | str | None = None
    maximum: float | str | None = None
    decimals: int | None = None
    categories: tuple | None = None
    rare_grouped: int = 0
    rare_label: str | None = None
    datetime_format: str | None = None
    timezone: str | None = None
    shape: str | None = None
    storage: str | None = None
    flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SchemaError(f"column name must be non-empty text, got {self.name!r}")
        try:
            object.__setattr__(self, "kind", Kind(self.kind))
        except ValueError:
            raise SchemaError(
                f"column '{self.name}': unknown kind {self.kind!r}",
                hint=f"use one of: {', '.join(k.value for k in Kind)}",
            ) from None
        rate = self.missing_rate
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0.0 <= rate <= 1.0:
            raise SchemaError(f"column '{self.name}': missing_rate must be in [0, 1], got {rate!r}")
        object.__setattr__(self, "missing_rate", float(rate))
        if self.pii is not None and (not isinstance(self.pii, str) or not self.pii):
            raise SchemaError(f"column '{self.name}': pii must be a non-empty tag or None, got {self.pii!r}")
        if self.decimals is not None and (not isinstance(self.decimals, int) or not 0 <= self.decimals <= 15):
            raise SchemaError(f"column '{self.name}': decimals must be an integer in 0..15, got {self.decimals!r}")
        for field in ("minimum", "maximum"):
            _check_scalar(self.name, field, getattr(self, field))
        if (
            isinstance(self.minimum, (int, float))
            and isinstance(self.maximum, (int, float))
            and self.minimum > self.maximum
        ):
            raise SchemaError(
                f"column '{self.name}': minimum {self.minimum} is above maximum {self.maximum}",
                hint="swap them or remove one",
            )
        if self.categories is not None:
            cats = tuple(self.categories)
            for value in cats:
                _check_scalar(self.name, "a category", value)
            if len(set(cats)) != len(cats):
                raise SchemaError(f"column '{self.name}': categories contain duplicates")
            object.__setattr__(self, "categories", cats)
        object.__setattr__(self, "flags", tuple(self.flags))
        self._check_kind_facts()
        if not isinstance(self.rare_grouped, int) or self.rare_grouped < 0:
            raise SchemaError(f"column '{self.name}': rare_grouped must be a non-negative integer")

    def _check_kind_facts(self) -> None:
        """Bounds, zone and format must make sense for the kind."""
        for field in ("minimum", "maximum"):
            value = getattr(self, field)
            if value is None:
                continue
            if self.kind is Kind.NUMERIC and (isinstance(value, (bool, str))):
                raise SchemaError(f"column '{self.name}': numeric {field} must be a number, got {value!r}")
            if self.kind is Kind.DATETIME:
                try:
                    import pandas as pd

                    pd.Timestamp(value)
                except (ValueError, TypeError):
                    raise SchemaError(f"column '{self.name}': datetime {field} must be an ISO-8601 date, got {value!r}",
                                      hint="e.g. 2024-01-31 or 2024-01-31T08:00:00") from None
        if self.timezone is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise SchemaError(f"column '{self.name}': unknown time zone {self.timezone!r}",
                                  hint="use an IANA name such as 'Europe/Paris' or 'UTC'") from None
        if self.datetime_format is not None and (not isinstance(self.datetime_format, str) or "%" not in self.datetime_format):
            raise SchemaError(f"column '{self.name}': datetime_format must be a strftime pattern, got {self.datetime_format!r}",
                              hint="e.g. %Y-%m-%d or %d/%m/%Y %H:%M")

    @property
    def modelled(self) -> bool:
        """Whether generators learn this column (identifiers and text are regenerated)."""
        return self.kind in MODELLED_KINDS

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict; fields at their defaults are left out."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind.value}
        for f in dataclasses.fields(self):
            if f.name in ("name", "kind"):
                continue
            value = getattr(self, f.name)
            if value != f.default:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Column:
        """Build a column from :meth:`to_dict` output (unknown keys are an error)."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"a column must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SchemaError(
                f"column {data.get('name', '?')!r}: unknown field(s) {', '.join(unknown)}",
                hint=f"known fields: {', '.join(sorted(known))}",
            )
        if "name" not in data or "kind" not in data:
            raise SchemaError("every column needs a 'name' and a 'kind'")
        kwargs = dict(data)
        for key in ("categories", "flags"):
            if kwargs.get(key) is not None:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)


@dataclasses.dataclass(frozen=True)
class TableSchema:
    """A frozen description of a table: columns, constraints and inference settings.

    Build one with :meth:`infer`, adjust with :meth:`with_column`, store with
    :meth:`save` / :meth:`to_json`.
    """

    columns: tuple[Column, ...]
    constraints: tuple = ()
    n_rows: int | None = None
    rare_threshold: int = 5

    def __post_init__(self) -> None:
        cols = tuple(self.columns)
        for col in cols:
            if not isinstance(col, Column):
                raise SchemaError(f"columns must be Column objects, got {type(col).__name__}")
        if isinstance(self.rare_threshold, bool) or not isinstance(self.rare_threshold, int) or self.rare_threshold < 1:
            raise SchemaError(f"rare_threshold must be a positive integer, got {self.rare_threshold!r}")
        names = [c.name for c in cols]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SchemaError(f"duplicate column name(s) in schema: {', '.join(dupes)}")
        object.__setattr__(self, "columns", cols)
        from .constraints import Constraint, constraint_from_dict

        cons = tuple(c if isinstance(c, Constraint) else constraint_from_dict(c) for c in self.constraints)
        for con in cons:
            missing = [n for n in con.columns if n not in names]
            if missing:
                raise SchemaError(
                    f"constraint {con.describe()} names unknown column(s) {', '.join(missing)}",
                    hint=f"columns are: {', '.join(names)}",
                )
        object.__setattr__(self, "constraints", cons)

    # -- access ---------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise SchemaError(f"no column '{name}' in the schema", hint=f"columns are: {', '.join(self.names)}")

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    def __iter__(self) -> Iterator[Column]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    @property
    def pii_columns(self) -> dict[str, str]:
        """Columns tagged as PII, with their tags."""
        return {c.name: c.pii for c in self.columns if c.pii}

    # -- building ---------------------------------------------------------------
    @classmethod
    def infer(cls, data, **options) -> TableSchema:
        """Infer a schema from a DataFrame (see :func:`synthgov.table.infer.infer_schema`)."""
        from .infer import infer_schema

        return infer_schema(data, **options)

    def with_column(self, name: str, **changes: Any) -> TableSchema:
        """Return a copy with column ``name`` changed (e.g. ``kind="categorical", pii="location"``).

        Changing the kind clears the facts that belonged to the old kind; a generator
        fills in the new kind's facts from the data when it is fitted.
        """
        col = self[name]
        if "name" in changes:
            raise SchemaError("with_column cannot rename a column", hint="rename it in the data instead")
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(Column)})
        if unknown:
            raise SchemaError(f"unknown column field(s): {', '.join(unknown)}",
                              hint=f"fields are: {', '.join(f.name for f in dataclasses.fields(Column))}")
        if "kind" in changes:
            try:
                changes["kind"] = Kind(changes["kind"])
            except ValueError:
                raise SchemaError(f"column '{name}': unknown kind {changes['kind']!r}",
                                  hint=f"use one of: {', '.join(k.value for k in Kind)}") from None
        if "kind" in changes and changes["kind"] != col.kind:
            kept = {"name", "missing_rate", "pii", "dtype", "flags"}
            base = {f.name: getattr(col, f.name) for f in dataclasses.fields(col) if f.name in kept}
            base["flags"] = tuple(f for f in col.flags if f not in ("not-modelled", "high-cardinality"))
            new = Column(**{**base, **changes})
        else:
            new = dataclasses.replace(col, **changes)
        return dataclasses.replace(self, columns=tuple(new if c.name == name else c for c in self.columns))

    def with_constraints(self, *constraints) -> TableSchema:
        """Return a copy with ``constraints`` added (objects or their dict form)."""
        return dataclasses.replace(self, constraints=self.constraints + tuple(constraints))

    # -- JSON -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict with a ``format`` marker."""
        return {
            "format": SCHEMA_FORMAT,
            "n_rows": self.n_rows,
            "rare_threshold": self.rare_threshold,
            "columns": [c.to_dict() for c in self.columns],
            "constraints": [c.to_dict() for c in self.constraints],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableSchema:
        """Build a schema from :meth:`to_dict` output."""
        if not isinstance(data, Mapping) or data.get("format") != SCHEMA_FORMAT:
            raise SchemaError(
                "not a synthgov schema (missing or unknown 'format')",
                hint=f"expected format {SCHEMA_FORMAT!r}; create one with `synthgov schema DATA -o schema.json`",
            )
        cols = data.get("columns")
        if not isinstance(cols, list) or not cols:
            raise SchemaError("a schema needs a non-empty 'columns' list")
        return cls(
            columns=tuple(Column.from_dict(c) for c in cols),
            constraints=tuple(data.get("constraints") or ()),
            n_rows=data.get("n_rows"),
            rare_threshold=data.get("rare_threshold", 5),
        )

    def to_json(self, *, indent: int | None = 2) -> str:
        """Serialise to JSON text (stable key order)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> TableSchema:
        """Parse JSON text written by :meth:`to_json`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaError(f"schema is not valid JSON: {exc}", hint="check the file is a synthgov schema") from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike) -> None:
        """Write the schema to ``path`` as JSON (atomically)."""
        atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> TableSchema:
        """Read a schema written by :meth:`save`."""
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError:
            raise SchemaError(f"schema file not found: {path}") from None
        except UnicodeDecodeError:
            raise SchemaError(f"schema file {path} is not UTF-8 text") from None
        try:
            return cls.from_json(text)
        except SchemaError as exc:
            raise SchemaError(f"{path}: {exc.message}", hint=exc.hint, details=exc.details) from None

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON form (for provenance: identifies the schema, holds no data)."""
        canon = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()
