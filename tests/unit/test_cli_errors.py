"""CLI: mistakes about outputs and options are refused before any work, with a code and a hint."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import flat
from typer.testing import CliRunner

import synthgov as sg
from synthgov.cli import app

runner = CliRunner()


@pytest.fixture()
def data_csv(tmp_path, cps_small):
    path = tmp_path / "cps.csv"
    cps_small.to_csv(path, index=False)
    return path


def test_unknown_output_format_is_refused_before_fitting(data_csv, tmp_path):
    result = runner.invoke(app, ["generate", str(data_csv), "--out", str(tmp_path / "out.xlsx")])
    assert result.exit_code == 1 and "[SG-OUTPUT]" in flat(result.output)
    assert not (tmp_path / "out.xlsx").exists()


def test_unwritable_output_is_an_error_not_a_traceback(data_csv, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["generate", str(data_csv), "--rows", "10", "--out", str(blocker / "out.csv")])
    assert result.exit_code == 1 and "[SG-OUTPUT]" in flat(result.output) and "Traceback" not in result.output
    result = runner.invoke(app, ["generate", str(data_csv), "--rows", "10", "--out", str(tmp_path / "o.csv"),
                                 "--save-model", str(blocker / "model")])
    assert result.exit_code == 1 and "[SG-OUTPUT]" in flat(result.output)
    assert not (tmp_path / "o.csv").exists()  # the model is saved first: no output without its model


def test_rows_with_partial_or_rebalance_is_refused(data_csv, tmp_path):
    for mode in (["--partial", "wage"], ["--rebalance", "ethnicity"]):
        result = runner.invoke(app, ["generate", str(data_csv), "--rows", "100", *mode, "--out", str(tmp_path / "o.csv")])
        assert result.exit_code == 1 and "--rows does not apply" in flat(result.output)


def test_semicolon_separated_csv_is_explained(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("a;b\n1;2\n3;4\n")
    with pytest.raises(sg.InputError, match="separated by semicolons"):
        sg.read(path)


def test_library_write_errors_are_output_errors(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(sg.OutputError) as info:
        sg.write(pd.DataFrame({"a": [1]}), tmp_path / "file" / "out.csv")
    assert info.value.code == "SG-OUTPUT" and "writable" in info.value.hint
