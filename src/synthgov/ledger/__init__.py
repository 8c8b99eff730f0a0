"""The tamper-evident ledger of everything synthgov does.

* :mod:`~synthgov.ledger.merkle`: RFC 9162 Merkle tree hashing, inclusion and
  consistency proofs (pure functions over 32-byte hashes).

>>> from synthgov.ledger import leaf_hash, root
>>> root([leaf_hash(b"event")]) == leaf_hash(b"event")
True
"""

from . import merkle
from .merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "merkle",
    "HASH_SIZE", "EMPTY_ROOT", "leaf_hash", "node_hash", "root",
    "inclusion_proof", "verify_inclusion", "consistency_proof", "verify_consistency",
]
