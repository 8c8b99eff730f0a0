"""Utility metrics: the score formulas by hand, and TSTR vs TRTR against planted truth on CPS1988 and loans."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, r2_score, roc_auc_score

from synthgov.datasets import load_cps1988
from synthgov.evaluate import EvalData, evaluate, get_metric, holdout_split
from synthgov.evaluate import _models as M
from synthgov.evaluate.base import NotComputed


# -- formulas by hand -------------------------------------------------------------------------
def test_auc_counts_ordered_pairs_and_ties_count_half():
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ordered
    assert M.auc_binary(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1], bool))[0] == 0.75
    # a positive tied with a negative counts half: pairs (0.5 vs 0.5) = 0.5, (0.5 vs 0.2) = 1 -> 0.75
    assert M.auc_binary(np.array([0.2, 0.5, 0.5]), np.array([0, 0, 1], bool))[0] == 0.75
    assert np.isnan(M.auc_binary(np.array([0.2, 0.5]), np.array([1, 1], bool))[0])  # no negatives


def test_weighted_scores_equal_scores_on_the_repeated_rows():
    rng = np.random.default_rng(1)
    n = 60
    y = rng.integers(0, 3, n)
    proba = rng.dirichlet(np.ones(3), n)
    counts = rng.integers(0, 4, n).astype(float)
    rep = np.repeat(np.arange(n), counts.astype(int))
    assert M.auc_macro(y, proba, counts[None, :])[0] == pytest.approx(
        roc_auc_score(y[rep], proba[rep], multi_class="ovr", average="macro"), abs=1e-12)
    assert M.accuracy(y, proba, counts[None, :])[0] == pytest.approx(np.mean(proba[rep].argmax(1) == y[rep]))
    t, p = rng.normal(size=n), rng.normal(size=n)
    assert M.r2(t, p, counts[None, :])[0] == pytest.approx(r2_score(t[rep], p[rep]), abs=1e-12)
    assert M.mae(t, p, counts[None, :])[0] == pytest.approx(mean_absolute_error(t[rep], p[rep]), abs=1e-12)
    # a datetime-sized target (seconds since 1970) loses no precision: centred before squaring
    big_t, big_p = t + 1.7e9, p + 1.7e9
    assert M.r2(big_t, big_p)[0] == pytest.approx(r2_score(big_t, big_p), abs=1e-9)


def test_bootstrap_weights_are_resamples_of_all_rows():
    w = M.bootstrap_weights(np.random.default_rng(0), 50, rounds=30)
    assert w.shape == (30, 50) and (w.sum(axis=1) == 50).all() and (w >= 0).all()
    # each row is drawn on average once (binomial(50 * 30, 1/50) summed over rounds: sd ~ 5.4)
    assert abs(w.sum(axis=0).mean() - 30) < 1e-9 and w.sum(axis=0).std() < 12


def test_many_levels_are_pooled_so_the_model_can_split_on_them():
    levels = [f"job{i:03d}" for i in range(120)]
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"job": rng.choice(levels, 600, p=np.r_[np.full(20, 0.04), np.full(100, 0.002)]),
                         "x": rng.normal(size=600), "y": rng.choice(["a", "b"], 600)})
    data = EvalData.prepare(real[:450], real[:450], holdout=real[450:], target="y")
    task = M.task_of(data)
    encoded = M.encoder(data, task)(data.real)
    assert len(encoded["job"].cat.categories) == M.MAX_BINS  # 62 most frequent levels + "other"
    kept = data.levels("job")[:M.MAX_BINS - 1]
    rare = ~data.real["job"].isin(kept).to_numpy()
    codes = encoded["job"].cat.codes.to_numpy()
    assert rare.any() and (codes[rare] == M.MAX_BINS - 1).all() and (codes[~rare] < M.MAX_BINS - 1).all()
    # the same level gets the same code in every table
    holdout = M.encoder(data, task)(data.holdout)["job"].cat.codes.to_numpy()
    first = {v: c for v, c in zip(data.real["job"], codes, strict=True)}
    assert all(first.get(v, c) == c for v, c in zip(data.holdout["job"], holdout, strict=True))


# -- planted truth ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cps_split():
    df = load_cps1988().sample(8000, random_state=0).reset_index(drop=True)
    return holdout_split(df, fraction=0.25, random_state=0)


def _compute(name, train, synthetic, holdout, target, **kw):
    data = EvalData.prepare(train, synthetic, holdout=holdout, target=target, **kw)
    return get_metric(name).compute(data)


def test_a_copy_of_the_training_rows_is_exactly_as_useful(cps_split):
    train, holdout = cps_split
    data = EvalData.prepare(train, train.copy(), holdout=holdout, target="parttime")
    ratio = get_metric("utility_ratio").compute(data)
    # identical rows and seed give the identical model: exactly 1, and the bootstrap cannot move it
    assert ratio.value == 1.0 and ratio.ci == (1.0, 1.0)
    assert ratio.details["tstr"] == ratio.details["trtr"] > 0.8
    assert ratio.details["task"] == "classification" and ratio.details["primary_score"] == "ROC AUC"
    assert set(ratio.details["scores"]["train on synthetic"]) == {"roc_auc", "accuracy", "f1_macro"}
    agreement = get_metric("feature_importance_agreement").compute(data)
    assert agreement.value == pytest.approx(1.0)
    assert agreement.details["top_features_real"] == agreement.details["top_features_synthetic"]


def test_shuffled_labels_lose_utility(cps_split):
    train, holdout = cps_split
    noisy = train.copy()
    noisy["parttime"] = np.random.default_rng(0).permutation(noisy["parttime"].to_numpy())
    shuffled = _compute("utility_ratio", train, noisy, holdout, "parttime")
    # labels independent of the features: TSTR AUC ~0.5 against TRTR ~0.9, so the ratio is ~0.55;
    # 0.7 leaves room for sampling noise (bootstrap sd ~0.03) yet is far below a useful table's ~1
    assert shuffled.value < 0.7 and shuffled.ci[1] < 0.8
    assert shuffled.details["signal_kept"] < 0.2
    copy = _compute("utility_ratio", train, train.sample(frac=1.0, random_state=1), holdout, "parttime")
    # row order only changes float summation order inside the booster: within 3% of 1
    assert copy.value > 0.97 and copy.ci[0] > shuffled.ci[1]


def test_regression_target_uses_r2(cps_split):
    train, holdout = cps_split
    noisy = train.copy()
    noisy["wage"] = np.random.default_rng(0).permutation(noisy["wage"].to_numpy())
    copy = _compute("utility_ratio", train, train.copy(), holdout, "wage")
    shuffled = _compute("utility_ratio", train, noisy, holdout, "wage")
    assert copy.value == 1.0 and copy.details["primary_score"] == "R²" and copy.details["task"] == "regression"
    assert set(copy.details["scores"]["train on real"]) == {"r2", "mae"}
    # wages shuffled away from the features: TSTR R² <= ~0 (counted as 0) against TRTR ~0.25
    assert shuffled.value < 0.2 and shuffled.details["gap_real_minus_synthetic"]["mae"] > 0


def test_loans_multiclass_with_many_levels(loans):
    train, holdout = holdout_split(loans, fraction=0.2, random_state=0)
    noisy = train.copy()
    noisy["grade"] = np.random.default_rng(0).permutation(noisy["grade"].to_numpy())
    data = EvalData.prepare(train, train.copy(), holdout=holdout, target="grade")
    copy = get_metric("utility_ratio").compute(data)
    # grade is a function of sub_grade, so the real-trained model is near perfect (AUC > 0.95)
    assert copy.value == 1.0 and copy.details["trtr"] > 0.95 and copy.details["classes"] == 7
    shuffled = EvalData.prepare(train, noisy, holdout=holdout, target="grade")
    # TSTR AUC ~0.5 against ~0.99: ratio ~0.5 (0.65 leaves room for noise)
    assert get_metric("utility_ratio").compute(shuffled).value < 0.65
    # 54 features: a model of shuffled labels ranks them unlike the real model (copy: exactly 1)
    assert get_metric("feature_importance_agreement").compute(data).value == pytest.approx(1.0)
    assert get_metric("feature_importance_agreement").compute(shuffled).value < 0.5


# -- bad input ----------------------------------------------------------------------------------
def test_a_single_class_target_is_not_computed_and_named(cps_split):
    train, holdout = cps_split
    one = train.assign(smsa="yes")
    report = evaluate(train, one, holdout=holdout, target="smsa", metrics=["utility"])
    for name in ("utility_ratio", "feature_importance_agreement"):
        result = report[name]
        assert result.value is None
        assert "'smsa'" in result.reason and "single class" in result.reason and "synthetic" in result.reason
    real_one = _compute_reason(train.assign(smsa="yes"), train, holdout, "smsa")
    assert "'smsa'" in real_one and "real training rows" in real_one


def _compute_reason(train, synthetic, holdout, target):
    data = EvalData.prepare(train, synthetic, holdout=holdout, target=target)
    with pytest.raises(NotComputed) as info:
        get_metric("utility_ratio").compute(data)
    return str(info.value)


def test_no_holdout_is_not_computed():
    rng = np.random.default_rng(0)
    small = pd.DataFrame({"x": rng.normal(size=60), "y": rng.choice(["a", "b"], 60)})
    data = EvalData.prepare(small, small, target="y")  # too few rows to split a holdout off
    assert data.holdout is None
    with pytest.raises(NotComputed, match="holdout"):
        get_metric("utility_ratio").compute(data)


def test_a_target_the_real_data_cannot_predict_gives_no_ratio(cps_split):
    train, holdout = cps_split
    flat = train.assign(education=1, experience=1, wage=1.0, ethnicity="x", smsa="x", region="x")
    reason = _compute_reason(flat, flat, holdout, "parttime")
    assert "no better than chance" in reason and "'parttime'" in reason


def test_report_is_json_and_reproducible(cps_split):
    train, holdout = cps_split
    syn = train.sample(frac=0.5, random_state=3)
    first = evaluate(train, syn, holdout=holdout, target="region", metrics=["utility"], random_state=5)
    second = evaluate(train, syn, holdout=holdout, target="region", metrics=["utility"], random_state=5)
    doc = json.loads(first.to_json())
    values = {m["name"]: m["value"] for m in doc["metrics"]}
    assert values == {m["name"]: m["value"] for m in json.loads(second.to_json())["metrics"]}
    assert 0.0 <= values["utility_ratio"] <= 1.0 and -1.0 <= values["feature_importance_agreement"] <= 1.0
    details = first["utility_ratio"].details
    assert details["classes"] == 4 and details["rows_used"]["train_synthetic"] == len(syn)
    assert details["plot"]["type"] == "bars" and len(details["plot"]["groups"]) == 3


def test_a_many_level_target_is_pooled_to_a_bounded_number_of_classes(loans):
    # loans' state has 50 levels; one tree per class per iteration made a fit take seconds, and emp_title's
    # thousands of levels over a minute. The most frequent real levels stay apart, the rest share one class.
    train, holdout = holdout_split(loans, fraction=0.2, random_state=0)
    data = EvalData.prepare(train, train.copy(), holdout=holdout, target="state")
    task = M.task_of(data)
    kept = list(train["state"].value_counts().index[:M.MAX_CLASSES])
    assert task.classes == (*kept, M.OTHER_CLASS) and task.pooled == train["state"].nunique() - M.MAX_CLASSES
    ratio = get_metric("utility_ratio").compute(data)
    assert ratio.value == 1.0                   # a copy of the training rows: the same model, pooled or not
    assert ratio.details["classes"] == M.MAX_CLASSES + 1 and "pooled" in ratio.details["classes_note"]
    labels = M.class_labels(task, holdout["state"].reset_index(drop=True))
    assert set(labels) <= set(task.classes) and (labels == M.OTHER_CLASS).sum() == (~holdout["state"].isin(kept)).sum()


def test_a_synthetic_target_of_invented_levels_is_not_computed(cps_split):
    # a broken generator inventing a new level per row once meant a classifier with 6,000 classes (no end in
    # minutes); none of its levels is a real class, so no classifier of the real classes can be trained
    train, holdout = cps_split
    invented = train.assign(region=[f"zz{i}" for i in range(len(train))])
    reason = _compute_reason(train, invented, holdout, "region")
    assert "'region'" in reason and "real training rows do not have" in reason
    # a few invented levels among real ones are pooled into one class the real holdout never has
    mixed = train.assign(region=train["region"].where(np.arange(len(train)) % 10 > 0, "invented"))
    data = EvalData.prepare(train, mixed, holdout=holdout, target="region")
    assert M.task_of(data).classes[-1] == M.OTHER_CLASS
    assert 0.0 <= get_metric("utility_ratio").compute(data).value <= 1.0
