"""DSSE envelopes holding in-toto Statements, signed with Ed25519.

The signature covers the DSSE *pre-authentication encoding* (PAE) of the
payload type and the payload bytes, so neither can be swapped without breaking
it (DSSE v1, secure-systems-lab/dsse). The payload is an in-toto Statement v1:
one subject per release file (name and sha256) and our provenance predicate.

Parsing is strict, because the envelope is what verification trusts: the file
must be exactly the canonical JSON that :func:`dumps` writes (sorted keys,
two-space indent, ASCII), with no duplicate or unknown keys, standard padded
base64, and at least one signature. Anything else is an :class:`EnvelopeError`.

>>> pae("application/vnd.in-toto+json", b"{}")
b'DSSEv1 28 application/vnd.in-toto+json 2 {}'
>>> from synthgov.provenance.keys import SigningKey
>>> signer = SigningKey.generate()
>>> env = sign(b'{"x":1}', signer)
>>> parsed = parse(dumps(env))
>>> parsed.payload, parsed.payload_type == PAYLOAD_TYPE
(b'{"x":1}', True)
>>> signer.public_key().verify(parsed.signatures[0].sig, pae(parsed.payload_type, parsed.payload))
True
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from typing import Any

from .keys import SigningKey

__all__ = [
    "PAYLOAD_TYPE",
    "STATEMENT_TYPE",
    "PREDICATE_TYPE",
    "FILE_SIZES",
    "EnvelopeError",
    "Envelope",
    "Signature",
    "pae",
    "sign",
    "dumps",
    "parse",
    "statement",
    "canonical_json",
    "loads_strict",
]

#: The payload type of an in-toto Statement in a DSSE envelope.
PAYLOAD_TYPE = "application/vnd.in-toto+json"
#: in-toto Statement v1.
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
#: Our predicate: synthgov release provenance, version 1.
PREDICATE_TYPE = "https://synthgov.dev/provenance/v1"
#: The predicate's map of file name -> size in bytes (signed, so an oversized file is refused unread).
FILE_SIZES = "fileSizes"

#: The largest envelope file read (bytes).
MAX_ENVELOPE = 16 * 1024 * 1024
_ENVELOPE_KEYS = {"payload", "payloadType", "signatures"}
_SIGNATURE_KEYS = {"keyid", "sig"}


class EnvelopeError(ValueError):
    """The envelope or its statement is malformed; ``code`` says which check failed."""

    def __init__(self, message: str, code: str = "SG-VERIFY-MALFORMED"):
        super().__init__(message)
        self.code = code


@dataclasses.dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclasses.dataclass(frozen=True)
class Envelope:
    """A parsed DSSE envelope: the exact payload bytes and their signatures."""

    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    def signed_bytes(self) -> bytes:
        """The bytes each signature covers: PAE(payloadType, payload)."""
        return pae(self.payload_type, self.payload)


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: ``"DSSEv1" SP len(type) SP type SP len(body) SP body``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise EnvelopeError(f"the envelope's {what} is not base64 text")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise EnvelopeError(f"the envelope's {what} is not valid base64") from None
    if _b64(raw) != text:
        raise EnvelopeError(f"the envelope's {what} is not canonical base64")
    return raw


def canonical_json(value: Any) -> bytes:
    """Compact, key-sorted, ASCII JSON: the statement's signed form."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise EnvelopeError(f"duplicate JSON key {key!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise EnvelopeError(f"non-standard JSON number {name}")


def loads_strict(data: bytes, what: str) -> Any:
    """Parse UTF-8 JSON, refusing duplicate keys and NaN/Infinity."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise EnvelopeError(f"{what} is not UTF-8 text") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise EnvelopeError(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise EnvelopeError(f"{what} is nested too deeply") from None


def sign(payload: bytes, key: SigningKey, payload_type: str = PAYLOAD_TYPE) -> dict[str, Any]:
    """A DSSE envelope (as a dict) over ``payload``, signed by ``key``."""
    if not isinstance(payload, bytes):
        raise TypeError("payload must be bytes")
    sig = key.sign(pae(payload_type, payload))
    return {"payload": _b64(payload), "payloadType": payload_type,
            "signatures": [{"keyid": key.key_id, "sig": _b64(sig)}]}


def dumps(envelope: dict[str, Any]) -> bytes:
    """The canonical file form of an envelope (what :func:`parse` accepts, byte for byte)."""
    return (json.dumps(envelope, sort_keys=True, indent=2, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")


def parse(data: bytes) -> Envelope:
    """Parse envelope file bytes strictly (see the module docs); raise :class:`EnvelopeError`."""
    if not isinstance(data, bytes):
        raise EnvelopeError("the envelope must be bytes")
    if not data:
        raise EnvelopeError("the envelope file is empty")
    if len(data) > MAX_ENVELOPE:
        raise EnvelopeError(f"the envelope is larger than {MAX_ENVELOPE} bytes")
    doc = loads_strict(data, "the envelope")
    if not isinstance(doc, dict):
        raise EnvelopeError("the envelope is not a JSON object")
    if set(doc) != _ENVELOPE_KEYS:
        missing, extra = sorted(_ENVELOPE_KEYS - set(doc)), sorted(set(doc) - _ENVELOPE_KEYS)
        raise EnvelopeError("the envelope must have exactly payload, payloadType and signatures"
                            + (f"; missing {', '.join(missing)}" if missing else "")
                            + (f"; unknown {', '.join(extra)}" if extra else ""))
    if not isinstance(doc["payloadType"], str) or not doc["payloadType"]:
        raise EnvelopeError("the envelope's payloadType is not text")
    payload = _unb64(doc["payload"], "payload")
    sigs = doc["signatures"]
    if not isinstance(sigs, list):
        raise EnvelopeError("the envelope's signatures is not a list")
    if not sigs:
        raise EnvelopeError("the envelope has no signatures (DSSE requires at least one)")
    signatures = []
    for i, entry in enumerate(sigs):
        if not isinstance(entry, dict) or set(entry) != _SIGNATURE_KEYS:
            raise EnvelopeError(f"signature {i + 1} must be an object with exactly keyid and sig")
        if not isinstance(entry["keyid"], str):
            raise EnvelopeError(f"signature {i + 1}'s keyid is not text")
        signatures.append(Signature(keyid=entry["keyid"], sig=_unb64(entry["sig"], f"signature {i + 1}")))
    if len(set(signatures)) != len(signatures):
        raise EnvelopeError("the envelope lists the same signature twice")
    if dumps(doc) != data:
        raise EnvelopeError("the envelope is not in canonical form (it was edited or re-formatted after signing)")
    return Envelope(payload_type=doc["payloadType"], payload=payload, signatures=tuple(signatures))


def statement(subjects: dict[str, str], predicate: dict[str, Any]) -> dict[str, Any]:
    """An in-toto Statement v1: ``subjects`` maps file name -> sha256 hex."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": digest}} for name, digest in sorted(subjects.items())],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }
