"""Distance-based privacy metrics: exact copies, DCR and NNDR shares, a distance-based
membership-inference attack, and the most exposed training records.

Every figure here is an empirical measurement on one synthetic table. None is a
guarantee, and distances are not evidence of anonymity: a synthetic row far from
every real row can still reveal something about a person, and a strong attacker
may do better than the simple attack measured here.

Rows are compared in the space of :meth:`EvalData.distance_encoder
<synthgov.evaluate.data.EvalData.distance_encoder>` (a Gower-like distance: a
numeric difference counts as its share of the real range, a categorical
mismatch as 1), with exact nearest-neighbour search
(:mod:`synthgov.evaluate._neighbours`). Reference sets are searched completely
(all synthetic rows; the training and holdout rows after the one subsampling the
DCR design asks for: to equal sizes); the query rows are capped
(:data:`MAX_SYNTHETIC_QUERIES` synthetic rows, :data:`MAX_CANDIDATES` members
and as many non-members), drawn at random with seeded streams, and each
metric's ``details["method"]`` says so.

A hand-worked example. One numeric column: training rows 0, 4, 10 (range 10),
holdout rows 1, 5, 9, synthetic rows 0, 5.5, 9.5. Scaled by the range, the
synthetic row 0 is at 0 from a training row and 0.1 from a holdout row (closer
to training); 5.5 is 0.15 from training and 0.05 from holdout; 9.5 is 0.05 from
both (a tie, counted one half). So the DCR share is (1 + 0 + 0.5) / 3 = 0.5.

>>> import pandas as pd
>>> from synthgov.evaluate import EvalData, get_metric
>>> data = EvalData.prepare(pd.DataFrame({"x": [0.0, 4.0, 10.0]}), pd.DataFrame({"x": [0.0, 5.5, 9.5]}),
...                         holdout=pd.DataFrame({"x": [1.0, 5.0, 9.0]}))
>>> get_metric("dcr_share").compute(data).value
0.5
>>> get_metric("exact_copies").compute(data).value  # the synthetic 0 equals the training 0
0.3333333333333333
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from ._neighbours import Neighbours, encoded, encoder, nearest
from ._stats import wilson_interval
from .base import Metric, MetricResult, NotComputed

__all__ = [
    "ExactCopies",
    "DCRShare",
    "NNDRShare",
    "MembershipInferenceAUC",
    "ExposedRecords",
    "closer_share",
    "nndr",
    "roc_auc",
    "tpr_at_fpr",
    "MAX_SYNTHETIC_QUERIES",
    "MAX_CANDIDATES",
]

#: Synthetic rows whose distances to training and holdout rows are measured (more are subsampled, seeded).
MAX_SYNTHETIC_QUERIES = 2_000
#: Members (training rows) and as many non-members (holdout rows) attacked and checked for exposure.
MAX_CANDIDATES = 1_000
#: Share of the sampled training rows treated as outliers by ``exposed_records`` (at least MIN_OUTLIERS).
OUTLIER_SHARE = 0.01
MIN_OUTLIERS = 10
#: Rows shown in the exposed-records table.
TABLE_ROWS = 10
BOOTSTRAP_ROUNDS = 200
ROC_POINTS = 200
HISTOGRAM_BINS = 30
PERCENTILES = (5, 50, 95)
#: False-positive rates at which the attack's true-positive rate is reported.
LOW_FPRS = (0.01, 0.001)

_CAVEAT = ("This is an empirical measurement on this one synthetic table, not a guarantee, and distances are "
           "not evidence of anonymity.")


# -- small formulas (exact, tested by hand) ----------------------------------------------
def closer_share(to_a: np.ndarray, to_b: np.ndarray) -> float:
    """Share of rows with ``to_a < to_b``, ties counting one half.

    >>> closer_share(np.array([0.0, 2.0, 1.0]), np.array([1.0, 1.0, 1.0]))
    0.5
    """
    to_a, to_b = np.asarray(to_a, dtype=float), np.asarray(to_b, dtype=float)
    return float(np.mean((to_a < to_b) + 0.5 * (to_a == to_b)))


def nndr(distances: np.ndarray) -> np.ndarray:
    """Nearest-neighbour distance ratio d1 / d2 per row of a ``(rows, 2)`` distance matrix; 0 / 0 is 1.

    >>> nndr(np.array([[1.0, 4.0], [0.0, 2.0], [0.0, 0.0]])).tolist()
    [0.25, 0.0, 1.0]
    """
    d1, d2 = distances[:, 0], distances[:, 1]
    return np.divide(d1, d2, out=np.ones_like(d1, dtype=float), where=d2 > 0)


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties one half): the ROC AUC.

    >>> roc_auc(np.array([3.0, 2.0]), np.array([2.0, 1.0]))
    0.875
    """
    positive, negative = np.asarray(positive, dtype=float), np.asarray(negative, dtype=float)
    neg = np.sort(negative)
    below = np.searchsorted(neg, positive, side="left")
    equal = np.searchsorted(neg, positive, side="right") - below
    return float((below.sum() + 0.5 * equal.sum()) / (len(positive) * len(negative)))


