"""Constraints: every synthetic row satisfies them (property-based), and bad ones are refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import synthgov as sg
from synthgov import ConstraintError, FixedCombinations, Formula, Inequality, Range
from synthgov.table.constraints import constraint_from_dict


@st.composite
def constrained_tables(draw):
    """Random tables that satisfy: start <= end, total = start + end, 0 <= rate <= 1, (city, country) fixed."""
    n = draw(st.integers(20, 150))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    decimals = draw(st.sampled_from([0, 1, 2]))
    start = np.round(rng.normal(draw(st.floats(-100, 100)), draw(st.floats(0.5, 50)), n), decimals)
    gap = np.round(np.abs(rng.exponential(draw(st.floats(0.1, 20)), n)), decimals)
    if draw(st.booleans()):
        gap[rng.random(n) < 0.2] = 0.0  # ties: start == end
    end = np.round(start + gap, decimals)
    pairs = [("Paris", "FR"), ("Lyon", "FR"), ("Berlin", "DE"), ("Bonn", "DE"), ("Rome", "IT")]
    idx = rng.integers(0, len(pairs), n)
    df = pd.DataFrame({
        "start": start, "end": end, "total": np.round(start + end, decimals),
        "rate": np.round(rng.uniform(0, 1, n), 3),
        "city": [pairs[i][0] for i in idx], "country": [pairs[i][1] for i in idx],
    })
    if decimals == 0:
        df[["start", "end", "total"]] = df[["start", "end", "total"]].astype("int64")
    return df, seed


CONSTRAINTS = [
    Inequality(low="start", high="end"),
    Formula(column="total", expression="start + end"),
    Range(column="rate", low=0, high=1),
    FixedCombinations(["city", "country"]),
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(constrained_tables())
def test_every_sampled_row_satisfies_every_constraint(case):
    df, seed = case
    syn = sg.CopulaSynthesizer(random_state=seed % 1000, constraints=CONSTRAINTS)
    schema = sg.TableSchema.infer(df, rare_threshold=1)
    syn.fit(df, schema=schema)
    out = syn.sample(300)
    assert (out["end"] >= out["start"]).all()
    assert np.allclose(out["total"], out["start"] + out["end"], atol=1e-6)
    assert out["rate"].between(0, 1).all()
    real_pairs = set(zip(df.city, df.country, strict=True))
    assert set(zip(out.city, out.country, strict=True)) <= real_pairs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(constrained_tables(), st.sampled_from(["Paris", "Berlin", "Rome"]))
def test_constraints_hold_under_conditions(case, city):
    df, seed = case
    if city not in set(df.city):
        return
    schema = sg.TableSchema.infer(df, rare_threshold=1)
    syn = sg.CopulaSynthesizer(random_state=1, constraints=CONSTRAINTS).fit(df, schema=schema)
    out = syn.sample(100, conditions={"city": city})
    assert (out.city == city).all()
    assert set(out.country) == set(df.loc[df.city == city, "country"])
    assert (out["end"] >= out["start"]).all()


def test_strict_inequality_between_datetimes():
    rng = np.random.default_rng(0)
    admit = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, 400), unit="D")
    discharge = admit + pd.to_timedelta(rng.integers(1, 30, 400), unit="D")
    df = pd.DataFrame({"admitted": admit.strftime("%d/%m/%Y"), "discharged": discharge.strftime("%d/%m/%Y")})
    syn = sg.CopulaSynthesizer(random_state=0, constraints=[Inequality(low="admitted", high="discharged", strict=True)])
    out = syn.fit(df).sample(2000)
    a = pd.to_datetime(out.admitted, format="%d/%m/%Y")
    d = pd.to_datetime(out.discharged, format="%d/%m/%Y")
    assert (d > a).all()
    assert out.admitted.str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()  # source format kept


def test_constraints_declared_in_schema_json_are_applied(cps):
    cps = cps.assign(senior=cps.experience + 10)
    schema = sg.TableSchema.infer(cps).with_constraints({"type": "inequality", "low": "experience", "high": "senior"})
    again = sg.TableSchema.from_json(schema.to_json())
    out = sg.CopulaSynthesizer(random_state=0).fit(cps, schema=again).sample(5000)
    assert (out.senior >= out.experience).all()


def test_data_contradicting_a_constraint_is_refused_with_counts():
    df = pd.DataFrame({"a": [1, 5, 2, 9] * 10, "b": [2, 4, 3, 1] * 10})
    with pytest.raises(ConstraintError, match=r"inequality\(a <= b\): 20 of 40 rows") as info:
        sg.CopulaSynthesizer(constraints=[Inequality(low="a", high="b")]).fit(df)
    assert info.value.details["violations"] == 20


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ({"type": "inequality", "low": "a", "high": "a"}, "itself"),
        ({"type": "formula", "column": "c", "expression": "__import__('os')"}, "may only use"),
        ({"type": "formula", "column": "c", "expression": "c + 1"}, "refers to itself"),
        ({"type": "range", "column": "a"}, "needs a low or a high"),
        ({"type": "range", "column": "a", "low": 3, "high": 1}, "above high"),
        ({"type": "fixed_combinations", "columns": ["a"]}, "two or more"),
        ({"type": "unique"}, "unknown constraint type"),
        ({"type": "inequality", "lo": "a", "high": "b"}, "field names"),
    ],
)
def test_malformed_constraints_are_refused(spec, fragment):
    with pytest.raises(ConstraintError, match=fragment):
        constraint_from_dict(spec)


def test_a_column_derived_twice_is_refused():
    df = pd.DataFrame({"a": range(30), "b": range(30), "c": range(30)})
    df["b"] = df.a + 1
    df["c"] = df.a * 2
    cons = [Formula(column="b", expression="a + 1"), Inequality(low="a", high="b")]
    with pytest.raises(ConstraintError, match="derived by both"):
        sg.CopulaSynthesizer(constraints=cons).fit(df)
