"""Anonymeter-style attacks (singling out, linkability, attribute inference): hand-worked formulas, the
vectorised predicate machinery against brute force, and planted ground truth (a copy of the training rows
must show high risk; independent real rows used as "synthetic" must show none)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import synthgov as sg
from synthgov.errors import ParameterError
from synthgov.evaluate import EvalData, get_metric
from synthgov.evaluate import _risk as rk
from synthgov.evaluate import _singling as so
from synthgov.evaluate import attacks as at
from synthgov.evaluate.base import NotComputed

ATTACKS = ["singling_out_risk", "linkability_risk", "inference_risk"]


def split(frame: pd.DataFrame, shares: list[float], seed: int = 0) -> list[pd.DataFrame]:
    """Disjoint random parts of ``frame`` (seeded)."""
    order = np.random.default_rng(seed).permutation(len(frame))
    bounds = np.cumsum([0] + [int(round(s * len(frame))) for s in shares])
    return [frame.iloc[order[a:b]].reset_index(drop=True) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def copy_case(frame: pd.DataFrame, **roles) -> EvalData:
    """Synthetic = an exact copy of the training rows (the worst possible generator)."""
    train, holdout = sg.holdout_split(frame, fraction=0.2, random_state=0)
    return EvalData.prepare(train, train.copy(), holdout=holdout, random_state=0, **roles)


def independent_case(frame: pd.DataFrame, shares=(1 / 3, 1 / 3, 1 / 3), **roles) -> EvalData:
    """Real rows split three ways; the third part, which never met the training rows, plays "synthetic"."""
    train, holdout, synthetic = split(frame, list(shares), seed=1)
    return EvalData.prepare(train, synthetic, holdout=holdout, random_state=0, **roles)


def assert_about_zero(result, bound: float) -> None:
    """No leak planted: the risk interval must (nearly) reach 0 and the estimate stay under ``bound``.

    A 95% interval misses 0 by chance about once in 40 seeds, so its lower end may sit a hair above 0 (0.02).
    """
    assert result.ci[0] <= 0.02, result.ci
    assert result.value < bound, result.value


# -- the formulas, hand-worked -------------------------------------------------------------------------
def test_wilson_interval_hand_worked():
    # 5/10: centre (0.5 + z²/20) / (1 + z²/10) = 0.5; half = z / (1 + z²/10) * sqrt(0.25/10 + z²/400)
    #       = 1.95996 / 1.384146 * sqrt(0.025 + 0.0096037) = 1.416010 * 0.186021 = 0.263406
    assert at.wilson_interval(5, 10) == (0.2366, 0.7634)
    # 0/10: low 0, high = z² / (n + z²) = 3.841459 / 13.841459 = 0.277533
    assert at.wilson_interval(0, 10) == (0.0, 0.2775)
    # 10/10 mirrors 0/10
    assert at.wilson_interval(10, 10) == (0.7225, 1.0)
    low, high = at.wilson_interval(0, 10, digits=None)
    assert low == 0.0 and high == pytest.approx(3.841459 / 13.841459, abs=1e-6)
    with pytest.raises(ParameterError):
        at.wilson_interval(1, 0)


def test_risk_formula_hand_worked():
    # main 60/100, control 20/100: risk = (0.6 - 0.2) / (1 - 0.2) = 0.5
    # Wilson half-widths: z / (1 + z²/100) * sqrt(p(1-p)/100 + z²/40000)
    #   z / (1 + z²/100) = 1.959964 / 1.038415 = 1.887458
    #   main:    1.887458 * sqrt(0.0024 + 0.00009604) = 1.887458 * 0.049960 = 0.094298
    #   control: 1.887458 * sqrt(0.0016 + 0.00009604) = 1.887458 * 0.041183 = 0.077731
    # error = sqrt((0.094298 / 0.8)² + (0.077731 * (1 - 0.6) / 0.8²)²) = sqrt(0.117873² + 0.048582²) = 0.127492
    risk, (low, high) = at.attack_risk(at.SuccessRate(60, 100), at.SuccessRate(20, 100))
    assert risk == pytest.approx(0.5)
    assert low == pytest.approx(0.5 - 0.127492, abs=2e-6)
    assert high == pytest.approx(0.5 + 0.127492, abs=2e-6)


def test_risk_is_clipped_and_degenerate_control_says_nothing():
    # control beats main: the excess is negative, reported as 0 with the interval clipped at 0
    risk, (low, high) = at.attack_risk(at.SuccessRate(10, 100), at.SuccessRate(30, 100))
    assert risk == 0.0 and low == 0.0 and 0.0 <= high < 0.1
    # a control that always succeeds leaves nothing to attribute to membership: 0, interval (0, 1)
    assert at.attack_risk(at.SuccessRate(100, 100), at.SuccessRate(100, 100)) == (0.0, (0.0, 1.0))
    # a perfect main attack against a weak control: risk 1, interval reaching 1
    risk, (low, high) = at.attack_risk(at.SuccessRate(500, 500), at.SuccessRate(50, 500))
    assert risk == 1.0 and high == 1.0 and low > 0.99


def test_given_half_width_replaces_wilson():
    rate = at.SuccessRate(30, 100, half_width=0.2)
    assert rate.interval == pytest.approx((0.1, 0.5))
    assert rate.error == 0.2
    assert at.SuccessRate(5, 100, half_width=0.2).interval == pytest.approx((0.0, 0.25))


def test_size_correction_hand_worked():
    # 4 predicates matching 1, 1, 0 and 2 of 10 holdout rows. At the same size: the share matching one, 2/4.
    assert at.size_corrected_rate([1, 1, 0, 2], 10, 10) == 0.5
    # a random 5-row subsample keeps exactly one of a predicate's c rows with probability
    # c * C(10 - c, 4) / C(10, 5): c=1: 126/252 = 0.5; c=2: 2 * 70 / 252 = 0.5556; c=0: 0
    assert at.size_corrected_rate([1, 1, 0, 2], 10, 5) == pytest.approx((0.5 + 0.5 + 0 + 140 / 252) / 4)


def test_size_correction_recovers_its_model():
    # predicate weights w uniform on (0, 1 / 16000); counts in a 2000-row holdout are binomial. The share singling
    # out among 8000 rows is known in closed form; the extrapolation from 2000 rows must land near it.
    rng = np.random.default_rng(0)
    n_hold, n_train, w_max = 2000, 8000, 1 / 16000
    counts = rng.binomial(n_hold, rng.uniform(0, w_max, size=50_000))
    truth = float(rk._singling_probability(n_train, w_max))
    estimate = at.size_corrected_rate(counts, n_hold, n_train)
    # 50,000 predicates: sampling noise ~0.002; the tolerance allows for the grid fit on top
    assert estimate == pytest.approx(truth, abs=0.02)
    # the raw share at the holdout's size is far off, which is why the correction exists
    assert abs(float(np.mean(counts == 1)) - truth) > 0.1


# -- the predicate machinery against brute force ---------------------------------------------------------
def pandas_count(frame: pd.DataFrame, numeric: set[str], predicate: list[tuple[str, str, object]]) -> int:
    """How many rows of ``frame`` satisfy a predicate, evaluated plainly with pandas."""
    mask = np.ones(len(frame), dtype=bool)
    for col, op, value in predicate:
        values = frame[col]
        if op == "isna":
            mask &= values.isna().to_numpy()
        elif op == "==":
            mask &= (values == value).fillna(False).to_numpy(dtype=bool)
        elif op == "<=":
            mask &= (values.astype(float) <= value).to_numpy()
        else:
            mask &= (values.astype(float) >= value).to_numpy()
    return int(mask.sum())


def test_vectorised_counts_match_pandas_on_loans(loans):
    # loans has numbers, categories and missing values; the counts must be those of plain boolean filtering
    train, holdout = sg.holdout_split(loans.iloc[:3000], fraction=0.3, random_state=0)
    data = EvalData.prepare(train, train.iloc[:800], holdout=holdout, random_state=0)
    columns = list(data.columns)
    codes = so.Codes({"synthetic": data.synthetic, "real": data.real, "holdout": data.holdout},
                     columns, set(data.numeric))
    rng = np.random.default_rng(3)
    rows, cols, lo, hi = so._draw(rng, codes, codes.tables["synthetic"], 60, 3)
    counts = so._count(codes.tables["real"], cols, lo, hi)
    for i in range(60):
        predicate = []
        for c in cols[i]:
            name = columns[c]
            value = data.synthetic[name].iloc[rows[i]]
            if pd.isna(value):
                predicate.append((name, "isna", None))
            elif name in data.numeric:
                median = float(np.nanmedian(data.synthetic[name].to_numpy(dtype=float)))
                predicate.append((name, ">=" if value > median else "<=", float(value)))
            else:
                predicate.append((name, "==", value))
        assert counts[i] == pandas_count(data.real, set(data.numeric), predicate), predicate
    # every attack predicate matches the synthetic row it was built from
    assert (so._count(codes.tables["synthetic"], cols, lo, hi) >= 1).all()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.integers(1, 40), st.data())
def test_minimal_unique_rows_matches_the_definition(m, n, draw):
    # small integer values make many ties and exact duplicates
    values = draw.draw(hnp.arrays(np.int64, (m, n), elements=st.integers(0, 3)))
    groups = draw.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, 2)))
    dominated_by = (values[:, None, :] <= values[:, :, None]).all(axis=0) & (groups[None, :] == groups[:, None])
    # row i is kept when no other row j of its group has values[:, j] <= values[:, i]
    expected = np.flatnonzero(dominated_by.sum(axis=1) == 1)
    assert np.array_equal(np.sort(so._minimal_unique_rows(values, groups)), expected)


def test_exhaustive_search_gives_way_when_too_many_rows_are_minimal(cps, monkeypatch):
    # anti-correlated numbers make every row minimal for some operators; with a tiny pass budget the metric must
    # fall back to the random search rather than spend quadratic time
    frame = cps.iloc[:2000].reset_index(drop=True)
    frame = frame.assign(education=-frame["wage"].rank(method="first"), experience=frame["wage"].rank(method="first"))
    monkeypatch.setattr(so, "_MAX_SKYLINE_PASSES", 3)
    train, holdout = sg.holdout_split(frame, fraction=0.3, random_state=0)
    result = at.SinglingOutRisk(n_attacks=50).compute(EvalData.prepare(train, train, holdout=holdout, random_state=0))
    assert result.details["search"].startswith("random")
    assert result.details["main"]["rate"] == 1.0


def brute_force_pool(codes: so.Codes, k: int) -> set[tuple]:
    """Every (columns, lo, hi) built from a synthetic row by the attack's rule that matches exactly one row."""
    syn = codes.tables["synthetic"]
    n = syn.shape[1]
    pool = set()
    for cols in itertools.combinations(range(syn.shape[0]), k):
        cols = np.tile(np.asarray(cols), (n, 1))
        values = syn[cols, np.arange(n)[:, None]]
        lo, hi = so._bounds(codes, cols, values, codes.operators(cols, values))
        single = so._count(syn, cols, lo, hi) == 1
        pool |= {(tuple(c), tuple(a), tuple(b)) for c, a, b in zip(cols[single].tolist(), lo[single].tolist(),
                                                                     hi[single].tolist(), strict=True)}
    return pool


