"""Provenance: label, sign, package and verify synthetic releases.

* :func:`package` writes a release directory (data, Croissant 1.1 JSON-LD, card,
  report, DSSE-signed in-toto Statement);
* :func:`verify` checks it and names every problem with a stable code;
* :mod:`~synthgov.provenance.keys` manages the Ed25519 keys in the workspace;
* :mod:`~synthgov.provenance.watermark` marks synthetic values with a keyed
  watermark that survives when the labels are stripped (``embed`` / ``detect``).
"""

from . import watermark
from .dsse import PAYLOAD_TYPE, PREDICATE_TYPE
from .keys import (
    KeyInfo,
    PublicKey,
    SigningKey,
    create_key,
    export_public,
    list_keys,
    load_public_key,
    load_signing_key,
)
from .package import GeneratorInfo, Release, SourceFingerprint, fingerprint_source, package
from .verify import CODES, Problem, Verification, verify
from .watermark import ColumnDetection, Detection

__all__ = [
    "package", "Release", "SourceFingerprint", "GeneratorInfo", "fingerprint_source",
    "verify", "Verification", "Problem", "CODES",
    "KeyInfo", "PublicKey", "SigningKey", "create_key", "list_keys", "export_public",
    "load_signing_key", "load_public_key",
    "PAYLOAD_TYPE", "PREDICATE_TYPE",
    "watermark", "Detection", "ColumnDetection",
]
