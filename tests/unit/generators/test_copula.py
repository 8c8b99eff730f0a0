"""Gaussian copula: contract, reproducibility, fidelity (statistical), exact conditions, privacy of regenerated columns."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

import synthgov as sg
from synthgov.testing import check_synthesizer


def test_passes_the_conformance_suite():
    passed = check_synthesizer(sg.CopulaSynthesizer, rows=3000)
    assert set(passed) >= {"keyword-only", "registered", "reproducible", "save-load", "conditions", "sample-kinds"}


def test_registry_builds_it_by_name():
    syn = sg.synthesizer("copula", random_state=3)
    assert isinstance(syn, sg.CopulaSynthesizer) and syn.random_state == 3
    assert sg.available_synthesizers()["copula"] is sg.CopulaSynthesizer


def test_keyword_only_and_validated_parameters():
    with pytest.raises(TypeError):
        sg.CopulaSynthesizer(0)  # type: ignore[misc]
    for bad in (-1, 1.5, "7", True):
        with pytest.raises(sg.ParameterError, match="random_state"):
            sg.CopulaSynthesizer(random_state=bad)
    with pytest.raises(sg.ParameterError, match="quantile_points"):
        sg.CopulaSynthesizer(quantile_points=1)


def parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def test_same_seed_gives_byte_identical_output_fit_included(loans):
    a = sg.CopulaSynthesizer(random_state=42).fit(loans).sample(3000)
    b = sg.CopulaSynthesizer(random_state=42).fit(loans).sample(3000)
    assert parquet_bytes(a) == parquet_bytes(b)
    c = sg.CopulaSynthesizer(random_state=43).fit(loans).sample(3000)
    assert parquet_bytes(a) != parquet_bytes(c)


def test_successive_samples_differ_but_replay_from_a_saved_model(cps, tmp_path):
    syn = sg.CopulaSynthesizer(random_state=0).fit(cps)
    syn.save(tmp_path / "m")
    first, second = syn.sample(200), syn.sample(200)
    assert not first.equals(second)
    loaded = sg.load_synthesizer(tmp_path / "m")
    assert loaded.sample(200).equals(first) and loaded.sample(200).equals(second)


def test_marginals_and_dependence_match_the_real_data(cps):
    """Statistical check on the 28k-row CPS: per-column KS and TV distances and rank correlations.

    Tolerances: KS < 0.02 (the two-sample KS critical value at alpha=0.001 for n=m=28k is 0.016,
    plus smoothing), TV < 0.02, Spearman correlations within 0.06 (a Gaussian copula approximates
    non-Gaussian dependence).
    """
    out = sg.CopulaSynthesizer(random_state=0).fit(cps).sample(len(cps))
    for col in ("wage", "education", "experience"):
        assert ks_2samp(cps[col], out[col]).statistic < 0.02, col
    for col in ("ethnicity", "smsa", "region", "parttime"):
        p, q = cps[col].value_counts(normalize=True), out[col].value_counts(normalize=True)
        assert 0.5 * p.sub(q, fill_value=0).abs().sum() < 0.02, col
    num = ["wage", "education", "experience"]
    diff = cps[num].corr(method="spearman") - out[num].corr(method="spearman")
    assert diff.abs().to_numpy().max() < 0.06
    # dependence between a category and a number survives: wages are higher in SMSAs
    real_gap = cps.groupby("smsa").wage.median()
    synth_gap = out.groupby("smsa").wage.median()
    assert (synth_gap["yes"] > synth_gap["no"]) == (real_gap["yes"] > real_gap["no"])


@pytest.mark.parametrize("missing", [0.0, 0.5, 0.85])
def test_missing_values_do_not_weaken_correlations(missing):
    """rho = 0.9 between x and y; y is missing at random in a share of rows. The fitted copula must
    recover rho from the rows where both are present (tolerance 0.04: sd of r at n = 750 is ~0.01)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=5000)
    y = 0.9 * x + np.sqrt(1 - 0.81) * rng.normal(size=5000)
    y[rng.random(5000) < missing] = np.nan
    out = sg.CopulaSynthesizer(random_state=0).fit(pd.DataFrame({"x": x, "y": y})).sample(20_000)
    assert abs(out.corr().loc["x", "y"] - 0.9) < 0.04
    assert abs(out.y.isna().mean() - missing) < 0.02


