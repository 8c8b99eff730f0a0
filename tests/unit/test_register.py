"""What generate, evaluate, package, verify and key creation register in the catalog and the ledger.

Real data: 1,500 rows of the bundled CPS1988 extract (US Census Bureau, public domain). Each test has
its own workspace (SYNTHGOV_HOME), so its catalog starts empty.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import synthgov as sg
from synthgov.catalog import open_catalog
from synthgov.cli import app

runner = CliRunner()
COMMON = dict(purpose="Registration test.", creator="Ann Lee <ann@example.org>")


def _ok(result):
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    return result


@pytest.fixture()
def real(cps_small):
    return cps_small.iloc[:1500].reset_index(drop=True)


def test_the_cli_flow_registers_every_step_with_its_event(real, tmp_path):
    real_csv = tmp_path / "real.csv"
    real.to_csv(real_csv, index=False)
    synth, model, report, rel = (tmp_path / n for n in ("synth.parquet", "model", "report.json", "release"))
    _ok(runner.invoke(app, ["generate", str(real_csv), "--seed", "0", "--out", str(synth), "--save-model", str(model)]))
    _ok(runner.invoke(app, ["evaluate", str(real_csv), str(synth), "--metrics", "fidelity", "--json", str(report),
                            "--out", str(tmp_path / "report.html")]))
    _ok(runner.invoke(app, ["package", str(synth), "-o", str(rel), "--source", str(real_csv), "--model", str(model),
                            "--report", str(report), "--purpose", "x.", "--creator", "Ann <ann@example.org>",
                            "--release-id", "rel-1"]))
    _ok(runner.invoke(app, ["verify", str(rel)]))

    cat = open_catalog()
    kinds = sorted(r.kind for r in cat.list())
    # one real source, one synthesizer (generate and package name the same saved model), one synthetic
    # table (the generated file and the release's data are the same rows), one evaluation, one release
    assert kinds == ["dataset", "evaluation", "release", "source", "synthesizer"]
    actions = [cat.ledger.event(i).action for i in range(cat.ledger.size())]
    for action in ("read source", "fit", "sample", "evaluate", "package", "verify", "key create"):
        assert action in actions, (action, actions)
    assert cat.check() == []  # every record has its event and every record event its record
    assert cat.ledger.verify().ok
    release = cat.get("rel-1")
    assert release.generation == 1 and release.training_synthetic_share == 0.0
    tree = json.loads(_ok(runner.invoke(app, ["catalog", "lineage", "rel-1", "--json"])).stdout)
    kinds_in_tree = {node["kind"] for node in _walk(tree)}
    assert {"release", "dataset", "synthesizer", "source"} <= kinds_in_tree


def _walk(node):
    yield node
    for child in node["children"]:
        yield from _walk(child)


def test_training_on_a_release_read_back_as_a_dataframe_is_recognised(real, tmp_path):
    syn = sg.CopulaSynthesizer(random_state=0).fit(real)
    first = sg.package(syn.sample(800, random_state=1), tmp_path / "g1", source=real, synthesizer=syn,
                       release_id="g1", **COMMON)
    reread = sg.read(first.path / "data.parquet")  # a plain DataFrame: it carries no metadata of its own
    child = sg.CopulaSynthesizer(random_state=0).fit(reread)
    second = sg.package(child.sample(800, random_state=2), tmp_path / "g2", source=reread, synthesizer=child,
                        release_id="g2", **COMMON)
    assert second.lineage.generation == 2 and second.lineage.parents == ("g1",)
    cat = open_catalog()
    assert cat.get("g2").generation == 2 and cat.generation("g2") == 2
    assert cat.training_synthetic_share(cat.get("g2").synthesizer_id) == 1.0


def test_evaluate_registers_the_tables_and_the_report(real):
    syn = sg.CopulaSynthesizer(random_state=0).fit(real)
    synth = syn.sample(600, random_state=0)
    report = sg.evaluate(real, synth, metrics=["ks_complement"])
    cat = open_catalog()
    (evaluation,) = cat.list("evaluation")
    assert evaluation.verdict == report.verdict
    assert cat.get(evaluation.real_id).kind == "source" and cat.get(evaluation.synthetic_id).kind == "dataset"
    assert cat.ledger.event(evaluation.event_index).action == "evaluate"


def test_catalog_false_records_nothing(real, tmp_path):
    syn = sg.CopulaSynthesizer(random_state=0).fit(real)
    synth = syn.sample(300, random_state=0)
    sg.evaluate(real, synth, metrics=["ks_complement"], catalog=False)
    sg.package(synth, tmp_path / "rel", source=real, synthesizer=syn, catalog=False, **COMMON)
    assert not (sg.workspace().root / "catalog.sqlite").exists()


def test_a_registration_failure_leaves_no_release(real, tmp_path):
    syn = sg.CopulaSynthesizer(random_state=0).fit(real)
    synth = syn.sample(300, random_state=0)
    sg.package(synth, tmp_path / "a", source=real, synthesizer=syn, release_id="same", **COMMON)
    size = open_catalog().ledger.size()
    with pytest.raises(sg.CatalogError) as err:  # a release id names one release
        sg.package(synth, tmp_path / "b", source=real, synthesizer=syn, release_id="same", **COMMON)
    assert err.value.details["code"] == "SG-CATALOG-WRITE"
    assert not (tmp_path / "b").exists()
    assert open_catalog().ledger.size() == size  # the failed step's events were rolled back with it


def test_generate_on_a_catalogued_table_read_from_csv_knows_its_generation(real, tmp_path):
    """A CSV keeps no metadata: the catalog recognises the rows by their content instead."""
    real_csv, first, second = tmp_path / "real.csv", tmp_path / "g1.csv", tmp_path / "g2.parquet"
    real.to_csv(real_csv, index=False)
    _ok(runner.invoke(app, ["generate", str(real_csv), "--rows", "500", "--seed", "0", "--out", str(first)]))
    _ok(runner.invoke(app, ["generate", str(first), "--rows", "500", "--seed", "1", "--out", str(second)]))
    assert sg.provenance.lineage.lineage_of(second).generation == 3  # rows from a model trained on generation 2
    cat = open_catalog()
    generations = sorted(cat.generation(d.id) for d in cat.list("dataset"))
    assert generations == [1, 2]
