"""DSSE: the pre-authentication encoding, signing, and strict parsing."""

from __future__ import annotations

import base64
import json

import pytest

from synthgov.provenance import SigningKey
from synthgov.provenance.dsse import PAYLOAD_TYPE, EnvelopeError, dumps, pae, parse, sign, statement


def test_pae_matches_the_dsse_specification_example():
    # DSSE v1 protocol document: PAE("http://example.com/HelloWorld", "hello world")
    assert pae("http://example.com/HelloWorld", b"hello world") == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def test_pae_counts_bytes_not_characters():
    assert pae("t/é", "ü".encode()) == b"DSSEv1 4 t/\xc3\xa9 2 \xc3\xbc"


def test_signature_covers_the_payload_type_and_the_payload():
    signer = SigningKey.generate()
    env = parse(dumps(sign(b"payload", signer)))
    public = signer.public_key()
    sig = env.signatures[0].sig
    assert env.signatures[0].keyid == signer.key_id and len(sig) == 64
    assert public.verify(sig, pae(PAYLOAD_TYPE, b"payload"))
    assert not public.verify(sig, pae("application/json", b"payload"))
    assert not public.verify(sig, pae(PAYLOAD_TYPE, b"payloaD"))


def _env(**change):
    doc = sign(b'{"a":1}', SigningKey.generate())
    doc.update(change)
    return doc


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"[]", "not a JSON object"),
    (b"\xff\xfe", "not UTF-8"),
    (dumps(_env(payload="YQ")), "not valid base64"),           # unpadded
    (dumps(_env(payload="YR==")), "not canonical base64"),     # non-zero trailing bits
    (dumps(_env(signatures=[])), "no signatures"),
    (dumps(_env(extra=1)), "unknown extra"),
    (dumps({"payload": "", "payloadType": "x"}), "missing signatures"),
    (dumps(_env(payloadType="")), "payloadType is not text"),
    (dumps(_env(signatures=[{"keyid": "k"}])), "exactly keyid and sig"),
    (dumps(_env(signatures=[{"keyid": 1, "sig": ""}])), "keyid is not text"),
    (json.dumps(_env()).encode(), "not in canonical form"),
    (b'{"payload": "", "payload": ""}', "duplicate JSON key"),
    (b'{"payload": NaN}', "non-standard JSON number"),
    (b"[" * 100_000, "nested too deeply"),
])
def test_strict_parse_refuses(data, message):
    with pytest.raises(EnvelopeError, match=message) as exc:
        parse(data)
    assert exc.value.code == "SG-VERIFY-MALFORMED"


def test_statement_lists_subjects_sorted_with_sha256():
    stmt = statement({"b.txt": "2" * 64, "a.txt": "1" * 64}, {"releaseId": "r"})
    assert stmt["_type"] == "https://in-toto.io/Statement/v1"
    assert stmt["subject"] == [{"name": "a.txt", "digest": {"sha256": "1" * 64}},
                               {"name": "b.txt", "digest": {"sha256": "2" * 64}}]
    assert stmt["predicateType"] == "https://synthgov.dev/provenance/v1" and stmt["predicate"] == {"releaseId": "r"}


def test_payload_round_trips_exactly():
    payload = bytes(range(256)) * 3
    env = parse(dumps(sign(payload, SigningKey.generate())))
    assert env.payload == payload and base64.b64decode(json.loads(dumps(sign(payload, SigningKey.generate())))["payload"]) == payload
