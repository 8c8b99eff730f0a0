"""Diversity and completeness metrics: hand-worked formulas, planted ground truth, real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgov as sg
from synthgov.evaluate import EvalData, evaluate, get_metric, holdout_split
from synthgov.evaluate._column_stats import MIN_NAMED_ROWS
from synthgov.evaluate._stats import wilson_interval
from synthgov.evaluate.diversity import RARE_SHARE

DIVERSITY = ["category_coverage", "range_coverage", "synthetic_duplicates", "rare_category_retention",
             "missing_pattern_similarity"]


def prepared(real: pd.DataFrame, synthetic: pd.DataFrame) -> EvalData:
    return EvalData.prepare(real, synthetic, holdout=real)


def compute(name: str, data: EvalData):
    return get_metric(name).compute(data)


# -- hand-worked ---------------------------------------------------------------------------------
def test_category_coverage_hand_worked():
    real = pd.DataFrame({"c": ["a", "b", "c", "d", "a", None], "e": ["x", "y", "x", "y", "x", "y"]})
    synthetic = pd.DataFrame({"c": ["a", "a", "b", None, None, "a"], "e": ["x", "y", "y", "y", "x", "x"]})
    # c: a, b of a, b, c, d -> 1/2 (missing is not a level); e: 2 of 2 -> 1
    result = compute("category_coverage", prepared(real, synthetic))
    assert result.value == pytest.approx(0.75, abs=1e-12)
    # c and d are each one real row's value: counted as lost, never named
    lost = {k: result.details["columns"]["c"][k] for k in ("lost_levels", "lost_total", "lost_unnamed")}
    assert lost == {"lost_levels": [], "lost_total": 2, "lost_unnamed": 2}
    assert result.details["plot"]["type"] == "bars"


def test_range_coverage_hand_worked():
    real = pd.DataFrame({"x": [0.0, 4.0, 10.0, 6.0], "y": [1.0, 2.0, 3.0, 5.0], "z": [7.0, 7.0, 7.0, 7.0],
                         "w": [1.5, 2.5, 3.5, 4.5]})
    synthetic = pd.DataFrame({"x": [5.0, 20.0, 6.0, 7.0], "y": [-3.0, 0.0, 9.0, 4.0], "z": [6.0, 8.0, 7.0, 7.5],
                              "w": [None, None, None, None]})
    # x: overlap [5, 10] of [0, 10] -> 0.5; y: covers [1, 5] -> 1; z constant 7, inside [6, 8] -> 1;
    # w: no synthetic value -> 0
    result = compute("range_coverage", prepared(real, synthetic))
    assert result.value == pytest.approx((0.5 + 1 + 1 + 0) / 4, abs=1e-12)
    assert result.details["columns"]["w"]["synthetic"] is None
    assert result.details["columns"]["x"]["short_of_real"] == ["minimum"]
    assert result.details["columns"]["y"]["short_of_real"] == []


def test_range_coverage_never_shows_the_real_extremes():
    # the real minimum and maximum are single records' values (an age of 138, the largest income)
    real = pd.DataFrame({"x": [-7.25, 1.0, 2.0, 3.0, 4.0, 987.5]})
    synthetic = pd.DataFrame({"x": [0.0, 1.5, 2.5, 3.5, 4.5, 5.0]})
    details = compute("range_coverage", prepared(real, synthetic)).details
    assert "-7.25" not in str(details) and "987.5" not in str(details)
    assert details["columns"]["x"]["short_of_real"] == ["minimum", "maximum"]


def test_synthetic_duplicates_hand_worked():
    real = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 4.0], "c": ["a", "b", "a", "b", "b"]})
    synthetic = pd.DataFrame({"x": [1.0, 1.0, 1.0, 2.0, None, None, 3.0, 3.0],
                              "c": ["a", "a", "a", "a", None, None, "a", "b"]})
    # synthetic: (1,a) x3 -> 2 repeats; (missing, missing) x2 -> 1 repeat; 3 of 8 rows repeat an earlier one
    result = compute("synthetic_duplicates", prepared(real, synthetic))
    assert result.value == pytest.approx(3 / 8, abs=1e-12)
    assert result.ci == pytest.approx(wilson_interval(3, 8))
    assert result.details["real"]["repeats"] == 1 and result.details["real"]["rate"] == pytest.approx(0.2)


def test_rare_category_retention_hand_worked():
    levels = ["a"] * 90 + ["b"] * 6 + ["c"] * 3 + ["d"] * 1          # shares 90%, 6%, 3%, 1%
    real = pd.DataFrame({"c": levels, "e": ["x", "y"] * 50})
    synthetic = pd.DataFrame({"c": ["a"] * 97 + ["c"] * 3, "e": ["x"] * 100})
    # rare (< 5%): c and d; c is kept, d lost -> 1/2. Column e has no rare level and is not averaged in
    result = compute("rare_category_retention", prepared(real, synthetic))
    assert RARE_SHARE == 0.05
    assert result.value == pytest.approx(0.5, abs=1e-12)
    assert list(result.details["columns"]) == ["c"]
    # d is lost; one real row holds it, so it is counted, not named
    column = result.details["columns"]["c"]
    assert (column["lost_levels"], column["lost_total"], column["lost_unnamed"]) == ([], 1, 1)


def test_lost_levels_are_named_only_when_enough_real_rows_hold_them():
    # the report ends up in release metadata: a level one or two people hold is close to their record
    # 320 rows: mid (10 rows), solo, pair and kept are all rare (under 5%)
    levels = ["common"] * 300 + ["mid"] * MIN_NAMED_ROWS + ["solo"] + ["pair"] * 2 + ["kept"] * 7
    real = pd.DataFrame({"c": levels})
    synthetic = pd.DataFrame({"c": ["common"] * 90 + ["kept"] * 10})
    data = prepared(real, synthetic)
    for name in ("category_coverage", "rare_category_retention"):
        column = compute(name, data).details["columns"]["c"]
        # mid (10 rows), solo and pair are lost; only mid is held by enough rows to be named
        assert column["lost_levels"] == ["mid"], name
        assert (column["lost_total"], column["lost_unnamed"]) == (3, 2), name
        assert "solo" not in str(compute(name, data).details) and "pair" not in str(compute(name, data).details)


def test_rare_category_retention_without_rare_levels_is_not_computed():
    real = pd.DataFrame({"c": ["a", "b"] * 20})
    report = evaluate(real, real, holdout=real, metrics=["rare_category_retention"])
    assert not report["rare_category_retention"].computed
    assert "5%" in report["rare_category_retention"].reason


def test_missing_pattern_similarity_hand_worked():
    real = pd.DataFrame({"x": [1.0, None, 3.0, None], "y": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"]})
    synthetic = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [1.0, None, 3.0, None], "c": ["a", "b", "a", "b"]})
    # real patterns: none 1/2, {x} 1/2; synthetic: none 1/2, {y} 1/2 -> TVD 1/2
    result = compute("missing_pattern_similarity", prepared(real, synthetic))
    assert result.value == pytest.approx(0.5, abs=1e-12)
    top = {tuple(p["missing"]): (p["real"], p["synthetic"]) for p in result.details["top_real_patterns"]}
    assert top[("x",)] == (0.5, 0.0) and top[()] == (0.5, 0.5)
    assert result.details["patterns_only_synthetic"] == 1


def test_missing_patterns_beyond_64_columns():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({f"v{i:02d}": rng.normal(size=40) for i in range(70)})
    real.iloc[:20, 65] = np.nan                       # a pattern in a column past the first 64 bits
    synthetic = real.copy()
    synthetic.iloc[:10, 65] = 0.0                     # 10 rows move from pattern {v65} to "none"
    result = compute("missing_pattern_similarity", prepared(real, synthetic))
    assert result.value == pytest.approx(1 - 10 / 40, abs=1e-12)


# -- planted ground truth on real data --------------------------------------------------------------------
def test_dropping_a_category_lowers_coverage_by_its_share(cps):
    train, holdout = holdout_split(cps, fraction=0.2, random_state=0)
    synthetic = train.copy()
    synthetic["region"] = synthetic["region"].replace({"west": "south"})
    data = EvalData.prepare(train, synthetic, holdout=holdout)
    result = compute("category_coverage", data)
    # 4 categorical/boolean columns (ethnicity, smsa, region, parttime); region loses 1 of its 4 levels
    assert len(data.categorical) == 4
    assert result.value == pytest.approx(1 - (1 / 4) / 4, abs=1e-12)
    assert result.details["columns"]["region"]["lost_levels"] == ["west"]
    untouched = compute("category_coverage", EvalData.prepare(train, train.copy(), holdout=holdout))
    assert untouched.value == 1.0


def test_a_copy_scores_full_coverage_and_the_real_duplicate_rate(cps):
    train, holdout = holdout_split(cps, fraction=0.2, random_state=0)
    report = evaluate(train, train.copy(), holdout=holdout, metrics=["diversity"])
    assert report["category_coverage"].value == 1.0
    assert report["range_coverage"].value == 1.0
    assert report["missing_pattern_similarity"].value == 1.0
    # CPS has 7 coarse columns, so real rows repeat; a copy repeats exactly as often (checked with pandas)
    expected = float(train.duplicated().mean())
    assert expected > 0
    assert report["synthetic_duplicates"].value == pytest.approx(expected, abs=1e-12)
    assert report["synthetic_duplicates"].details["real"]["rate"] == pytest.approx(expected, abs=1e-6)


def test_copula_on_loans_in_plausible_ranges(loans):
    train, holdout = holdout_split(loans, fraction=0.2, random_state=0)
    synthetic = sg.CopulaSynthesizer(random_state=0).fit(train).sample(len(train))
    report = evaluate(train, synthetic, holdout=holdout, metrics=["diversity"])
    for name in DIVERSITY:
        assert report[name].computed, name
    # each column's coverage is the share of real levels found in the synthetic table (checked with sets)
    data = EvalData.prepare(train, synthetic, holdout=holdout)
    columns = report["category_coverage"].details["columns"]
    for name in data.categorical:
        real_levels = set(data.real[name].dropna())
        lost = real_levels - set(data.synthetic[name].dropna())
        assert columns[name]["lost_total"] == len(lost), name
        assert columns[name]["score"] == pytest.approx(1 - len(lost) / len(real_levels), abs=1e-6), name
    # emp_title has ~4,000 mostly one-off titles the generator pools rather than reproduces (the schema
    # groups levels seen in fewer than 5 rows); the other columns have few levels and lose at most a rare one
    assert columns["emp_title"]["score"] < 0.5
    assert np.mean([c["score"] for n, c in columns.items() if n != "emp_title"]) > 0.9
    assert 0.5 < report["range_coverage"].value <= 1.0
    # continuous columns make exact repeats essentially impossible for a sampler, as in the real table
    assert report["synthetic_duplicates"].value <= report["synthetic_duplicates"].details["real"]["rate"] + 0.001
    # joint-application fields go missing together; a copula with per-column missingness loses some of that
    assert 0.5 < report["missing_pattern_similarity"].value < 1.0
