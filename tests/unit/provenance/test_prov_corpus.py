"""Every release in tests/provenance_corpus is rejected, each with exactly the expected problem codes.

The corpus is made by tests/provenance_corpus/make_corpus.py from two valid releases; the only
trusted key is the corpus's test-only ``corpus-a.pub``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from synthgov.provenance import verify
from synthgov.provenance.verify import CODES

CORPUS = Path(__file__).resolve().parents[2] / "provenance_corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
TRUSTED = CORPUS / "keys" / "corpus-a.pub"


def test_corpus_is_complete():
    folders = sorted(p.name[: -len("_fail")] for p in CORPUS.glob("*_fail"))
    assert len(folders) >= 30
    assert folders == sorted(MANIFEST)
    for name in folders:
        readme = (CORPUS / f"{name}_fail" / "README").read_text()
        assert readme.count("\n") == 1 and readme.strip(), name  # one line
        assert readme.startswith(MANIFEST[name]["codes"][0] + ":"), name


def test_every_code_is_exercised():
    used = {code for case in MANIFEST.values() for code in case["codes"]}
    assert used == set(CODES)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_corpus_release_is_rejected_with_the_right_codes(name, tmp_path):
    case = MANIFEST[name]
    # the whole case folder, links kept: a link in release/ may point to valid bytes next to it
    shutil.copytree(CORPUS / f"{name}_fail", tmp_path / "case", symlinks=True)
    release = tmp_path / "case" / "release"
    result = verify(release, key=TRUSTED, release_id=case["release_id"])
    assert not result.ok
    assert result.codes == case["codes"], [p.message for p in result.problems]
    assert result.files == {} and result.predicate is None  # nothing of a failed release is vouched for


def test_the_untampered_base_verifies(tmp_path):
    """The corpus is only meaningful if the release it breaks is itself valid."""
    base = tmp_path / "base"
    shutil.copytree(CORPUS / "replayed_under_another_id_fail" / "release", base)
    result = verify(base, key=TRUSTED)
    assert result.ok and result.release_id == "corpus-release-a"


@pytest.mark.parametrize("name", ["data_symlink", "envelope_symlink"])
def test_a_link_is_refused_though_it_points_to_the_valid_bytes(name, tmp_path):
    """The link cases fail for the link alone: put its target in its place and the release verifies."""
    shutil.copytree(CORPUS / f"{name}_fail", tmp_path / "case", symlinks=True)
    release = tmp_path / "case" / "release"
    links = [p for p in release.iterdir() if p.is_symlink()]
    assert len(links) == 1
    target = links[0].resolve()
    links[0].unlink()
    shutil.copy(target, links[0])
    assert verify(release, key=TRUSTED).ok