def test_dependence_between_two_categories():
    """Two thresholded correlated normals (rho 0.8): the synthetic contingency table matches the real one
    within 1.5 points per cell (binomial sd at n = 20k is under 0.4 points)."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=20_000)
    b = 0.8 * a + 0.6 * rng.normal(size=20_000)
    df = pd.DataFrame({"A": np.where(a > 0.5, "hi", "lo"), "B": np.where(b > -0.3, "hi", "lo")})
    out = sg.CopulaSynthesizer(random_state=0).fit(df).sample(20_000)
    real = pd.crosstab(df.A, df.B, normalize="all")
    synth = pd.crosstab(out.A, out.B, normalize="all")
    assert (real - synth).abs().to_numpy().max() < 0.015


def test_types_bounds_decimals_and_missing_rates_are_respected(loans):
    schema = sg.TableSchema.infer(loans)
    out = sg.CopulaSynthesizer(random_state=1).fit(loans, schema=schema).sample(len(loans))
    for col in schema:
        if col.kind.value == "numeric":
            x = out[col.name].dropna().astype(float)
            assert x.min() >= col.minimum and x.max() <= col.maximum, col.name
            if col.integer:
                assert (x % 1 == 0).all(), col.name
            elif col.decimals is not None:
                assert np.allclose(x, x.round(col.decimals)), col.name
        # missing rates within 2 points (binomial sd at n=10k is 0.5 points)
        assert abs(out[col.name].isna().mean() - loans[col.name].isna().mean()) < 0.02, col.name
    # missingness is correlated with the rest: annual_income_joint is missing exactly when the application
    # is individual. A Gaussian copula only approximates such a deterministic link (a known limit, see the
    # docs), but the gap must be clearly there (independent indicators would give a gap near 0).
    synth = pd.crosstab(out.application_type, out.annual_income_joint.isna(), normalize="index")
    assert synth.loc["individual", True] - synth.loc["joint", True] > 0.6


def test_rare_levels_never_appear_and_are_grouped(loans):
    schema = sg.TableSchema.infer(loans)
    out = sg.CopulaSynthesizer(random_state=0).fit(loans, schema=schema).sample(20_000)
    allowed = set(schema["emp_title"].categories) | {"(other)"}
    assert set(out.emp_title.dropna()) <= allowed
    assert (out.emp_title == "(other)").mean() > 0.3  # most job titles are rare


def test_regenerated_columns_never_copy_real_values(covid):
    out = sg.CopulaSynthesizer(random_state=0).fit(covid).sample(len(covid))
    for col in ("fake_first_name", "fake_last_name"):
        real = set(covid[col].dropna().str.lower())
        synth = set(out[col].dropna().str.lower())
        # placeholders keep the shape (lower-case letters) but are random strings, not real names
        assert out[col].dropna().str.fullmatch(r"[a-z]+").all()
        assert len(synth & real) / len(synth) < 0.01


def test_identifiers_are_fresh_and_unique():
    n = 500
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "record_id": rng.permutation(np.arange(100_000, 100_000 + 5 * n, 5)),
        "ticket": [f"TK-{i:05d}" for i in rng.permutation(n)],
        "email": [f"person{i}@hospital.example" for i in range(n)],
        "value": rng.normal(size=n),
    })
    out = sg.CopulaSynthesizer(random_state=0).fit(df).sample(2000)
    assert out.record_id.is_unique and out.ticket.is_unique and out.email.is_unique
    assert out.ticket.str.fullmatch(r"[A-Z]{2}-\d{5}").all()
    assert out.email.str.endswith("@example.invalid").all()
    assert not set(out.email) & set(df.email)
    assert not set(out.ticket) & set(df.ticket) or len(set(out.ticket) & set(df.ticket)) < 5


def test_datetime_output_keeps_the_source_format_and_range(flights_sample):
    out = sg.CopulaSynthesizer(random_state=0).fit(flights_sample).sample(5000)
    assert out.time_hour.str.fullmatch(r"2013-\d{2}-\d{2}T\d{2}:00:00Z|2014-01-01T0\d:00:00Z").all()
    stamps = pd.to_datetime(out.time_hour)
    real = pd.to_datetime(flights_sample.time_hour)
    assert stamps.min() >= real.min() and stamps.max() <= real.max()


def test_native_datetimes_stay_datetimes():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**6, 300), unit="s"),
                       "x": rng.normal(size=300)})
    out = sg.CopulaSynthesizer(random_state=0).fit(df).sample(100)
    assert pd.api.types.is_datetime64_any_dtype(out["when"])
    assert out["when"].min() >= df["when"].min() and out["when"].max() <= df["when"].max()


# -- conditions -------------------------------------------------------------------------------------

def test_equality_and_range_conditions_hold_in_every_row(cps):
    syn = sg.CopulaSynthesizer(random_state=0).fit(cps)
    out = syn.sample(3000, conditions={"region": "west", "experience": (30, 40), "wage": (None, 500.0)})
    assert (out.region == "west").all()
    assert out.experience.between(30, 40).all() and (out.wage <= 500.0).all()
    exact = syn.sample(500, conditions={"wage": 612.5, "ethnicity": "afam"})
    assert (exact.wage == 612.5).all() and (exact.ethnicity == "afam").all()


def test_conditional_distribution_matches_the_real_conditional(cps):
    """Conditioning is exact *and* sensible: wages of part-timers are far lower, as in the data.

    Real: the part-time median wage is 0.27 of the full-time one; the copula (with the Hermite
    correction of category/number correlations) gets about 0.30; without the dependence it would be
    1.0. Tolerance 0.1: seed-to-seed variation is about 0.02.
    """
    syn = sg.CopulaSynthesizer(random_state=0).fit(cps)
    part = syn.sample(5000, conditions={"parttime": "yes"})
    full = syn.sample(5000, conditions={"parttime": "no"})
    real_ratio = cps[cps.parttime == "yes"].wage.median() / cps[cps.parttime == "no"].wage.median()
    synth_ratio = part.wage.median() / full.wage.median()
    assert abs(synth_ratio - real_ratio) < 0.1
    assert (part.parttime == "yes").all()


def test_narrow_and_extreme_conditions_never_give_up(cps):
    syn = sg.CopulaSynthesizer(random_state=0).fit(cps)
    # a rare corner: top-decile education, far tail of experience, one region
    out = syn.sample(1000, conditions={"education": (18, 18), "experience": (55, 63), "region": "west"})
    assert len(out) == 1000
    assert (out.education == 18).all() and out.experience.between(55, 63).all()


def test_per_row_conditions_from_a_frame(cps):
    syn = sg.CopulaSynthesizer(random_state=0).fit(cps)
    cond = cps[["region", "education"]].iloc[:400].reset_index(drop=True)
    out = syn.sample(conditions=cond)
    assert len(out) == 400
    assert (out.region == cond.region).all() and (out.education == cond.education).all()


def test_condition_on_missingness(loans):
    syn = sg.CopulaSynthesizer(random_state=0).fit(loans)
    gone = syn.sample(300, conditions={"emp_length": None})
    present = syn.sample(300, conditions={"emp_length": 5})
    assert gone.emp_length.isna().all() and (present.emp_length == 5).all()


@pytest.mark.parametrize(
    "conditions, fragment",
    [
        ({"regoin": "west"}, "unknown column 'regoin'"),
        ({"region": "atlantis"}, "never takes the value 'atlantis'"),
        ({"wage": 10**7}, "outside the range"),
        ({"experience": (100, 200)}, "no value of 'experience'"),
        ({"experience": (40, 30)}, "low above high"),
        ({"education": 13.5}, "finer than the column.s precision"),
        ({"wage": 612.555}, "finer than the column.s precision"),
        ({"region": ("a", "b")}, "categorical"),
        ({"wage": None}, "never missing"),
    ],
)
def test_impossible_conditions_are_explained(cps, conditions, fragment):
    syn = sg.CopulaSynthesizer(random_state=0).fit(cps.iloc[:3000])
    with pytest.raises(sg.ConditionError, match=fragment) as info:
        syn.sample(10, conditions=conditions)
    assert info.value.code == "SG-CONDITION"


# -- persistence --------------------------------------------------------------------------------------

def test_saved_model_is_json_and_npz_with_no_real_rows(cps, tmp_path):
    syn = sg.CopulaSynthesizer(random_state=0).fit(cps)
    path = syn.save(tmp_path / "model")
    doc = json.loads((path / "synthesizer.json").read_text())
    assert doc["generator"] == "copula" and doc["params"]["random_state"] == 0
    with np.load(path / "arrays.npz", allow_pickle=False) as npz:
        sizes = {k: npz[k].size for k in npz.files}
    # continuous marginals keep a quantile grid, not the 28k training values
    assert max(sizes.values()) <= 2001


def test_tampered_model_is_refused(cps, tmp_path):
    path = sg.CopulaSynthesizer(random_state=0).fit(cps.iloc[:500]).save(tmp_path / "m")
    data = bytearray((path / "arrays.npz").read_bytes())
    data[-40] ^= 0xFF
    (path / "arrays.npz").write_bytes(bytes(data))
    with pytest.raises(sg.ModelFileError, match="altered"):
        sg.load_synthesizer(path)


def test_unfitted_use_is_refused():
    with pytest.raises(sg.NotFittedError):
        sg.CopulaSynthesizer().sample(5)
    with pytest.raises(sg.NotFittedError):
        sg.CopulaSynthesizer().save("x")


def test_progress_is_reported(cps):
    seen = []
    syn = sg.CopulaSynthesizer(random_state=0).fit(cps, progress=lambda *a: seen.append(a))
    syn.sample(600_000, progress=lambda *a: seen.append(a))
    fit_steps = [s for s in seen if s[0] == "fit"]
    sample_steps = [s for s in seen if s[0] == "sample"]
    assert fit_steps[-1][1] == fit_steps[-1][2] and len(fit_steps) >= 7
    assert sample_steps[-1] == ("sample", 600_000, 600_000) and len(sample_steps) >= 3


def test_no_formal_privacy_guarantee_is_claimed(cps):
    syn = sg.CopulaSynthesizer(random_state=0).fit(cps.iloc[:500])
    assert syn.privacy_ is None
    assert "no formal privacy guarantee" in sg.CopulaSynthesizer.__module__.__class__.__doc__ or \
        "no formal privacy guarantee" in __import__("synthgov.generators.copula", fromlist=["x"]).__doc__


def test_per_row_conditions_with_unknown_levels_are_refused(cps):
    syn = sg.CopulaSynthesizer(random_state=0).fit(cps.sample(3000, random_state=0))
    with pytest.raises(sg.ConditionError, match=r"row 1: 'region' never takes the value 'mars'"):
        syn.sample(conditions=pd.DataFrame({"region": ["west", "mars"]}))


def test_missing_value_markers_as_conditions(loans):
    syn = sg.CopulaSynthesizer(random_state=0).fit(loans)
    assert syn.sample(50, conditions={"emp_length": pd.NA}).emp_length.isna().all()
    assert syn.sample(50, conditions={"emp_length": np.nan}).emp_length.isna().all()


def test_datetime_condition_hints_speak_in_dates(flights_sample):
    syn = sg.CopulaSynthesizer(random_state=0).fit(flights_sample[["time_hour", "carrier"]])
    with pytest.raises(sg.ConditionError) as info:
        syn.sample(5, conditions={"time_hour": "2020-01-01T00:00:00Z"})
    assert "2013-01-01T" in info.value.hint
    with pytest.raises(sg.ConditionError, match="finer than") as info:
        syn.sample(5, conditions={"time_hour": "2013-05-01T10:30:00Z"})
    assert "an hour" in info.value.hint
    out = syn.sample(20, conditions={"time_hour": "2013-05-01T10:00:00Z"})
    assert (out.time_hour == "2013-05-01T10:00:00Z").all()


def test_timezone_aware_datetimes_keep_their_zone():
    df = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=200, freq="h", tz="Europe/Paris"), "x": range(200)})
    out = sg.CopulaSynthesizer(random_state=0).fit(df).sample(100)
    assert str(out.t.dt.tz) == "Europe/Paris"
    assert out.t.min() >= df.t.min() and out.t.max() <= df.t.max()


def test_a_table_with_no_modelled_column():
    df = pd.DataFrame({"id": range(1, 31), "note": [f"free text number {i} about nothing much" for i in range(30)]})
    out = sg.CopulaSynthesizer(random_state=0).fit(df).sample(5)
    assert out.id.tolist() == [1, 2, 3, 4, 5] and out.note.notna().all()


def test_inequality_with_a_missing_low_keeps_high_present():
    rng = np.random.default_rng(0)
    a = rng.normal(50, 10, 1000)
    b = a + rng.exponential(5, 1000)
    a[rng.random(1000) < 0.3] = np.nan
    out = sg.CopulaSynthesizer(random_state=0, constraints=[sg.Inequality(low="a", high="b")]) \
        .fit(pd.DataFrame({"a": a, "b": b})).sample(3000)
    assert out.b.isna().mean() == 0.0 and abs(out.a.isna().mean() - 0.3) < 0.03
    assert ((out.b >= out.a) | out.a.isna()).all()


def test_edited_model_description_is_refused(cps, tmp_path):
    path = sg.CopulaSynthesizer(random_state=0).fit(cps.iloc[:500]).save(tmp_path / "m")
    doc = json.loads((path / "synthesizer.json").read_text())
    doc["state"]["n_rows"] = 1
    (path / "synthesizer.json").write_text(json.dumps(doc))
    with pytest.raises(sg.ModelFileError, match="description was altered"):
        sg.load_synthesizer(path)


def test_source_dtypes_are_restored():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "f": rng.normal(size=200).astype("float32"),
        "u": rng.integers(0, 100, 200).astype("uint16"),
        "c": pd.Categorical(rng.choice(["a", "b", "c"], 200)),
        "n": pd.array(rng.integers(0, 5, 200), dtype="Int64"),
    })
    df.loc[3, "n"] = pd.NA
    out = sg.CopulaSynthesizer(random_state=0).fit(df).sample(300)
    assert [str(t) for t in out.dtypes] == [str(t) for t in df.dtypes]
