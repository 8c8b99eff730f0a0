"""Regression tests for problems found in review (each would fail if the fix were undone)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import flat
from typer.testing import CliRunner

import synthgov as sg
from synthgov.cli import app
from synthgov.table.infer import _decimals, value_shape

runner = CliRunner()


def test_day_first_dates_are_read_day_first_in_conditions():
    rng = np.random.default_rng(0)
    d = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, 500), unit="D")
    syn = sg.CopulaSynthesizer(random_state=0).fit(pd.DataFrame({"admitted": d.strftime("%d/%m/%Y"),
                                                                 "x": rng.normal(size=500)}))
    assert set(syn.sample(20, conditions={"admitted": "03/04/2024"}).admitted) == {"03/04/2024"}
    rows = syn.sample(conditions=pd.DataFrame({"admitted": ["03/04/2024", "13/04/2024"]}))
    assert rows.admitted.tolist() == ["03/04/2024", "13/04/2024"]
    days = pd.to_datetime(syn.sample(300, conditions={"admitted": ("01/02/2024", "10/02/2024")}).admitted,
                          format="%d/%m/%Y")
    assert days.between("2024-02-01", "2024-02-10").all()


def test_conditions_on_a_swap_mode_inequality_are_refused():
    rng = np.random.default_rng(0)
    a = rng.normal(50, 10, 800)
    b = a + rng.exponential(5, 800)
    a[rng.random(800) < 0.3] = np.nan
    syn = sg.CopulaSynthesizer(random_state=0, constraints=[sg.Inequality(low="a", high="b")])
    syn.fit(pd.DataFrame({"a": a, "b": b, "c": rng.normal(size=800)}))
    for column in ("a", "b"):
        with pytest.raises(sg.ConditionError, match="swapping values"):
            syn.sample(10, conditions={column: (40, 60)})
    assert len(syn.sample(10, conditions={"c": (0, 1)})) == 10


def test_zoned_daily_dates_stay_at_local_midnight():
    t = pd.date_range("2024-01-01", periods=300, freq="D", tz="America/New_York")
    syn = sg.CopulaSynthesizer(random_state=0).fit(pd.DataFrame({"day": t, "x": range(300)}))
    out = syn.sample(300)
    assert (out.day.dt.hour == 0).all() and str(out.day.dt.tz) == "America/New_York"
    on = syn.sample(5, conditions={"day": "2024-02-01"}).day  # naive values are local wall-clock time
    assert (on == pd.Timestamp("2024-02-01", tz="America/New_York")).all()


def test_millisecond_timestamps_keep_millisecond_precision():
    rng = np.random.default_rng(0)
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**9, 300), unit="ms")
    out = sg.CopulaSynthesizer(random_state=0).fit(pd.DataFrame({"ts": ts})).sample(500)
    assert (out.ts.astype("int64") % 1_000_000 == 0).all()


def test_schema_output_errors_are_rendered(tmp_path, cps_small):
    data = tmp_path / "cps.csv"
    cps_small.to_csv(data, index=False)
    (tmp_path / "f").write_text("x")
    for target in (tmp_path / "f" / "s.json", tmp_path):
        result = runner.invoke(app, ["schema", str(data), "-o", str(target)])
        assert result.exit_code == 1 and "[SG-OUTPUT]" in flat(result.output), result.output


def test_demo_with_an_unwritable_workspace(tmp_path, monkeypatch):
    (tmp_path / "f").write_text("x")
    monkeypatch.setenv("SYNTHGOV_HOME", str(tmp_path / "f" / "ws"))
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 1 and "[SG-OUTPUT]" in flat(result.output)


def test_whole_number_category_with_rare_levels_writes_to_parquet(tmp_path):
    rng = np.random.default_rng(0)
    zips = np.concatenate([rng.choice([10001, 10002, 10003], 300), [99999, 88888]])
    df = pd.DataFrame({"zip": zips, "x": rng.normal(size=len(zips))})
    schema = sg.TableSchema.infer(df).with_column("zip", kind="categorical")
    out = sg.CopulaSynthesizer(random_state=0).fit(df, schema=schema).sample(2000)
    sg.write(out, tmp_path / "o.parquet")
    assert set(sg.read(tmp_path / "o.parquet").zip.dropna()) <= {"10001", "10002", "10003", "(other)"}


def test_ordinal_categories_keep_their_order_against_numbers(loans):
    out = sg.CopulaSynthesizer(random_state=0).fit(loans).sample(len(loans))
    means = out.groupby("grade").interest_rate.mean().reindex(list("ABCDEFG"))
    assert means.is_monotonic_increasing  # real: 6.7, 10.5, 14.2, 19.1, 25.1, 29.4, 30.8


def test_combining_marks_do_not_survive_in_shapes():
    assert value_shape(pd.Series(["Jose\u0301 Nu\u0303nez"])) == "Aaaa Aaaaa"
    assert set(value_shape(pd.Series(["मोहन शर्मा"]))) <= {"a", " "}


@pytest.mark.parametrize("name, tag", [("automobile", None), ("fairfax", None), ("Mobile Banking User", None),
                                       ("mobile_no", "phone"), ("birth_year", "dob"), ("postal_code", "address")])
def test_pii_name_patterns(name, tag):
    assert sg.TableSchema.infer(pd.DataFrame({name: ["a", "b", "c"] * 10}))[name].pii == tag


def test_decimals_of_large_amounts():
    assert _decimals(np.array([1e12 + 0.25, 3e12 + 0.5])) == 2
    assert _decimals(np.array([302546.12, 100000.5])) == 2


def test_per_row_missing_on_a_never_missing_column_is_refused(cps_small):
    syn = sg.CopulaSynthesizer(random_state=0).fit(cps_small)
    with pytest.raises(sg.ConditionError, match="never missing"):
        syn.sample(conditions=pd.DataFrame({"wage": [500.0, np.nan]}))


def test_range_with_a_nan_end_is_open(cps_small):
    out = sg.CopulaSynthesizer(random_state=0).fit(cps_small).sample(50, conditions={"wage": (np.nan, 200.0)})
    assert (out.wage <= 200).all()


def test_cli_rebalance_refuses_conditions(tmp_path, cps_small):
    data = tmp_path / "cps.csv"
    cps_small.to_csv(data, index=False)
    result = runner.invoke(app, ["generate", str(data), "--rebalance", "ethnicity", "-c", "region=west",
                                 "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 1 and "cannot be combined with --rebalance" in flat(result.output)


@pytest.mark.parametrize("changes, fragment", [
    ({"minimum": "abc"}, "must be a number"),
    ({"kind": "datetime", "minimum": "not a date"}, "ISO-8601"),
    ({"kind": "datetime", "timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"kind": "datetime", "datetime_format": "YYYY"}, "strftime pattern"),
])
def test_schema_values_are_validated(changes, fragment):
    schema = sg.TableSchema(columns=(sg.Column(name="x", kind="numeric"),))
    with pytest.raises(sg.SchemaError, match=fragment):
        schema.with_column("x", **changes)


def test_schema_refuses_bad_overrides_and_thresholds():
    df = pd.DataFrame({"x": range(10)})
    with pytest.raises(sg.SchemaError, match="must be a dict"):
        sg.TableSchema.infer(df, overrides={"x": "numeric"})
    with pytest.raises(sg.SchemaError, match="rare_threshold"):
        sg.TableSchema(columns=(sg.Column(name="x", kind="numeric"),), rare_threshold=0)


def test_rebalance_explains_a_rare_group_in_the_target(cps_small):
    df = cps_small.copy()
    df.loc[:2, "region"] = "pacific-islands"
    with pytest.raises(sg.ParameterError, match="grouped away"):
        sg.rebalance(df, sg.CopulaSynthesizer(random_state=0), column="region",
                     target={"pacific-islands": 0.2, "west": 0.2, "south": 0.2, "midwest": 0.2, "northeast": 0.2})
