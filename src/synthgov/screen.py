"""A data-poisoning screen to run on a table before fitting a generator on it.

:func:`screen` looks for three signs that rows were planted to distort what a
model learns, and returns a :class:`ScreenReport` naming each suspicious row
with a score in (0, 1] and the reasons, without repeating any of its values:

* **near-duplicate clusters**: many rows that agree on every categorical column
  and lie within a small fraction of the interquartile range on the numeric ones
  (injected copies of a crafted record, with or without small jitter), far more
  of them than the columns' frequencies would predict;
* **injected outliers**: numeric values far beyond the bulk of their column,
  measured in 1st-99th percentile ranges past the 1st or 99th percentile;
* **inconsistent labels** (only with ``label=``): rows whose label disagrees with
  almost all of their nearest neighbours on the other columns (label flipping).

It is a screen, not a proof: a flagged row deserves a look, an unflagged table
is not shown to be clean, and a careful attacker can plant rows that pass.

>>> import pandas as pd
>>> df = pd.DataFrame({"x": [float(i % 50) for i in range(200)], "g": ["a", "b"] * 100})
>>> df.loc[200] = [1e6, "a"]
>>> report = screen(df)
>>> list(report.suspicious)
[200]
>>> report.counts["outlier"], report.counts["near_duplicate"]
(1, 0)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError, ParameterError
from .table.infer import schema_for
from .table.schema import Kind, TableSchema

__all__ = ["screen", "ScreenReport", "FlaggedRow", "CHECKS"]

#: The checks, in the order reasons are listed.
CHECKS = ("near_duplicate", "outlier", "label")
#: Rows used as neighbours for the label check; larger tables are subsampled (seeded).
MAX_REFERENCE_ROWS = 5_000
#: Numeric dimensions of the near-duplicate grid; more columns are randomly projected to this many.
MAX_GRID_DIMENSIONS = 4
#: Labels with more distinct values than this are treated as continuous and refused.
MAX_LABEL_LEVELS = 50


@dataclasses.dataclass(frozen=True)
class FlaggedRow:
    """One suspicious row: its index label in the input, a score in (0, 1] and the reasons."""

    index: Any
    score: float
    checks: tuple[str, ...]
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        index = self.index.item() if isinstance(self.index, np.generic) else self.index
        return {"index": index if isinstance(index, (int, float, str)) else str(index),
                "score": round(float(self.score), 6), "checks": list(self.checks), "reasons": list(self.reasons)}


@dataclasses.dataclass(frozen=True)
class ScreenReport:
    """What :func:`screen` found.

    Attributes:
        rows: the flagged rows, highest score first.
        counts: flagged rows per check (a row may count under several).
        n_rows: rows screened.
        clusters: near-duplicate clusters (id, size), largest first.
        parameters: the settings used.
        notes: what the reader must know (subsampling, columns left out).
    """

    rows: tuple[FlaggedRow, ...]
    counts: dict[str, int]
    n_rows: int
    clusters: tuple[dict[str, int], ...]
    parameters: dict[str, Any]
    notes: tuple[str, ...] = ()
    positions: tuple[int, ...] = dataclasses.field(default=(), repr=False)

    @property
    def suspicious(self) -> pd.Index:
        """Index labels of the flagged rows, in input order."""
        positions = self.positions or tuple(range(len(self.rows)))
        order = sorted(range(len(self.rows)), key=positions.__getitem__)
        return pd.Index([self.rows[i].index for i in order])

    def to_frame(self) -> pd.DataFrame:
        """One line per flagged row: index, score, checks and reasons joined by '; '."""
        return pd.DataFrame({"index": [r.index for r in self.rows], "score": [r.score for r in self.rows],
                             "checks": [", ".join(r.checks) for r in self.rows],
                             "reasons": ["; ".join(r.reasons) for r in self.rows]})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view (no values from the table, only index labels and column names)."""
        return {"n_rows": self.n_rows, "flagged": len(self.rows), "counts": dict(self.counts),
                "clusters": [dict(c) for c in self.clusters], "parameters": dict(self.parameters),
                "notes": list(self.notes), "rows": [r.to_dict() for r in self.rows]}


