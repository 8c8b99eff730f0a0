"""Fidelity metrics: hand-worked formulas, planted ground truth, and real data with a real generator."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import synthgov as sg
from synthgov.errors import ParameterError
from synthgov.evaluate import EvalData, evaluate, get_metric, holdout_split
from synthgov.evaluate._marginals import marginals_plot
from synthgov.evaluate.fidelity import (
    PAIR_CAP,
    ks_statistic,
    pairwise_correlation,
    total_variation,
    wilson_interval,
)

FIDELITY = ["ks_complement", "tv_complement", "missing_similarity", "correlation_similarity",
            "contingency_similarity", "detection_auc", "knn_precision", "knn_recall", "fidelity_score"]


def prepared(real: pd.DataFrame, synthetic: pd.DataFrame, **kwargs) -> EvalData:
    # the real table is used whole (a holdout is given), so hand-worked numbers stay exact
    return EvalData.prepare(real, synthetic, holdout=real, **kwargs)


def value(name: str, data: EvalData) -> float:
    return get_metric(name).compute(data).value


def split_cps(cps: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, holdout = holdout_split(cps, fraction=0.2, random_state=0)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def assert_plain_json(obj, path="details"):
    """Only plain JSON types (no numpy scalars, no NaN) anywhere in ``obj``."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert type(k) is str, f"{path}: key {k!r}"
            assert_plain_json(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            assert_plain_json(v, f"{path}[{i}]")
    else:
        assert type(obj) in (str, int, float, bool, type(None)), f"{path}: {type(obj).__name__}"
        if type(obj) is float:
            assert np.isfinite(obj), path


# -- the exact formulas ---------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # scipy's p-value on tiny samples; the statistic is unaffected
@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-20, 20), min_size=1, max_size=40), st.lists(st.integers(-20, 20), min_size=1, max_size=40))
def test_ks_statistic_matches_scipy(x, y):
    # integers make ties common, the case where a hand-rolled ECDF gap most often goes wrong
    expected = scipy.stats.ks_2samp(x, y, method="asymp").statistic
    assert ks_statistic(np.array(x, float), np.array(y, float)) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=3, max_size=3), st.lists(st.floats(0, 1), min_size=3, max_size=3))
def test_total_variation_is_a_bounded_symmetric_distance(a, b):
    p = np.array(a) + 1e-9
    q = np.array(b) + 1e-9
    p, q = p / p.sum(), q / q.sum()
    d = float(total_variation(p, q))
    assert 0.0 <= d <= 1.0 + 1e-12
    assert d == pytest.approx(float(total_variation(q, p)), abs=1e-15)
    assert float(total_variation(p, p)) == 0.0


def test_wilson_interval_matches_the_formula():
    # Wilson (1927): centre (p + z^2/2n) / (1 + z^2/n); worked by hand for 5 of 10 at z = 1.96
    low, high = wilson_interval(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    with pytest.raises(ParameterError):
        wilson_interval(3, 0)


def test_pairwise_correlation_matches_pandas_pairwise_pearson():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 4))
    x[:, 1] += 0.8 * x[:, 0]
    x[rng.random(x.shape) < 0.2] = np.nan     # different rows missing per column
    x[:, 3] = 5.0                              # a constant column: undefined
    ours = pairwise_correlation(x)
    expected = pd.DataFrame(x).corr(min_periods=10).to_numpy()
    finite = np.isfinite(expected)
    np.testing.assert_allclose(ours[finite], expected[finite], atol=1e-10)
    assert np.isnan(ours[3]).all() and np.isnan(ours[:, 3]).all()


# -- hand-worked metric values -----------------------------------------------------------------------
def test_ks_complement_hand_worked():
    real = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [10.0, 20.0, 30.0, 40.0]})
    synthetic = pd.DataFrame({"x": [1.0, 2.0, 3.0, 9.0], "y": [30.0, 40.0, 50.0, 60.0]})
    # x: CDFs differ by 1/4 on [4, 9); y: by 1/2 on [20, 30) and [40, 50)
    result = get_metric("ks_complement").compute(prepared(real, synthetic))
    assert result.value == pytest.approx((0.75 + 0.5) / 2, abs=1e-12)
    assert result.details["columns"]["x"]["ks_statistic"] == 0.25
    assert result.details["columns"]["y"]["ks_statistic"] == 0.5


