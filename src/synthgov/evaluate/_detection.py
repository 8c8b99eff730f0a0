"""The real-vs-synthetic classifier behind ``detection_auc``: training, cross-validation, ROC statistics.

:func:`detect` trains a gradient-boosting classifier to tell real rows from
synthetic ones with grouped, class-balanced folds, and measures which columns
give the synthetic rows away (permutation importance). The ROC helpers turn its
out-of-fold scores into an AUC (:func:`rank_auc`), Hanley and McNeil's interval
(:func:`hanley_mcneil_interval`) and the points of a ROC curve
(:func:`roc_points`). The metric itself is declared in
:mod:`synthgov.evaluate.fidelity`.

A hand-worked example: positives scored 0.35 and 0.8, negatives 0.1 and 0.4;
three of the four (positive, negative) pairs are ordered right.

>>> import numpy as np
>>> y, score = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
>>> rank_auc(y, score)
0.75
>>> roc_points(y, score)
([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from ._column_stats import category_codes, row_view
from ._threads import one_thread
from .base import NotComputed

__all__ = [
    "DETECTION_ROWS", "DETECTION_FOLDS", "DETECTION_TREES", "DETECTION_LEVELS", "DETECTION_MIN_COUNT",
    "Detection", "detect", "rank_auc", "roc_points", "hanley_mcneil_interval",
]

#: Rows per table the real-vs-synthetic classifier sees, and its cross-validation folds.
DETECTION_ROWS = 2_000
DETECTION_FOLDS = 3
DETECTION_TREES = 30
#: Categorical levels the classifier sees apart: the most frequent real ones with enough real rows.
DETECTION_LEVELS = 50
DETECTION_MIN_COUNT = 10


def _tree_matrix(data, side: int, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` of the real (``side`` 0) or synthetic (1) table as a float matrix for the classifier.

    Numeric columns stay. A categorical column becomes level codes in :meth:`EvalData.levels` order (most
    frequent real level first; NaN for missing), reused from the codes the column shapes computed. Only the
    :data:`DETECTION_LEVELS` levels with the most rows in either table, and at least
    :data:`DETECTION_MIN_COUNT` of them, keep their own code; the rest share one "other" code. Without the
    pooling a level's mere presence in the real table gives rows away: rows drawn from the real table always
    carry a level the real table has, while fresh rows (even real holdout rows) often carry unseen ones, and
    the classifier learns "seen or not" instead of a difference in distribution (measured on loans'
    emp_title: AUC 0.79 for real holdout rows before pooling, 0.50 after). A level frequent in the synthetic
    table but absent from the real one keeps its code: that is a real difference. The trees split the codes
    as ordered values.
    """
    view = row_view(data)
    frame = view.real if side == 0 else view.synthetic
    out = np.empty((len(rows), len(data.columns)))
    for k, name in enumerate(data.columns):
        if name in data.numeric:
            out[:, k] = frame[name].to_numpy(dtype=float)[rows]
            continue
        real, synthetic, n_codes = category_codes(data, name)
        counts = np.maximum(np.bincount(real, minlength=n_codes), np.bincount(synthetic, minlength=n_codes))
        counts[-1] = 0   # the missing code is NaN, below
        top = np.argsort(-counts, kind="stable")[:DETECTION_LEVELS]
        keep = np.zeros(n_codes, dtype=bool)
        keep[top[counts[top] >= DETECTION_MIN_COUNT]] = True
        lookup = np.where(keep, np.arange(n_codes), n_codes).astype(float)
        lookup[-1] = np.nan
        out[:, k] = lookup[(real if side == 0 else synthetic)[rows]]
    return out


