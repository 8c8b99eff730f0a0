"""Distance-based privacy metrics (exact copies, DCR/NNDR shares, distance MIA, exposed records) and the
shared exact nearest-neighbour search, checked against hand-worked distances and planted ground truth."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import synthgov as sg
from synthgov.evaluate import EvalData, get_metric
from synthgov.evaluate import _neighbours as nb
from synthgov.evaluate import privacy as pv
from synthgov.evaluate.data import MIN_HOLDOUT_ROWS

PRIVACY = ["exact_copies", "dcr_share", "nndr_share", "mia_auc", "exposed_records"]


def compute_all(data: EvalData) -> dict:
    return {name: get_metric(name).compute(data) for name in PRIVACY}


def split(frame: pd.DataFrame, shares: list[float], seed: int = 0) -> list[pd.DataFrame]:
    """Disjoint random parts of ``frame`` (seeded)."""
    order = np.random.default_rng(seed).permutation(len(frame))
    bounds = np.cumsum([0] + [int(round(s * len(frame))) for s in shares])
    return [frame.iloc[order[a:b]].reset_index(drop=True) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


# -- the nearest-neighbour search ----------------------------------------------------------------
def brute(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    diff = query[:, None, :].astype(np.float64) - reference[None, :, :].astype(np.float64)
    return np.round(np.sqrt((diff ** 2).sum(-1)), 9)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(3, 40), st.integers(1, 3), st.sampled_from([None, 2, 3]), st.data())
def test_search_matches_brute_force_with_many_ties(n_query, n_ref, k, chunk, draw):
    # small integer coordinates make many exactly tied and exactly zero distances; `chunk` also ranks
    # the reference chunk by chunk (as large references are), with padding when it does not divide evenly
    cols = draw.draw(st.integers(1, 4))
    ints = hnp.arrays(np.int8, st.tuples(st.just(n_ref), st.just(cols)), elements=st.integers(0, 2))
    reference = draw.draw(ints).astype(np.float32)
    query = draw.draw(hnp.arrays(np.int8, (n_query, cols), elements=st.integers(0, 2))).astype(np.float32)
    k = min(k, n_ref)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nb, "_CHUNKS", () if chunk is None else (chunk,))
        found = nb.search(query, reference, k=k)
    full = brute(query, reference)
    assert np.array_equal(found.distances, np.sort(full, axis=1)[:, :k])
    # the returned rows really are at the returned distances, and are distinct
    assert np.array_equal(np.take_along_axis(full, found.indices, axis=1), found.distances)
    assert all(len(set(row)) == k for row in found.indices.tolist())


def test_an_identical_row_is_found_among_many_near_duplicates():
    # 200 rows within 1e-4 of the query on one column and large values elsewhere: float32 products cannot
    # rank them apart (rounding is ~1e-4 here), the exact re-measurement of every row within the rounding
    # bound (up to _MAX_TIES of them) must still put the identical row (the last one) at 0
    rng = np.random.default_rng(0)
    query = np.hstack([rng.uniform(5, 9, 40), [0.5]]).astype(np.float32)[None, :]
    reference = np.repeat(query, 201, axis=0)
    reference[:200, -1] += rng.uniform(1e-5, 1e-4, 200).astype(np.float32)
    other = rng.uniform(0, 9, (5000, 41)).astype(np.float32)  # enough rows to rank chunk by chunk
    found = nb.search(query, np.vstack([other, reference]), k=2)
    assert found.distances[0, 0] == 0.0 and found.indices[0, 0] == 5200
    assert found.distances[0, 1] == pytest.approx(np.sort(reference[:200, -1] - 0.5)[0], abs=1e-7)


def test_search_in_blocks_equals_one_block(monkeypatch):
    rng = np.random.default_rng(1)
    query, reference = rng.random((57, 6), dtype=np.float32), rng.random((300, 6), dtype=np.float32)
    whole = nb.search(query, reference, k=2)
    monkeypatch.setattr(nb, "_BLOCK_CELLS", 1000)  # 3 query rows per block
    blocked = nb.search(query, reference, k=2)
    assert np.array_equal(whole.distances, blocked.distances) and np.array_equal(whole.indices, blocked.indices)
    assert np.array_equal(whole.distances, np.sort(brute(query, reference), axis=1)[:, :2])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 2), st.floats(0.001, 0.5))
def test_partitioned_search_equals_a_full_scan(seed, k, spread):
    # one-hot-like columns (two values 1/sqrt(2) apart) split the rows into groups; small numeric spreads
    # keep most neighbours inside a query's own group, large ones force the fall-back scan
    rng = np.random.default_rng(seed)
    slots = (rng.random((700, 5)) < 0.4) / np.sqrt(2.0)
    rows = np.hstack([slots, rng.normal(0.0, spread, (700, 3))]).astype(np.float32)
    rows[650:] = rows[:50]  # exact duplicates: distance 0 across the partition
    query, reference = rows[:200], rows[200:]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nb, "_PARTITION_MIN_PAIRS", 0)
        partitioned = nb.search(query, reference, k=k)
    scanned = nb._scan(query, reference, k)
    full = brute(query, reference)
    assert np.array_equal(partitioned.distances, np.sort(full, axis=1)[:, :k])
    assert np.array_equal(scanned.distances, partitioned.distances)
    assert np.array_equal(np.take_along_axis(full, partitioned.indices, axis=1), partitioned.distances)


def test_partitioned_search_is_used_and_exact_on_real_data(monkeypatch, flights_sample):
    monkeypatch.setattr(nb, "_PARTITION_MIN_PAIRS", 0)
    data = EvalData.prepare(flights_sample.iloc[:15000], flights_sample.iloc[15000:],
                            holdout=flights_sample.iloc[:100])
    query, reference = nb.encoded(data, "synthetic"), nb.encoded(data, "real")
    # flights' nearest rows are close (carrier, origin and destination mostly agree): the partition pays
    assert nb._partitioned(query, reference, 2) is not None
    found = nb.search(query, reference, k=2)
    monkeypatch.setattr(nb, "_CHUNKS", ())  # the reference answer: a plain scan, row by row
    assert np.array_equal(found.distances, nb._scan(query, reference, 2).distances)


def test_identical_rows_are_at_distance_exactly_zero(loans):
    data = EvalData.prepare(loans, loans.iloc[::7], holdout=loans.iloc[:100])
    found = nb.nearest(data, "synthetic", "real", k=1, key="test:copies")
    assert (found.distances[:, 0] == 0).all()
    # memoised: the same key gives the same search
    assert nb.nearest(data, "synthetic", "real", k=1, key="test:copies") is found


def test_nearest_accepts_frames_and_a_column_subset():
    # hand-worked Gower-like distance: x scaled by the real range 10, category mismatch adds 1 to the square
    real = pd.DataFrame({"x": [0.0, 10.0], "c": ["a", "b"]})
    synthetic = pd.DataFrame({"x": [5.0], "c": ["a"]})
    data = EvalData.prepare(real, synthetic, holdout=real)
    found = nb.nearest(data, data.synthetic, data.real, k=2, key=None)
    assert found.indices.tolist() == [[0, 1]]
    assert found.distances[0].tolist() == pytest.approx([0.5, math.sqrt(0.25 + 1.0)], abs=1e-6)
    only_c = nb.nearest(data, data.synthetic, data.real, k=2, key=None, columns=["c"])
    assert only_c.distances[0].tolist() == pytest.approx([0.0, 1.0], abs=1e-6)


def test_search_rejects_bad_arguments():
    with pytest.raises(sg.ParameterError, match="k = 3"):
        nb.search(np.zeros((1, 2), np.float32), np.zeros((2, 2), np.float32), k=3)
    with pytest.raises(sg.ParameterError, match="same number of columns"):
        nb.search(np.zeros((1, 2), np.float32), np.zeros((2, 3), np.float32), k=1)


# -- formulas, by hand ------------------------------------------------------------------------------
def test_formulas_by_hand():
    # Wilson 95% for 0/10: (0, 1.96^2/(10+1.96^2)) = (0, 0.2775)
    assert pv.wilson_interval(0, 10) == pytest.approx((0.0, 3.8415 / 13.8415), abs=1e-4)
    assert pv.closer_share(np.array([1.0, 1.0, 3.0, 0.0]), np.array([2.0, 1.0, 2.0, 0.0])) == 0.5
    assert pv.nndr(np.array([[3.0, 6.0], [2.0, 2.0]])).tolist() == [0.5, 1.0]
    # 2 positives x 2 negatives: 4 > 1, 4 > 3, 2 > 1, 2 < 3 -> 3/4
    assert pv.roc_auc(np.array([4.0, 2.0]), np.array([1.0, 3.0])) == 0.75
    # 100 negatives, fpr 1% allows one false positive: the threshold sits just above the 2nd highest negative
    negatives = np.arange(100.0)
    positives = np.array([99.5, 98.5, 97.5, 50.0])
    assert pv.tpr_at_fpr(positives, negatives, 0.01) == 0.5


def tiny() -> EvalData:
    """One numeric column, range 10 on the training rows, so distances are differences / 10."""
    return EvalData.prepare(pd.DataFrame({"x": [0.0, 3.0, 10.0]}), pd.DataFrame({"x": [0.0, 9.5]}),
                            holdout=pd.DataFrame({"x": [1.0, 6.0, 9.0]}))


def test_tiny_example_worked_by_hand():
    results = compute_all(tiny())
    # synthetic 0: 0 to training 0, 0.1 to holdout 1 (closer to training); 9.5: 0.05 to both (tie, one half)
    dcr = results["dcr_share"]
    assert dcr.value == 0.75
    assert (dcr.details["closer_to_train"], dcr.details["ties"]) == (1, 1)
    # NNDR to training: 0/0.3 = 0 and 0.05/0.65; to holdout: 0.1/0.6 and 0.05/0.35: both lower to training
    assert results["nndr_share"].value == 1.0
    assert results["nndr_share"].details["nndr_train"]["p50"] == pytest.approx((0 + 0.05 / 0.65) / 2, abs=1e-6)
    # members' DCR to synthetic: 0, 0.3, 0.05; non-members': 0.1, 0.35, 0.05.
    # pairs where the member is closer: 3 + 1 + 2.5 (one tie) out of 9
    mia = results["mia_auc"]
    assert mia.value == pytest.approx(6.5 / 9, abs=1e-9)
    assert mia.details["tpr_at_fpr"] == {"0.01": None, "0.001": None}  # 3 non-members cannot measure 1%
    # isolation (distance to the closest holdout row): 0.1, 0.2, 0.1; with 3 members all are "outliers".
    # cutoff = median non-member DCR = 0.1: members at 0 and 0.05 are exposed, 0.3 is not -> 2/3;
    # non-members at 0.1 and 0.05 are within it too -> baseline 2/3
    exposed = results["exposed_records"]
    assert exposed.value == pytest.approx(2 / 3)
    assert exposed.details["cutoff_median_holdout_dcr"] == pytest.approx(0.1, abs=1e-6)
    assert exposed.details["holdout_baseline"] == pytest.approx(2 / 3)
    # most exposed first: DCR / isolation = 0 (row 0), 0.5 (row 2), 1.5 (row 1)
    table = exposed.details["plot"]["rows"]
    assert [row[0] for row in table] == [0, 2, 1]
    assert [row[3] for row in table] == pytest.approx([0.0, 0.5, 1.5], abs=1e-4)
    assert [row[4] for row in table] == ["yes", "yes", "no"]
    # exact copies: the synthetic 0 equals the training 0
    assert results["exact_copies"].value == 0.5
    assert results["exact_copies"].details["count"] == 1


def test_exact_copies_matches_missing_values_and_reports_the_holdout_baseline():
    real = pd.DataFrame({"x": [1.0, np.nan, 3.0, 4.0], "c": ["a", None, "b", "b"]})
    synthetic = pd.DataFrame({"x": [np.nan, 3.0, 3.0, 1.0], "c": [None, "a", "b", "a"]})
    holdout = pd.DataFrame({"x": [4.0, 5.0], "c": ["b", "b"]})
    result = get_metric("exact_copies").compute(EvalData.prepare(real, synthetic, holdout=holdout))
    # (missing, missing), (3, b) and (1, a) are training rows; (3, a) is not
    assert result.value == 0.75
    assert result.details["distinct_rows_reproduced"] == 3
    assert result.details["holdout_baseline"] == 0.5  # (4, b) is a training row, (5, b) is not
    assert result.ci[0] < 0.75 < result.ci[1]


# -- planted ground truth on real data ------------------------------------------------------------
def test_synthetic_copy_of_train_is_caught(loans):
    # equal-sized training and holdout halves, so the training rows need no subsampling
    train, holdout = split(loans, [0.5, 0.5])
    results = compute_all(EvalData.prepare(train, train.copy(), holdout=holdout))
    copies = results["exact_copies"]
    assert copies.value == 1.0
    assert copies.details["holdout_baseline"] == 0.0  # loans has no natural duplicate rows ...
    # ... so every copied row is at 0 from a training row and above 0 from every holdout row: exact figures
    assert results["dcr_share"].value == 1.0
    assert results["dcr_share"].details["dcr_train"]["p95"] == 0.0
    assert results["nndr_share"].value == 1.0
    assert results["mia_auc"].value == 1.0
    assert results["mia_auc"].details["tpr_at_fpr"]["0.001"] == 1.0
    roc = results["mia_auc"].details["plot"]  # every member found before any non-member: a corner at (0, 1)
    assert (roc["fpr"][:2], roc["tpr"][:2]) == ([0.0, 0.0], [0.0, 1.0]) and len(roc["fpr"]) <= pv.ROC_POINTS
    assert results["exposed_records"].value == 1.0
    # the holdout's outliers are far from the copied training rows: none within the typical distance
    assert results["exposed_records"].details["holdout_baseline"] == 0.0


def test_copy_of_train_with_a_smaller_holdout_shows_the_stated_dilution(loans):
    # 80/20 split: the training rows are subsampled to the holdout's size, so only a copy whose source
    # row was drawn is at 0; the others are as close to either reference. Expected 0.5 + 0.5 * 2000/8000.
    train, holdout = split(loans, [0.8, 0.2])
    result = get_metric("dcr_share").compute(EvalData.prepare(train, train.copy(), holdout=holdout))
    assert result.details["copy_share"] == 0.625
    assert "training rows subsampled to 2000 of 8000" in result.details["method"]
    # tolerance: 3.5 binomial standard errors of a share from 2,000 synthetic rows (sqrt(0.25/2000) = 0.011)
    assert abs(result.value - 0.625) < 0.04


def test_copy_of_train_with_natural_duplicates(cps):
    # CPS1988 has natural duplicate rows, so a non-member can have an exact twin in the training rows
    # (and so in the copied synthetic rows): those non-members tie with the members at distance 0 and
    # the AUC is 1 - p/2, p the share of non-members with a twin. exact_copies measures p on the whole holdout.
    train, holdout = split(cps, [0.8, 0.2])
    data = EvalData.prepare(train, train.copy(), holdout=holdout)
    p = get_metric("exact_copies").compute(data).details["holdout_baseline"]
    assert p > 0.05
    auc = get_metric("mia_auc").compute(data).value
    # tolerance: the 1,000 sampled non-members estimate p with a standard error of sqrt(p(1-p)/1000) ~ 0.01,
    # halved in the AUC; 0.02 is four standard errors
    assert abs(auc - (1 - p / 2)) < 0.02


def test_holdout_used_as_synthetic_scores_like_chance(cps):
    # three disjoint real parts: nothing about the training rows reaches the "synthetic" ones
    train, holdout, other = split(cps, [1 / 3, 1 / 3, 1 / 3], seed=3)
    results = compute_all(EvalData.prepare(train, other, holdout=holdout))
    # shares over 2,000 synthetic rows: 3 binomial standard errors at p = 0.5 (ties counted one half only
    # shrink the variance): 3 * 0.5 / sqrt(2000) = 0.034
    for name in ("dcr_share", "nndr_share"):
        assert abs(results[name].value - 0.5) < 0.034, name
    # AUC from 1,000 members and 1,000 non-members: standard error sqrt((2m + 1) / (12 m^2)) = 0.0129; 3 of them
    mia = results["mia_auc"]
    assert abs(mia.value - 0.5) < 0.039
    assert mia.ci[0] < 0.5 < mia.ci[1]
    # exact copies: as many as the natural duplicates (the holdout's own rate), within 3 standard errors
    copies = results["exact_copies"]
    se = math.sqrt(copies.details["holdout_baseline"] * (1 - copies.details["holdout_baseline"]) / len(other))
    assert abs(copies.value - copies.details["holdout_baseline"]) < 3 * se * math.sqrt(2)
    # exposed training outliers: no more often than the holdout's own outliers (10 each: 0.3 is a wide margin
    # for two shares of 10)
    exposed = results["exposed_records"]
    assert exposed.value <= exposed.details["holdout_baseline"] + 0.3


def test_scale_caps_are_stated_and_details_are_json(cps):
    train, holdout = split(cps, [0.8, 0.2])
    results = compute_all(EvalData.prepare(train, train.sample(5000, random_state=0), holdout=holdout))
    dcr = results["dcr_share"].details
    assert dcr["rows_used"] == {"synthetic": pv.MAX_SYNTHETIC_QUERIES, "training_reference": len(holdout),
                                "holdout_reference": len(holdout)}
    assert f"synthetic rows subsampled to {pv.MAX_SYNTHETIC_QUERIES} of 5000" in dcr["method"]
    mia = results["mia_auc"].details
    assert mia["rows_used"] == {"members": pv.MAX_CANDIDATES, "nonmembers": pv.MAX_CANDIDATES, "synthetic": 5000}
    hist = dcr["plot"]
    assert hist["type"] == "histograms" and len(hist["edges"]) == pv.HISTOGRAM_BINS + 1
    assert all(sum(counts) == pv.MAX_SYNTHETIC_QUERIES for counts in hist["series"].values())
    roc = mia["plot"]
    assert roc["type"] == "roc" and len(roc["fpr"]) <= pv.ROC_POINTS
    assert (roc["fpr"][0], roc["tpr"][0], roc["fpr"][-1], roc["tpr"][-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(roc["fpr"]) >= 0) and np.all(np.diff(roc["tpr"]) >= 0)
    # the exposed-records table shows positions and distances, never a value of the record
    for row in results["exposed_records"].details["plot"]["rows"]:
        assert isinstance(row[0], int) and all(isinstance(v, float) for v in row[1:4]) and row[4] in ("yes", "no")
    for result in results.values():
        json.dumps(result.details, allow_nan=False)
        assert result.ci is not None and result.ci[0] <= result.value <= result.ci[1]


def test_same_seed_same_figures(cps):
    train, holdout = split(cps.iloc[:6000], [0.8, 0.2])
    synthetic = cps.iloc[6000:12000]
    first = compute_all(EvalData.prepare(train, synthetic, holdout=holdout, random_state=5))
    again = compute_all(EvalData.prepare(train, synthetic, holdout=holdout, random_state=5))
    assert {n: (r.value, r.ci) for n, r in first.items()} == {n: (r.value, r.ci) for n, r in again.items()}


def test_too_small_holdout_is_not_computed_with_the_reason(cps):
    train, holdout = split(cps.iloc[:3000], [0.9, 0.1])
    report = sg.evaluate(train, train.iloc[:500], holdout=holdout.iloc[:10], metrics=["privacy"])
    for name in ("dcr_share", "nndr_share", "mia_auc", "exposed_records"):
        result = report[name]
        assert not result.computed and result.value is None
        assert "holdout has 10 rows" in result.reason and str(MIN_HOLDOUT_ROWS) in result.reason
    # exact copies needs no holdout: still computed, with its baseline from the 10 holdout rows there are
    assert report["exact_copies"].computed and report["exact_copies"].details["holdout_rows"] == 10
    # a real table too small to split a holdout off: the reason says a holdout is needed
    report = sg.evaluate(train.iloc[:60], train.iloc[:60], metrics=["dcr_share", "exact_copies"])
    assert report["dcr_share"].reason.startswith("needs a real holdout")
    assert report["exact_copies"].value == 1.0 and report["exact_copies"].details["holdout_baseline"] is None


def test_definitions_do_not_overstate_privacy():
    for name in PRIVACY:
        text = get_metric(name).definition_dict()["definition"]
        assert "not a guarantee" in text and "not evidence of anonymity" in text
