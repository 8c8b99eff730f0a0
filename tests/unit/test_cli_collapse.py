"""`synthgov collapse-test`: files written, both chains summarised, bad input refused with nothing written."""

from __future__ import annotations

import json

import pytest
from helpers import flat
from typer.testing import CliRunner

from synthgov.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory, cps_small):
    path = tmp_path_factory.mktemp("collapse") / "cps.csv"
    cps_small.to_csv(path, index=False)
    return path


def test_collapse_test_writes_html_and_json_and_prints_both_chains(data_csv, tmp_path):
    html, js = tmp_path / "collapse.html", tmp_path / "collapse.json"
    result = runner.invoke(app, ["collapse-test", str(data_csv), "--generations", "3", "--rows", "200",
                                 "--real-share", "0.2", "--target", "wage", "--seed", "1",
                                 "--out", str(html), "--json", str(js)])
    assert result.exit_code == 0, result.output
    doc = json.loads(js.read_text())
    assert doc["format"] == "synthgov.collapse/1"
    assert {k: doc["settings"][k] for k in ("generations", "rows", "real_share", "target", "random_state")} == \
        {"generations": 3, "rows": 200, "real_share": 0.2, "target": "wage", "random_state": 1}
    assert [len(c["generations"]) for c in doc["chains"]] == [4, 4]
    page = html.read_text()
    assert page.startswith("<!doctype html>") and "<script" not in page and page.count("<svg") >= 4
    text = flat(result.output)
    assert "synthetic only" in text and "20% real" in text and "report written to" in text


def test_collapse_test_defaults_to_the_workspace(data_csv, tmp_path):
    result = runner.invoke(app, ["collapse-test", str(data_csv), "--generations", "1", "--rows", "100"])
    assert result.exit_code == 0, result.output
    written = list((tmp_path / "home").rglob("*collapse.html"))
    assert [p.name for p in written] == ["cps-collapse.html"]


@pytest.mark.parametrize("args, needle", [
    (["--generations", "0"], "generations"),
    (["--real-share", "1"], "real_share"),
    (["--real-share", "-0.5"], "real_share"),
    (["--method", "nope"], "unknown generator 'nope'"),
    (["--target", "salary"], "target 'salary'"),
    (["--rows", "5"], "rows"),
])
def test_bad_input_exits_1_and_writes_nothing(data_csv, tmp_path, args, needle):
    html, js = tmp_path / "c.html", tmp_path / "c.json"
    result = runner.invoke(app, ["collapse-test", str(data_csv), "--rows", "100", "--generations", "1",
                                 *args, "--out", str(html), "--json", str(js)])
    assert result.exit_code == 1, result.output
    text = flat(result.output)
    assert "error [SG-PARAMETER]" in text and needle in text
    assert "Traceback" not in result.output
    assert not html.exists() and not js.exists()


def test_a_missing_file_is_an_input_error(tmp_path):
    result = runner.invoke(app, ["collapse-test", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "c.html")])
    assert result.exit_code == 1
    assert "error [SG-" in flat(result.output) and not (tmp_path / "c.html").exists()
