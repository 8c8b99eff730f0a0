"""The `synthgov` command line, driven through typer's CliRunner.

Real data: a fixed random sample of 2000 rows of the bundled CPS1988 extract
(US Census Bureau, public domain). Everything is written under tmp_path;
SYNTHGOV_HOME points there too.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pyarrow.parquet as pq
import pytest
from helpers import flat
from typer.testing import CliRunner

import synthgov as sg
from synthgov.cli import app

runner = CliRunner()


def _ok(result):
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    return result


@pytest.fixture(scope="module")
def cps(cps_small) -> pd.DataFrame:
    return cps_small


@pytest.fixture(scope="module")
def cps_csv(tmp_path_factory, cps):
    path = tmp_path_factory.mktemp("data") / "cps.csv"
    cps.to_csv(path, index=False)
    return path


# -- schema ------------------------------------------------------------------------------


def test_schema_prints_each_column_with_its_kind(cps_csv):
    result = _ok(runner.invoke(app, ["schema", str(cps_csv)]))
    lines = result.output.splitlines()
    expected = {
        "wage": "numeric",
        "education": "numeric",
        "experience": "numeric",
        "ethnicity": "categorical",
        "smsa": "boolean",
        "region": "categorical",
        "parttime": "boolean",
    }
    for column, kind in expected.items():
        row = [line for line in lines if f" {column} " in line]
        assert len(row) == 1, (column, result.output)
        assert f" {kind} " in row[0]
    assert "2,000 rows" in result.output
    assert "4 levels" in result.output  # region


def test_schema_output_json_round_trips(cps_csv, tmp_path):
    path = tmp_path / "schema.json"
    result = _ok(runner.invoke(app, ["schema", str(cps_csv), "-o", str(path)]))
    assert str(path) in flat(result.output)
    loaded = sg.TableSchema.load(path)
    assert loaded == sg.TableSchema.infer(sg.read(cps_csv))
    assert sg.TableSchema.from_json(loaded.to_json()) == loaded
    assert loaded["region"].kind is sg.Kind.CATEGORICAL
    assert set(loaded["region"].categories) == {"south", "midwest", "northeast", "west"}


def test_schema_rare_threshold_option_groups_levels(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": ["a"] * 20 + ["b"] * 20 + ["c"] * 3, "n": range(43)}).to_csv(path, index=False)
    out = tmp_path / "s.json"
    _ok(runner.invoke(app, ["schema", str(path), "-o", str(out), "--rare-threshold", "5"]))
    assert sg.TableSchema.load(out)["x"].rare_grouped == 1
    _ok(runner.invoke(app, ["schema", str(path), "-o", str(out), "--rare-threshold", "2"]))
    assert sg.TableSchema.load(out)["x"].rare_grouped == 0


# -- generate ----------------------------------------------------------------------------


def test_generate_writes_the_requested_number_of_rows(cps_csv, tmp_path, cps):
    out = tmp_path / "synth.csv"
    result = _ok(runner.invoke(app, ["generate", str(cps_csv), "--rows", "123", "--out", str(out), "--seed", "3"]))
    df = pd.read_csv(out)
    assert len(df) == 123
    assert list(df.columns) == list(cps.columns)
    text = flat(result.output)
    assert "rows 123" in text
    assert str(out) in text


def test_generate_defaults_to_source_rows_in_the_workspace(cps_csv, tmp_path):
    _ok(runner.invoke(app, ["generate", str(cps_csv), "--seed", "0"]))
    out = tmp_path / "home" / "outputs" / "cps-copula.parquet"
    assert out.is_file()
    assert len(pd.read_parquet(out)) == 2000


def test_generate_same_seed_gives_byte_identical_csv(cps_csv, tmp_path):
    paths = [tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"]
    for path, seed in zip(paths, ["7", "7", "8"], strict=True):
        _ok(runner.invoke(app, ["generate", str(cps_csv), "--rows", "500", "--seed", seed, "--out", str(path)]))
    a, b, c = (p.read_bytes() for p in paths)
    assert a == b
    assert a != c  # the seed matters


def test_generate_conditions_hold_in_every_row(cps_csv, tmp_path):
    out = tmp_path / "west.csv"
    _ok(runner.invoke(app, [
        "generate", str(cps_csv), "--rows", "400", "--seed", "1", "--out", str(out),
        "--condition", "region=west", "--condition", "experience=10..20",
    ]))
    df = pd.read_csv(out)
    assert len(df) == 400
    assert (df["region"] == "west").all()
    assert df["experience"].between(10, 20).all()
    assert df["experience"].nunique() > 1  # a range, not one forced value


def test_generate_open_ended_range_condition(cps_csv, tmp_path):
    out = tmp_path / "old.csv"
    _ok(runner.invoke(app, [
        "generate", str(cps_csv), "--rows", "200", "--seed", "1", "--out", str(out), "-c", "experience=40..",
    ]))
    df = pd.read_csv(out)
    assert (df["experience"] >= 40).all()


def test_generate_partial_replaces_only_the_named_column(cps_csv, tmp_path):
    out = tmp_path / "partial.csv"
    result = _ok(runner.invoke(app, ["generate", str(cps_csv), "--partial", "wage", "--seed", "2", "--out", str(out)]))
    src = pd.read_csv(cps_csv)
    df = pd.read_csv(out)
    assert list(df.columns) == list(src.columns)
    others = [c for c in src.columns if c != "wage"]
    pd.testing.assert_frame_equal(df[others], src[others])
    assert (df["wage"] != src["wage"]).mean() > 0.5  # wage really was replaced
    assert df["wage"].between(src["wage"].min(), src["wage"].max()).all()
    assert "partial" in flat(result.output)


def test_generate_hybrid_share_is_exact(cps_csv, tmp_path):
    out = tmp_path / "hybrid.csv"
    _ok(runner.invoke(app, ["generate", str(cps_csv), "--hybrid", "0.3", "--seed", "4", "--out", str(out)]))
    df = pd.read_csv(out)
    assert len(df) == 2000
    assert df["_synthetic"].dtype == bool
    assert int(df["_synthetic"].sum()) == 600
    assert df["_synthetic"].mean() == pytest.approx(0.3, abs=1e-12)
    # the real rows are rows of the source
    src = pd.read_csv(cps_csv)
    real = df.loc[~df["_synthetic"]].drop(columns="_synthetic")
    merged = real.merge(src.drop_duplicates(), how="left", indicator=True)
    assert (merged["_merge"] == "both").all()


def test_generate_rebalance_makes_groups_uniform(cps_csv, tmp_path, cps):
    out = tmp_path / "rebalanced.csv"
    _ok(runner.invoke(app, ["generate", str(cps_csv), "--rebalance", "ethnicity", "--seed", "5", "--out", str(out)]))
    df = pd.read_csv(out)
    counts = cps["ethnicity"].value_counts()
    assert counts["afam"] < 0.2 * len(cps)  # the source is unbalanced
    shares = df["ethnicity"].value_counts(normalize=True)
    assert set(shares.index) == {"cauc", "afam"}
    for share in shares:
        assert abs(share - 0.5) <= 0.01
    assert int((~df["_synthetic"]).sum()) == len(cps)  # every real row kept
    assert set(df.loc[df["_synthetic"], "ethnicity"]) == {"afam"}  # only the scarce group grows


def test_generate_uses_schema_file_override(cps_csv, tmp_path):
    schema_path = tmp_path / "schema.json"
    _ok(runner.invoke(app, ["schema", str(cps_csv), "-o", str(schema_path)]))
    doc = json.loads(schema_path.read_text())
    for col in doc["columns"]:
        if col["name"] == "region":
            assert col["kind"] == "categorical"
            col["kind"] = "identifier"  # regenerate it instead of learning it
    schema_path.write_text(json.dumps(doc))

    out = tmp_path / "override.csv"
    _ok(runner.invoke(app, ["generate", str(cps_csv), "--schema", str(schema_path), "--seed", "0", "--out", str(out)]))
    df = pd.read_csv(out)
    levels = {"south", "midwest", "northeast", "west"}
    assert not set(df["region"]) & levels  # fresh identifiers, no learned levels
    assert df["region"].is_unique

    # control: the unedited schema keeps region categorical
    plain = tmp_path / "plain.csv"
    _ok(runner.invoke(app, ["generate", str(cps_csv), "--seed", "0", "--out", str(plain)]))
    assert set(pd.read_csv(plain)["region"]) == levels


def test_generate_parquet_carries_synthetic_metadata(cps_csv, tmp_path):
    out = tmp_path / "synth.parquet"
    _ok(runner.invoke(app, ["generate", str(cps_csv), "--rows", "100", "--seed", "0", "--out", str(out)]))
    metadata = pq.read_schema(out).metadata
    assert b"synthgov" in metadata
    info = json.loads(metadata[b"synthgov"])
    assert info["synthetic"] is True
    assert info["generator"] == "copula"
    assert info["mode"] == "fully synthetic"
    assert info["generation"] == 1 and info["synthetic_share"] == 1.0
    assert len(pd.read_parquet(out)) == 100


def test_generate_on_generated_rows_records_the_next_generation(cps_csv, tmp_path):
    """A model trained on synthgov output knows it: each hop adds a generation, hybrids pass on their share."""
    first, second, third = (tmp_path / f"g{g}.parquet" for g in (1, 2, 3))
    _ok(runner.invoke(app, ["generate", str(cps_csv), "--rows", "300", "--seed", "0", "--out", str(first)]))
    _ok(runner.invoke(app, ["generate", str(first), "--seed", "1", "--hybrid", "0.4", "--out", str(second)]))
    _ok(runner.invoke(app, ["generate", str(second), "--rows", "200", "--seed", "2", "--out", str(third)]))
    infos = [json.loads(pq.read_schema(p).metadata[b"synthgov"]) for p in (first, second, third)]
    assert [i["generation"] for i in infos] == [1, 2, 3]
    assert infos[1]["synthetic_share"] == pytest.approx(0.4)
    assert sg.provenance.lineage.lineage_of(third).generation == 4


def test_generate_rejects_two_output_modes(cps_csv, tmp_path):
    out = tmp_path / "x.csv"
    result = runner.invoke(app, ["generate", str(cps_csv), "--partial", "wage", "--hybrid", "0.5", "--out", str(out)])
    assert result.exit_code == 1
    assert "[SG-PARAMETER]" in result.output
    assert "--partial" in result.output and "--hybrid" in result.output
    assert not out.exists()


def test_generate_condition_with_text_for_numeric_column(cps_csv, tmp_path):
    result = runner.invoke(app, ["generate", str(cps_csv), "-c", "experience=lots", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 1
    assert "[SG-PARAMETER]" in result.output
    assert "'lots'" in flat(result.output)


# -- demo --------------------------------------------------------------------------------


def test_demo_writes_table_schema_model_and_report_to_the_workspace(tmp_path):
    home = tmp_path / "home"
    result = _ok(runner.invoke(app, ["demo", "--seed", "0"]))
    parquet = home / "outputs" / "cps1988-synthetic.parquet"
    schema = home / "outputs" / "cps1988-schema.json"
    model = home / "models" / "cps1988-copula"
    assert parquet.is_file() and schema.is_file()
    assert (model / "synthesizer.json").is_file() and (model / "arrays.npz").is_file()
    df = pd.read_parquet(parquet)
    train, holdout = sg.holdout_split(sg.datasets.load_cps1988(), fraction=0.2, random_state=0)
    assert len(df) == len(train) == 22524
    assert json.loads(pq.read_schema(parquet).metadata[b"synthgov"])["synthetic"] is True
    assert sg.TableSchema.load(schema).names == list(df.columns)
    assert sg.load_synthesizer(model).schema_.names == list(df.columns)
    report = sg.Report.from_json(home / "outputs" / "cps1988-report.json")
    assert report.inputs["rows"] == {"real": len(train), "synthetic": len(train), "holdout": len(holdout)}
    assert report.inputs["holdout_source"] == "given" and report.inputs["target"] == "wage"
    assert {d["family"] for d in report.definitions.values()} == set(sg.FAMILIES)
    assert (home / "outputs" / "cps1988-report.html").is_file()
    text = flat(result.output)
    assert "rows 22,524" in text
    assert f"output {parquet}" in text
    assert f"evaluation: {report.verdict.upper()}" in text
    release = home / "releases" / "cps1988"
    assert sorted(p.name for p in release.iterdir()) == [
        "card.md", "croissant.json", "data.parquet", "release.dsse.json", "report.html"]
    assert sg.verify(release).ok and "verify: OK" in text
    card = (release / "card.md").read_text()
    assert card.startswith("# Synthetic CPS1988 wages") and "Name: CPS1988 training split" in card
    assert pd.read_parquet(release / "data.parquet").equals(df)
    # the poisoning screen ran before fitting, and the sharing and accountability steps after packaging
    assert "suspicious rows of 22,524" in text
    assert "suggested classes: personal:financial" in text
    assert re.search(r"spent epsilon (0\.\d+|1\.000) of 1\.0, delta 1e-06", text)  # the DP step stays within budget
    assert "[denied-party] 1 possible match(es) for 'Zentrova Dinamiks Limited'" in text
    from synthgov.catalog import open_catalog

    cat = open_catalog()
    (rel,) = cat.list("release")
    assert rel.generation == 1 and cat.ledger.verify().ok and cat.check() == []
    actions = [cat.ledger.event(i).action for i in range(cat.ledger.size())]
    assert actions.count("share decision") == 2 and "package" in actions and "classify" in actions
    assert f"ledger: {len(actions)} events, hash chain and Merkle tree verified" in text
    assert not (tmp_path / ".synthgov").exists()


# -- sample ------------------------------------------------------------------------------


def test_sample_from_a_saved_model(cps_csv, tmp_path, cps):
    model = tmp_path / "model"
    _ok(runner.invoke(app, [
        "generate", str(cps_csv), "--rows", "10", "--seed", "0", "--out", str(tmp_path / "g.csv"),
        "--save-model", str(model),
    ]))
    assert (model / "synthesizer.json").is_file()
    out = tmp_path / "more.csv"
    result = _ok(runner.invoke(app, ["sample", str(model), "--rows", "50", "--out", str(out), "--seed", "1"]))
    df = pd.read_csv(out)
    assert len(df) == 50
    assert list(df.columns) == list(cps.columns)
    assert set(df["region"]) <= set(cps["region"])
    assert "rows 50" in flat(result.output)

    # seeded sampling from the saved model is reproducible, and conditions work
    again = tmp_path / "again.csv"
    _ok(runner.invoke(app, ["sample", str(model), "--rows", "50", "--out", str(again), "--seed", "1"]))
    assert again.read_bytes() == out.read_bytes()
    cond = tmp_path / "cond.csv"
    _ok(runner.invoke(app, ["sample", str(model), "-n", "30", "-o", str(cond), "-c", "region=south"]))
    assert (pd.read_csv(cond)["region"] == "south").all()


def test_sample_from_a_directory_that_is_not_a_model(tmp_path):
    empty = tmp_path / "nomodel"
    empty.mkdir()
    result = runner.invoke(app, ["sample", str(empty), "--rows", "5", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 1
    assert "[SG-MODEL-FILE]" in result.output
    assert "nomodel" in flat(result.output)


# -- help, version, errors -----------------------------------------------------------------

_COMMANDS = [c.name for c in app.registered_commands]


@pytest.mark.parametrize(
    "command",
    [
        name for name in _COMMANDS
    ],
)
def test_help_of_each_command_shows_an_example(command):
    result = _ok(runner.invoke(app, [command, "--help"]))
    assert f"synthgov {command}" in result.output  # usage line
    assert "Example" in result.output


def test_every_documented_command_is_registered():
    assert {"schema", "generate", "demo", "generators", "sample", "evaluate", "metrics", "screen"} <= set(_COMMANDS)


def test_version():
    result = _ok(runner.invoke(app, ["--version"]))
    assert result.output.strip() == f"synthgov {sg.__version__}"


def test_missing_input_file_exits_1_with_code(tmp_path):
    result = runner.invoke(app, ["generate", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # rendered, not a traceback
    text = flat(result.output)
    assert "[SG-INPUT]" in text
    assert "nope.csv" in text
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["schema", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1
    assert "[SG-INPUT]" in result.output


def test_error_message_keeps_square_brackets_in_file_names(tmp_path):
    result = runner.invoke(app, ["generate", str(tmp_path / "export[final].csv")])
    assert result.exit_code == 1
    assert "export[final].csv" in flat(result.output)


def test_error_message_with_markup_like_value_is_rendered(cps_csv, tmp_path):
    result = runner.invoke(app, ["generate", str(cps_csv), "-c", "region=[/west]", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "[SG-CONDITION]" in result.output
    assert "[/west]" in flat(result.output)


def test_generate_with_epsilon_is_differentially_private_and_says_so(cps_csv, tmp_path):
    out = tmp_path / "private.parquet"
    result = _ok(runner.invoke(app, ["generate", str(cps_csv), "--method", "bayesnet", "--epsilon", "1",
                                     "--rows", "300", "--seed", "0", "--out", str(out)]))
    assert "differential privacy" in flat(result.output) and "no formal privacy guarantee" not in result.output
    assert len(pd.read_parquet(out)) == 300
    refused = runner.invoke(app, ["generate", str(cps_csv), "--epsilon", "1", "--out", str(tmp_path / "x.csv")])
    assert refused.exit_code == 1 and "SG-PARAMETER" in refused.output and "epsilon" in refused.output
    assert not (tmp_path / "x.csv").exists()
    bad = runner.invoke(app, ["generate", str(cps_csv), "--method", "bayesnet", "--epsilon", "-1",
                              "--out", str(tmp_path / "y.csv")])
    assert bad.exit_code == 1 and "SG-PARAMETER" in bad.output and not (tmp_path / "y.csv").exists()