@pytest.mark.parametrize("seed", [0, 1])
def test_exhaustive_search_finds_exactly_the_singling_out_predicates(cps, seed):
    # 600 CPS rows with a few missing values planted: the skyline enumeration must find the same predicates
    # as checking every (row, columns) pair one by one
    frame = cps.sample(600, random_state=seed).reset_index(drop=True)
    frame.loc[frame.index[:3], "wage"] = np.nan
    frame.loc[frame.index[3:5], "region"] = None
    data = EvalData.prepare(frame, frame, holdout=frame.iloc[:100], random_state=0)
    codes = so.Codes({"synthetic": data.synthetic, "real": data.real, "holdout": data.holdout},
                     list(data.columns), set(data.numeric))
    expected = brute_force_pool(codes, 3)
    cols, lo, hi, _, pool = so._enumerated_search(np.random.default_rng(0), codes, 10**6, 3, so._combinations(codes, 3))
    found = {(tuple(c), tuple(a), tuple(b)) for c, a, b in zip(cols.tolist(), lo.tolist(), hi.tolist(), strict=True)}
    assert pool == len(cols) == len(found) == len(expected) > 0
    assert found == expected


def test_random_search_keeps_only_distinct_singling_out_predicates(cps):
    frame = cps.sample(600, random_state=2).reset_index(drop=True)
    data = EvalData.prepare(frame, frame, holdout=frame.iloc[:100], random_state=0)
    codes = so.Codes({"synthetic": data.synthetic, "real": data.real, "holdout": data.holdout},
                     list(data.columns), set(data.numeric))
    cols, lo, hi, _, tried = so._rejection_search(np.random.default_rng(0), codes, 40, 3, 400_000)
    found = {(tuple(c), tuple(a), tuple(b)) for c, a, b in zip(cols.tolist(), lo.tolist(), hi.tolist(), strict=True)}
    assert len(cols) == len(found) == 40 and tried >= 40
    # the prefilters drop nothing they should keep: each kept predicate is one the exhaustive check finds
    assert found <= brute_force_pool(codes, 3)