def tpr_at_fpr(positive: np.ndarray, negative: np.ndarray, fpr: float) -> float:
    """The highest true-positive rate of a threshold rule ``score >= t`` whose false-positive rate is <= ``fpr``.

    >>> tpr_at_fpr(np.array([5.0, 4.0, 1.0, 0.5]), np.array([3.0, 2.0, 0.0, 0.0]), 0.25)
    0.5
    """
    positive, negative = np.asarray(positive, dtype=float), np.asarray(negative, dtype=float)
    neg_desc = np.sort(negative)[::-1]
    allowed = int(math.floor(fpr * len(negative) + 1e-9))
    # the loosest threshold with at most `allowed` negatives at or above it lies just above neg_desc[allowed]
    if allowed >= len(negative):
        return 1.0
    cutoff = neg_desc[allowed]
    return float(np.mean(positive > cutoff))


# -- shared plan: which rows are compared ------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Plan:
    synthetic_queries: np.ndarray   # positions in data.synthetic
    train_reference: np.ndarray     # positions in data.real, as many as holdout_reference
    holdout_reference: np.ndarray   # positions in data.holdout
    members: np.ndarray             # positions in data.real
    nonmembers: np.ndarray          # positions in data.holdout


def _positions(data, frame: pd.DataFrame, n: int, name: str) -> np.ndarray:
    return data.subsample(frame, n, name).index.to_numpy(dtype=np.int64)


def _plan(data) -> _Plan:
    def compute() -> _Plan:
        n_real, n_hold = len(data.real), len(data.holdout)
        size = min(n_real, n_hold)
        if size < 2:
            raise NotComputed(f"nearest-neighbour distances need at least 2 training and 2 holdout rows; "
                              f"there are {n_real} and {n_hold}")
        candidates = min(size, MAX_CANDIDATES)
        return _Plan(
            synthetic_queries=_positions(data, data.synthetic, MAX_SYNTHETIC_QUERIES, "privacy:synthetic_queries"),
            train_reference=_positions(data, data.real, size, "privacy:train_reference"),
            holdout_reference=_positions(data, data.holdout, size, "privacy:holdout_reference"),
            members=_positions(data, data.real, candidates, "privacy:members"),
            nonmembers=_positions(data, data.holdout, candidates, "privacy:nonmembers"),
        )

    return data.memo("privacy:plan", compute)


def _parts(data) -> dict[str, np.ndarray]:
    """The encoded rows of each part of the plan. Each table is encoded once: the union of the rows it lends."""
    def compute() -> dict[str, np.ndarray]:
        plan = _plan(data)
        out = {"synthetic_queries": encoded(data, "synthetic")[plan.synthetic_queries]}
        for table, parts in (("real", ("train_reference", "members")), ("holdout", ("holdout_reference", "nonmembers"))):
            frame = getattr(data, table)
            rows = np.unique(np.concatenate([getattr(plan, part) for part in parts]))
            matrix = encoded(data, table) if len(rows) == len(frame) else encoder(data)(frame.iloc[rows])
            for part in parts:
                out[part] = matrix[np.searchsorted(rows, getattr(plan, part))]
        return out

    return data.memo("privacy:encoded_parts", compute)


