"""Inclusion and consistency proofs made by a real ledger, checked with the signer's public key only.

test_merkle.py covers the RFC 9162 algorithms on bare hashes; here the claims travel as the
JSON a user exports (``audit prove --json``, ``audit consistency --json``, ``audit export``),
with the tree size and root bound by a signed checkpoint. Every corruption must be rejected
with IntegrityError; every honest proof accepted.
"""

from __future__ import annotations

import copy
import hashlib
import json

import pytest

from synthgov.catalog import open_catalog
from synthgov.errors import IntegrityError, NotFoundError
from synthgov.ledger import verify_consistency_proof, verify_inclusion_proof, verify_trail
from synthgov.provenance.keys import SigningKey, create_key, trusted_keys


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """A 64-event ledger with a signed checkpoint after every event: cp-k covers k events."""
    ws = tmp_path_factory.mktemp("proofs") / "ws"
    create_key("default", workspace=ws)
    cat = open_catalog(workspace=ws, checkpoint_every=0)
    for i in range(64):
        cat.ledger.append("sample", params={"i": i}, outputs=[_h(str(i))])
        cat.ledger.checkpoint()
    yield cat, trusted_keys(workspace=ws)
    cat.close()


def test_every_consistency_proof_between_1_and_64_events_is_accepted(grown):
    cat, keys = grown
    checked = 0
    for n in range(1, 65):
        for m in range(1, n + 1):
            proof = cat.ledger.consistency(f"cp-{m}", f"cp-{n}", keys=keys)
            again = verify_consistency_proof(json.loads(json.dumps(proof.to_dict())), keys)
            assert (again.old.size, again.new.size) == (m, n)
            checked += 1
    assert checked == 64 * 65 // 2


def test_every_event_proves_against_every_later_checkpoint_sample(grown):
    cat, keys = grown
    for n in (1, 2, 3, 7, 8, 9, 31, 32, 33, 63, 64):
        for i in range(n):
            proof = cat.ledger.prove(i, checkpoint=f"cp-{n}")
            assert verify_inclusion_proof(proof.to_dict(), keys).event.params == {"i": i}


def _flip_hex(text: str) -> str:
    return ("1" if text[0] != "1" else "2") + text[1:]