def test_tv_complement_counts_missing_as_a_level():
    real = pd.DataFrame({"c": ["a", "a", "b", None], "d": ["u", "u", "u", "u"]})
    synthetic = pd.DataFrame({"c": ["a", "b", "b", None], "d": [None, None, "u", "u"]})
    # c: (1/2, 1/4, 1/4) vs (1/4, 1/2, 1/4) -> TVD 1/4; d: (u 1, missing 0) vs (1/2, 1/2) -> TVD 1/2
    result = get_metric("tv_complement").compute(prepared(real, synthetic))
    assert result.value == pytest.approx((0.75 + 0.5) / 2, abs=1e-12)
    assert result.details["columns"]["d"]["tvd"] == 0.5


def test_missing_similarity_hand_worked():
    real = pd.DataFrame({"x": [1.0, 2.0, None, 4.0], "c": ["a", None, "b", "a"]})
    synthetic = pd.DataFrame({"x": [None, None, None, 4.0], "c": ["a", "b", None, "b"]})
    # x: 1/4 vs 3/4 missing -> 0.5; c: 1/4 vs 1/4 -> 1
    assert value("missing_similarity", prepared(real, synthetic)) == pytest.approx(0.75, abs=1e-12)


def test_correlation_similarity_hand_worked_against_scipy():
    rng = np.random.default_rng(0)
    x = np.arange(12, dtype=float)
    z = rng.permutation(12).astype(float)
    real = pd.DataFrame({"x": x, "y": x * 2.5, "z": z})
    synthetic = pd.DataFrame({"x": x, "y": (x * 2.5)[::-1].copy(), "z": z})   # same marginals, y reversed
    r = scipy.stats.spearmanr(x, z).statistic
    # pairs: (x, y) real +1, synthetic -1 -> 0; (x, z) unchanged -> 1; (y, z) r vs -r -> 1 - |r|
    result = get_metric("correlation_similarity").compute(prepared(real, synthetic))
    assert result.value == pytest.approx((0.0 + 1.0 + (1 - abs(r))) / 3, abs=1e-12)
    assert result.details["coefficient"] == "spearman"
    plot = result.details["plot"]
    assert plot["type"] == "heatmap" and plot["labels"] == ["x", "y", "z"]
    assert plot["matrix"][0][1] == pytest.approx(-2.0, abs=1e-9)   # synthetic minus real, x vs y


def test_correlation_similarity_with_ties_is_spearman():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 6, 200).astype(float)             # heavy ties
    b = a + rng.integers(0, 4, 200)
    c = rng.integers(0, 6, 200).astype(float)
    d = rng.integers(0, 6, 200).astype(float) + 0.5 * c
    real, synthetic = pd.DataFrame({"a": a, "b": b}), pd.DataFrame({"a": c, "b": d})
    expected = 1 - abs(scipy.stats.spearmanr(a, b).statistic - scipy.stats.spearmanr(c, d).statistic) / 2
    assert value("correlation_similarity", prepared(real, synthetic)) == pytest.approx(expected, abs=1e-12)


def test_contingency_sees_a_broken_pair_that_the_marginals_miss():
    real = pd.DataFrame({"c1": ["a", "a", "b", "b"] * 3, "c2": ["x", "x", "y", "y"] * 3})
    synthetic = pd.DataFrame({"c1": ["a", "a", "b", "b"] * 3, "c2": ["y", "y", "x", "x"] * 3})
    data = prepared(real, synthetic)
    # each column keeps its shares exactly, but the joint (a,x),(b,y) became (a,y),(b,x): TVD 1
    assert value("tv_complement", data) == 1.0
    assert value("contingency_similarity", data) == 0.0


