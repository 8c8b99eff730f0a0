"""verify(): trust, exact bytes, and how problems are reported (the corpus covers every failure code)."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest

import synthgov as sg
from synthgov.provenance import SigningKey, create_key, package, verify
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
    (copy / "data.parquet").write_bytes(b"PAR1 not really")
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
