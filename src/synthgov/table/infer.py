"""Schema inference: look at a table once and describe every column.

Decides each column's kind (numeric, categorical, boolean, datetime,
identifier, text), its missing rate, bounds, decimals, datetime format, PII tag
and rare-level grouping. Raises :class:`~synthgov.errors.SchemaError` for
columns that cannot be described (all missing, numbers mixed with text,
unparsable dates), naming the column and what to do.

>>> import pandas as pd
>>> df = pd.DataFrame({"age": [31, 45, 27, 60] * 5, "sex": ["f", "m", "f", "m"] * 5})
>>> schema = infer_schema(df)
>>> [(c.name, c.kind.value) for c in schema]
[('age', 'numeric'), ('sex', 'categorical')]
>>> schema["age"].integer, schema["age"].minimum, schema["age"].maximum
(True, 27, 60)
"""

from __future__ import annotations

import re
import unicodedata
import warnings

import numpy as np
import pandas as pd

from ..errors import InputError, ParameterError, SchemaError
from .pii import detect_pii
from .schema import Column, Kind, TableSchema

__all__ = ["infer_schema", "schema_for", "infer_column", "complete_column", "parse_datetimes", "value_shape"]

#: A column with more levels than this is flagged ``high-cardinality``.
MAX_LEVELS = 1000
#: Columns with these PII tags are regenerated (never learned), whatever their type.
REGENERATED_PII = {"name", "email", "phone", "national_id", "address"}
RARE_LABEL = "(other)"
_ID_NAME = re.compile(r"(^|_)(id|key|uuid|guid|code|number|no|nr)$|^id_|^rownames?$|^index$", re.IGNORECASE)
_DATE_LIKE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}([-/.]\d{1,2})?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|\d{1,2} [A-Za-z]{3,9}\.? \d{4}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4})([T ]\d{1,2}:\d{2}.*)?\s*$"
)
#: dtypes synthgov's output has anyway; only other dtypes are recorded as ``storage``.
_DEFAULT_STORAGE = {"int64", "float64", "bool", "object", "str", "string"}
_BOOL_PAIRS = [{"true", "false"}, {"yes", "no"}, {"y", "n"}, {"t", "f"}]
SAMPLE = 2000


def infer_schema(
    data: pd.DataFrame,
    *,
    rare_threshold: int = 5,
    detect: bool = True,
    overrides: dict[str, dict] | None = None,
) -> TableSchema:
    """Infer a :class:`TableSchema` from a DataFrame.

    Args:
        data: the table (see :func:`synthgov.read` for files and SQL).
        rare_threshold: categories seen fewer than this many times are grouped
            under ``"(other)"`` (rare values identify people). Default 5.
        detect: run the PII detectors.
        overrides: per-column changes applied after inference, e.g.
            ``{"zip": {"kind": "categorical", "pii": "location"}}``.
    """
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"infer_schema needs a pandas DataFrame, got {type(data).__name__}")
    if isinstance(rare_threshold, bool) or not isinstance(rare_threshold, int) or rare_threshold < 1:
        raise ParameterError(f"rare_threshold must be a positive integer, got {rare_threshold!r}")
    check_frame(data)
    columns = [
        complete_column(infer_column(data[name], detect=detect), data[name], rare_threshold)
        for name in data.columns
    ]
    schema = TableSchema(columns=tuple(columns), n_rows=len(data), rare_threshold=rare_threshold)
    for name, changes in (overrides or {}).items():
        if not isinstance(changes, dict):
            raise SchemaError(f"override for column {name!r} must be a dict of fields, got {changes!r}",
                              hint='e.g. overrides={"zip": {"kind": "categorical"}}')
        schema = schema.with_column(name, **changes)
    return schema


