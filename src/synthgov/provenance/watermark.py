"""A keyed watermark for synthetic tables: recognise a release after its labels are stripped.

:func:`embed` nudges numeric cells so that, under a secret key, far more of them
fall in "green" intervals than chance allows; :func:`detect` counts them and
returns a :class:`Detection` with a p-value. Metadata, file names and column
names can all be removed or changed: the mark lives in the values themselves.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"income": rng.lognormal(10, 1, 2000).round(2), "group": "a"})
>>> marked = embed(df, "release-2024-key")
>>> detect(marked, "release-2024-key").p_value < 1e-6
True
>>> detect(marked, "some other key").p_value > 0.01
True
>>> float((marked["income"] / df["income"] - 1).abs().max()) <= 1e-3   # at most 0.1% per value
True

**The scheme we follow.** He, Yu, Ren, Wu & Cheng (2024), *Watermarking Generative
Tabular Data* (arXiv:2405.14018): cut a numeric feature's range into fine pairs of
adjacent intervals, let the key pick one interval of each pair as green, move every
value that lies in the red one into the green one of the same pair (so no value
moves by more than one interval), and detect by testing whether the share of values
in green intervals exceeds one half. We adapt it in four ways:

1. *Intervals that need no column identity and no fitted range.* He et al. cut each
   feature's observed range into equal intervals, so a detector must know each
   column's range and which column it is looking at; a subsample, foreign rows or
   a renamed column change or hide both. Here the intervals follow the value's own
   decimal magnitude: a value ``v`` with ``10**e <= |v| < 10**(e+1)`` lies in the
   interval of width ``w = 10**(e - digit + 1)`` (one unit of its ``digit``-th
   significant digit, the 4th by default, so a value moves by at most 0.1%); pairs
   are ``[2jw, 2jw + 2w)``. Whether the lower or upper half of a pair is green is
   one bit of ``SipHash-2-4(k, (digit, e, sign, j))``, the same for every column and
   row, so the mark survives shuffled, subsampled, reordered and renamed columns. A
   red value moves by exactly ``w`` into the green half, keeping its lower digits.
2. *Decimals, integers and bounds.* A cell is marked only where ``w`` is a whole
   number of the column's decimal steps (``10**-decimals``; 1 for integers), so a
   moved value keeps its decimals, stays an integer, and a CSV rounded to the
   column's decimals still shows the mark. A move that would leave the column's
   schema bounds (or, with no schema, its observed range) or break a schema
   constraint is not made.
3. *Heaps are left alone.* A value repeated in more than 0.1% of a column's rows
   (a heap such as an income of exactly 50,000) is never moved: shifting a heap
   would move the column's distribution function by the heap's share, which
   fidelity metrics see. Moving only rare values limits the shift to the few values
   that share one narrow interval.
4. *A test that does not assume continuous data.* He et al.'s test is valid when the
   data have a continuous density (then about half of the values are green by
   chance). Repeated values break that: a heap lands wholly in green or wholly in
   red. We condition on the table instead. Under a key the table never met, each
   pair's bit is a fair coin (SipHash taken as a pseudorandom function), so the
   green count ``G`` (``A_j``, ``B_j``: tested cells in the lower and upper half of
   pair ``j``, pooled over all columns) has exactly mean ``N/2`` and variance
   ``sum_j (A_j - B_j)**2 / 4``. ``z`` is standardised with that variance and the
   reported p-value is Hoeffding's bound ``exp(-z**2 / 2)``, valid for any table and
   any number of rows (no normal approximation): a false alarm at level ``alpha``
   happens at most ``alpha`` of the time. Cells are chosen for the test (numeric,
   enough digits, not heaped) without looking at the key, which keeps this valid.

We also studied TAB-DRW (Zhao, Li, Song, Long & Su 2025, arXiv:2511.21600), which
edits the imaginary parts of a per-row DFT over Yeo-Johnson-standardised features.
Its transform depends on the column order and on parameters fitted to the table, and
an edit in the frequency domain spreads over every feature of the row; that runs
against what we need (columns reordered or renamed, few and schema-respecting
edits), so we did not follow it.

**Keys.** ``key`` is text (UTF-8) or bytes, never empty. The working key is
``HMAC-SHA256(key, b"synthgov.watermark/v1")``; its first 16 bytes key SipHash-2-4
(a pseudorandom function built for short inputs), evaluated in vectorised numpy.
Keep the key secret: whoever holds it can find the green intervals and erase the mark.

**Limits.** Categorical, boolean and datetime cells are not marked: changing a
category is never a small edit (the distribution-level scheme for categorical data
of Gu, He & Cheng 2024 shifts category frequencies by design). Columns of small
integers (below ``10**(digit-1)``: ages, counts) carry no mark, since moving them
one unit would merge neighbouring values. Rounding values more coarsely than the
marked digit, adding noise of that size, or replacing most rows removes the mark.
A p-value says how surprising the green share is for a table the key never
touched; it is not a proof of who made a table.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import InputError, ParameterError

__all__ = ["embed", "detect", "detect_many", "Detection", "ColumnDetection", "DEFAULT_DIGIT", "SCHEME"]

#: A one-line name of the scheme, for release metadata.
SCHEME = ("synthgov keyed interval watermark v1 (after He et al. 2024, Watermarking Generative Tabular Data): "
          "HMAC-SHA256 key, SipHash-2-4 green halves of significant-digit interval pairs, Hoeffding-bounded test")

#: Context string of the key derivation (change it and every old mark is lost).
KEY_CONTEXT = b"synthgov.watermark/v1"
#: The significant digit that carries the mark by default (values move by <= 0.1%).
DEFAULT_DIGIT = 4
#: A value repeated in more than this share of a column's rows is a heap and is never moved.
ATOM_SHARE = 0.001
_DIGITS = range(2, 8)
_GUARD = 1e-3  # boundary guard, in interval widths: absorbs float noise of decimal values
_MAX_EXP = 300


# -- keys and the pseudorandom function ---------------------------------------------------
def _key_bytes(key: Any) -> bytes:
    if isinstance(key, str):
        raw = key.encode("utf-8")
    elif isinstance(key, (bytes, bytearray, memoryview)):
        raw = bytes(key)
    else:
        raise ParameterError(f"a watermark key must be text or bytes, got {type(key).__name__}",
                             hint="pass the secret as a str or bytes (e.g. read from a key file)")
    if not raw:
        raise ParameterError("the watermark key is empty", hint="use a long random secret, e.g. secrets.token_hex(32)")
    return raw


def _derive(key: Any, context: bytes = KEY_CONTEXT) -> tuple[int, int]:
    """SipHash key (k0, k1) = the first 16 bytes of HMAC-SHA256(key, context), little-endian."""
    digest = hmac.new(_key_bytes(key), context, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:16], "little")


def _rotl(x: np.ndarray, bits: int, tmp: np.ndarray) -> None:
    """Rotate ``x`` left by ``bits`` in place (``tmp``: scratch of the same shape)."""
    np.left_shift(x, np.uint64(bits), out=tmp)
    np.right_shift(x, np.uint64(64 - bits), out=x)
    x |= tmp


def _sipround(v0: np.ndarray, v1: np.ndarray, v2: np.ndarray, v3: np.ndarray, tmp: np.ndarray) -> None:
    v0 += v1
    _rotl(v1, 13, tmp)
    v1 ^= v0
    _rotl(v0, 32, tmp)
    v2 += v3
    _rotl(v3, 16, tmp)
    v3 ^= v2
    v0 += v3
    _rotl(v3, 21, tmp)
    v3 ^= v0
    v2 += v1
    _rotl(v1, 17, tmp)
    v1 ^= v2
    _rotl(v2, 32, tmp)


def _siphash24(k0, k1, message, *, block: int = 1 << 15) -> np.ndarray:
    """SipHash-2-4 (Aumasson & Bernstein 2012) of one 8-byte little-endian block per element.

    ``k0``, ``k1`` (the key's two little-endian halves) and ``message`` broadcast together;
    the work is done in place, ``block`` elements at a time, to stay in cache.
    """
    k0, k1, m = np.broadcast_arrays(np.asarray(k0, dtype=np.uint64), np.asarray(k1, dtype=np.uint64),
                                    np.asarray(message, dtype=np.uint64))
    shape = m.shape
    k0, k1, m = (np.ascontiguousarray(a).ravel() for a in (k0, k1, m))
    out = np.empty(m.size, dtype=np.uint64)
    last = np.uint64(8 << 56)  # the final block: message length 8, no tail bytes
    with np.errstate(over="ignore"):
        for start in range(0, m.size, block):
            part = slice(start, start + block)
            word = m[part]
            v0 = k0[part] ^ np.uint64(0x736F6D6570736575)
            v1 = k1[part] ^ np.uint64(0x646F72616E646F6D)
            v2 = k0[part] ^ np.uint64(0x6C7967656E657261)
            v3 = k1[part] ^ np.uint64(0x7465646279746573)
            tmp = np.empty_like(v0)
            v3 ^= word
            for _ in range(2):
                _sipround(v0, v1, v2, v3, tmp)
            v0 ^= word
            v3 ^= last
            for _ in range(2):
                _sipround(v0, v1, v2, v3, tmp)
            v0 ^= last
            v2 ^= np.uint64(0xFF)
            for _ in range(4):
                _sipround(v0, v1, v2, v3, tmp)
            v0 ^= v1
            v0 ^= v2
            v0 ^= v3
            out[part] = v0
    return out.reshape(shape)


def _green_bits(k0: int, k1: int, ids: np.ndarray) -> np.ndarray:
    """Which half (0 lower, 1 upper) of each pair is green under the key."""
    return (_siphash24(k0, k1, ids) & np.uint64(1)).astype(np.int8)


# -- intervals -----------------------------------------------------------------------
_POW10 = np.array([10.0**k for k in range(_MAX_EXP + 8)])  # exact up to 1e22, correctly rounded above


def _scale(e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """10**e as (multiplier, divisor), so that decimal powers below 1 are divided, not multiplied."""
    return _POW10[np.clip(e, 0, None)], _POW10[np.clip(-e, 0, None)]


def _cell_index(a: np.ndarray, e: np.ndarray, r: int) -> np.ndarray:
    up, down = _scale(r - e)  # |v| / 10**(e - r)
    return np.floor(a * up / down + _GUARD).astype(np.int64)


def _cells(x: np.ndarray, digit: int, quantum: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For float values ``x``: (usable, pair id, half, interval width) of every cell.

    A cell is usable when it is finite, non-zero and its interval width is a whole
    number of decimal steps ``quantum`` (0 for values with no fixed decimals).
    """
    r = digit - 1
    a = np.abs(x)
    ok = np.isfinite(a) & (a > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.floor(np.log10(np.where(ok, a, 1.0)))
    ok &= np.abs(e) <= _MAX_EXP  # subnormal and astronomically large values carry no mark
    a = np.where(ok, a, 1.0)
    e = np.where(ok, e, 0).astype(np.int64)
    low, high = 10**r, 10 ** (r + 1)
    k = _cell_index(a, e, r)
    for _ in range(2):  # settle the decade of values a float's width away from a power of ten
        off = np.flatnonzero((k >= high) | (k < low))
        if off.size == 0:
            break
        e[off] += (k[off] >= high).astype(np.int64) - (k[off] < low)
        k[off] = _cell_index(a[off], e[off], r)
    ok &= (k >= low) & (k < high)
    up, down = _scale(e - r)
    width = up / down
    if quantum > 0:
        ok &= width >= quantum * (1 - 1e-9)
    ids = (
        (np.uint64(r) << np.uint64(56))
        | ((e + 1024).astype(np.uint64) << np.uint64(32))
        | ((x < 0).astype(np.uint64) << np.uint64(31))
        | (k // 2).astype(np.uint64)
    )
    return ok, ids, (k % 2).astype(np.int8), width


def _not_heaped(x: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Cells whose exact value is held by at most max(1, ATOM_SHARE * n) of the column's values."""
    finite = np.isfinite(x)
    out = np.zeros(x.shape, dtype=bool)
    if not finite.any():
        return out
    _, inverse, counts = np.unique(x[finite], return_inverse=True, return_counts=True)
    limit = max(1, math.floor(ATOM_SHARE * int(finite.sum())))
    out[finite] = counts[inverse] <= limit
    return out & usable


# -- columns -----------------------------------------------------------------------
def _infer_decimals(x: np.ndarray) -> int | None:
    """The fewest decimals that write every finite value exactly; None when there are none (<= 12)."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        return None
    top = float(np.max(np.abs(x)))
    for d in range(13):
        y = x * 10.0**d
        if top * 10.0**d > 1e12:
            return None
        if np.all(np.abs(y - np.round(y)) <= 1e-3):
            return d
    return None


@dataclasses.dataclass
class _Column:
    name: Any  # the label in the table (any hashable)
    values: np.ndarray  # float64, NaN for missing
    decimals: int | None
    low: float | None = None
    high: float | None = None


def _plan(df: pd.DataFrame, schema, *, for_embedding: bool) -> tuple[list[_Column], dict[str, str]]:
    """Columns that can hold the mark, and why each other column cannot."""
    usable: list[_Column] = []
    skipped: dict[str, str] = {}
    names = set(schema.names) if schema is not None else set()
    for name in df.columns:
        series = df[name]
        label = str(name)
        col = schema[name] if isinstance(name, str) and name in names else None
        if col is not None and col.kind.value != "numeric":
            skipped[label] = f"{col.kind.value} column: only numeric cells carry the mark"
            continue
        if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
            skipped[label] = "not numeric: only numeric cells carry the mark"
            continue
        values = series.to_numpy(dtype=float, na_value=np.nan)
        integer = pd.api.types.is_integer_dtype(series.dtype) or bool(col is not None and col.integer)
        decimals = col.decimals if col is not None and col.decimals is not None else (0 if integer else None)
        if decimals is None:
            decimals = _infer_decimals(values)
        low = high = None
        if for_embedding:
            if col is not None:
                low, high = col.minimum, col.maximum
            elif np.isfinite(values).any():
                low, high = float(np.nanmin(values)), float(np.nanmax(values))
        usable.append(_Column(name, values, decimals, low, high))
    return usable, skipped


def _check_common(df: Any, schema: Any, digit: Any) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"the watermark works on a pandas DataFrame, got {type(df).__name__}",
                             hint="read the table first with synthgov.read(...)")
    if df.columns.has_duplicates:
        raise InputError("the table has duplicate column names", hint="rename them so each is unique")
    if len(df) == 0:
        raise InputError("the table has no rows: there is nothing to mark or test")
    if schema is not None:
        from ..table.schema import TableSchema

        if not isinstance(schema, TableSchema):
            raise ParameterError(f"schema must be a TableSchema, got {type(schema).__name__}")
    if isinstance(digit, bool) or not isinstance(digit, int) or digit not in _DIGITS:
        raise ParameterError(f"digit must be an integer from {_DIGITS.start} to {_DIGITS.stop - 1}, got {digit!r}",
                             hint=f"the default, {DEFAULT_DIGIT}, moves values by at most 0.1%")


def _no_cells(skipped: dict[str, str], digit: int) -> InputError:
    reasons = "; ".join(f"{name}: {why}" for name, why in list(skipped.items())[:8])
    return InputError(
        "the table has no cells that can carry a watermark"
        + (f" ({reasons})" if reasons else ""),
        hint=f"the mark needs numeric values with at least {digit} significant digits that are not all repeats"
             " (e.g. amounts, incomes, measurements); small integer counts and categories cannot carry it",
        details={"skipped": skipped},
    )


# -- embedding -----------------------------------------------------------------------
def embed(df: pd.DataFrame, key: str | bytes, *, schema=None, strength: float = 1.0,
          digit: int = DEFAULT_DIGIT, columns: Iterable[str] | None = None, rows=None) -> pd.DataFrame:
    """Return a copy of ``df`` carrying the watermark of ``key`` (``df`` is not changed).

    Args:
        df: the synthetic table.
        key: the secret, text or bytes (see the module notes on keys).
        schema: the table's :class:`~synthgov.TableSchema`; its kinds, integer flags,
            decimals, bounds and constraints are respected. Without one, numeric dtypes
            are marked, decimals are read from the values and the observed range is kept.
        strength: share in (0, 1] of the markable cells that are moved when they lie in
            a red interval (lower means fewer edits and a weaker mark).
        digit: the significant digit that carries the mark (2..7); :func:`detect` must use the same.
        columns: mark only these columns (e.g. the replaced columns of a partial release).
        rows: a boolean mask (one entry per row) of the rows to mark (e.g. ``df["_synthetic"]``
            in a hybrid release, so real rows keep their values).

    Raises:
        ParameterError: an empty or non-text key, a bad ``strength``/``digit``/``columns``/``rows``.
        InputError: a table with no rows, or no cell that can carry the mark.
    """
    _check_common(df, schema, digit)
    only = _row_mask(df, rows)
    k0, k1 = _derive(key)
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 < strength <= 1:
        raise ParameterError(f"strength must be a number in (0, 1], got {strength!r}",
                             hint="1 moves every markable cell that lies in a red interval")
    chosen, skipped = _plan(df, schema, for_embedding=True)
    if columns is not None:
        wanted = [columns] if isinstance(columns, str) else list(columns)
        unknown = [str(c) for c in wanted if c not in df.columns]
        if unknown:
            raise ParameterError(f"unknown column(s) to mark: {', '.join(unknown)}",
                                 hint=f"columns are: {', '.join(map(str, df.columns))}")
        skipped.update({str(c.name): "not selected" for c in chosen if c.name not in wanted})
        chosen = [c for c in chosen if c.name in wanted]
    select = np.random.default_rng(int.from_bytes(hmac.new(_key_bytes(key), KEY_CONTEXT + b"/select",
                                                           hashlib.sha256).digest()[:8], "little"))
    out = df.copy()
    changed: dict[str, np.ndarray] = {}
    markable = 0
    for col in chosen:
        x = col.values if col.decimals is None else np.round(col.values, col.decimals)
        quantum = 0.0 if col.decimals is None else 10.0 ** -col.decimals
        ok, ids, half, width = _cells(x, digit, quantum)
        ok = _not_heaped(x, ok)
        if only is not None:
            ok &= only
        count = int(ok.sum())
        if count == 0:
            skipped[str(col.name)] = "no value has enough significant digits, or every value repeats"
            continue
        markable += count
        pos = np.flatnonzero(ok)
        green = _green_bits(k0, k1, ids[pos])
        move = green != half[pos]
        if strength < 1:
            move &= select.random(pos.size) < strength
        pos, green = pos[move], green[move]
        step = (green - half[pos]).astype(float) * width[pos]
        new = np.sign(x[pos]) * (np.abs(x[pos]) + step)
        if col.decimals is not None:
            new = np.round(new, col.decimals)
        inside = np.ones(new.shape, dtype=bool)
        if isinstance(col.low, (int, float)) and not isinstance(col.low, bool):
            inside &= new >= col.low
        if isinstance(col.high, (int, float)) and not isinstance(col.high, bool):
            inside &= new <= col.high
        pos, new = pos[inside], new[inside]
        if pos.size:
            _write(out, col.name, df[col.name], pos, new)
            changed[col.name] = pos
    if markable == 0:
        raise _no_cells(skipped, digit)
    if schema is not None and schema.constraints:
        _keep_constraints(df, out, schema.constraints, changed)
    return out


def _row_mask(df: pd.DataFrame, rows) -> np.ndarray | None:
    if rows is None:
        return None
    mask = np.asarray(rows)
    if mask.dtype != bool or mask.shape != (len(df),):
        raise ParameterError(f"rows must be a boolean mask with one entry per row ({len(df)}),"
                             f" got {mask.dtype} of shape {mask.shape}",
                             hint='e.g. rows=df["_synthetic"] to mark only the synthetic rows of a hybrid release')
    return mask


def _write(out: pd.DataFrame, name: str, original: pd.Series, pos: np.ndarray, new: np.ndarray) -> None:
    """Put ``new`` at row positions ``pos`` of column ``name``, keeping its dtype."""
    dtype = original.dtype
    if isinstance(dtype, np.dtype):
        values = original.to_numpy(copy=True)
        values[pos] = new.astype(dtype) if dtype.kind in "iu" else new
        out[name] = pd.Series(values, index=original.index, name=original.name)
    else:  # pandas extension dtypes (Int64, Float64, ...)
        series = original.copy()
        target = new.astype(np.int64) if pd.api.types.is_integer_dtype(dtype) else new
        series.iloc[pos] = pd.array(target, dtype=dtype)
        out[name] = series


def _keep_constraints(before: pd.DataFrame, out: pd.DataFrame, constraints, changed: dict[str, np.ndarray]) -> None:
    """Undo the edits of rows where a constraint held before embedding and fails after it."""
    held = [np.asarray(con.check(before), dtype=bool) for con in constraints]
    for _ in range(len(constraints) + 1):
        undone = False
        for con, ok_before in zip(constraints, held, strict=True):
            broken = np.flatnonzero(ok_before & ~np.asarray(con.check(out), dtype=bool))
            if broken.size == 0:
                continue
            for name in con.columns:
                if name in changed:
                    rows = np.intersect1d(changed[name], broken)
                    if rows.size:
                        column = out.columns.get_loc(name)
                        out.iloc[rows, column] = before.iloc[rows, column]
                        changed[name] = np.setdiff1d(changed[name], rows)
                        undone = True
        if not undone:
            return


# -- detection -----------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ColumnDetection:
    """One column's share of the evidence (named as in the table tested)."""

    name: str
    cells_used: int
    green_share: float
    z: float


@dataclasses.dataclass(frozen=True)
class Detection:
    """The outcome of :func:`detect`.

    Attributes:
        p_value: an upper bound (Hoeffding) on the chance that a table this key never
            marked shows a green share at least this high. Small means "marked".
        z: the green count's excess over one half, in null standard deviations.
        cells_used: the cells tested (numeric, enough significant digits, not heaped).
        green_share: the share of those cells in green intervals (about 0.5 unmarked, near 1 marked).
        columns: the per-column breakdown.
        skipped: ``(column, reason)`` for every column that could not be tested.
        digit: the significant digit tested.
    """

    p_value: float
    z: float
    cells_used: int
    green_share: float
    columns: tuple[ColumnDetection, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    digit: int = DEFAULT_DIGIT

    @property
    def log10_p_value(self) -> float:
        """``log10`` of the p-value bound, finite where ``p_value`` underflows to 0 (``-z**2 / (2 ln 10)``)."""
        return 0.0 if not self.z > 0 else -0.5 * self.z * self.z / math.log(10)

    def significant(self, alpha: float = 1e-6) -> bool:
        """Whether the mark is present at level ``alpha`` (``p_value < alpha``)."""
        return self.p_value < alpha

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view."""
        return {
            "p_value": self.p_value, "log10_p_value": self.log10_p_value, "z": self.z, "cells_used": self.cells_used,
            "green_share": self.green_share, "digit": self.digit,
            "columns": [dataclasses.asdict(c) for c in self.columns],
            "skipped": {name: why for name, why in self.skipped},
        }


def _p_value(z: float) -> float:
    return 1.0 if not z > 0 else float(math.exp(-0.5 * z * z))


def detect(df: pd.DataFrame, key: str | bytes, *, schema=None, digit: int = DEFAULT_DIGIT) -> Detection:
    """Test whether ``df`` carries the watermark of ``key``.

    Column names and order, row order and any file metadata are ignored. ``schema`` (optional)
    only supplies decimals for columns that keep their names; otherwise they are read from the values.

    Raises:
        ParameterError: an empty or non-text key, a bad ``digit``.
        InputError: a table with no rows or no cell that could carry the mark.
    """
    return detect_many(df, [key], schema=schema, digit=digit)[0]


def detect_many(df: pd.DataFrame, keys: Iterable[str | bytes], *, schema=None,
                digit: int = DEFAULT_DIGIT) -> list[Detection]:
    """:func:`detect` for several keys at once (which of our keys marked this table?).

    The cells are read once and the keys are tested together, so a thousand keys take
    seconds. Each :class:`Detection` is a test of its own key: when you try many keys,
    compare the p-values with ``alpha / len(keys)``.
    """
    _check_common(df, schema, digit)
    if isinstance(keys, (str, bytes)):
        raise ParameterError("keys must be a list of keys", hint="use detect(df, key) for one key")
    derived = [_derive(k) for k in keys]
    if not derived:
        raise ParameterError("no keys to test", hint="pass at least one key")
    columns, skipped = _plan(df, schema, for_embedding=False)
    names, col_of, all_ids, all_half = [], [], [], []
    for col in columns:
        quantum = 0.0 if col.decimals is None else 10.0 ** -col.decimals
        x = col.values if col.decimals is None else np.round(col.values, col.decimals)
        ok, ids, half, _ = _cells(x, digit, quantum)
        ok = _not_heaped(x, ok)
        if not ok.any():
            skipped[str(col.name)] = "no value has enough significant digits, or every value repeats"
            continue
        col_of.append(np.full(int(ok.sum()), len(names)))
        names.append(str(col.name))
        all_ids.append(ids[ok])
        all_half.append(half[ok])
    if not names:
        raise _no_cells(skipped, digit)
    col_of, ids, half = np.concatenate(col_of), np.concatenate(all_ids), np.concatenate(all_half)
    pairs, inverse = np.unique(ids, return_inverse=True)
    upper = half.astype(float)
    # per pair and column: (cells in upper half) - (cells in lower half); green count = lower + bit * diff
    diff = sparse.csr_matrix((2 * upper - 1, (inverse, col_of)), shape=(pairs.size, len(names)))
    diff.sum_duplicates()
    lower_c = np.bincount(col_of, weights=1 - upper, minlength=len(names))
    cells_c = np.bincount(col_of, minlength=len(names)).astype(float)
    sd_c = np.sqrt(np.asarray(diff.multiply(diff).sum(axis=0)).ravel()) / 2  # column-wise pooling
    pooled = np.asarray(diff.sum(axis=1)).ravel()
    sd = float(np.sqrt(np.sum(pooled**2)) / 2)
    results: list[Detection] = []
    chunk = max(1, 1_000_000 // max(1, pairs.size))
    skipped_items = tuple(skipped.items())
    for start in range(0, len(derived), chunk):
        block = np.array(derived[start:start + chunk], dtype=np.uint64)
        bits = _siphash24(block[:, :1], block[:, 1:], pairs[None, :]) & np.uint64(1)
        bits = bits.astype(float)
        green = bits @ pooled + lower_c.sum()
        green_c = np.asarray((diff.T @ bits.T).T) + lower_c
        for i in range(bits.shape[0]):
            z = float((green[i] - cells_c.sum() / 2) / sd) if sd > 0 else 0.0
            per_col = tuple(
                ColumnDetection(name, int(cells_c[c]), float(green_c[i, c] / cells_c[c]),
                                float((green_c[i, c] - cells_c[c] / 2) / sd_c[c]) if sd_c[c] > 0 else 0.0)
                for c, name in enumerate(names)
            )
            results.append(Detection(p_value=_p_value(z), z=z, cells_used=int(cells_c.sum()),
                                     green_share=float(green[i] / cells_c.sum()), columns=per_col,
                                     skipped=skipped_items, digit=digit))
    return results