def _grouped_folds(x: np.ndarray, y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """A fold number per row: identical rows share a fold, and each fold gets a near-equal share of each class."""
    groups = pd.factorize(pd.util.hash_pandas_object(pd.DataFrame(x), index=False).to_numpy())[0]
    label = np.zeros(groups.max() + 1, dtype=int)
    label[groups] = y
    order = rng.permutation(len(label))
    fold_of = np.empty(len(label), dtype=int)
    for value in (0, 1):
        members = order[label[order] == value]
        fold_of[members] = np.arange(len(members)) % k
    return fold_of[groups]


@dataclasses.dataclass(frozen=True)
class Detection:
    """Out-of-fold classifier scores (``labels`` 0 real, 1 synthetic), each fold's AUC, and the AUC the
    classifier loses when each column is shuffled (``auc_drop``, by column), on ``rows`` rows per table."""

    labels: np.ndarray
    scores: np.ndarray
    fold_auc: list[float]
    auc_drop: dict[str, float]
    rows: int


def detect(data) -> Detection:
    """Cross-validate the real-vs-synthetic classifier on :data:`DETECTION_ROWS` rows per table (seeded).

    Raises :class:`~synthgov.evaluate.base.NotComputed` when the tables are too small to cross-validate.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    view = row_view(data)
    n = min(DETECTION_ROWS, len(view.real), len(view.synthetic))
    if n < 2 * DETECTION_FOLDS:
        raise NotComputed(f"needs at least {2 * DETECTION_FOLDS} rows in each table")
    rng = data.rng("detection_auc")
    rows = [np.sort(rng.choice(len(frame), size=n, replace=False)) for frame in (view.real, view.synthetic)]
    x = np.vstack([_tree_matrix(data, 0, rows[0]), _tree_matrix(data, 1, rows[1])])
    y = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
    # identical rows (a synthetic row copying a real one) share a fold: otherwise the classifier is trained on
    # one twin with the opposite label of the other and scores below 0.5 for copies
    fold = _grouped_folds(x, y, DETECTION_FOLDS, rng)
    if any(len(np.unique(y[fold == f])) < 2 for f in range(DETECTION_FOLDS)):
        raise NotComputed("too few distinct rows to cross-validate a classifier")
    score = np.zeros(len(y))
    fold_aucs = []
    model = test = None
    with one_thread():
        for f in range(DETECTION_FOLDS):
            train, test = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            model = HistGradientBoostingClassifier(
                max_iter=DETECTION_TREES, learning_rate=0.3, max_leaf_nodes=15, early_stopping=False,
                random_state=int(rng.integers(2**31 - 1)))
            model.fit(x[train], y[train])
            score[test] = model.predict_proba(x[test])[:, 1]
            fold_aucs.append(rank_auc(y[test], score[test]))
        # permutation importance on (up to 700 rows of) the last fold: the AUC the classifier loses when one
        # column is shuffled; all columns in one batch so the trees are walked once
        keep = test[np.sort(rng.choice(len(test), size=min(len(test), 700), replace=False))]
        x_test, y_test = x[keep], y[keep]
        batch = np.tile(x_test, (x.shape[1], 1))
        for k in range(x.shape[1]):
            batch[k * len(keep):(k + 1) * len(keep), k] = x_test[rng.permutation(len(keep)), k]
        shuffled = model.predict_proba(batch)[:, 1].reshape(x.shape[1], len(keep))
    base = rank_auc(y_test, score[keep])
    drops = {name: base - rank_auc(y_test, shuffled[k]) for k, name in enumerate(data.columns)}
    return Detection(labels=y, scores=score, fold_auc=fold_aucs, auc_drop=drops, rows=n)


def rank_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC via average ranks (ties count one half)."""
    ranks = pd.Series(score).rank().to_numpy()
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_points(y: np.ndarray, score: np.ndarray, points: int = 200) -> tuple[list[float], list[float]]:
    """The ROC curve of ``score`` against the labels ``y`` (1 positive): (false, true) positive rates at every
    distinct threshold from the highest down, thinned to at most ``points`` evenly spaced ones, rounded to 4."""
    order = np.argsort(-score, kind="stable")
    s, t = score[order], y[order]
    distinct = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(t)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0.0, tps / max(t.sum(), 1)]
    fpr = np.r_[0.0, fps / max(len(t) - t.sum(), 1)]
    if len(fpr) > points:
        keep = np.unique(np.linspace(0, len(fpr) - 1, points).round().astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return [round(float(v), 4) for v in fpr], [round(float(v), 4) for v in tpr]


def hanley_mcneil_interval(auc: float, n_pos: int, n_neg: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Hanley and McNeil's (1982) 95% interval for an AUC from ``n_pos`` positives and ``n_neg`` negatives,
    clipped to [0, 1]."""
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    half = z * math.sqrt(max(var, 0.0))
    return max(0.0, auc - half), min(1.0, auc + half)
