"""Partial, hybrid and rebalanced outputs on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

import synthgov as sg


def test_partial_replaces_only_the_named_columns(cps):
    syn = sg.CopulaSynthesizer(random_state=0)
    out = sg.partial(cps, columns=["wage", "parttime"], synthesizer=syn, random_state=1)
    untouched = [c for c in cps.columns if c not in ("wage", "parttime")]
    pd.testing.assert_frame_equal(out[untouched], cps[untouched])
    assert out.wage.dtype == cps.wage.dtype and out.parttime.dtype == cps.parttime.dtype
    # the replaced values are new: few wages coincide row by row with the real ones
    assert (out.wage == cps.wage).mean() < 0.02
    assert out.attrs["synthgov"] == {"mode": "partial", "replaced_columns": ["wage", "parttime"]}


def test_partial_values_are_conditioned_on_the_rest_of_the_row(cps):
    """Replaced wages keep their relation to education: the correlation survives row by row."""
    out = sg.partial(cps, columns=["wage"], synthesizer=sg.CopulaSynthesizer(random_state=0), random_state=0)
    real = np.corrcoef(np.log(cps.wage), cps.education)[0, 1]
    synth = np.corrcoef(np.log(out.wage), out.education)[0, 1]
    # Gaussian-copula dependence: within 0.1 of the real correlation (0.32); an unconditioned draw gives ~0
    assert abs(real - synth) < 0.1
    assert ks_2samp(out.wage, cps.wage).statistic < 0.03


def test_partial_with_missing_values_in_conditioning_columns(loans):
    sub = loans.iloc[:3000].reset_index(drop=True)
    out = sg.partial(sub, columns=["interest_rate"], synthesizer=sg.CopulaSynthesizer(random_state=0))
    others = [c for c in sub.columns if c != "interest_rate"]
    pd.testing.assert_frame_equal(out[others], sub[others])
    assert out.interest_rate.between(sub.interest_rate.min(), sub.interest_rate.max()).all()


def test_partial_refuses_unknown_columns(cps):
    with pytest.raises(sg.SchemaError, match="unknown column"):
        sg.partial(cps, columns=["salary"], synthesizer=sg.CopulaSynthesizer())
    with pytest.raises(sg.ParameterError, match="at least one column"):
        sg.partial(cps, columns=[], synthesizer=sg.CopulaSynthesizer())


@pytest.mark.parametrize("share", [0.0, 0.3, 0.5, 1.0])
def test_hybrid_marker_share_is_exact(cps, share):
    synth = sg.CopulaSynthesizer(random_state=0).fit(cps).sample(len(cps))
    mix = sg.hybrid(cps, synth, share=share, random_state=0)
    assert len(mix) == len(cps)
    assert mix["_synthetic"].dtype == bool
    assert int(mix["_synthetic"].sum()) == round(share * len(cps))
    # the real rows really are real rows
    real_rows = mix[~mix["_synthetic"]].drop(columns="_synthetic")
    merged = real_rows.merge(cps.drop_duplicates(), how="left", indicator=True)
    assert (merged["_merge"] == "both").all()


def test_hybrid_checks_its_inputs(cps):
    with pytest.raises(sg.ParameterError, match="share"):
        sg.hybrid(cps, cps, share=1.5)
    with pytest.raises(sg.SchemaError, match="different columns"):
        sg.hybrid(cps, cps.drop(columns="wage"), share=0.5)
    with pytest.raises(sg.ParameterError, match="synthetic rows"):
        sg.hybrid(cps, cps.iloc[:10], share=0.5)


@pytest.mark.parametrize("column", ["ethnicity", "region", "parttime"])
def test_rebalance_reaches_uniform_shares_within_one_percent(cps, column):
    out = sg.rebalance(cps, sg.CopulaSynthesizer(random_state=0), column=column, target="uniform", random_state=0)
    shares = out[column].value_counts(normalize=True)
    assert (shares - 1 / len(shares)).abs().max() < 0.01
    # real rows are all kept, unchanged, and only scarce groups grew
    pd.testing.assert_frame_equal(out[~out["_synthetic"]].drop(columns="_synthetic").reset_index(drop=True), cps)
    added = out[out["_synthetic"]][column].value_counts()
    biggest = cps[column].value_counts().idxmax()
    assert biggest not in added.index


def test_rebalance_to_a_custom_target(cps):
    target = {"cauc": 0.7, "afam": 0.3}
    out = sg.rebalance(cps, sg.CopulaSynthesizer(random_state=0), column="ethnicity", target=target)
    shares = out.ethnicity.value_counts(normalize=True)
    assert abs(shares["afam"] - 0.3) < 0.01 and abs(shares["cauc"] - 0.7) < 0.01
    # the added afam rows look like the real afam rows, not like the majority
    added = out[out["_synthetic"]]
    assert abs(added.wage.median() - cps[cps.ethnicity == "afam"].wage.median()) < \
        abs(added.wage.median() - cps[cps.ethnicity == "cauc"].wage.median())


def test_rebalance_refuses_bad_targets(cps):
    syn = sg.CopulaSynthesizer(random_state=0)
    with pytest.raises(sg.ParameterError, match="sum to 1"):
        sg.rebalance(cps, syn, column="ethnicity", target={"cauc": 0.5, "afam": 0.6})
    with pytest.raises(sg.ParameterError, match="not in the data"):
        sg.rebalance(cps, syn, column="ethnicity", target={"martian": 1.0})
    with pytest.raises(sg.ParameterError, match="categorical or boolean"):
        sg.rebalance(cps, syn, column="wage")


def test_partial_respects_fixed_combinations(cps):
    """Replacing one member of a fixed combination keeps every row's combination a real one."""
    sub = cps.sample(3000, random_state=0).reset_index(drop=True)
    syn = sg.CopulaSynthesizer(random_state=0, constraints=[sg.FixedCombinations(["region", "smsa"])])
    out = sg.partial(sub, columns=["smsa", "wage"], synthesizer=syn, random_state=0)
    assert (out.region == sub.region).all()
    assert set(zip(out.region, out.smsa, strict=True)) <= set(zip(sub.region, sub.smsa, strict=True))


