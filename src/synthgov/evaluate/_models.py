"""Gradient-boosting models and scores shared by the utility and fairness metrics.

One evaluation fits two models once and shares them (through
:meth:`~synthgov.evaluate.data.EvalData.memo`): one trained on the real
training rows (TRTR), one trained on the synthetic rows (TSTR), both tested on
the real holdout rows the generator never saw. Scores take an optional matrix
of bootstrap weights (one resample of the test rows per row of the matrix), so
a confidence interval costs one matrix product, not a refit.

>>> import numpy as np
>>> score = np.array([0.1, 0.4, 0.35, 0.8])
>>> auc_binary(score, np.array([False, False, True, True]))  # 3 of 4 (positive, negative) pairs ordered
array([0.75])
>>> r2(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))  # 1 - 1/2
array([0.5])
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import f1_score

from ._threads import one_thread
from .base import NotComputed

__all__ = [
    "MAX_TRAIN_ROWS", "MAX_TEST_ROWS", "MIN_TEST_ROWS", "MIN_SUBGROUP_ROWS", "BOOTSTRAP_ROUNDS",
    "MAX_CLASSES", "OTHER_CLASS", "Task", "Fitted", "task_of", "class_labels", "fitted", "encoder", "train_rows",
    "fit_model", "predict",
    "bootstrap_weights", "auc_binary", "auc_macro", "accuracy", "r2", "mae", "primary", "point_scores",
    "percentile_ci",
]

#: Training rows per model, at most (a seeded subsample above it).
MAX_TRAIN_ROWS = 20_000
#: Holdout rows scored, at most.
MAX_TEST_ROWS = 10_000
#: Fewer holdout rows with a target value than this and no model is scored.
MIN_TEST_ROWS = 20
#: Subgroups with fewer holdout rows than this are listed as too small, not scored.
MIN_SUBGROUP_ROWS = 30
#: Bootstrap resamples of the test rows for confidence intervals.
BOOTSTRAP_ROUNDS = 200
#: Histogram bins per feature; also the most categories a categorical feature may have.
MAX_BINS = 63
#: Classes of a categorical target kept apart: its most frequent levels in the real training rows (with the pooled
#: class and MIN_ITER iterations, about TREE_BUDGET trees per model). Every other
#: value (rarer real levels, levels only the synthetic or holdout rows have) is pooled as :data:`OTHER_CLASS`.
#: A gradient-boosting classifier grows one tree per class per iteration, so without the cap a target with
#: thousands of levels (or a synthetic table inventing levels) takes minutes to hours (measured: loans'
#: emp_title, 86 s; 22,000 invented levels, unfinished after 3 minutes).
MAX_CLASSES = 10
OTHER_CLASS = "(other levels)"
#: Trees per model (iterations times trees per iteration), so many-class targets stay fast.
TREE_BUDGET = 60
MIN_ITER, MAX_ITER = 10, 40
LEARNING_RATE = 0.2
MAX_LEAF_NODES = 15
#: Without it, leaf values of a confident multiclass model blow up and boosting diverges.
L2_REGULARIZATION = 1.0
#: OpenMP threads per model. One: on a busy 2-core machine two spinning threads made a loans fit 5-15x
#: slower (about 1 s against 5-16 s, measured), while on an idle one two threads could at best halve it.
MODEL_THREADS = 1


def _one_thread():
    """A context in which the boosting library's OpenMP pool uses :data:`MODEL_THREADS` threads."""
    return one_thread(user_api="openmp", limits=MODEL_THREADS)


@dataclasses.dataclass(frozen=True)
class Task:
    """What the models predict: ``target``, ``kind`` (``"classification"`` or ``"regression"``),
    the ``features`` used, the ``classes`` (classification) and the model ``params``.

    ``classes`` are the target's :data:`MAX_CLASSES` most frequent levels in the real training rows, plus
    :data:`OTHER_CLASS` when any value falls outside them (``pooled`` counts the real levels pooled there)."""

    target: str
    kind: str
    features: tuple[str, ...]
    classes: tuple[str, ...]
    params: dict[str, Any]
    pooled: int = 0

    @property
    def classification(self) -> bool:
        return self.kind == "classification"

    @property
    def primary(self) -> str:
        """The headline score: ROC AUC for classification, R² for regression."""
        return "roc_auc" if self.classification else "r2"

    @property
    def chance(self) -> float:
        """The primary score of a model that learned nothing."""
        return 0.5 if self.classification else 0.0

    def describe(self) -> dict[str, Any]:
        model = "HistGradientBoostingClassifier" if self.classification else "HistGradientBoostingRegressor"
        out = {"target": self.target, "task": self.kind, "model": model, "features": len(self.features),
               **({"classes": len(self.classes)} if self.classification else {}),
               "model_parameters": dict(self.params)}
        if OTHER_CLASS in self.classes:
            out["classes_note"] = (f"the {len(self.classes) - 1} most frequent real levels are kept apart; "
                                   f"{self.pooled} rarer real level(s) and any level absent from the real training "
                                   f"rows are pooled as '{OTHER_CLASS}'")
        return out