def schema_for(data: pd.DataFrame, schema: TableSchema | None = None) -> TableSchema:
    """``schema``, checked to describe every column of ``data``; inferred from ``data`` when ``None``.

    >>> import pandas as pd
    >>> schema_for(pd.DataFrame({"a": [1, 2, 3]})).names
    ['a']
    """
    if schema is None:
        return infer_schema(data)
    if not isinstance(schema, TableSchema):
        raise ParameterError(f"schema must be a TableSchema, got {type(schema).__name__}")
    missing = [c for c in data.columns if c not in schema]
    if missing:
        raise InputError(f"the schema does not describe column(s) {', '.join(map(repr, missing))}",
                         hint="pass the schema of this table, or leave schema out to infer it")
    return schema


def check_frame(data: pd.DataFrame) -> None:
    """Reject tables no generator can learn from: no rows, no columns, duplicate or non-text names."""
    if data.shape[1] == 0:
        raise InputError("the table has no columns", hint="check the file has a header row")
    if len(data) == 0:
        raise InputError("the table has no rows", hint="check the file or query returns data")
    bad = [c for c in data.columns if not isinstance(c, str) or not c]
    if bad:
        raise InputError(
            f"column names must be non-empty text, got {bad[:5]!r}",
            hint="give every column a name (e.g. df.columns = [...])",
        )
    names = list(data.columns)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"duplicate column name(s): {', '.join(dupes)}", hint="rename the columns so each is unique")


def _sample(values: pd.Series) -> pd.Series:
    return values.sample(SAMPLE, random_state=0) if len(values) > SAMPLE else values


def _char_class(ch: str) -> str:
    if ch.isdigit():
        return "9"
    if ch.isalpha():
        return "A" if ch.isupper() else "a"
    if unicodedata.category(ch)[0] in "MN":  # combining marks (Devanagari vowel signs, accents) and numerals
        return "a" if unicodedata.category(ch)[0] == "M" else "9"
    return ch