def test_partial_refuses_to_split_a_constraint():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 100, 300)
    b = a + rng.integers(0, 50, 300)
    df = pd.DataFrame({"a": a, "b": b, "c": a + b, "z": rng.normal(size=300)})
    cons = [sg.Inequality(low="a", high="b"), sg.Formula(column="c", expression="a + b")]
    with pytest.raises(sg.ParameterError, match=r"inequality\(a <= b\)|formula") as info:
        sg.partial(df, columns=["a"], synthesizer=sg.CopulaSynthesizer(random_state=0, constraints=cons))
    assert "replace them together" in info.value.hint
    out = sg.partial(df, columns=["a", "b", "c"], synthesizer=sg.CopulaSynthesizer(random_state=0, constraints=cons))
    assert (out.a <= out.b).all() and (out.c == out.a + out.b).all() and (out.z == df.z).all()


def test_partial_replaces_regenerated_pii_unless_kept(covid):
    sub = covid.iloc[:2000].reset_index(drop=True)
    out = sg.partial(sub, columns=["age"], synthesizer=sg.CopulaSynthesizer(random_state=0))
    assert (out.fake_first_name == sub.fake_first_name).mean() < 0.01
    assert set(out.attrs["synthgov"]["replaced_columns"]) >= {"age", "fake_first_name", "fake_last_name"}
    assert (out.gender == sub.gender).all()
    kept = sg.partial(sub, columns=["age"], synthesizer=sg.CopulaSynthesizer(random_state=0), keep_pii=True)
    assert kept.fake_first_name.equals(sub.fake_first_name)


def test_rebalance_keeps_rare_groups_out_of_the_target(cps):
    df = cps.sample(4000, random_state=0).reset_index(drop=True)
    df.loc[:2, "region"] = "pacific-islands"  # 3 rows: below the rare threshold of 5
    out = sg.rebalance(df, sg.CopulaSynthesizer(random_state=0), column="region", random_state=0)
    assert out.attrs["synthgov"]["skipped_rare_groups"] == ["pacific-islands"]
    assert (out.region == "pacific-islands").sum() == 3 and not out[out._synthetic].region.eq("pacific-islands").any()
    shares = out[out.region != "pacific-islands"].region.value_counts(normalize=True)
    assert (shares - 0.25).abs().max() < 0.01


def test_rebalance_validates_its_arguments(cps):
    with pytest.raises(sg.ParameterError, match="random_state"):
        sg.rebalance(cps, sg.CopulaSynthesizer(), column="region", random_state="x")
    with pytest.raises(sg.ParameterError, match="Synthesizer"):
        sg.rebalance(cps, "copula", column="region")
