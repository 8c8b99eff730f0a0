"""Bad input: every user mistake raises a specific SynthgovError with a stable code
and a message naming the offending column, value or file; and a failed `generate`
never leaves a partial or temporary output file behind.

Real data: the bundled CPS1988 extract (US Census Bureau), a fixed random sample of
2000 rows so that every region appears (the file is sorted by region).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from helpers import flat
from typer.testing import CliRunner

import synthgov as sg
from synthgov.cli import app


@pytest.fixture(scope="module")
def cps(cps_small) -> pd.DataFrame:
    return cps_small


@pytest.fixture(scope="module")
def fitted(cps) -> sg.CopulaSynthesizer:
    return sg.CopulaSynthesizer(random_state=0).fit(cps)


# -- empty input -----------------------------------------------------------------


def test_empty_file_is_input_error_naming_the_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(sg.InputError) as info:
        sg.read(path)
    assert info.value.code == "SG-INPUT"
    assert "empty.csv" in info.value.message
    assert info.value.message.endswith("empty.csv is empty")


def test_empty_file_refused_by_fit_too(tmp_path):
    path = tmp_path / "zero.csv"
    path.write_bytes(b"")
    with pytest.raises(sg.InputError) as info:
        sg.CopulaSynthesizer().fit(path)
    assert info.value.code == "SG-INPUT"
    assert "zero.csv" in info.value.message


def test_header_only_csv_is_input_error_about_no_rows(tmp_path):
    path = tmp_path / "header_only.csv"
    path.write_text("wage,education,region\n")
    with pytest.raises(sg.InputError) as info:
        sg.read(path)
    assert info.value.code == "SG-INPUT"
    assert "no rows" in info.value.message


def test_header_only_csv_message_names_the_file(tmp_path):
    path = tmp_path / "header_only.csv"
    path.write_text("wage,education,region\n")
    with pytest.raises(sg.InputError) as info:
        sg.read(path)
    assert "header_only.csv" in info.value.message


def test_one_row_table_refused_by_fit(cps):
    with pytest.raises(sg.InputError) as info:
        sg.CopulaSynthesizer().fit(cps.head(1))
    assert info.value.code == "SG-INPUT"
    assert "1 row" in info.value.message


# -- columns that cannot be described ------------------------------------------------


def test_all_missing_column_is_schema_error_naming_it(cps):
    df = cps.assign(bonus=np.nan)
    with pytest.raises(sg.SchemaError) as info:
        sg.CopulaSynthesizer().fit(df)
    assert info.value.code == "SG-SCHEMA"
    assert "'bonus'" in info.value.message
    assert info.value.details["column"] == "bonus"
    assert "wage" not in info.value.message  # names only the offending column


def test_all_missing_column_in_csv_is_schema_error_naming_it(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("age,comment\n" + "".join(f"{20 + i},\n" for i in range(30)))
    with pytest.raises(sg.SchemaError) as info:
        sg.TableSchema.infer(sg.read(path))
    assert info.value.code == "SG-SCHEMA"
    assert "'comment'" in info.value.message


def test_numbers_mixed_with_words_in_csv_column(tmp_path, cps):
    wages = cps["wage"].head(60).astype(str).tolist()
    wages[7] = "unknown"
    wages[33] = "refused"
    path = tmp_path / "wages.csv"
    pd.DataFrame({"education": cps["education"].head(60), "wage": wages}).to_csv(path, index=False)
    with pytest.raises(sg.SchemaError) as info:
        sg.CopulaSynthesizer().fit(path)
    assert info.value.code == "SG-SCHEMA"
    msg = info.value.message
    assert "'wage'" in msg
    assert "'unknown'" in msg and "'refused'" in msg
    assert "2 of 60" in msg
    assert info.value.details == {"column": "wage", "bad_values": 2}


def test_dataframe_object_column_mixing_ints_and_strings():
    df = pd.DataFrame(
        {
            "age": list(range(20, 40)),
            "size": pd.Series([1, 2, "three", 4, 5] * 4, dtype=object),
        }
    )
    with pytest.raises(sg.SchemaError) as info:
        sg.TableSchema.infer(df)
    assert info.value.code == "SG-SCHEMA"
    msg = info.value.message
    assert "'size'" in msg
    assert "int" in msg and "str" in msg


def test_unparsable_dates_name_the_column_and_values():
    dates = [f"2020-{m:02d}-{d:02d}" for m in range(1, 5) for d in range(1, 11)]
    dates[5] = "not a date"
    dates[21] = "2020-13-45"
    df = pd.DataFrame({"visit": dates, "n": range(len(dates))})
    with pytest.raises(sg.SchemaError) as info:
        sg.CopulaSynthesizer().fit(df)
    assert info.value.code == "SG-SCHEMA"
    msg = info.value.message
    assert "'visit'" in msg
    assert "'not a date'" in msg and "'2020-13-45'" in msg
    assert "2 of 40" in msg


# -- table shape -------------------------------------------------------------------


def test_duplicate_column_names_in_csv_header(tmp_path):
    path = tmp_path / "dupes.csv"
    path.write_text("a,a,b\n1,2,3\n4,5,6\n")
    with pytest.raises(sg.InputError) as info:
        sg.read(path)
    assert info.value.code == "SG-INPUT"
    msg = info.value.message
    assert "dupes.csv" in msg
    assert re.search(r"duplicate column name\(s\): a$", msg)


def test_duplicate_column_names_in_dataframe(cps):
    df = cps[["wage", "education", "region"]].copy()
    df.columns = ["wage", "region", "region"]
    with pytest.raises(sg.InputError) as info:
        sg.CopulaSynthesizer().fit(df)
    assert info.value.code == "SG-INPUT"
    assert re.search(r"duplicate column name\(s\): region$", info.value.message)


def test_non_utf8_file_is_input_error_naming_the_file(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"name\ncaf\xe9\n")
    with pytest.raises(sg.InputError) as info:
        sg.read(path)
    assert info.value.code == "SG-INPUT"
    assert "latin1.csv" in info.value.message
    assert "UTF-8" in info.value.message


def test_ragged_row_with_too_many_fields_names_the_line(tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("a,b\n1,2\n3,4\n5,6,7\n8,9\n")
    with pytest.raises(sg.InputError) as info:
        sg.read(path)
    assert info.value.code == "SG-INPUT"
    msg = info.value.message
    assert "many.csv" in msg
    assert "header has 2 columns but a row has 3" in msg
    assert "line 4" in msg


def test_ragged_row_with_too_few_fields_names_the_line(tmp_path):
    path = tmp_path / "few.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6\n7,8,9\n10,11\n")
    with pytest.raises(sg.InputError) as info:
        sg.read(path)
    assert info.value.code == "SG-INPUT"
    msg = info.value.message
    assert "few.csv" in msg
    assert "header has 3 columns but a row has 2" in msg
    assert "line 5" in msg


# -- sampling ------------------------------------------------------------------------


def test_zero_rows_requested(fitted):
    with pytest.raises(sg.ParameterError) as info:
        fitted.sample(0)
    assert info.value.code == "SG-PARAMETER"
    assert "got 0" in info.value.message


def test_condition_on_unknown_column(fitted):
    with pytest.raises(sg.ConditionError) as info:
        fitted.sample(10, conditions={"regoin": "west"})
    assert info.value.code == "SG-CONDITION"
    assert "'regoin'" in info.value.message
    assert "region" in info.value.hint  # says which columns exist


def test_condition_on_impossible_categorical_value(fitted):
    with pytest.raises(sg.ConditionError) as info:
        fitted.sample(10, conditions={"region": "atlantis"})
    assert info.value.code == "SG-CONDITION"
    assert "'region'" in info.value.message and "'atlantis'" in info.value.message
    assert "'west'" in info.value.hint


def test_condition_on_numeric_value_outside_the_range(fitted, cps):
    value = int(cps["experience"].max()) + 100
    with pytest.raises(sg.ConditionError) as info:
        fitted.sample(10, conditions={"experience": value})
    assert info.value.code == "SG-CONDITION"
    assert "'experience'" in info.value.message and str(value) in info.value.message


def test_condition_range_outside_the_data(fitted):
    with pytest.raises(sg.ConditionError) as info:
        fitted.sample(10, conditions={"experience": (200, 300)})
    assert info.value.code == "SG-CONDITION"
    assert "'experience'" in info.value.message and "(200, 300)" in info.value.message


def test_condition_range_with_low_above_high(fitted):
    with pytest.raises(sg.ConditionError) as info:
        fitted.sample(10, conditions={"experience": (20, 10)})
    assert info.value.code == "SG-CONDITION"
    assert "'experience'" in info.value.message and "(20, 10)" in info.value.message
    assert "low above high" in info.value.message


# -- constraints ---------------------------------------------------------------------


def test_constraint_contradicted_by_the_data(cps):
    constraint = sg.Inequality(low="education", high="experience")
    violations = int((cps["education"] > cps["experience"]).sum())
    assert violations > 0  # real data: young workers have more schooling than experience
    with pytest.raises(sg.ConstraintError) as info:
        sg.CopulaSynthesizer(constraints=[constraint]).fit(cps)
    assert info.value.code == "SG-CONSTRAINT"
    msg = info.value.message
    assert constraint.describe() in msg
    assert f"{violations} of {len(cps)} rows" in msg
    assert info.value.details["violations"] == violations


def test_constraint_contradicted_small_table():
    df = pd.DataFrame({"a": [1, 5, 3, 9, 2, 8], "b": [2, 4, 6, 10, 1, 9]})
    with pytest.raises(sg.ConstraintError) as info:
        sg.CopulaSynthesizer(constraints=[sg.Inequality(low="a", high="b")]).fit(df)
    assert info.value.code == "SG-CONSTRAINT"
    assert "a <= b" in info.value.message
    assert "2 of 6 rows" in info.value.message
    assert info.value.details["rows"] == [1, 4]


# -- files written by synthgov ---------------------------------------------------------


def test_malformed_schema_json_is_schema_error(tmp_path):
    path = tmp_path / "broken-schema.json"
    path.write_text('{"format": "synthgov.schema/1", "columns": [')
    with pytest.raises(sg.SchemaError) as info:
        sg.TableSchema.load(path)
    assert info.value.code == "SG-SCHEMA"
    assert "not valid JSON" in info.value.message


def test_malformed_schema_json_message_names_the_file(tmp_path):
    path = tmp_path / "broken-schema.json"
    path.write_text('{"format": "synthgov.schema/1", "columns": [')
    with pytest.raises(sg.SchemaError) as info:
        sg.TableSchema.load(path)
    assert "broken-schema.json" in info.value.message


def test_schema_json_with_unknown_kind_names_column_and_value(tmp_path, cps):
    path = tmp_path / "schema.json"
    sg.TableSchema.infer(cps).save(path)
    path.write_text(path.read_text().replace('"kind": "categorical"', '"kind": "categorial"', 1))
    with pytest.raises(sg.SchemaError) as info:
        sg.TableSchema.load(path)
    assert info.value.code == "SG-SCHEMA"
    assert "'ethnicity'" in info.value.message and "'categorial'" in info.value.message


def test_altered_model_arrays_refused(tmp_path, fitted):
    model = fitted.save(tmp_path / "model")
    arrays = model / "arrays.npz"
    blob = bytearray(arrays.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    arrays.write_bytes(bytes(blob))
    with pytest.raises(sg.ModelFileError) as info:
        sg.load_synthesizer(model)
    assert info.value.code == "SG-MODEL-FILE"
    assert "arrays.npz" in info.value.message
    assert "altered" in info.value.message


def test_unaltered_model_loads(tmp_path, fitted):
    """Control for the test above: the same save loads when nothing was changed."""
    model = fitted.save(tmp_path / "model")
    loaded = sg.load_synthesizer(model)
    assert loaded.schema_ == fitted.schema_
    assert len(loaded.sample(5, random_state=0)) == 5


# -- no partial output -------------------------------------------------------------------


@pytest.fixture
def cps_csv(tmp_path, cps):
    path = tmp_path / "cps.csv"
    cps.to_csv(path, index=False)
    return path


def _leftovers(directory, name):
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(f".{name}."))


@pytest.mark.parametrize("condition", ["region=atlantis", "experience=200..300"])
def test_failed_generate_leaves_no_output_file(tmp_path, cps_csv, condition):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "synth.csv"
    result = CliRunner().invoke(app, ["generate", str(cps_csv), "--out", str(target), "--condition", condition])
    assert result.exit_code == 1
    assert "[SG-CONDITION]" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not target.exists()
    assert _leftovers(out_dir, "synth.csv") == []
    assert list(out_dir.iterdir()) == []


def test_failed_generate_keeps_existing_output_untouched(tmp_path, cps_csv):
    target = tmp_path / "synth.csv"
    old = b"wage,region\n1.0,old-file\n"
    target.write_bytes(old)
    result = CliRunner().invoke(
        app, ["generate", str(cps_csv), "--out", str(target), "--condition", "region=atlantis"]
    )
    assert result.exit_code == 1
    assert "[SG-CONDITION]" in result.output
    assert "atlantis" in flat(result.output)
    assert target.read_bytes() == old
    assert _leftovers(tmp_path, "synth.csv") == []


def test_successful_generate_replaces_output_and_leaves_no_temp_files(tmp_path, cps_csv):
    """Control for the two tests above: the same command without the bad condition writes the file."""
    target = tmp_path / "synth.csv"
    target.write_bytes(b"old\n")
    result = CliRunner().invoke(
        app, ["generate", str(cps_csv), "--out", str(target), "--condition", "region=west", "--rows", "50", "--seed", "1"]
    )
    assert result.exit_code == 0, result.output
    out = pd.read_csv(target)
    assert len(out) == 50 and set(out["region"]) == {"west"}
    assert _leftovers(tmp_path, "synth.csv") == []