# -- planted ground truth --------------------------------------------------------------------------------
@pytest.mark.parametrize("dataset", ["cps", "loans"])
def test_singling_out_on_a_copy_reaches_one(dataset, request):
    # CPS goes through the exhaustive search, loans (55 columns) through the random search
    data = copy_case(request.getfixturevalue(dataset))
    result = get_metric("singling_out_risk").compute(data)
    # every predicate singling out a synthetic row singles out the same training row
    assert result.details["main"]["rate"] == 1.0
    assert result.value >= 0.95 and result.ci[1] >= 0.95
    assert result.details["informative"] is True
    expected = "exhaustive" if dataset == "cps" else "random"
    assert result.details["search"].startswith(expected)


@pytest.mark.parametrize(("dataset", "bound"), [("cps", 0.15), ("loans", 0.1)])
def test_singling_out_on_independent_real_rows_is_about_zero(dataset, bound, request):
    # train, holdout and "synthetic" are disjoint thirds of the real table: nothing about the training rows
    # leaked, so main and control succeed equally often. Bounds: 500 predicates on loans (sd of the risk about
    # 0.03); on CPS only ~600 predicates exist and they share extreme rows (about 300 effective), sd about 0.045
    result = get_metric("singling_out_risk").compute(independent_case(request.getfixturevalue(dataset)))
    assert_about_zero(result, bound)


