"""Exact nearest-neighbour search in the distance-encoder space, shared by the privacy metrics and attacks.

Rows are compared in the space of :meth:`EvalData.distance_encoder
<synthgov.evaluate.data.EvalData.distance_encoder>`, where the Euclidean
distance is a Gower-like row distance (a categorical mismatch adds 1 to the
squared distance, a numeric difference adds its square as a share of the real
range). The search is exact. A float32 matrix product ranks the reference
rows for a block of queries (memory stays bounded on any reference size); every
reference row whose rounded value could place it among the ``k`` nearest (a
worst-case bound on float32 rounding) is then re-measured exactly in float64.
So identical rows are at distance exactly 0 and equal distances compare equal.
(Only if more than 256 reference rows lie within that rounding bound of a
query's ``k``-th nearest are the 256 best-ranked re-measured; a returned distance
can then exceed the true one by at most the bound.) Large searches are also
partitioned: rows are grouped by a few two-valued columns (one-hot slots,
missing indicators); rows of different groups are provably at least a fixed
distance apart, so a query whose neighbours within its own group are nearer
than that needs no other group, and the others scan everything; the answer is
the same. Callers cap the number of queries (never the references) and say so.

:func:`nearest` memoises through :meth:`EvalData.memo`, so metrics that need
the same search share it; :func:`encoded` memoises the encoding of whole tables.

>>> import numpy as np
>>> reference = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0]], dtype=np.float32)
>>> found = search(np.array([[0.0, 0.0], [3.0, 3.0]], dtype=np.float32), reference, k=2)
>>> found.distances.tolist()
[[0.0, 1.0], [1.0, 3.605551275]]
>>> found.indices.tolist()
[[0, 2], [1, 2]]
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..errors import ParameterError

__all__ = ["Neighbours", "encoded", "encoder", "nearest", "search", "TABLES"]

#: The tables of an EvalData that :func:`encoded` and :func:`nearest` accept by name.
TABLES = ("real", "synthetic", "holdout")
#: At most this many reference rows per query are re-measured exactly (rows tied within float32
#: rounding of the k-th nearest beyond this number are represented by the first ones).
_MAX_TIES = 256
#: Candidate coordinates re-measured per step (float64 scratch of ~32 MB).
_REFINE_CELLS = 4_000_000
#: Chunk sizes for ranking a reference chunk by chunk (see _within_reach): the largest c with at
#: least c * c reference rows is used.
_CHUNKS = (64, 16)
#: Rows of the query block times reference rows per block (float32 scratch of ~64 MB).
_BLOCK_CELLS = 16_000_000
#: Searches with fewer query x reference pairs than this scan everything (partitioning would not pay).
_PARTITION_MIN_PAIRS = 50_000_000
#: Partitioning: at most this many two-valued columns split the rows, each must shrink the expected
#: scanned share by this fraction, and the split is used only if a query scans at most this share.
_MAX_SPLIT_COLUMNS = 10
_MIN_SPLIT_GAIN = 0.1
_MAX_SCANNED_SHARE = 0.5
#: Queries tried first; if fewer than this share of them is answered within its group, no partition.
_PILOT_QUERIES = 64
_MIN_RESOLVED = 0.5
#: Two-valued columns whose values are closer than this are not used to split (the floor would be low).
_MIN_SPLIT_GAP = 0.5
#: Reference rows sampled (evenly spaced) to choose the split columns.
_SPLIT_SAMPLE = 4096
#: The ranking value of padding rows: larger than any real one, and finite.
_FAR = float(np.finfo(np.float32).max) / 4
#: Distances are rounded to this many decimals (far below float32 resolution), so ties are exact.
_DECIMALS = 9


@dataclasses.dataclass(frozen=True)
class Neighbours:
    """The ``k`` nearest reference rows of each query row, nearest first.

    Attributes:
        distances: ``(queries, k)`` float64 Euclidean distances in the encoder space.
        indices: ``(queries, k)`` int64 row positions in the reference.
    """

    distances: np.ndarray
    indices: np.ndarray


def _columns_key(columns: Sequence[str] | None) -> str:
    if columns is None:
        return "all"
    return hashlib.sha256("\x1f".join(map(str, columns)).encode("utf-8")).hexdigest()[:16]


def encoder(data, columns: Sequence[str] | None = None):
    """``data.distance_encoder(columns)``, built once per evaluation and column set."""
    cols = None if columns is None else list(columns)
    return data.memo(f"neighbours:encoder:{_columns_key(cols)}", lambda: data.distance_encoder(cols))


def encoded(data, table: str, columns: Sequence[str] | None = None) -> np.ndarray:
    """The float32 encoding of ``data.real``, ``data.synthetic`` or ``data.holdout`` (memoised).

    Row ``i`` of the matrix is row ``i`` (position) of the table.
    """
    if table not in TABLES:
        raise ParameterError(f"table must be one of {', '.join(TABLES)}, got {table!r}")
    frame = getattr(data, table)
    if frame is None:
        raise ParameterError(f"there is no {table} table to encode")
    cols = None if columns is None else list(columns)
    return data.memo(f"neighbours:encoded:{table}:{_columns_key(cols)}",
                     lambda: np.ascontiguousarray(encoder(data, cols)(frame), dtype=np.float32))


def _matrix(data, value, columns) -> np.ndarray:
    if isinstance(value, str):
        return encoded(data, value, columns)
    if isinstance(value, pd.DataFrame):
        return np.ascontiguousarray(encoder(data, columns)(value), dtype=np.float32)
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return value
    raise ParameterError("query and reference must each be a table name "
                         f"({', '.join(TABLES)}), a DataFrame of converted rows or an encoded matrix, "
                         f"got {type(value).__name__}")


def nearest(data, query, reference, *, k: int = 1, key: str | None, columns: Sequence[str] | None = None
            ) -> Neighbours:
    """The ``k`` nearest ``reference`` rows of each ``query`` row (exact), memoised under ``key``.

    Args:
        data: the :class:`~synthgov.evaluate.data.EvalData` (its encoder and memo are used).
        query, reference: each a table name (``"real"``, ``"synthetic"``, ``"holdout"``: the whole
            table, encoded once per evaluation), a DataFrame of rows converted like ``data``'s
            tables (e.g. from :meth:`EvalData.subsample`), or an already encoded float32 matrix.
        k: how many neighbours (at most the reference's row count).
        key: names this search in the evaluation's memo, so metrics asking for the same search
            share it (say what the query and reference are, e.g. ``"privacy:synthetic->holdout"``);
            ``None`` computes without memoising.
        columns: compare only these columns (default: every compared column).
    """
    if key is not None and not isinstance(key, str):
        raise ParameterError(f"key must be text or None, got {key!r}")

    def compute() -> Neighbours:
        return search(_matrix(data, query, columns), _matrix(data, reference, columns), k=k)

    if key is None:
        return compute()
    return data.memo(f"neighbours:{key}:{_columns_key(columns)}:k={k}", compute)


def search(query: np.ndarray, reference: np.ndarray, *, k: int = 1) -> Neighbours:
    """Exact ``k`` nearest neighbours of each ``query`` row among the ``reference`` rows (Euclidean).

    Distances are exact (identical rows are at 0); among reference rows at the same distance, which
    are returned may depend on the search path, but the result is deterministic. Large searches are
    partitioned (see :func:`_partitioned`); the distances are the same as a full scan's.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"k must be a positive integer, got {k!r}")
    query = np.asarray(query, dtype=np.float32)
    reference = np.asarray(reference, dtype=np.float32)
    if query.ndim != 2 or reference.ndim != 2 or query.shape[1] != reference.shape[1]:
        raise ParameterError(f"query {query.shape} and reference {reference.shape} must be matrices "
                             "with the same number of columns")
    if k > reference.shape[0]:
        raise ParameterError(f"k = {k} but the reference has only {reference.shape[0]} rows")
    if query.shape[0] * reference.shape[0] >= _PARTITION_MIN_PAIRS:
        found = _partitioned(query, reference, k)
        if found is not None:
            return found
    return _scan(query, reference, k)


def _scan(query: np.ndarray, reference: np.ndarray, k: int) -> Neighbours:
    """Exact search by scanning every reference row.

    A float32 matrix product ranks the reference rows for a block of queries; every row whose rounded
    value could place it among the ``k`` nearest (a conservative bound on float32 rounding) is then
    re-measured exactly in float64, and the ``k`` nearest are kept.
    """
    n_query, n_ref = query.shape[0], reference.shape[0]
    if n_query == 0:
        return Neighbours(np.zeros((0, k)), np.zeros((0, k), dtype=np.int64))
    # centring keeps float32 norms, and so rounding, small. One product gives |r|^2 - 2 q.r, the squared
    # distance less |q|^2 (constant per query row, so the ranking is the same): the reference carries
    # |r|^2 as an extra column, the query -2q and a 1
    centre = reference.mean(axis=0)
    width = reference.shape[1]
    # large references are ranked chunk by chunk: a chunk whose smallest value is out of reach is skipped
    chunk = next((c for c in _CHUNKS if n_ref >= c * c and -(-n_ref // c) >= k), 1)
    n_pad = -(-n_ref // chunk) * chunk
    ref = np.zeros((n_pad, width + 1), dtype=np.float32)
    np.subtract(reference, centre, out=ref[:n_ref, :width])
    ref[:n_ref, width] = np.einsum("ij,ij->i", ref[:n_ref, :width], ref[:n_ref, :width])
    ref[n_ref:, width] = _FAR  # padding rows are out of reach (finite: BLAS may multiply it by 0)
    qry = np.empty((n_query, width + 1), dtype=np.float32)
    np.subtract(query, centre, out=qry[:, :width])
    # worst-case float32 rounding of one product term: (2 d + 3) unit roundoffs of |q|^2 + |r|^2, doubled
    norms = np.einsum("ij,ij->i", qry[:, :width], qry[:, :width], dtype=np.float64)
    slack = 2.0 * (2 * width + 3) * 2.0 ** -24 * (norms + float(ref[:n_ref, width].max()))
    qry[:, :width] *= -2.0
    qry[:, width] = 1.0
    block = max(1, _BLOCK_CELLS // n_pad)
    distances = np.empty((n_query, k))
    indices = np.empty((n_query, k), dtype=np.int64)
    for start in range(0, n_query, block):
        stop = min(start + block, n_query)
        partial = qry[start:stop] @ ref.T
        rows, cols = _within_reach(partial, chunk, k, slack[start:stop])
        # exact re-measurement in float64 on the original coordinates, then the k nearest of each row
        dist = np.empty(len(rows))
        step = max(1, _REFINE_CELLS // width)
        for at in range(0, len(rows), step):
            diff = (reference[cols[at:at + step]].astype(np.float64)
                    - query[start + rows[at:at + step]].astype(np.float64))
            dist[at:at + step] = np.sqrt(np.einsum("cd,cd->c", diff, diff))
        dist = np.round(dist, _DECIMALS)
        order = np.lexsort((cols, dist, rows))
        rows, cols, dist = rows[order], cols[order], dist[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
        first = rank < k
        distances[start + rows[first], rank[first]] = dist[first]
        indices[start + rows[first], rank[first]] = cols[first]
    return Neighbours(distances, indices)


def _within_reach(partial: np.ndarray, chunk: int, k: int, slack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) pairs of ``partial`` that may hold one of the ``k`` smallest true values of their row.

    The ``k``-th smallest chunk minimum bounds each row's ``k``-th smallest value from above; values
    more than ``2 * slack`` above that bound cannot belong. Rows with more than :data:`_MAX_TIES`
    pairs keep those with the smallest values. Pairs come sorted by row.
    """
    b = partial.shape[0]
    mins = partial.reshape(b, -1, chunk).min(axis=2) if chunk > 1 else partial
    kth = mins.min(axis=1) if k == 1 else np.partition(mins, k - 1, axis=1)[:, k - 1]
    bound = (kth + 2.0 * slack).astype(np.float32)
    rows, slots = np.nonzero(mins <= bound[:, None])
    if chunk > 1:
        cols = (slots[:, None] * chunk + np.arange(chunk)).ravel()
        rows = np.repeat(rows, chunk)
        keep = partial[rows, cols] <= bound[rows]
        rows, cols = rows[keep], cols[keep]
    else:
        cols = slots
    values = partial[rows, cols]
    order = np.lexsort((values, rows))
    rows, cols = rows[order], cols[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
    keep = rank < max(_MAX_TIES, k)
    return rows[keep], cols[keep].astype(np.int64)


def _partitioned(query: np.ndarray, reference: np.ndarray, k: int) -> Neighbours | None:
    """Exact search that scans only part of the reference for most queries, or ``None`` if it would not pay.

    A few two-valued columns (one-hot slots of categorical columns, missing indicators) split the rows
    into groups by the pattern of values they take. Two rows in different groups differ in at least one
    of these columns, so their distance is at least ``floor``, the smallest gap between a chosen
    column's two values. Each query is first searched within its own group; when its ``k``-th
    neighbour there is closer than ``floor``, no row of another group can come nearer and the answer is
    exact. The other queries scan the whole reference. Large mixed tables, where nearest neighbours are
    close, gain most; a pilot on a few queries skips the partition when most would scan everything anyway.
    """
    chosen, floor = _split_columns(query, reference)
    if not chosen:
        return None
    ref_groups = _group_ids(reference, chosen)
    ref_order = np.argsort(ref_groups, kind="stable")
    ref_keys, ref_starts = np.unique(ref_groups[ref_order], return_index=True)
    ref_stops = np.r_[ref_starts[1:], len(ref_order)]

    def within_groups(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Search each of ``rows`` (query positions) in its own group: distances, indices, exact or not."""
        distances = np.empty((len(rows), k))
        indices = np.empty((len(rows), k), dtype=np.int64)
        resolved = np.zeros(len(rows), dtype=bool)
        query_groups = _group_ids(query[rows], chosen)
        query_order = np.argsort(query_groups, kind="stable")
        keys, starts = np.unique(query_groups[query_order], return_index=True)
        stops = np.r_[starts[1:], len(query_order)]
        at = np.minimum(np.searchsorted(ref_keys, keys), len(ref_keys) - 1)
        for key, start, stop, g in zip(keys, starts, stops, at, strict=True):
            if ref_keys[g] != key or ref_stops[g] - ref_starts[g] < k:
                continue
            mine = query_order[start:stop]
            members = ref_order[ref_starts[g]:ref_stops[g]]
            found = _scan(query[rows[mine]], reference[members], k)
            ok = found.distances[:, k - 1] < floor - 1e-6  # a margin far above rounding keeps the cut exact
            distances[mine[ok]] = found.distances[ok]
            indices[mine[ok]] = members[found.indices[ok]]
            resolved[mine[ok]] = True
        return distances, indices, resolved

    n_query = query.shape[0]
    pilot = np.arange(0, n_query, max(1, n_query // _PILOT_QUERIES))
    # many small products: one BLAS thread each is faster than waking and syncing several
    with threadpool_limits(limits=1, user_api="blas"):
        if within_groups(pilot)[2].mean() < _MIN_RESOLVED:
            return None
        distances, indices, resolved = within_groups(np.arange(n_query))
    rest = np.flatnonzero(~resolved)
    if rest.size:
        found = _scan(query[rest], reference, k)
        distances[rest], indices[rest] = found.distances, found.indices
    return Neighbours(distances, indices)


def _split_columns(query: np.ndarray, reference: np.ndarray) -> tuple[list[tuple[int, float]], float]:
    """Two-valued columns that split the reference into many small groups, each as (column, upper value),
    and the smallest gap between a chosen column's two values (the distance floor between groups)."""
    low = np.minimum(query.min(axis=0), reference.min(axis=0))
    high = np.maximum(query.max(axis=0), reference.max(axis=0))
    gap = (high - low).astype(np.float64)
    usable = np.flatnonzero(gap >= _MIN_SPLIT_GAP)
    # a sample of reference rows decides which columns are two-valued and how they split
    step = max(1, reference.shape[0] // _SPLIT_SAMPLE)
    sample = reference[::step][:, usable]
    two_valued = ((sample == low[usable]) | (sample == high[usable])).all(axis=0)
    usable, sample = usable[two_valued], sample[:, two_valued]
    if usable.size == 0:
        return [], 0.0
    bits = sample == high[usable]
    groups = np.zeros(len(sample), dtype=np.int64)
    chosen: list[int] = []
    score = 1.0  # sum of squared group shares: the expected share of the reference one query scans
    for _ in range(_MAX_SPLIT_COLUMNS):
        best, best_score = -1, score
        for j in range(bits.shape[1]):
            if j in chosen:
                continue
            counts = np.bincount(groups * 2 + bits[:, j])
            candidate = float(np.sum((counts / len(groups)) ** 2))
            if candidate < best_score:
                best, best_score = j, candidate
        if best < 0 or best_score > score * (1.0 - _MIN_SPLIT_GAIN):
            break
        chosen.append(best)
        groups = groups * 2 + bits[:, best]
        score = best_score
    if score > _MAX_SCANNED_SHARE:
        return [], 0.0
    # the columns must be two-valued over every row, not only the sample
    columns = [int(usable[j]) for j in chosen]
    checked = [c for c in columns if _two_valued(reference[:, c], low[c], high[c])
               and _two_valued(query[:, c], low[c], high[c])]
    if len(checked) < len(columns):
        return [], 0.0
    floor = float(np.min(gap[columns]))
    return [(c, float(high[c])) for c in columns], floor


def _two_valued(values: np.ndarray, low: float, high: float) -> bool:
    return bool(((values == low) | (values == high)).all())


def _group_ids(matrix: np.ndarray, chosen: list[tuple[int, float]]) -> np.ndarray:
    ids = np.zeros(matrix.shape[0], dtype=np.int64)
    for column, high in chosen:
        ids = ids * 2 + (matrix[:, column] == high)
    return ids
