"""PII and rare values never reach the output, the schema or the saved model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import synthgov as sg


def test_names_in_any_script_are_regenerated_not_copied():
    names = ["王小明", "李雷", "韩梅梅", "张伟", "刘洋", "José Núñez", "Zoë Brontë", "Ana Lúcia"] * 5
    df = pd.DataFrame({"name": names, "age": np.random.default_rng(0).integers(20, 60, len(names))})
    schema = sg.TableSchema.infer(df)
    assert schema["name"].pii == "name" and not schema["name"].modelled
    assert not any(ch in schema.to_json() for ch in "王李韩张刘éëúñ")  # the shape keeps no letters
    out = sg.CopulaSynthesizer(random_state=0).fit(df, schema=schema).sample(200)
    assert not set(out["name"]) & set(names)


@pytest.mark.parametrize("column", ["First Name", "Customer Name", "Date of Birth", "Social Security Number",
                                    "Home Address", "customerEmail"])
def test_pii_names_with_spaces_and_camel_case_are_detected(column):
    values = {"Date of Birth": ["1970-01-02", "1985-05-06", "1999-12-31"] * 10}.get(column, ["x", "y", "z"] * 10)
    assert sg.TableSchema.infer(pd.DataFrame({column: values}))[column].pii is not None


def test_numeric_identity_numbers_are_regenerated_and_not_stored(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "ssn": rng.integers(10**8, 10**9, 300), "phone": rng.integers(7700900000, 7700999999, 300),
        "patient_id": rng.permutation(np.arange(500_000, 500_300)), "age": rng.integers(18, 90, 300),
    })
    schema = sg.TableSchema.infer(df)
    for col in ("ssn", "phone", "patient_id"):
        assert not schema[col].modelled and schema[col].minimum is None and schema[col].maximum is None
    syn = sg.CopulaSynthesizer(random_state=0).fit(df, schema=schema)
    out = syn.sample(2000)
    assert out.ssn.dtype == np.int64 and (out.ssn.astype(str).str.len() <= 9).all()
    for col in ("ssn", "phone", "patient_id"):
        assert not set(out[col]) & set(df[col]), col
    syn.save(tmp_path / "m")
    text = (tmp_path / "m" / "synthesizer.json").read_text()
    assert not any(str(v) in text for v in df.ssn) and not any(str(v) in text for v in df.patient_id)


def test_modelled_pii_columns_are_smoothed_and_their_extremes_not_stored(tmp_path):
    rng = np.random.default_rng(0)
    lat = np.round(51.5 + rng.normal(0, 0.05, 400), 6)
    dob = pd.Timestamp("1960-01-01") + pd.to_timedelta(rng.integers(0, 15000, 400), unit="D")
    df = pd.DataFrame({"lat": lat, "date_of_birth": dob.strftime("%Y-%m-%d"), "visits": rng.integers(0, 9, 400)})
    schema = sg.TableSchema.infer(df)
    assert schema["lat"].pii == "location" and schema["date_of_birth"].pii == "dob"
    assert schema["lat"].minimum > lat.min() and schema["lat"].maximum < lat.max()
    assert schema["date_of_birth"].minimum > dob.min().isoformat()
    syn = sg.CopulaSynthesizer(random_state=0).fit(df, schema=schema)
    syn.save(tmp_path / "m")
    with np.load(tmp_path / "m" / "arrays.npz", allow_pickle=False) as npz:
        stored = np.concatenate([npz[k].ravel() for k in npz.files])
    assert not np.isin(np.round(stored, 6), lat).any()  # no real coordinate is in the model
    out = syn.sample(2000)
    assert out.lat.between(schema["lat"].minimum, schema["lat"].maximum).all()
    assert np.isin(out.lat, lat).mean() < 0.01


def test_rare_numeric_values_are_merged_into_frequent_ones(loans):
    counts = loans.tax_liens.value_counts()
    rare = set(counts[counts < 5].index)
    assert rare  # e.g. a single person with 52 tax liens
    out = sg.CopulaSynthesizer(random_state=0).fit(loans).sample(20_000)
    assert not set(out.tax_liens.unique()) & rare


def test_small_tables_do_not_put_their_rows_in_the_model(tmp_path):
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"income": np.round(rng.lognormal(10, 1, 200), 2), "group": rng.choice(["a", "b"], 200)})
    sg.CopulaSynthesizer(random_state=0).fit(df).save(tmp_path / "m")
    with np.load(tmp_path / "m" / "arrays.npz", allow_pickle=False) as npz:
        grids = [npz[k] for k in npz.files if k.endswith("grid")]
    assert grids and all(len(g) <= 200 // 5 for g in grids)
    assert np.isin(np.concatenate(grids)[1:-1], df.income).mean() < 0.2  # interpolated quantiles, not rows


def test_model_files_hold_no_grouped_away_levels(loans, tmp_path):
    sg.CopulaSynthesizer(random_state=0).fit(loans).save(tmp_path / "m")
    text = (tmp_path / "m" / "synthesizer.json").read_text()
    counts = loans.emp_title.value_counts()
    rare = [v for v in counts[counts < 5].index if len(v) > 8][:300]
    assert rare and not any(json.dumps(v) in text for v in rare)