def test_singling_out_with_a_smaller_holdout_widens_the_control_interval(loans):
    # holdout a quarter of the training size: the control rate is extrapolated, its interval must account for
    # it (wider than Wilson alone) and still contain 0 risk for independent rows
    data = independent_case(loans, shares=(0.4, 0.1, 0.4))
    result = get_metric("singling_out_risk").compute(data)
    control = result.details["control"]
    wilson = at.wilson_interval(control["successes"], control["n_attacks"], digits=None)
    assert control["ci"][1] - control["ci"][0] > wilson[1] - wilson[0]
    assert "half-samples" in result.details["control_method"]
    assert_about_zero(result, 0.15)


def test_linkability_on_a_copy_is_high_and_on_independent_rows_about_zero(loans):
    copy = get_metric("linkability_risk").compute(copy_case(loans))
    # each training row's copy is the nearest synthetic row on both halves of its columns
    assert copy.details["main"]["rate"] >= 0.95
    assert copy.value >= 0.9 and copy.ci[1] >= 0.95
    independent = get_metric("linkability_risk").compute(independent_case(loans))
    # 500 attacks per side; linking by chance is rare, so 0.05 bounds the estimate
    assert_about_zero(independent, 0.05)
    halves = copy.details["columns"]
    assert not set(halves["first"]) & set(halves["second"])
    assert len(halves["first"]) + len(halves["second"]) == len(loans.columns)