def _synthetic_to_references(data) -> tuple[Neighbours, Neighbours]:
    """The two nearest training-reference and holdout-reference rows of each synthetic query row."""
    parts = _parts(data)
    return tuple(nearest(data, parts["synthetic_queries"], parts[reference], k=2,
                         key=f"privacy:synthetic_queries->{reference}")
                 for reference in ("train_reference", "holdout_reference"))


def _isolation(data) -> tuple[np.ndarray, np.ndarray]:
    """How far each member lies from its closest holdout-reference row, and each non-member from its
    closest training-reference row (equally large references of real rows it is not part of)."""
    parts = _parts(data)
    return tuple(nearest(data, parts[query], parts[reference], k=1, key=f"privacy:{query}->{reference}"
                         ).distances[:, 0]
                 for query, reference in (("members", "holdout_reference"), ("nonmembers", "train_reference")))


def _candidates_to_synthetic(data) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each member and each non-member to its closest synthetic row (all synthetic rows)."""
    parts = _parts(data)
    m = len(parts["members"])
    found = nearest(data, np.vstack([parts["members"], parts["nonmembers"]]), "synthetic", k=1,
                    key="privacy:members+nonmembers->synthetic")
    return found.distances[:m, 0], found.distances[m:, 0]


def _reference_method(data) -> dict[str, Any]:
    plan = _plan(data)
    n_syn, n_ref = len(data.synthetic), len(plan.train_reference)
    queries = len(plan.synthetic_queries)
    parts = []
    parts.append("exact nearest-neighbour search" + ("" if queries == n_syn else
                                                     f"; synthetic rows subsampled to {queries} of {n_syn}"))
    if n_ref < len(data.real):
        parts.append(f"training rows subsampled to {n_ref} of {len(data.real)} to match the holdout")
    if n_ref < len(data.holdout):
        parts.append(f"holdout rows subsampled to {n_ref} of {len(data.holdout)} to match the training rows")
    return {"method": "; ".join(parts),
            "rows_used": {"synthetic": queries, "training_reference": n_ref, "holdout_reference": n_ref}}


def _candidate_method(data) -> dict[str, Any]:
    plan = _plan(data)
    m = len(plan.members)
    text = (f"exact nearest-neighbour search against all {len(data.synthetic)} synthetic rows; "
            f"{m} members (of {len(data.real)} training rows) and {m} non-members (of {len(data.holdout)} "
            "holdout rows) drawn at random")
    return {"method": text, "rows_used": {"members": m, "nonmembers": m, "synthetic": len(data.synthetic)}}


def _percentiles(values: np.ndarray) -> dict[str, float]:
    return {f"p{p}": float(v) for p, v in zip(PERCENTILES, np.percentile(values, PERCENTILES), strict=True)}


def _histograms(title: str, xlabel: str, series: dict[str, np.ndarray]) -> dict[str, Any]:
    pooled = np.concatenate(list(series.values()))
    top = float(np.percentile(pooled, 99)) if pooled.size else 1.0
    top = top if top > 0 else (float(pooled.max()) if pooled.size and pooled.max() > 0 else 1.0)
    edges = np.linspace(0.0, top, HISTOGRAM_BINS + 1)
    counts = {name: np.histogram(np.clip(values, 0.0, top), bins=edges)[0].tolist() for name, values in series.items()}
    return {"type": "histograms", "title": title, "xlabel": xlabel, "edges": [float(e) for e in edges],
            "series": counts}


def _rounded(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


# -- metrics -------------------------------------------------------------------------------
class ExactCopies(Metric):
    name = "exact_copies"
    family = "privacy"
    goal = "minimize"
    range = (0.0, 1.0)
    definition = (
        "Share of synthetic rows identical to at least one training row on every compared column (a missing "
        "value matches a missing value; numbers must be exactly equal). Lower is better, but zero is not "
        "required: a real population can contain identical records, so details give the same share for the "
        "holdout (real rows the generator never saw) as a baseline; a synthetic share well above it suggests "
        "memorised rows. All rows are compared (row hashes, exact). A low share does not make the data "
        "anonymous: a copy changed in one column is no longer exact but may still point at one person. "
        + _CAVEAT
    )
    source = "exact-match (identical record) rate, as in SDMetrics NewRowSynthesis and mostlyai-qa"

    def compute(self, data) -> MetricResult:
        real_hashes = data.memo("privacy:hashes:real", lambda: _row_hashes(data.real))
        syn_hashes = data.memo("privacy:hashes:synthetic", lambda: _row_hashes(data.synthetic))
        copied = _isin(syn_hashes, real_hashes)
        count = int(copied.sum())
        details: dict[str, Any] = {
            "count": count,
            "synthetic_rows": len(syn_hashes),
            "distinct_rows_reproduced": int(pd.unique(syn_hashes[copied]).size),
            "method": ("exact: every synthetic row compared with every training row (through 64-bit row hashes; a "
                       "false match is vanishingly unlikely)"),
            "rows_used": {"synthetic": len(syn_hashes), "training": len(real_hashes)},
        }
        if data.holdout is not None:
            hold_hashes = data.memo("privacy:hashes:holdout", lambda: _row_hashes(data.holdout))
            details["holdout_baseline"] = float(_isin(hold_hashes, real_hashes).mean())
            details["holdout_rows"] = len(hold_hashes)
            details["synthetic_matching_holdout"] = float(_isin(syn_hashes, hold_hashes).mean())
        else:
            details["holdout_baseline"] = None
        return MetricResult(value=count / len(syn_hashes), ci=wilson_interval(count, len(syn_hashes)), details=details)


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _isin(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Which ``values`` occur in ``reference`` (a hash table: linear time, unlike sorting)."""
    return pd.Series(values, copy=False).isin(reference).to_numpy()


