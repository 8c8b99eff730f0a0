"""The tamper-evident ledger of everything synthgov does.

* :mod:`~synthgov.ledger.merkle`: RFC 9162 Merkle tree hashing, inclusion and
  consistency proofs (pure functions over 32-byte hashes).
* :mod:`~synthgov.ledger.events`: the canonical, hashable :class:`Event`.
* :mod:`~synthgov.ledger.chain`: the hash chain in the catalog database.
* :mod:`~synthgov.ledger.checkpoints`: Ed25519-signed tree heads.
* :mod:`~synthgov.ledger.proofs`: inclusion and consistency proofs and exported trails,
  checkable with the signer's public key alone.
* :mod:`~synthgov.ledger.core`: the :class:`Ledger` of a catalog
  (``synthgov.catalog.open_catalog(...).ledger``).

>>> from synthgov.ledger import leaf_hash, root
>>> root([leaf_hash(b"event")]) == leaf_hash(b"event")
True
"""

from . import merkle
from .checkpoints import Checkpoint
from .core import Ledger, VerifyReport
from .events import GENESIS, Event, default_actor
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
from .proofs import ConsistencyProof, InclusionProof, verify_consistency_proof, verify_inclusion_proof, verify_trail

__all__ = [
    "merkle",
    "HASH_SIZE", "EMPTY_ROOT", "leaf_hash", "node_hash", "root",
    "inclusion_proof", "verify_inclusion", "consistency_proof", "verify_consistency",
    "Event", "GENESIS", "default_actor", "Checkpoint", "Ledger", "VerifyReport",
    "InclusionProof", "ConsistencyProof", "verify_inclusion_proof", "verify_consistency_proof", "verify_trail",
]
