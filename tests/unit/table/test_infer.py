"""Schema inference on real public datasets, column by column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgov as sg
from synthgov import Kind, TableSchema


def kinds(schema: TableSchema) -> dict[str, str]:
    return {c.name: c.kind.value for c in schema}


def test_cps1988_kinds_bounds_and_levels(cps):
    schema = TableSchema.infer(cps)
    assert kinds(schema) == {
        "wage": "numeric", "education": "numeric", "experience": "numeric", "ethnicity": "categorical",
        "smsa": "boolean", "region": "categorical", "parttime": "boolean",
    }
    wage, edu, exp = schema["wage"], schema["education"], schema["experience"]
    assert (wage.integer, wage.decimals, wage.dtype) == (False, 2, "float")
    assert (wage.minimum, wage.maximum) == (cps.wage.min(), cps.wage.max())
    assert (edu.integer, edu.dtype, edu.minimum, edu.maximum) == (True, "int", 0, 18)
    assert exp.minimum == -4  # potential experience can be negative in this extract
    assert set(schema["region"].categories) == {"south", "midwest", "northeast", "west"}
    # frequent first
    assert schema["region"].categories[0] == cps.region.value_counts().index[0]
    assert all(c.missing_rate == 0 and c.pii is None for c in schema)
    assert schema.n_rows == len(cps)


def test_loans_missing_rates_rare_levels_and_high_cardinality(loans):
    schema = TableSchema.infer(loans)
    assert schema["emp_length"].kind is Kind.NUMERIC
    assert schema["emp_length"].missing_rate == pytest.approx(loans.emp_length.isna().mean())
    assert schema["annual_income_joint"].missing_rate == pytest.approx(loans.annual_income_joint.isna().mean())
    assert schema["state"].kind is Kind.CATEGORICAL
    assert schema["interest_rate"].decimals == 2
    assert schema["term"].kind is Kind.NUMERIC and schema["term"].integer
    assert schema["current_accounts_delinq"].kind is Kind.BOOLEAN  # 0/1 integers
    # emp_title: free-form job titles, thousands of levels, most seen once
    emp = schema["emp_title"]
    counts = loans.emp_title.value_counts()
    assert emp.kind is Kind.CATEGORICAL
    assert emp.rare_grouped == int((counts < 5).sum()) and emp.rare_label == "(other)"
    assert set(emp.categories) == set(counts[counts >= 5].index)
    assert "high-cardinality" in emp.flags and "rare-levels-grouped" in emp.flags


def test_schema_never_stores_rare_values(loans):
    schema = TableSchema.infer(loans, rare_threshold=5)
    text = schema.to_json()
    counts = loans.emp_title.value_counts()
    rare = [v for v in counts[counts < 5].index if len(v) > 6][:200]
    assert rare and not any(f'"{v}"' in text for v in rare)


def test_covid_pii_names_are_tagged_and_not_modelled(covid):
    schema = TableSchema.infer(covid)
    for col in ("fake_first_name", "fake_last_name"):
        assert schema[col].pii == "name"
        assert schema[col].kind in (Kind.TEXT, Kind.IDENTIFIER) and not schema[col].modelled
    assert schema["clinic_name"].pii is None  # "name" in a column name alone is not a person's name
    assert schema["payor_group"].missing_rate == pytest.approx(covid.payor_group.isna().mean())
    assert schema["drive_thru_ind"].kind is Kind.BOOLEAN


def test_flights_datetime_format_is_kept(flights_sample):
    schema = TableSchema.infer(flights_sample)
    th = schema["time_hour"]
    assert th.kind is Kind.DATETIME and th.datetime_format == "%Y-%m-%dT%H:%M:%SZ"
    assert schema["carrier"].kind is Kind.CATEGORICAL
    assert schema["dep_time"].kind is Kind.NUMERIC and schema["dep_time"].integer and schema["dep_time"].dtype == "float"


def test_identifiers_are_detected_and_keep_only_their_shape():
    n = 200
    df = pd.DataFrame({
        "patient_id": np.arange(1000, 1000 + n),
        "ticket": [f"TK-{i:05d}" for i in range(n)],
        "score": np.random.default_rng(0).normal(size=n),
    })
    schema = TableSchema.infer(df)
    pid = schema["patient_id"]
    assert pid.kind is Kind.IDENTIFIER and pid.shape == "9999"  # digits only: no real id is kept
    assert pid.minimum is None and pid.maximum is None and "sequential" not in pid.flags
    rows = TableSchema.infer(pd.DataFrame({"rownames": np.arange(1, n + 1), "x": np.ones(n)}))["rownames"]
    assert rows.kind is Kind.IDENTIFIER and "sequential" in rows.flags and rows.minimum == 1
    assert schema["ticket"].kind is Kind.IDENTIFIER and schema["ticket"].shape == "AA-99999"
    assert schema["score"].kind is Kind.NUMERIC  # unique floats are measurements, not keys


@pytest.mark.parametrize(
    "name, values, tag",
    [
        ("contact", ["ann.lee@example.org", "bo@example.net", "c.d@example.com"] * 10, "email"),
        ("mobile", ["+44 20 7946 0958", "020 7946 0000", "(555) 010-9999"] * 10, "phone"),
        ("ssn", ["123-45-6789", "987-65-4321", "111-22-3333"] * 10, "national_id"),
        ("date_of_birth", ["1970-01-02", "1985-05-06", "1999-12-31"] * 10, "dob"),
        ("home_address", ["12 Baker Street", "3 Elm Road", "77 Sunset Blvd"] * 10, "address"),
        ("latitude", [51.501364, 48.858093, 40.689247] * 10, "location"),
        ("surname", ["Smith", "Jones", "Brown"] * 10, "name"),
    ],
)
def test_pii_detection(name, values, tag):
    schema = TableSchema.infer(pd.DataFrame({name: values}))
    assert schema[name].pii == tag


def test_pii_detected_from_values_alone():
    emails = [f"user{i}@example.org" for i in range(50)]
    assert TableSchema.infer(pd.DataFrame({"x": emails}))["x"].pii == "email"


def test_pii_detectors_are_pluggable():
    detector = sg.PIIDetector("health_record", name_pattern=r"^mrn$")
    sg.register_pii_detector(detector, first=True)
    try:
        schema = TableSchema.infer(pd.DataFrame({"mrn": [f"M{i}" for i in range(30)]}))
        assert schema["mrn"].pii == "health_record"
    finally:
        from synthgov.table import pii

        pii._DETECTORS.remove(detector)


def test_overrides_apply_after_inference(cps):
    schema = TableSchema.infer(cps, overrides={"education": {"kind": "categorical"}})
    assert schema["education"].kind is Kind.CATEGORICAL


def test_text_columns_are_flagged_not_modelled():
    rng = np.random.default_rng(0)
    words = ["patient", "reports", "mild", "pain", "after", "surgery", "no", "fever", "stable", "today"]
    notes = [" ".join(rng.choice(words, 8)) for _ in range(100)]
    schema = TableSchema.infer(pd.DataFrame({"note": notes}))
    assert schema["note"].kind is Kind.TEXT and "not-modelled" in schema["note"].flags