class DCRShare(Metric):
    name = "dcr_share"
    family = "privacy"
    goal = "minimize"
    range = (0.0, 1.0)
    threshold = 0.6
    needs = frozenset({"holdout"})
    summary = True
    definition = (
        "Distance to closest record (DCR): for each synthetic row, the distance to its closest training row and "
        "to its closest holdout row, in a Gower-like distance (numeric columns scaled by the real range, a "
        "category mismatch counting 1). The training rows are first subsampled to the holdout's size, so both "
        "references are equally large. The value is the share of synthetic rows closer to a training row than to "
        "any holdout row (ties count one half). If the generator learned the population rather than its training "
        "rows, synthetic rows are no closer to the rows it saw than to rows it never saw, and the share is about "
        "0.5; higher means synthetic rows sit near particular training records. With a holdout smaller than the "
        "training set even verbatim copying shows only partly (a pure copy scores about 0.5 + 0.5 x holdout rows "
        "/ training rows, given in details), so read it together with exact copies and the membership attack. "
        + _CAVEAT
    )
    source = ("Platzer & Reutterer 2021, Holdout-Based Empirical Assessment of Mixed-Type Synthetic Data "
              "(DCR share), as in mostlyai-qa")

    def compute(self, data) -> MetricResult:
        to_train, to_holdout = _synthetic_to_references(data)
        d_train, d_holdout = to_train.distances[:, 0], to_holdout.distances[:, 0]
        value = closer_share(d_train, d_holdout)
        n = len(d_train)
        n_ref = len(_plan(data).train_reference)
        details = {
            **_reference_method(data),
            "dcr_train": _percentiles(d_train),
            "dcr_holdout": _percentiles(d_holdout),
            "closer_to_train": int((d_train < d_holdout).sum()),
            "closer_to_holdout": int((d_train > d_holdout).sum()),
            "ties": int((d_train == d_holdout).sum()),
            "ideal": 0.5,
            "copy_share": 0.5 + 0.5 * n_ref / len(data.real),
            "plot": _histograms("Distance to closest record: synthetic rows to training vs holdout rows "
                                "(last bin includes larger distances)", "distance (Gower-like)",
                                {"to training": d_train, "to holdout": d_holdout}),
        }
        return MetricResult(value=value, ci=wilson_interval(value * n, n), details=details)


