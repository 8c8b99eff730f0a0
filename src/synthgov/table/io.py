"""Reading and writing tables: CSV, Parquet, DataFrames and SQL.

:func:`read` turns any supported source into a pandas DataFrame and rejects
what cannot be a table with an :class:`~synthgov.errors.InputError` naming the
problem: an empty file, a non-UTF-8 file, ragged CSV rows, duplicate column
names. :func:`write` writes atomically (temp file, then rename), so a failure
never leaves a half-written file.

>>> import pandas as pd, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> write(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), path).name
't.csv'
>>> read(path).to_dict("list")
{'a': [1, 2], 'b': ['x', 'y']}
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .._atomic import atomic_path
from ..errors import InputError, OutputError, ParameterError
from .infer import check_frame

__all__ = ["read", "write", "output_format", "SUPPORTED_FORMATS"]

SUPPORTED_FORMATS = ("csv", "tsv", "parquet")
_URL = re.compile(r"^[a-z][a-z0-9+]*(\+[a-z0-9]+)?://", re.IGNORECASE)
#: Tokens read as missing values in CSV files.
NULL_VALUES = ["", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "#N/A", "-NaN", "-nan"]


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in SUPPORTED_FORMATS:
            raise ParameterError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(SUPPORTED_FORMATS)}")
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".zst"):
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext in (".csv", ".txt"):
        return "csv"
    if ext == ".tsv":
        return "tsv"
    if ext in (".parquet", ".pq"):
        return "parquet"
    raise InputError(
        f"cannot tell the format of {path.name!r} from its extension",
        hint="name it .csv, .tsv or .parquet, or pass format='csv'",
    )


_LEADING_ZERO = re.compile(r"^[+-]?0\d")
_HEAD_BYTES = 1 << 20


def _code_columns(path: Path, delimiter: str) -> list[str]:
    """Columns whose first rows hold numbers written with leading zeros (zip codes, ids): keep them text."""
    import csv
    import gzip
    import io

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
        text = head.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return []  # the full read reports what is wrong
    if len(head) == _HEAD_BYTES:
        text = text[: text.rfind("\n") + 1]
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if len(rows) < 2:
        return []
    header, body = rows[0], rows[1:]
    found = []
    for i, name in enumerate(header):
        cells = [r[i] for r in body if i < len(r) and r[i] not in NULL_VALUES]
        if cells and any(_LEADING_ZERO.match(c) for c in cells) and all(c.lstrip("+-").isdigit() for c in cells):
            found.append(name)
    return found


def _read_csv(path: Path, delimiter: str) -> pd.DataFrame:
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty", hint="check the file was written completely")
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=1 << 24, encoding="utf8"),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                null_values=NULL_VALUES, strings_can_be_null=True, timestamp_parsers=[],
                column_types={name: pa.string() for name in _code_columns(path, delimiter)},
            ),
        )
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        if "Empty CSV file" in msg:
            raise InputError(f"{path} is empty", hint="check the file was written completely") from None
        if "UTF8" in msg or "utf8" in msg.lower() or "utf-8" in msg.lower():
            raise InputError(
                f"{path} is not UTF-8 text",
                hint="re-save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`)",
            ) from None
        found = re.search(r"Expected (\d+) columns, got (\d+)", msg)
        if found:
            raise InputError(
                f"{path} has ragged rows: the header has {found.group(1)} columns but a row has {found.group(2)}"
                f" ({_ragged_line(path, delimiter, int(found.group(1)))})",
                hint="every row needs the same number of fields; quote values that contain the delimiter",
            ) from None
        raise InputError(f"cannot parse {path} as CSV: {msg.splitlines()[0]}", hint="check the delimiter and quoting") from None
    if table.num_columns == 1 and delimiter == ",":
        header = table.column_names[0]
        for other, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if other in header:
                raise InputError(
                    f"{path} seems to be separated by {label}, not commas (its header is one column: {header[:60]!r})",
                    hint="save it with commas, or name a tab-separated file .tsv",
                )
    binary = [f.name for f in table.schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    if binary:
        raise InputError(
            f"{path} is not UTF-8 text (column(s) {', '.join(binary)} hold other bytes)",
            hint="re-save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`)",
        )
    names = table.column_names
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{path} has duplicate column name(s): {', '.join(dupes)}", hint="rename them so each is unique")
    return table.to_pandas()


def _ragged_line(path: Path, delimiter: str, expected: int) -> str:
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter=delimiter), start=1):
            if row and len(row) != expected:
                return f"first at line {lineno}"
    return "line unknown"


def read(
    source,
    *,
    format: str | None = None,  # noqa: A002 - the natural name
    query: str | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Read a table from a CSV/TSV/Parquet path, a DataFrame, or SQL.

    Args:
        source: a path, a DataFrame (copied), or an SQLAlchemy URL such as
            ``"sqlite:///data.db"`` or ``"postgresql://host/db"`` (then ``query`` is required).
        format: ``"csv"``, ``"tsv"`` or ``"parquet"``; guessed from the extension if omitted.
        query: the SQL query (or table name) to read through the URL.
        columns: read only these columns.
    """
    if isinstance(source, pd.DataFrame):
        df = source.copy()
    elif isinstance(source, str) and _URL.match(source):
        df = _read_sql(source, query)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"no such file: {path}", hint="check the path")
        if path.is_dir():
            raise InputError(f"{path} is a directory, not a table file")
        fmt = _format_of(path, format)
        if fmt == "parquet":
            try:
                df = pq.read_table(path).to_pandas()
            except (pa.ArrowInvalid, OSError) as exc:
                raise InputError(f"cannot read {path} as Parquet: {exc}", hint="check the file is Parquet") from None
        else:
            df = _read_csv(path, "\t" if fmt == "tsv" else ",")
    else:
        raise ParameterError(
            f"cannot read a table from {type(source).__name__}",
            hint="pass a file path, a pandas DataFrame or an SQLAlchemy URL with query=",
        )
    if columns is not None:
        unknown = [c for c in columns if c not in df.columns]
        if unknown:
            raise InputError(f"unknown column(s): {', '.join(unknown)}", hint=f"columns are: {', '.join(map(str, df.columns))}")
        df = df[list(columns)]
    try:
        check_frame(df)
    except InputError as exc:
        if isinstance(source, (str, os.PathLike)):
            raise InputError(f"{source}: {exc.message}", hint=exc.hint, details=exc.details) from None
        raise
    return df


