"""Property: no mutation of a valid release envelope is accepted, and none makes verify() raise."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthgov.provenance import SigningKey, package, verify
from synthgov.provenance.dsse import canonical_json, dumps, sign

ENV = "release.dsse.json"


@pytest.fixture(scope="module")
def valid(tmp_path_factory, synth, real):
    """A small release whose envelope is mutated, and the one key that is trusted."""
    signer = SigningKey.generate("m")
    out = tmp_path_factory.mktemp("mut") / "release"
    package(synth.head(50), out, source=real, synthesizer="copula", purpose="Mutation test.", creator="Ann", key=signer)
    assert verify(out, key=signer).ok
    return out, signer


def _verify_with(valid, envelope: bytes):
    folder, signer = valid
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "r"
        shutil.copytree(folder, copy)
        (copy / ENV).write_bytes(envelope)
        return verify(copy, key=signer)  # must not raise


def _check(valid, envelope: bytes) -> None:
    if envelope == (valid[0] / ENV).read_bytes():
        return  # not a mutation
    result = _verify_with(valid, envelope)
    assert not result.ok and result.problems


byte_edits = st.one_of(
    st.tuples(st.just("replace"), st.integers(min_value=0), st.integers(min_value=1, max_value=255)),
    st.tuples(st.just("insert"), st.integers(min_value=0), st.integers(min_value=0, max_value=255)),
    st.tuples(st.just("delete"), st.integers(min_value=0), st.integers(min_value=1, max_value=64)),
    st.tuples(st.just("truncate"), st.integers(min_value=0), st.just(0)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(byte_edits, min_size=1, max_size=3))
def test_byte_mutations_are_rejected(valid, edits):
    data = bytearray((valid[0] / ENV).read_bytes())
    for kind, pos, value in edits:
        at = pos % (len(data) + 1)
        if kind == "replace" and at < len(data):
            data[at] ^= value
        elif kind == "insert":
            data.insert(at, value)
        elif kind == "delete":
            del data[at:at + value]
        elif kind == "truncate":
            del data[at:]
    _check(valid, bytes(data))


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=6)


def _statement_mutation(stmt: dict, data) -> dict:
    kind = data.draw(st.sampled_from(["digest", "name", "release", "drop-subject", "add-key", "predicate", "type",
                                      "size"]))
    if kind == "digest":
        s = data.draw(st.sampled_from(stmt["subject"]))
        digest = s["digest"]["sha256"]
        at = data.draw(st.integers(0, 63))
        s["digest"]["sha256"] = digest[:at] + ("0" if digest[at] != "0" else "1") + digest[at + 1:]
    elif kind == "name":
        data.draw(st.sampled_from(stmt["subject"]))["name"] = data.draw(st.text(min_size=1, max_size=20))
    elif kind == "release":
        stmt["predicate"]["releaseId"] = data.draw(json_values)
    elif kind == "drop-subject":
        stmt["subject"].pop(data.draw(st.integers(0, len(stmt["subject"]) - 1)))
    elif kind == "add-key":
        stmt[data.draw(st.text(min_size=1, max_size=8))] = data.draw(json_values)
    elif kind == "predicate":
        stmt["predicate"][data.draw(st.text(min_size=1, max_size=8))] = data.draw(json_values)
    elif kind == "size":
        sizes = stmt["predicate"]["fileSizes"]
        name = data.draw(st.sampled_from(sorted(sizes)))
        if data.draw(st.booleans()):
            del sizes[name]
        else:
            sizes[name] = data.draw(json_values | st.integers(-1, 10**12))
    else:
        stmt[data.draw(st.sampled_from(["_type", "predicateType"]))] = data.draw(json_values)
    return stmt


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_structural_mutations_are_rejected(valid, data):
    """Well-formed envelopes with one field changed: canonical JSON, valid base64, only the meaning differs."""
    doc = json.loads((valid[0] / ENV).read_bytes())
    kind = data.draw(st.sampled_from(["payloadType", "keyid", "sig", "drop-sig", "add-sig", "payload-bytes",
                                      "statement", "field"]))
    sigs = doc["signatures"]
    if kind == "payloadType":
        doc["payloadType"] = data.draw(st.text(max_size=40))
    elif kind == "keyid":
        sigs[0]["keyid"] = data.draw(st.text(max_size=70))
    elif kind == "sig":
        sigs[0]["sig"] = base64.b64encode(data.draw(st.binary(min_size=0, max_size=80))).decode()
    elif kind == "drop-sig":
        doc["signatures"] = []
    elif kind == "add-sig":
        sigs.append({"keyid": data.draw(st.sampled_from([sigs[0]["keyid"], "", "other"])),
                     "sig": base64.b64encode(data.draw(st.binary(min_size=64, max_size=64))).decode()})
    elif kind == "payload-bytes":
        payload = bytearray(base64.b64decode(doc["payload"]))
        at = data.draw(st.integers(0, len(payload) - 1))
        payload[at] ^= data.draw(st.integers(1, 255))
        doc["payload"] = base64.b64encode(bytes(payload)).decode()
    elif kind == "statement":
        stmt = _statement_mutation(json.loads(base64.b64decode(doc["payload"])), data)
        doc["payload"] = base64.b64encode(canonical_json(stmt)).decode()
    else:
        doc[data.draw(st.sampled_from(["payload", "payloadType", "signatures", "extra"]))] = data.draw(json_values)
    _check(valid, dumps(doc))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_statements_signed_by_the_trusted_key_still_only_vouch_for_the_files_present(valid, data):
    """Re-signed by the trusted key itself, a changed statement makes verify() return, never raise; and
    whenever it is accepted, every signed digest and size is that of the file in the folder."""
    folder, signer = valid
    stmt = json.loads(base64.b64decode(json.loads((folder / ENV).read_bytes())["payload"]))
    payload = canonical_json(_statement_mutation(stmt, data))
    result = _verify_with(valid, dumps(sign(payload, signer)))
    if result.ok:
        on_disk = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != ENV}
        assert result.files == {n: hashlib.sha256(b).hexdigest() for n, b in on_disk.items()}
        assert result.predicate["fileSizes"] == {n: len(b) for n, b in on_disk.items()}
        assert result.release_id == result.predicate["releaseId"] and dict(result.contents) == on_disk
    else:
        assert result.problems and result.files == {} and result.contents == {}