class NNDRShare(Metric):
    name = "nndr_share"
    family = "privacy"
    goal = "minimize"
    range = (0.0, 1.0)
    threshold = 0.6
    needs = frozenset({"holdout"})
    definition = (
        "Nearest-neighbour distance ratio (NNDR): a synthetic row's distance to its closest record divided by the "
        "distance to its second closest (0 to 1; near 0 means the row sits much closer to one record than to any "
        "other, pointing at that one record). It is computed against the training rows (subsampled to the "
        "holdout's size) and against the holdout rows, with the same Gower-like distance as the DCR share. The "
        "value is the share of synthetic rows whose ratio is lower against training rows than against holdout "
        "rows (ties count one half); about 0.5 means synthetic rows point at individual training records no more "
        "than at records the generator never saw. When both nearest records are at distance 0 the ratio is 1. "
        + _CAVEAT
    )
    source = ("Platzer & Reutterer 2021, Holdout-Based Empirical Assessment of Mixed-Type Synthetic Data "
              "(NNDR), as in mostlyai-qa")

    def compute(self, data) -> MetricResult:
        to_train, to_holdout = _synthetic_to_references(data)
        r_train, r_holdout = nndr(to_train.distances), nndr(to_holdout.distances)
        value = closer_share(r_train, r_holdout)
        n = len(r_train)
        details = {
            **_reference_method(data),
            "nndr_train": _percentiles(r_train),
            "nndr_holdout": _percentiles(r_holdout),
            "ties": int((r_train == r_holdout).sum()),
            "ideal": 0.5,
        }
        return MetricResult(value=value, ci=wilson_interval(value * n, n), details=details)


class MembershipInferenceAUC(Metric):
    name = "mia_auc"
    family = "privacy"
    goal = "minimize"
    range = (0.0, 1.0)
    threshold = 0.6
    needs = frozenset({"holdout"})
    summary = True
    definition = (
        "A distance-based membership-inference attack. The attacker holds the synthetic table and candidate "
        "records, equally many members (training rows) and non-members (holdout rows), and scores each candidate "
        "by minus its distance to the closest synthetic row (Gower-like distance): records the generator saw are "
        "expected to lie closer to synthetic rows. The value is the attack's ROC AUC: 0.5 means it tells members "
        "from non-members no better than a coin toss, 1 that it recognises every member. Details give the "
        "true-positive rate at false-positive rates of 1% and 0.1% (a few members recognised with confidence can "
        "matter even when the AUC is near 0.5) and the ROC curve; the interval is a bootstrap over candidates. "
        "This is one simple attack: stronger ones (e.g. shadow models) may do better, so an AUC near 0.5 is not "
        "a guarantee. " + _CAVEAT
    )
    source = ("distance-to-closest-synthetic-record attack (Chen et al. 2020, GAN-Leaks, full black-box "
              "setting); TPR at low FPR after Carlini et al. 2022, Membership Inference Attacks From First "
              "Principles")

    def compute(self, data) -> MetricResult:
        d_members, d_nonmembers = _candidates_to_synthetic(data)
        members, nonmembers = -d_members, -d_nonmembers
        value = roc_auc(members, nonmembers)
        rng = data.rng(self.name)
        m, n = len(members), len(nonmembers)
        boot = np.empty(BOOTSTRAP_ROUNDS)
        for b in range(BOOTSTRAP_ROUNDS):
            boot[b] = roc_auc(members[rng.integers(0, m, m)], nonmembers[rng.integers(0, n, n)])
        low, high = np.percentile(boot, [2.5, 97.5])
        tpr = {}
        for fpr in LOW_FPRS:
            tpr[f"{fpr:g}"] = tpr_at_fpr(members, nonmembers, fpr) if n * fpr >= 1 else None
        details = {
            **_candidate_method(data),
            "tpr_at_fpr": tpr,
            "fpr_resolution": 1.0 / n,
            "dcr_members": _percentiles(d_members),
            "dcr_nonmembers": _percentiles(d_nonmembers),
            "ideal": 0.5,
            "plot": _roc_plot(members, nonmembers, value),
        }
        if any(v is None for v in tpr.values()):
            details["tpr_note"] = (f"with {n} non-members the smallest false-positive rate that can be measured is "
                                   f"1/{n}; lower rates are not reported")
        return MetricResult(value=value, ci=(float(low), float(high)), details=details)