def value_shape(values: pd.Series) -> str:
    """The commonest character-class template of ``values``: every digit becomes ``9``, every letter
    (of any script) ``A`` or ``a``; only punctuation and spaces are kept.

    >>> value_shape(pd.Series(["AB-1234", "CD-5678", "x"]))
    'AA-9999'
    >>> value_shape(pd.Series(["Zoë Brontë", "José Núñez"]))
    'Aaaa Aaaaa'
    """
    text = _sample(values.astype(str))
    counts = pd.Series(["".join(map(_char_class, unicodedata.normalize("NFC", v))) for v in text]).value_counts()
    top = counts[counts == counts.iloc[0]].index
    return str(sorted(top, key=lambda s: (len(s), s))[len(top) // 2])


def _decimals(values: np.ndarray) -> int | None:
    x = values[np.isfinite(values)][:10_000]
    for d in range(0, 11):
        scaled = x * 10.0**d
        # float64 holds ~16 significant digits: allow representation error only, not real digits
        if np.all(np.abs(scaled - np.rint(scaled)) <= np.maximum(1e-9, 8 * np.spacing(np.abs(scaled)))):
            return d
    return None


def _mixed_error(name: str, bad: pd.Series, total: int, what: str, hint: str) -> SchemaError:
    examples = ", ".join(repr(v) for v in bad.unique()[:3])
    return SchemaError(
        f"column '{name}' {what}: {len(bad)} of {total} values ({examples}) do not fit",
        hint=hint,
        details={"column": name, "bad_values": int(len(bad))},
    )


def parse_datetimes(values: pd.Series, fmt: str | None) -> pd.Series:
    """Parse text datetimes with ``fmt`` (falling back to pandas' mixed parser); unparsable become NaT.

    Times that carry a zone are converted to UTC and the zone dropped; naive times are kept as
    written, so a column mixing both (or holding no value at all) still parses.
    """
    uniq = pd.Series(values.dropna().unique())
    if uniq.empty:
        return pd.Series(np.full(len(values), np.datetime64("NaT", "ns")), index=values.index, name=values.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(uniq, format=fmt, errors="coerce", utc=True)  # fmt None: pandas infers it
        if parsed.isna().any():
            retry = pd.to_datetime(uniq[parsed.isna()], format="mixed", errors="coerce", utc=True)
            parsed = parsed.where(parsed.notna(), retry)
    parsed = parsed.dt.tz_localize(None)
    mapping = pd.Series(parsed.to_numpy(dtype="datetime64[ns]"), index=uniq.to_numpy())
    return pd.Series(values.map(mapping).to_numpy(dtype="datetime64[ns]"), index=values.index, name=values.name)


def _guess_format(values: pd.Series) -> str | None:
    """The strftime format that parses most of a sample (day-first and month-first both tried)."""
    from pandas.tseries.api import guess_datetime_format

    sample = _sample(values.astype(str)).head(200)
    guesses: dict[str, int] = {}  # format -> preference (month-first guesses before day-first ones)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rank, dayfirst in enumerate((False, True)):
            for v in sample.head(50):
                g = guess_datetime_format(v, dayfirst=dayfirst)
                if g and g not in guesses:
                    guesses[g] = rank
        if not guesses:
            return None
        scores = {g: int(pd.to_datetime(sample, format=g, errors="coerce").notna().sum()) for g in guesses}
    best = max(guesses, key=lambda g: (scores[g], -guesses[g], g.startswith("%Y-%m-%d")))
    if best.endswith("%z") and values.astype(str).str.endswith("Z").all():
        best = best[:-2] + "Z"  # keep the literal 'Z' of UTC timestamps on output
    return best


def _infer_text_column(name: str, values: pd.Series, missing: float) -> Column:
    strings = values.astype(str)
    sample = _sample(strings)
    # numbers mixed with text
    as_num = pd.to_numeric(sample, errors="coerce")
    share_num = float(as_num.notna().mean())
    if 0.9 <= share_num < 1.0:
        full = pd.to_numeric(strings, errors="coerce")
        raise _mixed_error(
            name, strings[full.isna()], len(strings), "mixes numbers and text",
            "clean those values (or blank them to mark them missing), or declare the column's kind in a schema",
        )
    # datetimes
    date_like = float(sample.str.match(_DATE_LIKE).mean())
    if date_like >= 0.5:
        fmt = _guess_format(sample[sample.str.match(_DATE_LIKE)])
        parsed = parse_datetimes(strings, fmt)
        bad = strings[parsed.isna()]
        if len(bad):
            raise _mixed_error(
                name, bad, len(strings), "holds dates that cannot be parsed",
                "fix those values or blank them to mark them missing; a date needs a day, month and year",
            )
        return Column(name=name, kind=Kind.DATETIME, missing_rate=missing, dtype="string", datetime_format=fmt)
    nunique = int(strings.nunique())
    lowered = set(strings.str.lower().unique()) if nunique <= 2 else set()
    if nunique == 2 and any(lowered == pair for pair in _BOOL_PAIRS):
        return Column(name=name, kind=Kind.BOOLEAN, missing_rate=missing, dtype="string")
    words = float(sample.str.count(r"\s+").mean()) + 1.0
    if nunique > 0.5 * len(strings) and (words >= 4 or float(sample.str.len().mean()) >= 50):
        return Column(name=name, kind=Kind.TEXT, missing_rate=missing, dtype="string", flags=("not-modelled",))
    if nunique == len(strings) and len(strings) >= 20:
        return Column(name=name, kind=Kind.IDENTIFIER, missing_rate=missing, dtype="string")
    return Column(name=name, kind=Kind.CATEGORICAL, missing_rate=missing, dtype="string")


def infer_column(series: pd.Series, *, detect: bool = True) -> Column:
    """Infer one column's kind and PII tag (facts of the kind are filled by :func:`complete_column`)."""
    name = str(series.name)
    n = len(series)
    values = series.dropna()
    missing = 1.0 - len(values) / n if n else 0.0
    if values.empty:
        raise SchemaError(
            f"column '{name}' has no values (all {n} are missing)",
            hint="drop the column before generating, e.g. df.drop(columns=[...])",
            details={"column": name},
        )
    if pd.api.types.is_bool_dtype(values):
        col = Column(name=name, kind=Kind.BOOLEAN, missing_rate=missing, dtype="bool")
    elif pd.api.types.is_datetime64_any_dtype(values):
        tz = getattr(values.dt, "tz", None)
        col = Column(name=name, kind=Kind.DATETIME, missing_rate=missing, dtype="datetime",
                     timezone=str(tz) if tz is not None else None)
    elif pd.api.types.is_numeric_dtype(values):
        x = values.to_numpy(dtype="float64")
        integral = bool(np.all(np.mod(x[np.isfinite(x)], 1) == 0))
        if not np.all(np.isfinite(x)):
            raise SchemaError(f"column '{name}' holds infinite values", hint="replace them or mark them missing")
        dtype = "int" if pd.api.types.is_integer_dtype(values) else "float"
        nunique = int(values.nunique())
        if integral and nunique <= 2 and set(np.unique(x)) <= {0.0, 1.0}:
            col = Column(name=name, kind=Kind.BOOLEAN, missing_rate=missing, dtype=dtype)
        elif (
            integral
            and nunique == len(values)
            and len(values) >= 20
            and (_ID_NAME.search(name) or (x.min() in (0, 1) and x.max() - x.min() + 1 == len(values)))
        ):
            sequential = bool(x.min() in (0, 1) and x.max() - x.min() + 1 == len(values))  # a row number
            col = Column(
                name=name, kind=Kind.IDENTIFIER, missing_rate=missing, dtype=dtype,
                flags=("sequential",) if sequential else (),
            )
        else:
            col = Column(name=name, kind=Kind.NUMERIC, missing_rate=missing, dtype=dtype, integer=integral)
    else:
        types = {type(v) for v in _sample(values).tolist()}
        numeric_types = {t for t in types if issubclass(t, (int, float, np.number)) and not issubclass(t, bool)}
        if numeric_types and types - numeric_types:
            kinds = sorted(t.__name__ for t in types)
            raise SchemaError(
                f"column '{name}' mixes value types ({', '.join(kinds)})",
                hint="convert the column to one type (all numbers or all text) before generating",
                details={"column": name},
            )
        col = _infer_text_column(name, values, missing)
    storage = str(series.dtype)
    if storage not in _DEFAULT_STORAGE and not storage.startswith("datetime64"):
        col = Column(**{**col.__dict__, "storage": storage})
    if detect:
        tag = detect_pii(series)
        if tag:
            col = Column(**{**col.__dict__, "pii": tag})
            if tag in REGENERATED_PII and col.kind is not Kind.TEXT:
                unique = values.nunique() == len(values)
                col = Column(
                    name=name, kind=Kind.IDENTIFIER if unique else Kind.TEXT, missing_rate=missing, pii=tag,
                    dtype=col.dtype, storage=col.storage, flags=("not-modelled",),
                )
    return col


def _private_bounds(x: np.ndarray, k: int, integral: bool) -> tuple:
    """Bounds of a PII column: the k/n and 1 - k/n quantiles, not the most extreme real values."""
    q = min(0.5, k / max(len(x), 1))
    lo, hi = np.quantile(x, [q, 1 - q])
    return (int(np.floor(lo)), int(np.ceil(hi))) if integral else (float(lo), float(hi))


def complete_column(col: Column, series: pd.Series, rare_threshold: int = 5) -> Column:
    """Fill the facts ``col``'s kind needs (bounds, levels, format, shape) from ``series`` where unset."""
    values = series.dropna()
    facts = dict(col.__dict__)
    name = col.name
    if values.empty:
        raise SchemaError(f"column '{name}' has no values (all are missing)", hint="drop the column first")
    if col.kind is Kind.NUMERIC:
        try:
            x = pd.to_numeric(values, errors="raise").to_numpy(dtype="float64")
        except (TypeError, ValueError):
            bad = values[pd.to_numeric(values, errors="coerce").isna()]
            raise _mixed_error(
                name, bad.astype(str), len(values), "is declared numeric but holds text",
                "clean those values or declare another kind",
            ) from None
        integral = bool(np.all(np.mod(x, 1) == 0))
        if col.pii and facts["minimum"] is None and facts["maximum"] is None:
            facts["minimum"], facts["maximum"] = _private_bounds(x, rare_threshold, integral)
        if facts["minimum"] is None and facts["maximum"] is None and facts["decimals"] is None:
            facts["integer"] = integral  # a column declared numeric after inference: learn its integer-ness
        if facts["minimum"] is None:
            facts["minimum"] = int(x.min()) if integral else float(x.min())
        if facts["maximum"] is None:
            facts["maximum"] = int(x.max()) if integral else float(x.max())
        if not integral and facts["integer"]:
            facts["integer"] = False
        if facts["integer"]:
            facts["decimals"] = 0
        elif facts["decimals"] is None:
            facts["decimals"] = _decimals(x)
        if facts["dtype"] is None:
            facts["dtype"] = "int" if integral else "float"
    elif col.kind is Kind.DATETIME:
        if pd.api.types.is_datetime64_any_dtype(values):
            tz = getattr(values.dt, "tz", None)  # bounds are wall-clock times in the column's own zone
            parsed = values.dt.tz_localize(None) if tz is not None else values
            parsed = parsed.astype("datetime64[ns]")
        else:
            if facts["datetime_format"] is None:
                facts["datetime_format"] = _guess_format(values.astype(str))
            parsed = parse_datetimes(values.astype(str), facts["datetime_format"])
            bad = values[parsed.isna().to_numpy()]
            if len(bad):
                raise _mixed_error(
                    name, bad.astype(str), len(values), "holds dates that cannot be parsed",
                    "fix those values or blank them to mark them missing",
                )
        if col.pii and facts["minimum"] is None and facts["maximum"] is None:
            ns = parsed.dropna().to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
            lo, hi = _private_bounds(ns, rare_threshold, True)
            facts["minimum"], facts["maximum"] = (pd.Timestamp(int(v)).isoformat() for v in (lo, hi))
        if facts["minimum"] is None:
            facts["minimum"] = parsed.min().isoformat()
        if facts["maximum"] is None:
            facts["maximum"] = parsed.max().isoformat()
    elif col.kind in (Kind.CATEGORICAL, Kind.BOOLEAN) and facts["categories"] is None:
        counts = values.value_counts(sort=True)
        counts = counts.iloc[np.lexsort((np.arange(len(counts)), -counts.to_numpy()))]
        levels = [v.item() if hasattr(v, "item") else v for v in counts.index]
        if col.kind is Kind.BOOLEAN:
            facts["categories"] = tuple(levels)
        else:
            keep = counts.to_numpy() >= rare_threshold
            facts["categories"] = tuple(v for v, k in zip(levels, keep, strict=True) if k)
            facts["rare_grouped"] = int((~keep).sum())
            flags = list(facts["flags"])
            if facts["rare_grouped"]:
                facts["rare_label"] = RARE_LABEL
                flags.append("rare-levels-grouped")
            if len(counts) > MAX_LEVELS:
                flags.append("high-cardinality")
            facts["flags"] = tuple(dict.fromkeys(flags))
    elif col.kind in (Kind.IDENTIFIER, Kind.TEXT) and facts["shape"] is None:
        if col.dtype in ("int", "float"):
            x = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype="float64")
            if "sequential" in col.flags and len(x):
                facts["minimum"] = int(x.min())  # a row number restarts at 0 or 1; nothing else is kept
            else:
                facts["shape"] = "9" * len(str(int(np.abs(x).max()))) if len(x) else "9"
        else:
            strings = values.astype(str)
            if col.kind is Kind.TEXT:
                lengths = strings.str.len()
                strings = strings[lengths == lengths.median()] if (lengths == lengths.median()).any() else strings
            facts["shape"] = value_shape(strings)
    return Column(**facts)
