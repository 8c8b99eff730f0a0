"""CLI: synthgov keys create|list|export-public, package, verify (exit codes, messages, nothing written on error)."""

from __future__ import annotations

import json
import os

import pytest
import typer
from helpers import flat
from typer.testing import CliRunner

from synthgov.provenance._cli_release import register

runner = CliRunner()


@pytest.fixture(scope="module")
def app():
    """The release commands on an app of their own (the main CLI registers the same function)."""
    cli_app = typer.Typer(pretty_exceptions_enable=False)
    register(cli_app)
    return cli_app


@pytest.fixture()
def inputs(tmp_path, real, synth, fitted):
    synth_path, real_path, model = tmp_path / "synth.parquet", tmp_path / "real.csv", tmp_path / "model"
    synth.to_parquet(synth_path, index=False)
    real.to_csv(real_path, index=False)
    fitted.save(model)
    return synth_path, real_path, model


def _package(app, inputs, out, *extra, input=None):
    synth_path, real_path, model = inputs
    return runner.invoke(app, ["package", str(synth_path), "--out", str(out), "--source", str(real_path),
                               "--model", str(model), "--purpose", "CLI test.", "--creator", "Ann <ann@example.org>",
                               "--intended-use", "teaching", *extra], input=input)


def test_keys_create_list_export(app, tmp_path):
    result = runner.invoke(app, ["keys", "create", "team"])
    assert result.exit_code == 0, result.output
    assert "created key 'team'" in flat(result.output)
    listed = runner.invoke(app, ["keys", "list"])
    assert listed.exit_code == 0 and "team" in listed.output
    exported = runner.invoke(app, ["keys", "export-public", "team"])
    assert exported.exit_code == 0 and exported.output.startswith("-----BEGIN PUBLIC KEY-----")
    again = runner.invoke(app, ["keys", "create", "team"])
    assert again.exit_code == 1 and "[SG-OUTPUT]" in flat(again.output) and "--force" in flat(again.output)


def test_package_then_verify_then_tamper(app, inputs, tmp_path):
    runner.invoke(app, ["keys", "create", "team"])
    runner.invoke(app, ["keys", "export-public", "team", "--out", str(tmp_path / "team.pub")])
    out = tmp_path / "release"
    result = _package(app, inputs, out, "--key", "team")
    assert result.exit_code == 0, result.output
    assert "written to" in flat(result.output) and (out / "release.dsse.json").is_file()
    ok = runner.invoke(app, ["verify", str(out), "--key", str(tmp_path / "team.pub")])
    assert ok.exit_code == 0 and "verified: release" in flat(ok.output)
    raw = (out / "data.parquet").read_bytes()
    (out / "data.parquet").write_bytes(raw[:100] + bytes([raw[100] ^ 1]) + raw[101:])
    bad = runner.invoke(app, ["verify", str(out), "--key", str(tmp_path / "team.pub")])
    assert bad.exit_code == 1
    assert "[SG-VERIFY-DIGEST] data.parquet:" in flat(bad.output) and "[SG-INTEGRITY]" in flat(bad.output)
    as_json = runner.invoke(app, ["verify", str(out), "--key", str(tmp_path / "team.pub"), "--json"])
    doc = json.loads(as_json.stdout)
    assert as_json.exit_code == 1 and doc["ok"] is False and doc["problems"][0]["code"] == "SG-VERIFY-DIGEST"


def test_package_creates_the_default_key_and_says_so(app, inputs, tmp_path):
    result = _package(app, inputs, tmp_path / "release")
    assert result.exit_code == 0, result.output
    assert "created signing key 'default'" in flat(result.output)
    assert runner.invoke(app, ["verify", str(tmp_path / "release")]).exit_code == 0  # workspace keys are trusted
    second = _package(app, inputs, tmp_path / "release2")
    assert "created signing key" not in flat(second.output)


@pytest.mark.parametrize("drop", ["--purpose", "--creator"])
def test_package_without_purpose_or_creator_is_refused(app, inputs, tmp_path, drop):
    synth_path, real_path, model = inputs
    args = ["package", str(synth_path), "--out", str(tmp_path / "r"), "--source", str(real_path), "--model", str(model),
            "--purpose", "p", "--creator", "c"]
    i = args.index(drop)
    del args[i:i + 2]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "[SG-PARAMETER]" in flat(result.output)
    assert drop.strip("-") in flat(result.output) and not (tmp_path / "r").exists()


def test_encrypted_key_asks_for_the_passphrase_and_refuses_a_wrong_one(app, inputs, tmp_path, monkeypatch):
    monkeypatch.delenv("SYNTHGOV_KEY_PASSPHRASE", raising=False)
    created = runner.invoke(app, ["keys", "create", "locked", "--passphrase"], input="open sesame\nopen sesame\n")
    assert created.exit_code == 0, created.output
    wrong = _package(app, inputs, tmp_path / "r1", "--key", "locked", input="guess\n")
    assert wrong.exit_code == 1 and "[SG-KEY]" in flat(wrong.output) and "wrong passphrase" in flat(wrong.output)
    assert not (tmp_path / "r1").exists()
    right = _package(app, inputs, tmp_path / "r2", "--key", "locked", input="open sesame\n")
    assert right.exit_code == 0, right.output


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_key_with_loose_permissions_is_refused_and_nothing_is_written(app, inputs, tmp_path):
    runner.invoke(app, ["keys", "create", "team"])
    os.chmod(tmp_path / "home" / "keys" / "team.key", 0o644)
    result = _package(app, inputs, tmp_path / "r", "--key", "team")
    assert result.exit_code == 1 and "[SG-KEY]" in flat(result.output) and "chmod 600" in flat(result.output)
    assert not (tmp_path / "r").exists()


def test_verify_a_folder_that_is_not_a_release(app, tmp_path):
    (tmp_path / "stuff").mkdir()
    result = runner.invoke(app, ["verify", str(tmp_path / "stuff")])
    assert result.exit_code == 1 and "[SG-VERIFY-MISSING]" in flat(result.output)
    assert "not a synthgov release" in flat(result.output)
    missing = runner.invoke(app, ["verify", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "[SG-INPUT]" in flat(missing.output)


def test_model_or_generator_is_required(app, inputs, tmp_path):
    synth_path, real_path, _ = inputs
    result = runner.invoke(app, ["package", str(synth_path), "--out", str(tmp_path / "r"), "--source", str(real_path),
                                 "--purpose", "p", "--creator", "c"])
    assert result.exit_code == 1 and "--model DIR or --generator NAME" in flat(result.output)


def test_verify_prints_hostile_file_names_escaped(app, inputs, tmp_path):
    out = tmp_path / "release"
    assert _package(app, inputs, out).exit_code == 0
    (out / "\x1b[1A\x1b[2Kverified: release ok").write_text("x")  # would erase the error line on a terminal
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 1 and "[SG-VERIFY-UNEXPECTED]" in flat(result.output)
    assert "\x1b" not in result.output and "\\x1b[1A" in result.output