def _roc_plot(positive: np.ndarray, negative: np.ndarray, auc: float) -> dict[str, Any]:
    scores = np.concatenate([positive, negative])
    labels = np.concatenate([np.ones(len(positive)), np.zeros(len(negative))])
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(scores) != 0), len(scores) - 1]  # one point per distinct threshold
    tpr = np.r_[0.0, np.cumsum(labels)[last] / len(positive)]
    fpr = np.r_[0.0, np.cumsum(1 - labels)[last] / len(negative)]
    if len(fpr) > ROC_POINTS:
        # (0, 0), then on an even grid the best true-positive rate reached at or below each false-positive rate
        grid = np.linspace(0.0, 1.0, ROC_POINTS - 1)
        tpr = np.r_[0.0, tpr[np.searchsorted(fpr, grid, side="right") - 1]]
        fpr = np.r_[0.0, grid]
    return {"type": "roc", "fpr": [round(float(v), 6) for v in fpr], "tpr": [round(float(v), 6) for v in tpr],
            "auc": float(auc)}


class ExposedRecords(Metric):
    name = "exposed_records"
    family = "privacy"
    goal = "minimize"
    range = (0.0, 1.0)
    needs = frozenset({"holdout"})
    definition = (
        "A worst-case view. Outlying records (in sparse regions of the data) are the easiest to re-identify when "
        "a generator reproduces them. Among the sampled training rows, the 1% (at least 10) farthest from their "
        "closest holdout row are taken as outliers. An outlier counts as exposed when some synthetic row lies at "
        "least as close to it as the median distance from a holdout row to its closest synthetic row, i.e. the "
        "outlier is matched as closely as a typical real record the generator never saw, although it lies where "
        "real records are sparse. The value is the share of training outliers exposed. Details give the same "
        "share for the holdout's own outliers (farthest from their closest training row), the baseline of a "
        "generator that learned no individual record, and a table of the 10 most exposed records (smallest "
        "distance to a synthetic row relative to their isolation) by row position and distances only, never "
        "their values. " + _CAVEAT
    )
    source = ("synthgov worst-case outlier view, after Stadler et al. 2022, Synthetic Data - Anonymisation "
              "Groundhog Day (outliers are the most vulnerable records)")

    def compute(self, data) -> MetricResult:
        plan = _plan(data)
        d_members, d_nonmembers = _candidates_to_synthetic(data)
        iso_members, iso_nonmembers = _isolation(data)
        cutoff = float(np.median(d_nonmembers))
        n_out = min(len(iso_members), max(MIN_OUTLIERS, int(math.ceil(OUTLIER_SHARE * len(iso_members)))))
        out_members = _most_isolated(iso_members, n_out)
        out_nonmembers = _most_isolated(iso_nonmembers, min(n_out, len(iso_nonmembers)))
        exposed = d_members[out_members] <= cutoff
        baseline = float(np.mean(d_nonmembers[out_nonmembers] <= cutoff))
        value = float(exposed.mean())
        ratio = np.divide(d_members[out_members], iso_members[out_members],
                          out=np.full(n_out, np.inf), where=iso_members[out_members] > 0)
        worst = np.lexsort((d_members[out_members], ratio))[:TABLE_ROWS]
        rows = []
        for i in worst:
            j = out_members[i]
            rows.append([int(plan.members[j]), _rounded(iso_members[j]), _rounded(d_members[j]),
                         _rounded(ratio[i], 4), "yes" if exposed[i] else "no"])
        details = {
            **_candidate_method(data),
            "outliers": int(n_out),
            "exposed": int(exposed.sum()),
            "cutoff_median_holdout_dcr": cutoff,
            "holdout_baseline": baseline,
            "isolation_outliers": _percentiles(iso_members[out_members]),
            "dcr_outliers": _percentiles(d_members[out_members]),
            "plot": {
                "type": "table",
                "title": "Most exposed training records (row position among the training rows as evaluated; "
                         "distances only, no values)",
                "columns": ["training row", "distance to closest holdout row", "distance to closest synthetic row",
                            "ratio", "exposed"],
                "rows": rows,
            },
        }
        return MetricResult(value=value, ci=wilson_interval(float(exposed.sum()), n_out), details=details)


def _most_isolated(isolation: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` largest values, largest first (ties: lower position first)."""
    order = np.lexsort((np.arange(len(isolation)), -isolation))
    return order[:n]