def _inclusion_corruptions(good: dict, other_root: str):
    def edit(fn):
        bad = copy.deepcopy(good)
        fn(bad)
        return bad

    yield "index+1", edit(lambda d: d.update(index=d["index"] + 1))
    yield "index-1", edit(lambda d: d.update(index=d["index"] - 1))
    yield "event index+1", edit(lambda d: (d.update(index=d["index"] + 1), d["event"].update(index=d["index"])))
    yield "size doubled", edit(lambda d: d.update(size=d["size"] * 2))
    yield "size halved", edit(lambda d: d.update(size=d["size"] // 2))
    yield "checkpoint size doubled", edit(lambda d: d["checkpoint"].update(size=d["checkpoint"]["size"] * 2))
    yield "checkpoint size halved", edit(lambda d: d["checkpoint"].update(size=d["checkpoint"]["size"] // 2))
    yield "wrong root", edit(lambda d: d.update(root=_flip_hex(d["root"])))
    yield "other checkpoint's root", edit(lambda d: (d.update(root=other_root), d["checkpoint"].update(root=other_root)))
    yield "leaf hash", edit(lambda d: d.update(leaf_hash=_flip_hex(d["leaf_hash"])))
    yield "event content", edit(lambda d: d["event"]["params"].update(i=999))
    yield "event actor", edit(lambda d: d["event"].update(actor="mallory"))
    for k in range(len(good["path"])):
        yield f"element {k} truncated", edit(lambda d, k=k: d["path"].__setitem__(k, d["path"][k][:-2]))
        yield f"element {k} half-byte cut", edit(lambda d, k=k: d["path"].__setitem__(k, d["path"][k][:-1]))
        yield f"element {k} bit-flipped", edit(lambda d, k=k: d["path"].__setitem__(k, _flip_hex(d["path"][k])))
        yield f"element {k} removed", edit(lambda d, k=k: d["path"].pop(k))
        yield f"element {k} duplicated", edit(lambda d, k=k: d["path"].insert(k, d["path"][k]))
    yield "element inserted", edit(lambda d: d["path"].insert(0, "00" * 32))
    yield "element appended", edit(lambda d: d["path"].append("ab" * 32))
    yield "path reversed", edit(lambda d: d["path"].reverse())
    yield "signature", edit(lambda d: d["checkpoint"].update(signature=_flip_hex(d["checkpoint"]["signature"])))
    yield "unsigned", edit(lambda d: d["checkpoint"].pop("signature"))


@pytest.mark.parametrize(("index", "cp"), [(0, 64), (5, 13), (12, 13), (31, 32), (40, 64), (63, 64)])
def test_corrupted_inclusion_proofs_are_all_rejected(grown, index, cp):
    cat, keys = grown
    good = cat.ledger.prove(index, checkpoint=f"cp-{cp}").to_dict()
    verify_inclusion_proof(good, keys)
    other_root = cat.ledger.get_checkpoint(f"cp-{cp - 1 if cp > 1 else 2}").root
    names = []
    for name, bad in _inclusion_corruptions(good, other_root):
        with pytest.raises(IntegrityError):
            verify_inclusion_proof(bad, keys)
        names.append(name)
    assert len(names) >= 17


@pytest.mark.parametrize(("m", "n"), [(1, 64), (3, 7), (7, 8), (13, 50), (32, 64), (33, 64), (63, 64)])
def test_corrupted_consistency_proofs_are_all_rejected(grown, m, n):
    cat, keys = grown
    good = cat.ledger.consistency(f"cp-{m}", f"cp-{n}").to_dict()
    verify_consistency_proof(good, keys)

    def edit(fn):
        bad = copy.deepcopy(good)
        fn(bad)
        return bad

    corruptions = [
        edit(lambda d: d.update(old_size=d["old_size"] + 1)),
        edit(lambda d: d.update(old_size=d["old_size"] - 1)),
        edit(lambda d: d.update(new_size=d["new_size"] * 2)),
        edit(lambda d: d.update(new_size=d["new_size"] // 2)),
        edit(lambda d: d["new"].update(size=d["new"]["size"] * 2)),
        edit(lambda d: d["old"].update(size=d["old"]["size"] // 2)),
        edit(lambda d: d.update(old_root=d["new_root"], new_root=d["old_root"])),  # swapped roots
        edit(lambda d: (d.update(old=d["new"], new=d["old"], old_size=d["new_size"], new_size=d["old_size"],
                                 old_root=d["new_root"], new_root=d["old_root"]))),  # swapped checkpoints
        edit(lambda d: d.update(new_root=_flip_hex(d["new_root"]))),
        edit(lambda d: d["path"].insert(0, "00" * 32)),
        edit(lambda d: d["path"].append(d["path"][-1] if d["path"] else "ab" * 32)),
    ]
    for k in range(len(good["path"])):
        corruptions += [edit(lambda d, k=k: d["path"].__setitem__(k, d["path"][k][:-2])),
                        edit(lambda d, k=k: d["path"].__setitem__(k, _flip_hex(d["path"][k]))),
                        edit(lambda d, k=k: d["path"].pop(k))]
    for bad in corruptions:
        with pytest.raises(IntegrityError):
            verify_consistency_proof(bad, keys)


def test_proofs_against_a_checkpoint_of_an_unknown_key_name_the_key(grown, tmp_path):
    cat, keys = grown
    stranger = SigningKey.generate()
    good = cat.ledger.prove(3, checkpoint="cp-10").to_dict()
    from synthgov.ledger.checkpoints import Checkpoint, sign

    forged = sign(size=10, root=good["root"], key=stranger, seq=99)
    bad = {**good, "checkpoint": forged.to_dict()}
    with pytest.raises(IntegrityError, match=stranger.key_id) as info:
        verify_inclusion_proof(bad, keys)
    assert info.value.details["key_id"] == stranger.key_id
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged.to_dict()))
    before = cat.ledger.size(), len(cat.ledger.checkpoints())
    with pytest.raises(IntegrityError, match=stranger.key_id):
        cat.ledger.prove(3, checkpoint=str(path))
    report = cat.ledger.verify(checkpoint=str(path))
    assert not report.ok and report.key_id == stranger.key_id
    assert (cat.ledger.size(), len(cat.ledger.checkpoints())) == before  # nothing written
    assert Checkpoint.from_dict(forged.to_dict()) == forged


def test_prove_needs_a_covering_checkpoint(tmp_path):
    cat = open_catalog(workspace=tmp_path / "ws", checkpoint_every=0)
    cat.ledger.append("verify")
    with pytest.raises(NotFoundError, match="no checkpoint covers event 0"):
        cat.ledger.prove(0)
    cat.ledger.checkpoint()  # creates the workspace's default key, and logs that first
    assert [e.action for e in cat.ledger.events()] == ["verify", "key create"]
    assert cat.ledger.checkpoints()[0].size == 2
    cat.ledger.append("verify")
    with pytest.raises(IntegrityError, match="not covered by checkpoint cp-1"):
        cat.ledger.prove(2, checkpoint="cp-1")
    cat.ledger.append("verify")
    cat.ledger.checkpoint()
    with pytest.raises(IntegrityError, match="cannot shrink"):
        cat.ledger.consistency("cp-2", "cp-1")
    with pytest.raises(NotFoundError):
        cat.ledger.prove(5)
    cat.close()


def test_exported_trail_verifies_and_rejects_tampering(tmp_path):
    ws = tmp_path / "ws"
    cat = open_catalog(workspace=ws, checkpoint_every=0)
    with cat.session() as s:
        src = s.add_source({"name": "cps", "sha256": _h("cps"), "rows": 100, "columns": 3})
        other = s.add_source({"name": "unrelated", "sha256": _h("other"), "rows": 5, "columns": 1})
        syn = s.add_synthesizer(name="copula", trained_on=[src])
        ds = s.add_dataset(sha256=_h("ds"), name="synth", rows=50, columns=3, made_by=syn)
        s.add_release(release_id="rel-42", files={"data.parquet": _h("f")}, dataset=ds, synthesizer=syn)
        s.log("verify", params={"release": "rel-42"}, subjects=["rel-42"])
    cat.ledger.checkpoint()
    trail = json.loads(json.dumps(cat.ledger.export("rel-42")))
    keys = trusted_keys(workspace=ws)
    events = verify_trail(trail, keys)
    assert [e.action for e in events] == ["read source", "fit", "sample", "package", "verify"]
    assert other not in trail["records"] and set(trail["records"]) == {"rel-42", ds, syn, src}
    for corrupt in (lambda t: t["events"].pop(1) and t["events"].insert(2, t["events"][0]),
                    lambda t: t["events"][0]["event"]["params"].update(name="renamed"),
                    lambda t: t["events"][3]["path"].pop(),
                    lambda t: t["checkpoint"].update(size=t["checkpoint"]["size"] + 1),
                    lambda t: t.update(records=["unrelated"])):
        bad = copy.deepcopy(trail)
        corrupt(bad)
        with pytest.raises(IntegrityError):
            verify_trail(bad, keys)
    with pytest.raises(IntegrityError):
        verify_trail(trail, [SigningKey.generate().public_key()])
    with pytest.raises(NotFoundError):
        cat.ledger.export("no-such-release")
    cat.close()


def test_a_stored_checkpoint_signed_by_an_untrusted_key_fails_verification(tmp_path):
    ws = tmp_path / "ws"
    create_key("default", workspace=ws)
    cat = open_catalog(workspace=ws, checkpoint_every=0)
    cat.ledger.append("verify")
    cat.ledger.checkpoint()
    stranger = SigningKey.generate()
    cat.ledger.append("verify")
    cat.ledger.checkpoint(stranger)
    report = cat.ledger.verify()
    assert not report.ok and report.key_id == stranger.key_id and stranger.key_id in report.reason
    with pytest.raises(IntegrityError, match=stranger.key_id) as info:
        report.raise_if_bad()
    assert info.value.details["key_id"] == stranger.key_id
    assert cat.ledger.verify(keys=[stranger.public_key(), *trusted_keys(workspace=ws)]).ok
    cat.close()