def _read_sql(url: str, query: str | None) -> pd.DataFrame:
    if not query:
        raise ParameterError("reading from a database needs query= (an SQL query or a table name)")
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises many types for bad URLs
        raise InputError(f"cannot use database URL: {exc}", hint="check the SQLAlchemy URL") from None
    text = query if re.search(r"\s", query.strip()) else f'SELECT * FROM "{query}"'
    try:
        with engine.connect() as conn:
            return pd.read_sql_query(sa.text(text), conn)
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
        cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) and exc.__cause__ else exc
        first = str(getattr(cause, "orig", cause)).splitlines()[0]
        raise InputError(f"the query failed: {first}", hint="check the query and the database") from None
    finally:
        engine.dispose()


def write(df: pd.DataFrame, path, *, format: str | None = None, metadata: dict[str, str] | None = None) -> Path:  # noqa: A002
    """Write ``df`` to a CSV/TSV/Parquet file atomically and return its path.

    ``metadata`` (Parquet only) is stored as file-level key/value metadata.
    """
    path = Path(path)
    fmt = output_format(path, format)
    try:
        _write(df, path, fmt, metadata)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}",
                          hint="check the directory exists and is writable") from None
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise OutputError(f"cannot write {path.name} as Parquet: {str(exc).splitlines()[0]}",
                          hint="give each column one type (numbers, text, dates), or write CSV") from None
    return path


def output_format(path, format: str | None = None) -> str:  # noqa: A002
    """The format ``write`` would use for ``path`` (raises before any work if it cannot write it)."""
    try:
        return _format_of(Path(path), format)
    except InputError:
        raise OutputError(f"cannot write {Path(path).name!r}: unknown format",
                          hint="name the output .csv, .tsv or .parquet") from None


def _write(df: pd.DataFrame, path: Path, fmt: str, metadata: dict[str, str] | None) -> None:
    with atomic_path(path, suffix=path.suffix or ".tmp") as tmp:
        if fmt == "parquet":
            table = pa.Table.from_pandas(df, preserve_index=False)
            if metadata:
                merged = dict(table.schema.metadata or {})
                merged.update({k.encode(): v.encode() for k, v in metadata.items()})
                table = table.replace_schema_metadata(merged)
            pq.write_table(table, tmp)
        else:
            df.to_csv(tmp, index=False, sep="\t" if fmt == "tsv" else ",")
