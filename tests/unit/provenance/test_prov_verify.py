"""verify(): trust, exact bytes, and how problems are reported (the corpus covers every failure code)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import stat

import pandas as pd
import pytest

import synthgov as sg
from synthgov.provenance import SigningKey, create_key, dsse, package, verify
from synthgov.provenance.verify import CODES


@pytest.fixture()
def copy(release, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(release.path, target)
    return target


def test_a_fresh_release_verifies_and_reports_what_it_vouches_for(release, signer):
    result = verify(release.path, key=signer.public_key())
    assert result.ok and result.codes == []
    assert result.release_id == "test-release-1" and result.key_ids == (signer.key_id,)
    assert result.files == {n: hashlib.sha256((release.path / n).read_bytes()).hexdigest() for n in release.files}
    assert result.predicate["purpose"] == "Teach regression on wage data."


def test_keys_can_be_given_as_pem_text_file_or_signing_key(release, signer, tmp_path):
    pub = tmp_path / "team.pub"
    pub.write_text(signer.public_key().pem())
    for key in (pub, str(pub), signer.public_key().pem(), signer, [SigningKey.generate().public_key(), pub]):
        assert verify(release.path, key=key).ok


def test_without_a_trusted_key_the_release_is_refused(release, tmp_path):
    result = verify(release.path, workspace=tmp_path / "empty-ws")
    assert result.codes == ["SG-VERIFY-UNKNOWN-KEY"] and "no public key is trusted" in result.problems[0].message


def test_workspace_public_keys_are_trusted_by_default(synth, real, tmp_path):
    create_key("team", workspace=tmp_path / "ws")
    rel = package(synth, tmp_path / "rel", source=real, synthesizer="copula", purpose="p", creator="c",
                  key="team", workspace=tmp_path / "ws")
    assert verify(rel.path, workspace=tmp_path / "ws").ok
    assert verify(rel.path, workspace=tmp_path / "other").codes == ["SG-VERIFY-UNKNOWN-KEY"]


def test_all_file_problems_are_reported_together(copy, signer):
    (copy / "card.md").write_text("edited")
    (copy / "croissant.json").unlink()
    (copy / "extra.csv").write_text("a\n1\n")
    result = verify(copy, key=signer)
    assert sorted((p.code, p.file) for p in result.problems) == [
        ("SG-VERIFY-DIGEST", "card.md"), ("SG-VERIFY-MISSING", "croissant.json"), ("SG-VERIFY-UNEXPECTED", "extra.csv")]
    assert result.files == {} and result.predicate is None


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_symbolic_link_is_not_followed_even_to_identical_bytes(copy, signer, tmp_path):
    outside = tmp_path / "outside.parquet"
    shutil.copy(copy / "data.parquet", outside)
    (copy / "data.parquet").unlink()
    (copy / "data.parquet").symlink_to(outside)
    result = verify(copy, key=signer)
    assert result.codes == ["SG-VERIFY-UNEXPECTED"] and "symbolic link" in result.problems[0].message


def test_the_expected_release_id_is_checked(release, signer):
    assert verify(release.path, key=signer, release_id="test-release-1").ok
    assert verify(release.path, key=signer, release_id="test-release-2").codes == ["SG-VERIFY-RELEASE-ID"]
    assert release.verify(key=signer).ok


def test_raise_for_problems_is_an_integrity_error_with_the_codes(copy, signer):
    raw = (copy / "data.parquet").read_bytes()
    (copy / "data.parquet").write_bytes(raw[:50] + bytes([raw[50] ^ 1]) + raw[51:])  # same size, one bit off
    result = verify(copy, key=signer)
    with pytest.raises(sg.IntegrityError, match=r"\[SG-VERIFY-DIGEST\] data.parquet has sha256") as exc:
        result.raise_for_problems()
    assert exc.value.code == "SG-INTEGRITY" and exc.value.details["codes"] == ["SG-VERIFY-DIGEST"]
    assert result.to_dict()["problems"][0]["file"] == "data.parquet"


def test_a_path_that_is_not_a_directory_is_an_input_error(tmp_path):
    with pytest.raises(sg.InputError, match="not a directory"):
        verify(tmp_path / "nothing-here")


def test_a_folder_that_is_not_a_release_is_named_as_such(tmp_path, signer):
    (tmp_path / "data.csv").write_text("a\n1\n")
    result = verify(tmp_path, key=signer)
    assert result.codes == ["SG-VERIFY-MISSING"] and "not a synthgov release" in result.problems[0].message


def test_codes_are_documented():
    assert set(CODES) == {"SG-VERIFY-MALFORMED", "SG-VERIFY-PAYLOAD-TYPE", "SG-VERIFY-PREDICATE-TYPE",
                          "SG-VERIFY-UNKNOWN-KEY", "SG-VERIFY-SIGNATURE", "SG-VERIFY-MISSING", "SG-VERIFY-UNEXPECTED",
                          "SG-VERIFY-DIGEST", "SG-VERIFY-RELEASE-ID", "SG-VERIFY-CONTENT"}
    import importlib

    text = importlib.import_module("synthgov.provenance.verify").__doc__
    assert all(f"``{code}``" in text for code in CODES)


# -- hostile folders: oversized, special and renamed files; what is used after the check -------------
def _resign(folder, signer, change):
    """Apply ``change`` to the signed statement of ``folder`` and sign it again with ``signer``."""
    env = json.loads((folder / "release.dsse.json").read_bytes())
    stmt = json.loads(base64.b64decode(env["payload"]))
    change(stmt)
    (folder / "release.dsse.json").write_bytes(dsse.dumps(dsse.sign(dsse.canonical_json(stmt), signer)))


def test_an_endless_file_is_refused_before_it_is_read(copy, signer):
    """A sparse 64 GiB data.parquet costs no disk; reading it whole would exhaust memory (TUF's endless data)."""
    with open(copy / "data.parquet", "r+b") as fh:
        fh.truncate(64 * 1024**3)
    result = verify(copy, key=signer)  # raised MemoryError before sizes were signed
    assert result.codes == ["SG-VERIFY-DIGEST"]
    assert result.problems[0].message.startswith(f"data.parquet is {64 * 1024**3} bytes, but ")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(copy, signer):
    (copy / "card.md").unlink()
    os.mkfifo(copy / "card.md")
    result = verify(copy, key=signer)
    assert result.codes == ["SG-VERIFY-UNEXPECTED"] and "not a regular file" in result.problems[0].message


def test_the_verified_bytes_are_what_is_used_even_if_the_folder_changes_after(copy, signer, synth, tmp_path):
    """Verification checks exactly the bytes it then trusts: content()/read_table() never re-read the folder."""
    card = (copy / "card.md").read_bytes()
    os.link(copy / "data.parquet", tmp_path / "a-hard-link.parquet")  # someone outside holds a hard link
    result = verify(copy, key=signer)
    assert result.ok  # a hard link to the signed bytes is still the signed bytes
    other = tmp_path / "other.parquet"
    synth.head(5).to_parquet(other)
    with open(tmp_path / "a-hard-link.parquet", "r+b") as fh:  # rewrites data.parquet through the link
        fh.write(other.read_bytes())
        fh.truncate()
    (copy / "card.md").write_text("rewritten after the check")
    pd.testing.assert_frame_equal(result.read_table(), synth)
    assert result.content("card.md") == card and sorted(result.contents) == sorted(result.files)
    assert not verify(copy, key=signer).ok  # a new check sees the change
    with pytest.raises(sg.ParameterError, match="no file 'notes.txt'"):
        result.content("notes.txt")


def test_a_failed_verification_hands_out_no_bytes(copy, signer):
    (copy / "extra.txt").write_text("x")
    result = verify(copy, key=signer)
    assert result.contents == {}
    with pytest.raises(sg.IntegrityError, match="SG-VERIFY-UNEXPECTED"):
        result.read_table()


def test_file_names_are_escaped_in_messages(copy, signer):
    """A file name is chosen by whoever altered the folder: it must not drive the terminal."""
    (copy / "\x1b[1A\x1b[2Kverified: release ok\r").write_text("x")
    result = verify(copy, key=signer)
    assert result.codes == ["SG-VERIFY-UNEXPECTED"]
    message = result.problems[0].message
    assert "\x1b" not in message and "\\x1b[1A" in message and "\r" not in message


def test_a_signed_subject_name_may_not_end_in_a_newline(copy, signer):
    (copy / "notes.txt\n").write_bytes(b"notes")

    def add(stmt):
        stmt["subject"].append({"name": "notes.txt\n", "digest": {"sha256": hashlib.sha256(b"notes").hexdigest()}})
        stmt["predicate"]["fileSizes"]["notes.txt\n"] = 5

    _resign(copy, signer, add)
    result = verify(copy, key=signer)
    assert result.codes == ["SG-VERIFY-MALFORMED"] and "not a plain file name" in result.problems[0].message


def test_release_id_must_be_text(release, signer):
    with pytest.raises(sg.ParameterError, match="release_id must be text"):
        verify(release.path, key=signer, release_id=1)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("target", ["folder", "pub"])
def test_default_trust_refuses_keys_others_could_have_planted(synth, real, tmp_path, target):
    ws = tmp_path / "ws"
    info = create_key("team", workspace=ws)
    rel = package(synth.head(20), tmp_path / "rel", source=real, synthesizer="copula", purpose="p", creator="c",
                  key="team", workspace=ws)
    assert verify(rel.path, workspace=ws).ok
    path = ws / "keys" if target == "folder" else info.public_path
    os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) | 0o022)
    with pytest.raises(sg.KeyFileError, match="can be changed by other users") as exc:
        verify(rel.path, workspace=ws)
    assert exc.value.details["code"] == "SG-KEY-PERMISSIONS"
    assert verify(rel.path, key=info.public_path).ok  # a key named explicitly is the caller's choice


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_public_key_is_created_writable_by_its_owner_only_whatever_the_umask(tmp_path):
    old = os.umask(0o002)
    try:
        info = create_key("team", workspace=tmp_path / "ws")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(info.public_path).st_mode) == 0o644