@pytest.mark.parametrize("secret", ["grade", "interest_rate"])
def test_inference_on_a_copy_is_high_and_on_independent_rows_about_zero(loans, secret):
    copy = get_metric("inference_risk").compute(copy_case(loans, secrets=[secret]))
    assert copy.details["secret"] == secret
    assert copy.details["main"]["rate"] >= 0.95
    assert copy.value >= 0.5 and copy.ci[1] >= 0.9
    independent = at.InferenceRisk(n_attacks=2000).compute(independent_case(loans, secrets=[secret]))
    # 2000 targets a side: with success rates near 0.6 the difference of the two rates has a standard deviation
    # of about 0.016, which dividing by 1 - control (about 0.4) inflates to about 0.04; 0.15 bounds the estimate
    assert_about_zero(independent, 0.15)
    assert secret not in copy.details["secrets"][secret]["known_columns"]


def test_inference_on_a_date_counts_closeness_against_the_date_range(flights_sample):
    # 5% of an epoch-seconds value is about two years, which any guess meets; the tolerance must be 5% of the
    # real date range instead, so a random guess is mostly wrong while the copy's nearest row is right
    frame = flights_sample.iloc[:6000]
    result = get_metric("inference_risk").compute(copy_case(frame, secrets=["time_hour"]))
    entry = result.details["secrets"]["time_hour"]
    assert "date range" in entry["success"]
    assert entry["baseline"]["rate"] < 0.3
    assert entry["main"]["rate"] >= 0.95 and result.value >= 0.5


def test_inference_takes_the_worst_secret_and_reports_each(cps):
    data = copy_case(cps, secrets=["wage", "region"])
    result = get_metric("inference_risk").compute(data)
    per_secret = result.details["secrets"]
    assert set(per_secret) == {"wage", "region"}
    assert result.value == pytest.approx(max(v["risk"] for v in per_secret.values()), abs=1e-6)
    # the other secret is not known to the attacker
    assert "region" not in per_secret["wage"]["known_columns"]
    assert "5%" in per_secret["wage"]["success"]
    assert result.details["plot"]["groups"] == ["wage", "region"]


def test_baseline_as_good_as_main_is_reported_as_not_informative(cps):
    # a secret with a single value: every guess is right, main = control = baseline
    frame = cps.assign(constant="same")
    result = get_metric("inference_risk").compute(copy_case(frame, secrets=["constant"]))
    assert result.details["informative"] is False
    assert "not informative" in result.details["baseline_check"]
    assert result.value == 0.0 and result.ci == (0.0, 1.0)


# -- contract ---------------------------------------------------------------------------------------------
def test_same_seed_same_numbers_and_json_friendly_details(loans):
    frame = loans.iloc[:4000]
    first = {n: get_metric(n).compute(independent_case(frame)) for n in ATTACKS}
    again = {n: get_metric(n).compute(independent_case(frame)) for n in ATTACKS}
    for name in ATTACKS:
        a, b = first[name], again[name]
        assert (a.value, a.ci) == (b.value, b.ci)
        strip = lambda d: {k: v for k, v in d.items() if k != "seconds"}  # noqa: E731
        assert strip(a.details) == strip(b.details)
        json.dumps(a.details, allow_nan=False)
        assert 0.0 <= a.ci[0] <= a.value <= a.ci[1] <= 1.0
        for attack in ("main", "control", "baseline"):
            assert a.details[attack]["n_attacks"] >= 1


def test_declarations_and_plain_wording():
    for name in ATTACKS:
        metric = get_metric(name)
        assert metric.family == "privacy" and metric.goal == "minimize"
        assert metric.needs == frozenset({"holdout"})
        assert "Anonymeter" in metric.source
        assert "not a guarantee" in metric.definition
        assert "guarantees" not in metric.definition.replace("not a guarantee", "")


def test_parameters_are_validated():
    with pytest.raises(ParameterError):
        at.SinglingOutRisk(n_attacks=0)
    with pytest.raises(ParameterError):
        at.SinglingOutRisk(n_conditions=True)
    with pytest.raises(ParameterError):
        at.LinkabilityRisk(n_neighbors=0)
    with pytest.raises(ParameterError):
        at.InferenceRisk(tolerance=1.5)


