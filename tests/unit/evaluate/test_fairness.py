"""Fairness metrics: subgroup shares by hand, and subgroup utility and augmentation against planted truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import synthgov as sg
from synthgov.datasets import load_cps1988
from synthgov.errors import ParameterError
from synthgov.evaluate import EvalData, evaluate, get_metric, holdout_split
from synthgov.evaluate import _models as M
from synthgov.evaluate.base import NotComputed
from synthgov.evaluate.fairness import subgroup_labeller


def _data(real, synthetic, *, holdout=None, target=None, sensitive=()):
    return EvalData.prepare(real, synthetic, holdout=real if holdout is None else holdout, target=target,
                            sensitive=list(sensitive))


# -- subgroups and shares by hand ---------------------------------------------------------------
def test_labels_for_categories_quartiles_and_missing():
    real = pd.DataFrame({"sex": ["f", "m", None, "m"] * 25, "age": list(range(20, 70)) * 2,
                         "kids": [0, 1, 2, None] * 25})
    data = _data(real, real, sensitive=["sex", "age", "kids"])
    frame = pd.DataFrame({"sex": ["f", None], "age": [20.0, 119.0], "kids": [2.0, None]})
    assert list(subgroup_labeller(data, "sex")(data.real.head(3))) == ["sex=f", "sex=m", "sex=(missing)"]
    # ages 20..69 twice: quartiles (numpy's linear rule on the 100 values) at 32, 44.5 and 57
    assert list(subgroup_labeller(data, "age")(frame)) == ["age < 32", "age ≥ 57"]
    assert subgroup_labeller(data, "age")(data.real).value_counts().to_dict() == {
        "age < 32": 24, "32 ≤ age < 44.5": 26, "44.5 ≤ age < 57": 24, "age ≥ 57": 26}
    # few distinct values: one subgroup per value
    assert list(subgroup_labeller(data, "kids")(frame)) == ["kids=2", "kids=(missing)"]
    # the bar chart shows a numeric column's bins low to high, not by size
    groups = get_metric("subgroup_representation").compute(data).details["plot"]["groups"]
    assert [g for g in groups if "age" in g] == ["age < 32", "32 ≤ age < 44.5", "44.5 ≤ age < 57", "age ≥ 57"]


def test_representation_by_hand():
    real = pd.DataFrame({"sex": ["f"] * 40 + ["m"] * 60, "race": (["a"] * 10 + ["b"] * 30) + (["a"] * 30 + ["b"] * 30)})
    syn = pd.DataFrame({"sex": ["f"] * 25 + ["m"] * 75, "race": (["a"] * 5 + ["b"] * 20) + (["a"] * 45 + ["b"] * 30)})
    result = get_metric("subgroup_representation").compute(_data(real, syn, sensitive=["sex", "race"]))
    shares = {r["subgroup"]: (r["real_share"], r["synthetic_share"]) for r in result.details["subgroups"]}
    assert shares == {"sex=m": (0.6, 0.75), "sex=f": (0.4, 0.25), "race=b": (0.6, 0.5), "race=a": (0.4, 0.5)}
    cells = {r["subgroup"]: r["difference"] for r in result.details["intersections"]}
    # sex=m & race=a: 30% of real rows, 45% of synthetic ones: the worst cell, +0.15 (tied with sex=m)
    assert cells["sex=m & race=a"] == pytest.approx(0.15) and cells["sex=f & race=a"] == pytest.approx(-0.05)
    assert result.value == pytest.approx(0.15) and result.details["absent_from_synthetic"] == []
    plot = result.details["plot"]
    assert plot["type"] == "bars" and plot["groups"][:2] == ["sex=m", "sex=f"]
    assert plot["series"]["real"][:2] == [0.6, 0.4] and plot["series"]["synthetic"][:2] == [0.75, 0.25]


@pytest.fixture(scope="module")
def cps_split():
    df = load_cps1988().sample(8000, random_state=0).reset_index(drop=True)
    return holdout_split(df, fraction=0.25, random_state=0)


def test_dropping_a_subgroup_shows_a_gap_equal_to_its_real_share(cps_split):
    train, holdout = cps_split
    without = train[train["region"] != "west"]
    share = float((train["region"] == "west").mean())
    for sensitive in (["region"], ["region", "ethnicity"]):
        result = get_metric("subgroup_representation").compute(
            _data(train, without, holdout=holdout, sensitive=sensitive))
        # the dropped subgroup loses its whole share; any other subgroup (or cell) with real share r gains
        # r * share / (1 - share), less than share since r < 1 - share
        assert result.value == pytest.approx(share, abs=1e-12)
        assert result.details["worst_subgroup"] == "region=west"
        assert result.details["worst_synthetic_share"] == 0.0
        assert "region=west" in result.details["absent_from_synthetic"]
    # with two subgroups the other one gains exactly what the dropped one loses: still the dropped share
    result = get_metric("subgroup_representation").compute(
        _data(train, train[train["ethnicity"] != "afam"], holdout=holdout, sensitive=["ethnicity"]))
    assert result.value == pytest.approx(float((train["ethnicity"] == "afam").mean()), abs=1e-12)


# -- utility per subgroup -----------------------------------------------------------------------
def test_subgroup_utility_finds_the_subgroup_whose_labels_were_spoiled(cps_split):
    train, holdout = cps_split
    spoiled = train.copy()
    afam = (spoiled["ethnicity"] == "afam").to_numpy()
    spoiled.loc[afam, "parttime"] = np.random.default_rng(0).permutation(spoiled.loc[afam, "parttime"].to_numpy())
    data = _data(train, spoiled, holdout=holdout, target="parttime", sensitive=["ethnicity", "region"])
    result = get_metric("subgroup_utility").compute(data)
    assert result.details["worst_subgroup"] == "ethnicity=afam"
    # labels of that subgroup are noise in the synthetic rows: its AUC gap is positive beyond bootstrap noise
    assert result.value > 0.05 and result.ci[0] > 0.0
    assert result.value > result.details["overall_gap"] + 0.05
    groups = {r["subgroup"]: r for r in result.details["subgroups"]}
    assert set(groups) == {"ethnicity=cauc", "ethnicity=afam", "region=south", "region=midwest",
                           "region=northeast", "region=west"}
    afam_test = int((holdout["ethnicity"] == "afam").sum())
    assert groups["ethnicity=afam"]["n_test"] == afam_test
    assert result.details["plot"]["type"] == "bars" and "train on synthetic" in result.details["plot"]["series"]


def test_subgroup_utility_of_a_copy_is_zero_and_small_groups_are_listed(cps_split):
    train, holdout = cps_split
    tiny = holdout.copy()
    tiny.loc[tiny.index[:12], "region"] = "islands"  # 12 holdout rows: too few to score
    data = _data(train, train.copy(), holdout=tiny, target="parttime", sensitive=["region"])
    result = get_metric("subgroup_utility").compute(data)
    assert result.value == 0.0  # the same model twice: no gap anywhere
    assert result.details["too_small"] == [{"subgroup": "region=islands", "n_test": 12}]
    assert "region=islands" not in {r["subgroup"] for r in result.details["subgroups"]}


# -- augmentation -------------------------------------------------------------------------------
def test_augmentation_table_with_copula_rows(cps_split):
    train, holdout = cps_split
    syn = sg.CopulaSynthesizer(random_state=0).fit(train).sample(len(train))
    result = get_metric("augmentation").compute(
        _data(train, syn, holdout=holdout, target="parttime", sensitive=["ethnicity"]))
    plot = result.details["plot"]
    assert plot["type"] == "table"
    assert plot["columns"] == ["subgroup", "n_test", "accuracy real only", "accuracy real + synthetic", "change"]
    n_afam_syn = int((syn["ethnicity"] == "afam").sum())
    rows = {r[0]: r for r in plot["rows"]}
    assert set(rows) == {"ethnicity=cauc", f"ethnicity=afam (augmented: +{n_afam_syn:,} synthetic rows)"}
    afam = rows[f"ethnicity=afam (augmented: +{n_afam_syn:,} synthetic rows)"]
    assert afam[1] == int((holdout["ethnicity"] == "afam").sum())
    assert afam[4] == pytest.approx(afam[3] - afam[2]) and result.value == pytest.approx(afam[4])
    (experiment,) = result.details["experiments"]
    assert experiment["subgroup"] == "ethnicity=afam" and experiment["synthetic_rows_added"] == n_afam_syn
    assert result.ci[0] <= result.value <= result.ci[1]
    json.dumps(result.details, allow_nan=False)


def test_augmenting_with_the_test_rows_themselves_helps_that_subgroup(cps_split):
    train, holdout = cps_split
    # planted truth: the "synthetic" rows of the subgroup are its holdout rows, five times over; a model that
    # has seen the test answers must score better on them than one that has not
    leak = pd.concat([train] + [holdout[holdout["ethnicity"] == "afam"]] * 5, ignore_index=True)
    result = get_metric("augmentation").compute(
        _data(train, leak, holdout=holdout, target="parttime", sensitive=["ethnicity"]))
    assert result.details["augmented_subgroup"] == "ethnicity=afam"
    assert result.value > 0.02 and result.ci[0] > 0.0


def test_augmentation_on_a_numeric_target_scores_r2(cps_split):
    train, holdout = cps_split
    syn = sg.CopulaSynthesizer(random_state=0).fit(train).sample(len(train))
    result = get_metric("augmentation").compute(
        _data(train, syn, holdout=holdout, target="wage", sensitive=["region"]))
    plot = result.details["plot"]
    assert plot["columns"][2:4] == ["R² real only", "R² real + synthetic"]
    # the least common region among the training rows is augmented
    rarest = train["region"].value_counts().index[-1]
    assert result.details["augmented_subgroup"] == f"region={rarest}"
    assert len(plot["rows"]) == 4


# -- bad input ----------------------------------------------------------------------------------
def test_missing_sensitive_column_is_a_parameter_error(cps_split):
    train, holdout = cps_split
    with pytest.raises(ParameterError, match="'gender'"):
        evaluate(train, train, holdout=holdout, sensitive=["gender"], metrics=["fairness"])


def test_one_class_target_is_not_computed_with_the_column_named(cps_split):
    train, holdout = cps_split
    report = evaluate(train, train.assign(parttime="no"), holdout=holdout, target="parttime",
                      sensitive=["ethnicity"], metrics=["fairness"])
    assert report["subgroup_representation"].computed
    json.loads(report.to_json())  # every detail is plain JSON (no NaN, no numpy types)
    for name in ("subgroup_utility", "augmentation"):
        assert report[name].value is None and "'parttime'" in report[name].reason
    without_target = evaluate(train, train, holdout=holdout, sensitive=["ethnicity"], metrics=["fairness"])
    assert "target" in without_target["augmentation"].reason


def test_utility_and_fairness_share_the_fitted_models(cps_split):
    train, holdout = cps_split
    data = _data(train, train.sample(frac=0.7, random_state=2), holdout=holdout, target="smsa",
                 sensitive=["ethnicity"])
    get_metric("utility_ratio").compute(data)
    fitted = M.fitted(data)
    get_metric("subgroup_utility").compute(data)
    assert M.fitted(data) is fitted  # memoised: one TRTR and one TSTR fit per evaluation
    with pytest.raises(NotComputed):
        get_metric("augmentation").compute(_data(train, train.assign(ethnicity="cauc"), holdout=holdout,
                                                 target="smsa", sensitive=["ethnicity"]))


def test_a_datetime_sensitive_column_is_labelled_with_dates():
    # quartile bounds of a datetime column were shown as seconds since 1970 ("1.365e+09")
    days = pd.Series(pd.date_range("2024-01-01", periods=100, freq="D"))
    real = pd.DataFrame({"day": days, "x": range(100)})
    data = _data(real, real, sensitive=["day"])
    labels = subgroup_labeller(data, "day")(data.real)
    # 100 days from 2024-01-01: numpy's quartiles fall on days 24.75, 49.5 and 74.25 (times of day included)
    assert list(labels.unique()) == ["day < 2024-01-25 18:00", "2024-01-25 18:00 ≤ day < 2024-02-19 12:00",
                                     "2024-02-19 12:00 ≤ day < 2024-03-15 06:00", "day ≥ 2024-03-15 06:00"]


def test_subgroups_that_fix_a_boolean_target_say_why_they_are_not_scored(cps_split):
    # the target as the sensitive column: every subgroup holds one class, so no AUC is defined in any of them
    train, holdout = cps_split
    high = lambda d: d.assign(high=d["wage"] > 600)  # noqa: E731
    report = evaluate(high(train), high(train), holdout=high(holdout), metrics=["subgroup_utility"],
                      target="high", sensitive=["high"])
    reason = report["subgroup_utility"].reason
    assert "one class only" in reason and "high=False" in reason and "high=True" in reason
