"""CLI: ``synthgov catalog list|show|lineage`` and ``synthgov audit verify|prove|consistency|export|checkpoint``."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from helpers import flat
from typer.testing import CliRunner

from synthgov.catalog import open_catalog
from synthgov.cli import app
from synthgov.ledger import verify_trail
from synthgov.ledger.checkpoints import sign
from synthgov.provenance.keys import SigningKey, trusted_keys

runner = CliRunner()


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture()
def populated(tmp_path, monkeypatch):
    ws = tmp_path / "home"  # the conftest's SYNTHGOV_HOME
    cat = open_catalog(workspace=ws, checkpoint_every=0)
    with cat.session(actor="ann@lab") as s:
        src = s.add_source({"name": "CPS1988", "sha256": _h("cps"), "rows": 28155, "columns": 7})
        syn = s.add_synthesizer(name="copula", params={"seed": 0}, trained_on=[src])
        ds = s.add_dataset(sha256=_h("ds"), name="cps-synth", rows=1000, columns=7, made_by=syn)
        s.add_release(release_id="cps-2026", files={"data.parquet": _h("p")}, dataset=ds, synthesizer=syn)
    cat.close()
    return ws, {"src": src, "syn": syn, "ds": ds, "rel": "cps-2026"}


def test_catalog_list_show_and_lineage(populated):
    ws, ids = populated
    result = runner.invoke(app, ["catalog", "list"])
    assert result.exit_code == 0, result.output
    assert all(i[:12] in result.output for i in ids.values())
    data = json.loads(runner.invoke(app, ["catalog", "list", "--kind", "release", "--json"]).output)
    assert [(r["id"], r["generation"]) for r in data] == [("cps-2026", 1)]
    shown = json.loads(runner.invoke(app, ["catalog", "show", ids["syn"], "--json"]).output)
    assert shown["kind"] == "synthesizer" and shown["training_synthetic_share"] == 0.0
    result = runner.invoke(app, ["catalog", "lineage", "cps-2026"])
    assert result.exit_code == 0 and "generation 1" in result.output and "trained_on" in result.output
    assert "└──" in result.output or "├──" in result.output
    tree = json.loads(runner.invoke(app, ["catalog", "lineage", "cps-2026", "--json"]).output)
    assert tree["children"][0]["id"] == ids["ds"]


def test_audit_checkpoint_verify_prove_consistency_export(populated, tmp_path):
    ws, ids = populated
    saved = tmp_path / "cp.json"
    result = runner.invoke(app, ["audit", "checkpoint", "--out", str(saved)])
    assert result.exit_code == 0, result.output
    assert json.loads(saved.read_text())["size"] == 5  # 4 records + the default key's creation
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0 and "ledger verified: 5 events, 1 signed checkpoint" in flat(result.output)
    report = json.loads(runner.invoke(app, ["audit", "verify", "--json", "--checkpoint", str(saved)]).output)
    assert report["ok"] and report["checkpoints"] == 2
    proof = json.loads(runner.invoke(app, ["audit", "prove", "2", "--json"]).output)
    assert proof["event"]["action"] == "sample" and proof["size"] == 5
    assert "included in checkpoint cp-1" in flat(runner.invoke(app, ["audit", "prove", "0"]).output)
    runner.invoke(app, ["audit", "checkpoint"])
    result = runner.invoke(app, ["audit", "consistency", "cp-1", "cp-2", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["new_size"] == 5
    out = tmp_path / "trail.json"
    assert runner.invoke(app, ["audit", "export", "cps-2026", "--out", str(out)]).exit_code == 0
    events = verify_trail(json.loads(out.read_text()), trusted_keys(workspace=ws))
    assert [e.action for e in events] == ["read source", "fit", "sample", "package"]


def test_audit_verify_fails_with_the_first_bad_event(populated):
    ws, ids = populated
    runner.invoke(app, ["audit", "checkpoint"])
    con = sqlite3.connect(ws / "catalog.sqlite")
    con.execute("UPDATE events SET body = replace(body, 'copula', 'cupola') WHERE idx = 1")
    con.commit()
    con.close()
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "[SG-INTEGRITY]" in flat(result.output) and "event 1" in flat(result.output)


def test_a_checkpoint_from_an_unknown_key_is_refused_naming_it(populated, tmp_path):
    ws, ids = populated
    runner.invoke(app, ["audit", "checkpoint"])
    cat = open_catalog(workspace=ws)
    good = cat.ledger.checkpoints()[-1]
    stranger = SigningKey.generate()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(sign(size=good.size, root=good.root, key=stranger, seq=7).to_dict()))
    size, cps = cat.ledger.size(), len(cat.ledger.checkpoints())
    for args in (["audit", "verify", "--checkpoint", str(forged)], ["audit", "prove", "1", "--checkpoint", str(forged)],
                 ["audit", "consistency", "cp-1", str(forged)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1 and "[SG-INTEGRITY]" in flat(result.output), args
        assert stranger.key_id[:16] in flat(result.output)
    assert (cat.ledger.size(), len(cat.ledger.checkpoints())) == (size, cps)  # nothing written
    cat.close()


@pytest.mark.parametrize(("args", "code"), [
    (["catalog", "show", "ds_nope"], "SG-NOT-FOUND"),
    (["catalog", "lineage", "nope"], "SG-NOT-FOUND"),
    (["catalog", "list", "--kind", "tables"], "SG-PARAMETER"),
    (["audit", "prove", "99"], "SG-NOT-FOUND"),
    (["audit", "prove", "1", "--checkpoint", "cp-9"], "SG-NOT-FOUND"),
    (["audit", "export", "no-such-release"], "SG-NOT-FOUND"),
    (["audit", "checkpoint", "--key", "missing-key"], "SG-KEY"),
])
def test_cli_mistakes_are_coded_errors(populated, args, code):
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and f"[{code}]" in flat(result.output) and "Traceback" not in result.output


def test_an_unreachable_database_is_a_coded_error(populated, monkeypatch):
    monkeypatch.setenv("SYNTHGOV_DB", "postgresql://postgres@127.0.0.1:1/nothing")
    result = runner.invoke(app, ["catalog", "list"])
    assert result.exit_code == 1 and "[SG-CATALOG]" in flat(result.output) and "cannot be reached" in flat(result.output)


def test_an_empty_workspace_lists_nothing_and_creates_nothing(tmp_path):
    result = runner.invoke(app, ["catalog", "list"])
    assert result.exit_code == 0 and "empty" in result.output
    assert json.loads(runner.invoke(app, ["catalog", "list", "--json"]).output) == []
    assert not (tmp_path / "home" / "catalog.sqlite").exists()