def test_nothing_to_single_out_or_link_is_not_computed(cps):
    train, holdout = sg.holdout_split(cps.iloc[:2000], fraction=0.3, random_state=0)
    # a synthetic table of one repeated row: no predicate matches exactly one synthetic row
    same = pd.concat([train.iloc[[0]]] * 200, ignore_index=True)
    data = EvalData.prepare(train, same, holdout=holdout, random_state=0)
    with pytest.raises(NotComputed, match="nothing to single out"):
        at.SinglingOutRisk().compute(data)
    one_column = EvalData.prepare(train[["wage"]], train[["wage"]], holdout=holdout[["wage"]], random_state=0)
    with pytest.raises(NotComputed, match="two known columns"):
        at.LinkabilityRisk().compute(one_column)


def test_evaluate_runs_the_attacks_and_skips_them_without_holdout(cps):
    frame = cps.iloc[:3000]
    train, holdout = sg.holdout_split(frame, fraction=0.3, random_state=0)
    report = sg.evaluate(train, train, holdout=holdout, metrics=ATTACKS, random_state=0)
    assert all(report[name].computed for name in ATTACKS)
    assert report["singling_out_risk"].value >= 0.95
    tiny = sg.evaluate(train.iloc[:60], train.iloc[:60], metrics=ATTACKS, random_state=0)
    assert all(not tiny[name].computed and "holdout" in tiny[name].reason for name in ATTACKS)
    assert set(report.results) == set(ATTACKS)


def test_linkability_hand_worked():
    # known columns x and y, split into the halves [x] and [y]; synthetic rows s0 (0, 0), s1 (10, 10), s2 (20, 20).
    # training rows: (0, 0) -> s0 on both halves, linked; (10, 10) -> s1 and s1, linked; (20, 5) -> s2 on x, and on y
    # s0 and s1 tie at 5 (ties go to the first row, s0): not linked. Main 2/3.
    # holdout rows: (0, 10) -> s0, s1; (10, 0) -> s1, s0; (20, 20) -> s2, s2: control 1/3. Risk (2/3 - 1/3) / (2/3).
    train = pd.DataFrame({"x": [0.0, 10.0, 20.0], "y": [0.0, 10.0, 5.0]})
    holdout = pd.DataFrame({"x": [0.0, 10.0, 20.0], "y": [10.0, 0.0, 20.0]})
    synthetic = pd.DataFrame({"x": [0.0, 10.0, 20.0], "y": [0.0, 10.0, 20.0]})
    result = get_metric("linkability_risk").compute(EvalData.prepare(train, synthetic, holdout=holdout))
    assert result.details["columns"] == {"first": ["x"], "second": ["y"]}
    assert (result.details["main"]["successes"], result.details["control"]["successes"]) == (2, 1)
    assert result.value == pytest.approx(0.5)


def test_inference_hand_worked():
    # the attacker knows x, guesses the secret c of the synthetic row nearest on x.
    # training rows (0, a), (10, b), (20, a) -> guesses a, b, b: 2 of 3 right.
    # holdout rows (1, b), (11, b), (19, a) -> guesses a, b, b: 1 of 3 right. Risk (2/3 - 1/3) / (2/3) = 0.5.
    train = pd.DataFrame({"x": [0.0, 10.0, 20.0], "c": ["a", "b", "a"]})
    holdout = pd.DataFrame({"x": [1.0, 11.0, 19.0], "c": ["b", "b", "a"]})
    synthetic = pd.DataFrame({"x": [0.0, 10.0, 20.0], "c": ["a", "b", "b"]})
    result = get_metric("inference_risk").compute(EvalData.prepare(train, synthetic, holdout=holdout, secrets=["c"]))
    entry = result.details["secrets"]["c"]
    assert entry["known_columns"] == ["x"]
    assert (entry["main"]["successes"], entry["control"]["successes"]) == (2, 1)
    assert result.value == pytest.approx(0.5)
