"""`synthgov share | approve | licence | classify | verify BUNDLE` driven through the CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synthgov.catalog import open_catalog
from synthgov.cli import app
from synthgov.policy._cli import EXIT_CODES

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from helpers import flat  # noqa: E402
from share_helpers import NOW_ARG, RECIPIENT, list_path, make_release, policy_path, register  # noqa: E402

runner = CliRunner()


@pytest.fixture()
def release(tmp_path):
    return make_release(tmp_path / "rel", release_id="rel-cli")


def run(*args, actor="alice"):
    return runner.invoke(app, list(args), env={"SYNTHGOV_ACTOR": actor, "COLUMNS": "200"})


def share(*extra, release="rel-cli", actor="alice"):
    return run("share", str(release), "--to", RECIPIENT, "--country", "GB", "--end-use", "flood-risk model",
               "--purpose", "research", "--policy", policy_path(), "--list", list_path(), "--now", NOW_ARG, *extra,
               actor=actor)


def decision_id(result) -> str:
    return next(w for w in result.output.split() if w.startswith("dec-"))


def test_the_whole_flow_from_classification_to_a_verified_bundle(release, tmp_path):
    rel = str(release.path)
    suggested = run("classify", rel, "--suggest", "--policy", policy_path())
    assert suggested.exit_code == 0 and "suggested personal:financial" in flat(suggested.output)
    done = run("classify", rel, "--class", "dual-use:geospatial", "--policy", policy_path(), actor="carol")
    assert done.exit_code == 0 and "classified rel-cli as dual-use:geospatial" in flat(done.output)

    first = share(release=rel)
    assert first.exit_code == EXIT_CODES["needs-licence"] == 4, first.output
    assert "[licence-required]" in flat(first.output) and "synthgov licence grant" in flat(first.output)
    dec = decision_id(first)

    granted = run("licence", "grant", "--release", "rel-cli", "--to", RECIPIENT, "--country", "GB", "--id", "L-7",
                  "--expires", "2027-06-30", "--now", NOW_ARG, actor="dpo")
    assert granted.exit_code == 0, granted.output
    listed = run("licence", "list", "--json", "--now", NOW_ARG)
    assert [(x["licence_id"], x["status"]) for x in json.loads(listed.output)] == [("L-7", "active")]

    second = run("share", "--decision", dec, "--policy", policy_path(), "--list", list_path(), "--now", NOW_ARG)
    assert second.exit_code == EXIT_CODES["needs-second-approval"] == 5, second.output
    waiting = decision_id(second)

    own = run("approve", waiting, actor="alice")
    assert own.exit_code == 1 and "[SG-PARAMETER]" in flat(own.output) and "cannot approve" in flat(own.output)
    assert run("approve", waiting, "--now", NOW_ARG, actor="bob").exit_code == 0
    twice = run("approve", waiting, "--actor", "bob")
    assert twice.exit_code == 0 and "counts once" in flat(twice.output)

    bundle = tmp_path / "bundle"
    final = run("share", "--decision", waiting, "--policy", policy_path(), "--list", list_path(), "--now", NOW_ARG,
                "--out", str(bundle), actor="bob")
    assert final.exit_code == 0, final.output
    assert "share bundle written" in flat(final.output) and (bundle / "share.dsse.json").is_file()

    checked = run("verify", str(bundle))
    assert checked.exit_code == 0 and f"to {RECIPIENT}" in flat(checked.output), checked.output
    as_json = json.loads(run("verify", str(bundle), "--json").output)
    assert as_json["ok"] and as_json["kind"] == "share" and as_json["expires"] == "2027-06-30T00:00:00+00:00"
    assert run("verify", str(release.path)).exit_code == 0  # a plain release still verifies as before

    (bundle / "share.json").write_text((bundle / "share.json").read_text().replace("GB", "US"))
    bad = run("verify", str(bundle))
    assert bad.exit_code == 1 and "[SG-VERIFY-SHARE-DIGEST] share.json" in flat(bad.output)

    audit = run("audit", "verify")
    assert audit.exit_code == 0, audit.output
    cat = open_catalog()
    actions = [e.action for e in cat.ledger.events()]
    assert actions.count("share decision") == 3 and actions.count("approve") == 1 and actions.count("share") == 1
    assert actions.count("licence grant") == 1 and actions.count("classify") == 1
    cat.close()


def test_deny_exits_3_with_every_reason_and_json(release):
    denied = share("--json", release=str(release.path))  # never classified
    assert denied.exit_code == EXIT_CODES["deny"] == 3
    doc = json.loads(denied.output)
    assert doc["outcome"] == "deny" and doc["bundle"] is None
    assert "no-classification" in [r["code"] for r in doc["reasons"]]
    assert doc["policy"]["sha256"] and [v["name"] for v in doc["lists"]] == ["FICTITIOUS-CONSOLIDATED",
                                                                             "FICTITIOUS-ENTITIES"]


def test_a_catalog_release_id_is_shared_and_allowed(release, tmp_path):
    cat = open_catalog()
    register(cat, release)
    cat.close()
    assert run("classify", "rel-cli", "--class", "public:open").exit_code == 0
    out = tmp_path / "b"
    allowed = share("--out", str(out), "--expires", "2027-01-31")
    assert allowed.exit_code == 0, allowed.output
    assert json.loads((out / "share.json").read_text())["expires"] == "2027-01-31T00:00:00+00:00"
    again = share("--out", str(out))
    assert again.exit_code == 1 and "[SG-OUTPUT]" in flat(again.output)  # an existing bundle is not replaced
    cat = open_catalog()
    decisions = [e for e in cat.ledger.events() if e.action == "share decision"]
    assert len(decisions) == 1 and decisions[0].params["fixed_clock"] is True  # refused before deciding
    cat.close()
    assert json.loads((out / "share.json").read_text())["fixed_clock"] is True


@pytest.mark.parametrize(("args", "code", "words"), [
    (["share", "rel-nope", "--to", "X Ltd", "--country", "GB", "--end-use", "e", "--purpose", "p"],
     "SG-NOT-FOUND", "rel-nope"),
    (["share", "REL", "--to", "X Ltd", "--country", "XX", "--end-use", "e", "--purpose", "p"], "SG-PARAMETER", "'XX'"),
    (["share", "REL", "--to", "X Ltd", "--country", "GB", "--end-use", "e", "--purpose", "p", "--policy", "BROKEN"],
     "SG-POLICY", "line"),
    (["share", "REL", "--to", "X Ltd"], "SG-PARAMETER", "missing --country"),
    (["licence", "grant", "--release", "rel-nope", "--to", "X", "--country", "GB"], "SG-NOT-FOUND", "rel-nope"),
    (["licence", "revoke", "L-nope"], "SG-NOT-FOUND", "L-nope"),
    (["approve", "dec-000000000000000000000000"], "SG-NOT-FOUND", "dec-0000"),
    (["classify", "REL"], "SG-PARAMETER", "--class"),
    (["classify", "REL", "--class", "Not A Class"], "SG-PARAMETER", "not a class id"),
])
def test_bad_input_is_a_clear_error_and_nothing_is_shared(release, tmp_path, args, code, words):
    broken = tmp_path / "broken.yaml"
    broken.write_text(Path(policy_path()).read_text().replace("max_list_age_days: 30", "max_list_age_days: soon"))
    args = [str(release.path) if a == "REL" else str(broken) if a == "BROKEN" else a for a in args]
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert f"[{code}]" in flat(result.output) and words in flat(result.output)
    assert "Traceback" not in result.output
    assert not (Path.cwd() / "shares").exists()
    cat = open_catalog()
    assert [e.action for e in cat.ledger.events()] == []  # nothing was logged
    cat.close()