def class_labels(task: Task, values: pd.Series) -> pd.Series:
    """The class of each target value: the value itself if it is one of ``task.classes``, else :data:`OTHER_CLASS`
    (missing stays missing)."""
    kept = values.isin(task.classes) | values.isna()
    return values.where(kept, OTHER_CLASS)


def _one_value(values: pd.Series) -> str:
    return repr(str(values.iloc[0]))


def task_of(data) -> Task:
    """The prediction task for ``data.target``; raises :class:`NotComputed` when no model can be trained."""
    def compute() -> Task:
        target = data.target
        if target is None:
            raise NotComputed("needs a target column (pass target=...)")
        features = tuple(c for c in data.columns if c != target)
        if not features:
            raise NotComputed(f"no column besides the target '{target}' to predict it from")
        real = data.real[target].dropna()
        synthetic = data.synthetic[target].dropna()
        if real.empty:
            raise NotComputed(f"target '{target}' has no value in the real training rows")
        if synthetic.empty:
            raise NotComputed(f"target '{target}' has no value in the synthetic rows")
        classification = target in data.categorical
        if classification:
            counts = real.value_counts()
            if len(counts) < 2:
                raise NotComputed(f"target '{target}' has a single class in the real "
                                  "training rows: a classifier needs at least two")
            kept = tuple(data.levels(target)[:min(len(counts), MAX_CLASSES)])   # real levels, most frequent first
            pooled = len(counts) - len(kept)
            outside = pooled > 0 or any(
                not frame[target].dropna().isin(kept).all()
                for frame in (data.synthetic, data.holdout) if frame is not None)
            classes = kept + ((OTHER_CLASS,) if outside else ())
            synthetic_classes = synthetic.where(synthetic.isin(kept), OTHER_CLASS)
            if synthetic_classes.nunique() < 2:
                if synthetic_classes.iloc[0] == OTHER_CLASS and pooled == 0:
                    raise NotComputed(f"every synthetic value of target '{target}' is a level the real training "
                                      "rows do not have: no classifier of the real classes can be trained on them")
                raise NotComputed(f"target '{target}' has a single class ({_one_value(synthetic_classes)}) in the "
                                  "synthetic rows: no classifier can be trained on them")
            per_iter = len(classes) if len(classes) > 2 else 1
        else:
            if real.nunique() < 2:
                raise NotComputed(f"target '{target}' has one value in every real "
                                  "training row: there is nothing to predict")
            per_iter, classes, pooled = 1, (), 0
        params = {"max_iter": int(np.clip(TREE_BUDGET // per_iter, MIN_ITER, MAX_ITER)),
                  "learning_rate": LEARNING_RATE, "max_leaf_nodes": MAX_LEAF_NODES, "max_bins": MAX_BINS,
                  "l2_regularization": L2_REGULARIZATION,
                  "early_stopping": False}
        return Task(target=target, kind="classification" if classification else "regression",
                    features=features, classes=classes, params=params, pooled=pooled)

    return data.memo("models:task", compute)


def encoder(data, task: Task):
    """A function frame -> model input: numbers as they are, categories as pandas categoricals of their
    codes over :meth:`~synthgov.evaluate.data.EvalData.levels` (the same code for a level in every table;
    integer categories, which the model encodes far faster than text). A column with more levels than
    the model can split on keeps its most frequent real levels and pools the rest in one last code."""
    def compute():
        small, large = [], {}
        for name in task.features:
            if name in data.categorical and len(data.levels(name)) > MAX_BINS:
                large[name] = {v: i for i, v in enumerate(data.levels(name)[:MAX_BINS - 1])}
            else:
                small.append(name)

        def encode(frame: pd.DataFrame) -> pd.DataFrame:
            out = data.ordinal(frame, small)
            for name in small:
                col = out[name]
                if isinstance(col.dtype, pd.CategoricalDtype):
                    out[name] = pd.Categorical.from_codes(col.cat.codes.to_numpy(),
                                                          categories=np.arange(len(col.cat.categories)))
            for name, index in large.items():
                values = frame[name]
                codes = values.map(index).to_numpy(dtype=float, na_value=np.nan)
                pooled = np.where(np.isnan(codes), len(index), codes)
                codes = np.where(values.isna().to_numpy(), -1, pooled).astype(np.int64)
                out[name] = pd.Categorical.from_codes(codes, categories=np.arange(len(index) + 1))
            return out[list(task.features)]

        return encode

    return data.memo("models:encoder", compute)


def train_rows(data, task: Task, frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of ``frame`` with a target value, subsampled to :data:`MAX_TRAIN_ROWS` with stream ``name``."""
    rows = frame[frame[task.target].notna().to_numpy()]
    return data.subsample(rows, MAX_TRAIN_ROWS, name)


def _labels(task: Task, rows: pd.DataFrame) -> np.ndarray:
    values = rows[task.target]
    return class_labels(task, values).to_numpy(dtype=object) if task.classification else values.to_numpy(dtype=float)


def fit_model(data, task: Task, rows: pd.DataFrame):
    """A gradient-boosting model fitted on ``rows`` (seeded with the ``models:seed`` stream)."""
    cls = HistGradientBoostingClassifier if task.classification else HistGradientBoostingRegressor
    seed = int(data.rng("models:seed").integers(2**31 - 1))
    model = cls(**task.params, categorical_features="from_dtype", random_state=seed)
    X, y = encoder(data, task)(rows), _labels(task, rows)
    with _one_thread():
        return model.fit(X, y)


def predict(task: Task, model, X: pd.DataFrame) -> np.ndarray:
    """Class probabilities over ``task.classes`` (classes the model never saw get 0), or predicted values."""
    with _one_thread():
        if not task.classification:
            return np.asarray(model.predict(X), dtype=float)
        proba = model.predict_proba(X)
    index = {c: i for i, c in enumerate(task.classes)}
    out = np.zeros((len(X), len(task.classes)))
    out[:, [index[c] for c in model.classes_]] = proba
    return out


@dataclasses.dataclass
class Fitted:
    """The shared TRTR/TSTR models (keys ``"real"`` and ``"synthetic"``) and their holdout predictions."""

    task: Task
    test: pd.DataFrame
    X_test: pd.DataFrame
    y: np.ndarray
    train: dict[str, pd.DataFrame]
    models: dict[str, Any]
    pred: dict[str, np.ndarray]
    #: rows with a target value before the caps: "real", "synthetic", "test"
    available: dict[str, int]

    def rows_used(self) -> dict[str, Any]:
        used = {"real": len(self.train["real"]), "synthetic": len(self.train["synthetic"]), "test": len(self.test)}
        return {"train_real": used["real"], "train_synthetic": used["synthetic"], "test_holdout": used["test"],
                "max_train_rows": MAX_TRAIN_ROWS, "max_test_rows": MAX_TEST_ROWS,
                "method": "exact" if used == self.available else
                "subsampled (seeded) to the caps: " + ", ".join(
                    f"{k} {self.available[k]:,} -> {used[k]:,}" for k in used if used[k] != self.available[k])}


def fitted(data) -> Fitted:
    """Fit (once per evaluation) the model trained on real rows and the one trained on synthetic rows."""
    def compute() -> Fitted:
        task = task_of(data)
        if data.holdout is None:
            raise NotComputed("needs real holdout rows (never shown to the generator) to test the models on; "
                              "none was given and the real table was too small to split one off")
        test = data.holdout[data.holdout[task.target].notna().to_numpy()]
        if len(test) < MIN_TEST_ROWS:
            raise NotComputed(f"only {len(test)} holdout row(s) have a value for target '{task.target}'; "
                              f"scoring needs at least {MIN_TEST_ROWS}")
        available = {"real": int(data.real[task.target].notna().sum()),
                     "synthetic": int(data.synthetic[task.target].notna().sum()), "test": len(test)}
        test = data.subsample(test, MAX_TEST_ROWS, "models:test").reset_index(drop=True)
        train = {"real": train_rows(data, task, data.real, "models:train-real"),
                 "synthetic": train_rows(data, task, data.synthetic, "models:train-synthetic")}
        models = {k: fit_model(data, task, rows) for k, rows in train.items()}
        X_test = encoder(data, task)(test)
        if task.classification:
            index = {c: i for i, c in enumerate(task.classes)}
            y = class_labels(task, test[task.target]).map(index).to_numpy(dtype=int)
        else:
            y = test[task.target].to_numpy(dtype=float)
        pred = {k: predict(task, m, X_test) for k, m in models.items()}
        return Fitted(task=task, test=test, X_test=X_test, y=y, train=train, models=models, pred=pred,
                      available=available)

    return data.memo("models:fitted", compute)


# -- scores (each returns one value per row of the weight matrix) -------------------------------
def bootstrap_weights(rng: np.random.Generator, n: int, rounds: int = BOOTSTRAP_ROUNDS) -> np.ndarray:
    """``(rounds, n)`` counts: how often each of ``n`` rows is drawn in each bootstrap resample."""
    draws = rng.integers(0, n, size=(rounds, n)) + (np.arange(rounds) * n)[:, None]
    # float32 counts: exact (small integers), and half the memory traffic of float64 in the scores
    return np.bincount(draws.ravel(), minlength=rounds * n).reshape(rounds, n).astype(np.float32)


def _w(weights: np.ndarray | None, n: int) -> np.ndarray:
    return np.ones((1, n)) if weights is None else weights


def auc_binary(score: np.ndarray, positive: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """ROC AUC of ``score`` for the ``positive`` rows (Mann-Whitney, ties count half); NaN without both kinds."""
    positive = np.asarray(positive, dtype=bool)
    W = _w(weights, len(score))
    order = np.argsort(score, kind="stable")
    s = np.asarray(score)[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    Wo = W[:, order]
    pos = np.add.reduceat(Wo * positive[order], starts, axis=1)
    neg = np.add.reduceat(Wo * ~positive[order], starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    num = (pos * (below + 0.5 * neg)).sum(axis=1)
    den = pos.sum(axis=1) * neg.sum(axis=1)
    return np.divide(num, den, out=np.full(len(W), np.nan), where=den > 0)


def auc_macro(y: np.ndarray, proba: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Macro one-vs-rest ROC AUC over the classes present in ``y`` (with other classes beside them)."""
    present, counts = np.unique(y, return_counts=True)
    present = present[counts < len(y)]
    n_rounds = 1 if weights is None else len(weights)
    if present.size == 0:
        return np.full(n_rounds, np.nan)
    if proba.shape[1] == 2 and present.size == 2:
        present = present[1:]  # two classes: both one-vs-rest AUCs are the usual binary AUC
    per_class = np.vstack([auc_binary(proba[:, k], y == k, weights) for k in present])
    ok = np.isfinite(per_class)
    total = np.where(ok, per_class, 0.0).sum(axis=0)
    n_ok = ok.sum(axis=0)
    return np.divide(total, n_ok, out=np.full(n_rounds, np.nan), where=n_ok > 0)


def accuracy(y: np.ndarray, proba: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Share of rows whose most probable class is the true one."""
    W = _w(weights, len(y))
    correct = (proba.argmax(axis=1) == y).astype(float)
    return (W @ correct) / W.sum(axis=1)


def r2(y: np.ndarray, pred: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Coefficient of determination; NaN where the target does not vary."""
    W = _w(weights, len(y))
    yc = y - y.mean()
    wsum = W.sum(axis=1)
    mean = (W @ yc) / wsum
    ss_tot = W @ (yc * yc) - wsum * mean * mean
    ss_res = W @ ((y - pred) ** 2)
    ok = ss_tot > 1e-12 * (W @ (yc * yc))
    ratio = np.divide(ss_res, ss_tot, out=np.full(len(W), np.nan), where=ok)
    return np.where(ok, 1.0 - ratio, np.nan)


def mae(y: np.ndarray, pred: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Mean absolute error."""
    W = _w(weights, len(y))
    return (W @ np.abs(y - pred)) / W.sum(axis=1)


def primary(task: Task, y: np.ndarray, pred: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The headline score: macro ROC AUC, or R² with negative values (worse than the mean) counted as 0."""
    if task.classification:
        return auc_macro(y, pred, weights)
    return np.maximum(r2(y, pred, weights), 0.0)


def point_scores(task: Task, y: np.ndarray, pred: np.ndarray) -> dict[str, float | None]:
    """Every score of one model on rows ``y``: ROC AUC, accuracy, F1 (macro) or R², MAE. ``None``: undefined."""
    def num(a: np.ndarray) -> float | None:
        v = float(a[0])
        return v if np.isfinite(v) else None

    if task.classification:
        labels = pred.argmax(axis=1)
        f1 = f1_score(y, labels, labels=np.union1d(y, labels), average="macro", zero_division=0)
        return {"roc_auc": num(auc_macro(y, pred)), "accuracy": num(accuracy(y, pred)), "f1_macro": float(f1)}
    return {"r2": num(r2(y, pred)), "mae": num(mae(y, pred))}


def percentile_ci(samples: np.ndarray, low: float, high: float) -> tuple[float, float] | None:
    """The 95% percentile interval of finite ``samples``, clipped to ``[low, high]``; ``None`` if too few."""
    samples = samples[np.isfinite(samples)]
    if samples.size < 20:
        return None
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return float(np.clip(lo, low, high)), float(np.clip(hi, low, high))