# -- parameter checks ---------------------------------------------------------
def _number(name: str, value: Any, *, low: float, high: float = math.inf, integer: bool = False) -> None:
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not (low <= value <= high) or value != value:
        what = "an integer" if integer else "a number"
        raise ParameterError(f"{name} must be {what} in [{low}, {high}], got {value!r}")


# -- encoding -----------------------------------------------------------------
def _columns(df: pd.DataFrame, schema: TableSchema) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[str]]:
    """Numeric columns as float arrays, categorical columns as integer codes (-1 missing); skipped names."""
    numeric: dict[str, np.ndarray] = {}
    categorical: dict[str, np.ndarray] = {}
    skipped: list[str] = []
    for name in df.columns:
        kind = schema[name].kind
        values = df[name]
        if kind is Kind.NUMERIC:
            numeric[name] = pd.to_numeric(values.astype(float) if pd.api.types.is_bool_dtype(values) else values,
                                          errors="coerce").to_numpy(dtype=float, copy=True)
        elif kind is Kind.DATETIME:
            parsed = pd.to_datetime(values, errors="coerce", utc=True)
            numeric[name] = ((parsed - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(float, copy=True)
        elif kind in (Kind.CATEGORICAL, Kind.BOOLEAN):
            categorical[name] = pd.factorize(values.astype(object), use_na_sentinel=True)[0]
        else:
            skipped.append(str(name))
    for x in numeric.values():
        x[~np.isfinite(x)] = np.nan
    return numeric, categorical, skipped


def _robust(x: np.ndarray) -> tuple[float, float]:
    """(median, interquartile range) of the finite values, with fallbacks for flat columns."""
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return 0.0, 1.0
    q10, q25, q50, q75, q90 = np.percentile(finite, [10, 25, 50, 75, 90])
    for spread in (q75 - q25, q90 - q10, float(finite.std()), 1.0):
        if spread > 0:
            return float(q50), float(spread)
    return float(q50), 1.0


# -- checks -------------------------------------------------------------------
def _grid_coordinates(numeric, width: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Numeric columns as robust z-scores in units of ``width``; with more than
    :data:`MAX_GRID_DIMENSIONS` columns, their projections on that many random unit directions
    (so jitter on many columns does not scatter copies over many cells) plus the missing pattern."""
    scaled = {}
    for name, x in numeric.items():
        med, iqr = _robust(x)
        scaled[name] = (x - med) / (iqr * width)
    if len(scaled) <= MAX_GRID_DIMENSIONS:
        return scaled
    z = np.column_stack(list(scaled.values()))
    missing = np.isnan(z)
    z = np.where(missing, 0.0, z)
    directions = rng.standard_normal((z.shape[1], MAX_GRID_DIMENSIONS))
    directions /= np.linalg.norm(directions, axis=0)
    out = {f"projection {j}": z @ directions[:, j] for j in range(MAX_GRID_DIMENSIONS)}
    if missing.any():
        pattern = pd.util.hash_pandas_object(pd.DataFrame(missing), index=False).to_numpy()
        out["missing pattern"] = pd.factorize(pattern)[0].astype(float)
    return out


def _near_duplicates(numeric, categorical, n: int, width: float, min_size: int, lift: float,
                     rng: np.random.Generator):
    """Cluster size per row (0 when not in a flagged cluster), its size over the size expected if the
    columns were independent, and a cluster id per row (-1: none)."""
    size = np.zeros(n, dtype=np.int64)
    ratio = np.zeros(n)
    best_key = np.zeros(n, dtype=np.int64)
    scaled = _grid_coordinates(numeric, width, rng)
    for grid, offset in enumerate((0.0, 0.5)):  # two grids half a cell apart: jitter across a cell edge still groups
        cols = {f"n:{k}": np.where(np.isnan(v), np.iinfo(np.int64).min, np.floor(v + offset)).astype(np.int64)
                for k, v in scaled.items()}
        cols.update({f"c:{k}": v for k, v in categorical.items()})
        frame = pd.DataFrame(cols)
        keys = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        row_counts = counts[inverse]
        # log of the cell size expected if every column were independent: n * prod_j share of the row's value
        log_expected = np.full(n, math.log(n))
        for values in cols.values():
            _, inv, cnt = np.unique(values, return_inverse=True, return_counts=True)
            log_expected += np.log(cnt[inv] / n)
        row_ratio = row_counts / np.exp(log_expected)
        better = (row_counts >= min_size) & (row_ratio >= lift) & (row_counts > size)
        size = np.where(better, row_counts, size)
        ratio = np.where(better, row_ratio, ratio)
        best_key = np.where(better, inverse.astype(np.int64) * 2 + grid, best_key)
    cluster = np.full(n, -1, dtype=np.int64)
    flagged = size > 0
    if flagged.any():
        # number the clusters largest first (cells of the two grids may overlap: each row joins its larger cell)
        ids, first = np.unique(best_key[flagged], return_index=True)
        sizes = size[flagged][first]
        order = np.argsort(-sizes, kind="stable")
        rank = np.empty(len(ids), dtype=np.int64)
        rank[order] = np.arange(len(ids))
        cluster[flagged] = rank[np.searchsorted(ids, best_key[flagged])]
    return size, ratio, cluster


def _outliers(numeric, n: int, fence: float) -> tuple[np.ndarray, list[list[str]], list[str]]:
    """Largest tail distance per row (in 1st-99th percentile ranges past the 1st/99th percentile),
    the reasons, and the columns too concentrated on one value to be checked."""
    worst = np.zeros(n)
    reasons: list[list[str]] = [[] for _ in range(n)]
    unchecked = []
    for name, x in numeric.items():
        finite = x[np.isfinite(x)]
        if finite.size < 10:
            unchecked.append(name)
            continue
        q1, q99 = np.percentile(finite, [1, 99])
        spread = q99 - q1
        if spread <= 0:
            unchecked.append(name)
            continue
        with np.errstate(invalid="ignore"):
            above = (x - q99) / spread
            below = (q1 - x) / spread
        tail = np.nan_to_num(np.fmax(above, below), nan=0.0)
        for i in np.flatnonzero(tail > fence):
            side = "above the 99th" if above[i] > 0 else "below the 1st"
            reasons[i].append(f"column '{name}' lies {tail[i]:.1f} times the 1st-99th percentile range {side} "
                              "percentile")
        worst = np.maximum(worst, tail)
    return worst, reasons, unchecked


def _encode_for_neighbours(numeric, categorical, n: int) -> np.ndarray:
    """Numeric columns as robust z-scores clipped to [-3, 3] and divided by 6 (plus a missing flag);
    categorical columns one-hot / sqrt(2), so one mismatch adds 1 to the squared distance."""
    parts = []
    for x in numeric.values():
        med, iqr = _robust(x)
        miss = np.isnan(x)
        parts.append((np.clip((np.where(miss, med, x) - med) / iqr, -3, 3) / 6)[:, None])
        if miss.any():
            parts.append(miss[:, None].astype(float))
    for codes in categorical.values():
        k = int(codes.max()) + 2
        if k > 200:  # very many levels: keep the 199 most frequent apart, the rest share a slot
            top = np.argsort(-np.bincount(codes + 1))[:199]
            remap = np.full(k, 199)
            remap[top] = np.arange(len(top))
            codes, k = remap[codes + 1] - 1, 200
        onehot = np.zeros((n, k), dtype=np.float32)
        onehot[np.arange(n), codes + 1] = 1 / np.sqrt(2)
        parts.append(onehot)
    if not parts:
        return np.zeros((n, 1), dtype=np.float32)
    return np.hstack(parts).astype(np.float32)


def _label_agreement(matrix: np.ndarray, labels: np.ndarray, k: int, rng: np.random.Generator):
    """Share of each row's k nearest neighbours (itself excluded) that carry its label; rows used as reference."""
    from sklearn.neighbors import NearestNeighbors

    n = len(labels)
    ref = np.arange(n) if n <= MAX_REFERENCE_ROWS else np.sort(rng.choice(n, MAX_REFERENCE_ROWS, replace=False))
    k = min(k, len(ref) - 1)
    nn = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(matrix[ref])
    agree = np.empty(n)
    for start in range(0, n, 8192):
        rows = np.arange(start, min(n, start + 8192))
        _, idx = nn.kneighbors(matrix[rows])
        neighbours = ref[idx]
        not_self = neighbours != rows[:, None]
        # keep the first k neighbours that are not the row itself
        keep = not_self & (np.cumsum(not_self, axis=1) <= k)
        same = (labels[neighbours] == labels[rows][:, None]) & keep
        agree[rows] = same.sum(axis=1) / keep.sum(axis=1)
    return agree, len(ref)


# -- the screen ---------------------------------------------------------------
def screen(df: pd.DataFrame, *, schema: TableSchema | None = None, label: str | None = None,
           min_cluster: int = 20, cluster_share: float = 0.002, cluster_width: float = 0.02, cluster_lift: float = 20.0,
           outlier_fence: float = 3.0, neighbours: int = 10, label_agreement: float = 0.1,
           random_state: int = 0) -> ScreenReport:
    """Screen ``df`` for rows that look planted: near-duplicate clusters, outliers, flipped labels.

    Args:
        df: the table, before fitting. Identifier and free-text columns are not used.
        schema: its :class:`~synthgov.TableSchema` (inferred when ``None``).
        label: a categorical column whose values are checked against each row's neighbours.
        min_cluster, cluster_share: a near-duplicate cluster is flagged when it holds at least
            ``max(min_cluster, cluster_share * len(df))`` rows.
        cluster_width: rows count as near-identical when every numeric value falls in the same
            cell of width ``cluster_width`` interquartile ranges (on one of two offset grids) and
            every categorical value is equal. Tables with more numeric columns than
            :data:`MAX_GRID_DIMENSIONS` are compared on that many random projections of them.
        cluster_lift: ... and the cluster holds at least this many times the rows expected if the
            columns were independent (so the common combinations of categorical data are not flagged).
        outlier_fence: a numeric value is an outlier when it lies more than this many times the
            1st-99th percentile range above the 99th (or below the 1st) percentile. More than 1% of
            a column's rows planted at one extreme moves that percentile and hides them.
        neighbours: neighbours compared for the label check.
        label_agreement: a label is flagged when at most this share of its neighbours carry it
            (and less than its share of the whole table, so rare classes are not flagged for
            being rare).
        random_state: seed for the neighbour subsample on tables over
            :data:`MAX_REFERENCE_ROWS` rows and for the random projections of the near-duplicate
            grid (tables with more than :data:`MAX_GRID_DIMENSIONS` numeric columns).
    """
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"screen needs a pandas DataFrame, got {type(df).__name__}",
                             hint="read the file first with synthgov.read(path)")
    if len(df) == 0 or df.shape[1] == 0:
        raise InputError("the table to screen has no rows" if len(df) == 0 else "the table to screen has no columns",
                         hint="pass a table with at least one row and one column")
    _number("min_cluster", min_cluster, low=2, integer=True)
    _number("cluster_share", cluster_share, low=0.0, high=1.0)
    _number("cluster_width", cluster_width, low=1e-9, high=10.0)
    _number("cluster_lift", cluster_lift, low=1.0)
    _number("outlier_fence", outlier_fence, low=0.0)
    _number("neighbours", neighbours, low=1, high=100, integer=True)
    _number("label_agreement", label_agreement, low=0.0, high=1.0)
    _number("random_state", random_state, low=0, integer=True)
    schema = schema_for(df, schema)
    if label is not None:
        if not isinstance(label, str):
            raise ParameterError(f"label must be a column name, got {label!r}")
        if label not in df.columns:
            raise ParameterError(f"label column '{label}' is not in the table",
                                 hint=f"columns are: {', '.join(map(str, df.columns))}")
        levels = df[label].nunique(dropna=True)
        if schema[label].kind in (Kind.IDENTIFIER, Kind.TEXT) or levels > MAX_LABEL_LEVELS:
            raise ParameterError(f"label column '{label}' has {levels} distinct values; the label check needs a "
                                 f"categorical column with at most {MAX_LABEL_LEVELS}",
                                 hint="name a class column, or leave label out")
    n = len(df)
    numeric, categorical, skipped = _columns(df, schema)
    notes = [f"columns not screened (identifier or free text): {', '.join(map(repr, skipped))}"] if skipped else []
    threshold = max(int(min_cluster), int(math.ceil(cluster_share * n)))
    size, ratio, cluster = _near_duplicates(numeric, categorical, n, float(cluster_width), threshold,
                                           float(cluster_lift), np.random.default_rng(random_state))
    tail, out_reasons, unchecked = _outliers(numeric, n, float(outlier_fence))
    if unchecked:
        notes.append("outlier check skipped column(s) with fewer than 10 values or 98% on one value: "
                     + ", ".join(map(repr, unchecked)))

    agree = None
    if label is not None:
        labels = pd.factorize(df[label].astype(object), use_na_sentinel=True)[0]
        features_num = {k: v for k, v in numeric.items() if k != label}
        features_cat = {k: v for k, v in categorical.items() if k != label}
        if n < 2 or not (features_num or features_cat):
            notes.append("label check not run: it needs at least two rows and one other column")
        else:
            matrix = _encode_for_neighbours(features_num, features_cat, n)
            agree, used = _label_agreement(matrix, labels, int(neighbours), np.random.default_rng(random_state))
            agree[labels < 0] = 1.0  # a missing label is not judged
            # a rare class is naturally outvoted by its neighbours: judge a label only when its share among
            # the neighbours is also below its share in the whole table
            prior = np.bincount(labels[labels >= 0], minlength=int(labels.max()) + 1) / max(1, (labels >= 0).sum())
            below_prior = np.ones(n, dtype=bool)
            below_prior[labels >= 0] = agree[labels >= 0] < prior[labels[labels >= 0]]
            if used < n:
                notes.append(f"label check: neighbours drawn from {used:,} of {n:,} rows (seed {random_state})")

    dup_hit = size > 0
    out_hit = tail > outlier_fence
    label_hit = (agree <= label_agreement) & below_prior if agree is not None else np.zeros(n, dtype=bool)
    scores = np.zeros(n)
    scores = np.where(dup_hit, np.maximum(scores, size / (size + threshold)), scores)
    scores = np.where(out_hit, np.maximum(scores, tail / (tail + outlier_fence + 1e-12)), scores)
    if agree is not None:
        scores = np.where(label_hit, np.maximum(scores, 1.0 - agree), scores)
    positions = np.flatnonzero(dup_hit | out_hit | label_hit)
    positions = positions[np.argsort(-scores[positions], kind="stable")]
    index = df.index
    rows = []
    for p in positions:
        checks, reasons = [], []
        if dup_hit[p]:
            checks.append("near_duplicate")
            reasons.append(f"one of {int(size[p])} near-identical rows (cluster {int(cluster[p])}), "
                           f"{min(ratio[p], 1e6):.0f} times as many as expected if the columns were independent")
        if out_hit[p]:
            checks.append("outlier")
            reasons.extend(out_reasons[p])
        if label_hit[p]:
            checks.append("label")
            share = float(agree[p])
            reasons.append(f"label '{label}' is shared by only {share:.0%} of its {int(neighbours)} "
                           "nearest neighbours on the other columns")
        rows.append(FlaggedRow(index=index[p], score=float(scores[p]), checks=tuple(checks), reasons=tuple(reasons)))
    clusters = []
    if dup_hit.any():
        ids, counts = np.unique(cluster[dup_hit], return_counts=True)
        clusters = [{"id": int(i), "size": int(c)} for i, c in zip(ids, counts, strict=True)]
    counts = {"near_duplicate": int(dup_hit.sum()), "outlier": int(out_hit.sum()),
              "label": int(label_hit.sum()) if agree is not None else None}
    parameters = {"label": label, "min_cluster": int(min_cluster), "cluster_share": float(cluster_share),
                  "cluster_threshold": threshold, "cluster_width": float(cluster_width),
                  "cluster_lift": float(cluster_lift),
                  "outlier_fence": float(outlier_fence), "neighbours": int(neighbours),
                  "label_agreement": float(label_agreement), "random_state": int(random_state)}
    return ScreenReport(rows=tuple(rows), counts=counts, n_rows=n, clusters=tuple(clusters),
                        parameters=parameters, notes=tuple(notes),
                        positions=tuple(int(p) for p in positions))
