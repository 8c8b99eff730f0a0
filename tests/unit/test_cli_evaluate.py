"""`synthgov evaluate` and `synthgov metrics`: files written, summary printed, exit codes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import flat
from typer.testing import CliRunner

import synthgov as sg
from synthgov.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory, cps_small):
    """Train / holdout / synthetic CSV and Parquet files made from 2,000 CPS1988 rows."""
    root = tmp_path_factory.mktemp("eval")
    train, holdout = sg.holdout_split(cps_small, fraction=0.25, random_state=0)
    synth = sg.CopulaSynthesizer(random_state=0).fit(train).sample(len(train))
    paths = {"train": root / "train.csv", "holdout": root / "holdout.csv", "synth": root / "synth.parquet"}
    train.to_csv(paths["train"], index=False)
    holdout.to_csv(paths["holdout"], index=False)
    synth.to_parquet(paths["synth"], index=False)
    return paths


def test_evaluate_writes_html_and_json_and_prints_the_summary(files, tmp_path):
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    result = runner.invoke(app, [
        "evaluate", str(files["train"]), str(files["synth"]), "--holdout", str(files["holdout"]),
        "--target", "wage", "--sensitive", "ethnicity", "--out", str(html), "--json", str(js),
    ])
    assert result.exit_code == 0, result.output
    doc = json.loads(js.read_text())
    assert doc["format"] == "synthgov.report/1"
    assert doc["inputs"]["holdout_source"] == "given" and doc["inputs"]["target"] == "wage"
    families = {m["family"] for m in doc["metrics"]}
    assert families == set(sg.FAMILIES)
    page = html.read_text()
    assert page.lstrip().lower().startswith("<!doctype html")
    text = flat(result.output)
    assert f"evaluation: {doc['verdict'].upper()}" in text
    for m in doc["metrics"]:
        assert m["name"] in text
    assert "No formal privacy guarantee" in text
    assert f"written: {html}" in text and f"written: {js}" in text


def test_evaluate_without_holdout_says_it_split_one(files, tmp_path):
    result = runner.invoke(app, ["evaluate", str(files["train"]), str(files["synth"]), "--metrics", "privacy",
                                 "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert "no holdout was given" in flat(result.output)


def test_strict_exits_2_when_a_threshold_fails(files, tmp_path):
    args = ["evaluate", str(files["train"]), str(files["synth"]), "--holdout", str(files["holdout"]),
            "--metrics", "fidelity_score", "--out", str(tmp_path / "r.html"), "--strict"]
    passing = runner.invoke(app, args + ["--threshold", "fidelity_score=0"])
    assert passing.exit_code == 0, passing.output
    failing = runner.invoke(app, args + ["--threshold", "fidelity_score=1.0001"])
    assert failing.exit_code == 2
    assert "evaluation: FAIL" in flat(failing.output)


@pytest.mark.parametrize("args, code, words", [
    (["--sensitive", "race"], "SG-PARAMETER", "'race'"),
    (["--threshold", "fidelity_score"], "SG-PARAMETER", "METRIC=VALUE"),
    (["--metrics", "fidelty"], "SG-PARAMETER", "fidelty"),
])
def test_bad_options_exit_1_with_a_code(files, tmp_path, args, code, words):
    result = runner.invoke(app, ["evaluate", str(files["train"]), str(files["synth"]),
                                 "--out", str(tmp_path / "r.html"), *args])
    assert result.exit_code == 1
    text = flat(result.output)
    assert f"[{code}]" in text and words in text
    assert not (tmp_path / "r.html").exists()


def test_tables_with_different_columns_exit_1_naming_them(files, tmp_path):
    other = tmp_path / "other.csv"
    pd.read_csv(files["train"]).rename(columns={"wage": "salary"}).to_csv(other, index=False)
    result = runner.invoke(app, ["evaluate", str(files["train"]), str(other), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 1
    text = flat(result.output)
    assert "[SG-INPUT]" in text and "'wage'" in text and "'salary'" in text
    assert not (tmp_path / "r.html").exists()


def test_metrics_lists_every_definition():
    result = runner.invoke(app, ["metrics", "--json"])
    assert result.exit_code == 0
    listed = json.loads(result.output)
    assert [d["name"] for d in listed] == list(sg.available_metrics())
    text = flat(runner.invoke(app, ["metrics"]).output)
    for d in listed:
        assert d["name"] in text and d["source"] in text