def test_contingency_matches_an_independent_crosstab():
    rng = np.random.default_rng(5)

    def table(n, shift):
        c = rng.choice(["p", "q", "r", None], size=n, p=[0.4, 0.3, 0.2, 0.1])
        d = np.where(rng.random(n) < 0.5 + shift, c, rng.choice(["p", "q", "r"], size=n))
        # ten distinct values in equal numbers: the quantile bins put each value in a bin of its own
        k = np.repeat(np.arange(10.0), n // 10)
        return pd.DataFrame({"c": c, "d": d, "k": rng.permutation(k)})

    real, synthetic = table(500, 0.3), table(500, -0.3)
    result = get_metric("contingency_similarity").compute(prepared(real, synthetic))
    scores = {(a, b): s for a, b, s in result.details["pairs"]}

    def expected(a, b):
        def shares(frame):
            return pd.crosstab(frame[a].fillna("NA"), frame[b].fillna("NA"), normalize=True).stack()
        p, q = shares(real), shares(synthetic)
        p, q = p.align(q, fill_value=0.0)
        return 1 - 0.5 * float(np.abs(p - q).sum())

    for pair in [("c", "d"), ("c", "k"), ("d", "k")]:
        assert scores[pair] == pytest.approx(expected(*pair), abs=1e-4)   # details round to 4 decimals
    assert result.details["pairs_scored"] == 3


def test_contingency_samples_pairs_beyond_the_cap_reproducibly():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({f"c{i:02d}": rng.choice(["a", "b", "c"], 120) for i in range(60)})
    total = 60 * 59 // 2
    assert total > PAIR_CAP
    first = get_metric("contingency_similarity").compute(prepared(frame, frame.sample(frac=1, random_state=1)))
    again = get_metric("contingency_similarity").compute(prepared(frame, frame.sample(frac=1, random_state=1)))
    other = get_metric("contingency_similarity").compute(
        prepared(frame, frame.sample(frac=1, random_state=1), random_state=7))
    assert first.details["pairs_scored"] == PAIR_CAP and first.details["pairs_total"] == total
    assert "sample" in first.details["pair_method"]
    assert first.details["pairs"] == again.details["pairs"]                # same seed, same pairs
    pairs = {tuple(p[:2]) for p in first.details["pairs"]}
    assert pairs != {tuple(p[:2]) for p in other.details["pairs"]}       # another seed, another sample


def test_knn_precision_recall_hand_worked():
    # Real points at 0..9 steps (a step is 1.5). A real point's ball reaches its 5th nearest real neighbour:
    # 5 steps for the point at 0, at most 4 for the others.
    step = 1.5
    real = pd.DataFrame({"x": np.arange(10) * step})
    # (a) nine synthetic points on real point 0 and one at -5 steps: the last is exactly on the edge of
    # point 0's ball (inside, as distances <= the radius count), so precision is 1 (0.9 with a 4th neighbour)
    edge = prepared(real, pd.DataFrame({"x": [-5 * step] + [0.0] * 9}))
    assert get_metric("knn_precision").compute(edge).value == 1.0
    # (b) synthetic: four at 0, six at 1 step. A 0-point's 5th neighbour is a 1-point (radius 1 step); a
    # 1-point's is another 1-point (radius 0). Real 0 and 1 fall in a ball, real 2..9 do not: recall 2/10
    # (it would be 3/10 with a 6th neighbour). Every synthetic point sits on a real one: precision 1.
    data = prepared(real, pd.DataFrame({"x": [0.0] * 4 + [step] * 6}))
    recall = get_metric("knn_recall").compute(data)
    assert recall.value == pytest.approx(0.2, abs=1e-12)
    assert recall.ci == pytest.approx(wilson_interval(2, 10))
    assert get_metric("knn_precision").compute(data).value == 1.0
    far = prepared(real, pd.DataFrame({"x": np.arange(10) * step + 1000.0}))
    assert value("knn_precision", far) == 0.0 and value("knn_recall", far) == 0.0


def test_not_computed_says_why():
    real = pd.DataFrame({"c": list("aabbc") * 4, "d": list("xyxyz") * 4})
    report = evaluate(real, real, holdout=real, metrics=["ks_complement", "correlation_similarity", "tv_complement"])
    assert "numeric" in report["ks_complement"].reason
    assert "numeric" in report["correlation_similarity"].reason
    assert report["tv_complement"].value == 1.0


# -- planted ground truth on real data ----------------------------------------------------------------
def test_a_copy_of_the_training_rows_scores_perfectly(cps):
    train, holdout = split_cps(cps)
    report = evaluate(train, train.copy(), holdout=holdout, metrics=["fidelity"])
    for name in ["ks_complement", "tv_complement", "missing_similarity", "correlation_similarity",
                 "contingency_similarity", "fidelity_score", "knn_precision", "knn_recall"]:
        assert report[name].value == pytest.approx(1.0, abs=1e-12), name
    # a classifier cannot tell a table from itself. Tolerance 0.05: about five standard errors of an AUC on
    # 2,000 + 2,000 rows (Hanley-McNeil SE ~0.009); observed 0.47 to 0.52 over seeds 0-3
    assert report["detection_auc"].value == pytest.approx(0.5, abs=0.05)
    assert report.verdict_of("detection_auc") == "pass"


@pytest.mark.parametrize("column", ["experience", "region"])
def test_shuffling_one_column_lowers_exactly_its_pair_scores(cps, column):
    train, holdout = split_cps(cps)
    synthetic = train.copy()
    synthetic[column] = np.random.default_rng(1).permutation(synthetic[column].to_numpy())
    data = EvalData.prepare(train, synthetic, holdout=holdout)
    shapes = {**get_metric("ks_complement").compute(data).details["columns"],
              **get_metric("tv_complement").compute(data).details["columns"]}
    assert shapes[column]["score"] == 1.0            # a permutation keeps the column's values exactly
    contingency = get_metric("contingency_similarity").compute(data).details["pairs"]
    involved = [s for a, b, s in contingency if column in (a, b)]
    others = [s for a, b, s in contingency if column not in (a, b)]
    assert len(involved) == len(data.columns) - 1
    # every pair with the shuffled column loses its joint structure; sampling noise alone keeps TVD > 0.005
    # at 22,000 rows, so each score falls clearly below 1
    assert max(involved) < 0.995
    assert others == [1.0] * len(others)             # untouched pairs are exactly as before
    correlations = get_metric("correlation_similarity").compute(data).details["pairs"]
    for a, b, real, synth, score in correlations:
        if column in (a, b):
            # shuffled, the column is independent of the rest: |r| under 0.05 (7 standard errors at 22,000
            # rows), while CPS correlates experience with wage and education at |r| >= 0.2
            assert abs(synth) < 0.05 and abs(real) >= 0.2
            assert score == pytest.approx(1 - abs(real - synth) / 2, abs=1e-4) and score < 0.95
        else:
            assert score == 1.0
    breakdown = get_metric("fidelity_score").compute(data).details["columns"]
    lowest = min(breakdown, key=lambda c: breakdown[c]["pair_trend"])
    assert lowest == column


def test_detection_names_the_column_that_gives_synthetic_rows_away(cps):
    train, holdout = split_cps(cps)
    synthetic = train.copy()
    synthetic["wage"] = synthetic["wage"] * 1.5
    result = get_metric("detection_auc").compute(EvalData.prepare(train, synthetic, holdout=holdout))
    assert result.value > 0.7
    assert result.details["giveaway_columns"][0]["column"] == "wage"
    assert result.ci[0] < result.value < result.ci[1]
    plot = result.details["plot"]
    assert plot["type"] == "roc" and len(plot["fpr"]) <= 200
    assert plot["fpr"][0] == 0.0 and plot["tpr"][-1] == 1.0


def test_real_holdout_against_training_rows_has_high_fidelity(cps):
    train, holdout = split_cps(cps)
    report = evaluate(train, holdout, holdout=holdout, metrics=["fidelity"])
    # the same population: only sampling noise separates them (KS noise ~0.01 at these sizes)
    assert report["ks_complement"].value > 0.97
    assert report["tv_complement"].value > 0.97
    assert report["fidelity_score"].value > 0.95
    assert report["detection_auc"].value == pytest.approx(0.5, abs=0.05)   # same tolerance as for the copy
    assert report["knn_precision"].value > 0.9 and report["knn_recall"].value > 0.9


def test_copula_on_cps_scores_in_plausible_ranges(cps):
    train, holdout = split_cps(cps)
    synthetic = sg.CopulaSynthesizer(random_state=0).fit(train).sample(len(train))
    report = evaluate(train, synthetic, holdout=holdout, metrics=["fidelity"])
    # a Gaussian copula samples each marginal from its empirical quantiles: column shapes stay near 1
    assert report["ks_complement"].value > 0.95
    assert report["tv_complement"].value > 0.95
    assert 0.9 < report["fidelity_score"].value < 1.0
    # and it models dependence only through a correlation matrix, so some structure is lost but not most
    assert 0.5 < report["detection_auc"].value < 0.8
    assert 0.8 < report["knn_precision"].value <= 1.0 and 0.8 < report["knn_recall"].value <= 1.0


def test_copula_on_loans_scores_in_plausible_ranges_and_reports_plain_json(loans):
    train, holdout = holdout_split(loans, fraction=0.2, random_state=0)
    synthetic = sg.CopulaSynthesizer(random_state=0).fit(train).sample(len(train))
    report = evaluate(train, synthetic, holdout=holdout, metrics=["fidelity"])
    assert 0.85 < report["fidelity_score"].value < 1.0
    assert report["ks_complement"].value > 0.95
    # loans has exact arithmetic relations (paid_total = principal + interest + fees, grade fixed by
    # sub_grade) that a Gaussian copula cannot keep: a working classifier must find them
    assert report["detection_auc"].value > 0.7
    assert report.verdict_of("detection_auc") == "fail"
    for name in FIDELITY:
        assert report[name].computed, name
        assert_plain_json(report[name].details)
    json.loads(report.to_json())
    # the marginal plot covers every compared column, categorical ones included
    data = EvalData.prepare(train, synthetic, holdout=holdout)
    plot = report["fidelity_score"].details["plot"]
    assert plot["type"] == "marginals" and list(plot["columns"]) == data.columns
    for name, col in plot["columns"].items():
        assert col["kind"] == ("numeric" if name in data.numeric else "categorical")
        assert 0 < len(col["labels"]) <= 20
        assert len(col["real"]) == len(col["synthetic"]) == len(col["labels"])
        assert sum(col["real"]) == pytest.approx(1.0, abs=1e-4)       # shares rounded to 6 decimals
        assert sum(col["synthetic"]) == pytest.approx(1.0, abs=1e-4)


def test_fidelity_score_is_the_mean_of_column_shapes_and_pair_trends(loans):
    train, holdout = holdout_split(loans.iloc[:3000], fraction=0.2, random_state=0)
    synthetic = sg.CopulaSynthesizer(random_state=0).fit(train).sample(len(train))
    report = evaluate(train, synthetic, holdout=holdout,
                      metrics=["ks_complement", "tv_complement", "correlation_similarity",
                               "contingency_similarity", "fidelity_score"])
    details = report["fidelity_score"].details
    shapes = [c["score"] for c in report["ks_complement"].details["columns"].values()] + \
             [c["score"] for c in report["tv_complement"].details["columns"].values()]
    correlation = {(a, b): s for a, b, _, _, s in report["correlation_similarity"].details["pairs"]}
    trends = [correlation.get((a, b), s) for a, b, s in report["contingency_similarity"].details["pairs"]]
    # both recomputed from the other metrics' rounded details, hence the tolerance
    assert details["column_shapes"] == pytest.approx(np.mean(shapes), abs=1e-4)
    assert details["pair_trends"] == pytest.approx(np.mean(trends), abs=1e-4)
    assert report["fidelity_score"].value == pytest.approx((details["column_shapes"] + details["pair_trends"]) / 2,
                                                           abs=1e-6)
    worst = details["worst_pairs"][0]
    assert worst["score"] == pytest.approx(min(trends), abs=1e-4)


def test_hanley_mcneil_interval_hand_worked():
    from synthgov.evaluate._detection import hanley_mcneil_interval

    # A = 0.8, 50 positives and 50 negatives: Q1 = A / (2 - A) = 0.666667, Q2 = 2A² / (1 + A) = 0.711111;
    # SE² = (A(1 - A) + 49 (Q1 - A²) + 49 (Q2 - A²)) / 2500 = (0.16 + 1.306667 + 3.484444) / 2500 = 0.00198044,
    # SE = 0.044502 (Hanley & McNeil 1982, table 1 gives 0.0445 for this case); half-width 1.96 SE = 0.087222
    low, high = hanley_mcneil_interval(0.8, 50, 50)
    assert (low, high) == pytest.approx((0.8 - 0.087222, 0.8 + 0.087222), abs=2e-6)
    # clipped to [0, 1] near the ends
    assert hanley_mcneil_interval(0.99, 10, 10)[1] == 1.0


def test_correlation_with_an_all_missing_synthetic_column_is_undefined_without_warnings(cps_small):
    import warnings

    synthetic = cps_small.assign(wage=np.nan)
    data = prepared(cps_small, synthetic)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # numpy's "Mean of empty slice" reached users of the CLI
        result = get_metric("correlation_similarity").compute(data)
    assert all("wage" not in pair[:2] for pair in result.details["pairs"])
    assert ["wage", "education"] in result.details["undefined_pairs"]


def test_marginal_labels_never_name_a_rare_real_value_the_synthetic_table_lacks():
    # release metadata embeds the plot data: a category or number one or two real rows hold is close to a record
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"c": ["a"] * 60 + ["b"] * 37 + ["rare-person"] * 2 + ["shared"],
                         "k": np.r_[rng.integers(0, 3, 99), 41.0]})
    synthetic = pd.DataFrame({"c": ["a"] * 50 + ["b"] * 49 + ["shared"], "k": rng.integers(0, 3, 100)})
    plot = marginals_plot(prepared(real, synthetic))["columns"]
    c = dict(zip(plot["c"]["labels"], plot["c"]["real"], strict=True))
    # "shared" is in the synthetic table (released anyway) and stays named; "rare-person" is pooled, not dropped
    assert c == {"a": 0.6, "b": 0.37, "shared": 0.01, "(other levels)": 0.02}
    # the lone real 41 merges into the nearest named value (2), so the shares still add up
    assert plot["k"]["labels"] == ["0", "1", "2"] and sum(plot["k"]["real"]) == pytest.approx(1.0)
