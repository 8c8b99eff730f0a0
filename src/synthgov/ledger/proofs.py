"""Self-contained proofs anyone can check with the signer's public key alone.

* :class:`InclusionProof`: event ``index`` (its full content) is leaf ``index`` of the tree a
  signed checkpoint commits to;
* :class:`ConsistencyProof`: the tree of an older signed checkpoint is a prefix of a newer
  one's (the log only grew);
* a *trail* (:func:`verify_trail`): every event touching a release and its ancestors, each
  with its inclusion proof against one signed checkpoint.

Each ``verify_*`` function rebuilds everything from the JSON form (``to_dict``) and raises
:class:`~synthgov.errors.IntegrityError` naming what failed. Sizes and roots are taken from
the signed checkpoint, never from the proof's own copy, which must agree with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import IntegrityError
from ..provenance.keys import PublicKey
from .checkpoints import Checkpoint, verify_signature
from .events import Event
from .merkle import leaf_hash, verify_consistency, verify_inclusion

__all__ = ["InclusionProof", "ConsistencyProof", "verify_inclusion_proof", "verify_consistency_proof",
           "verify_trail", "TRAIL_TYPE"]

TRAIL_TYPE = "https://synthgov.dev/ledger/trail/v1"


def _hexes(values: Any, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise IntegrityError(f"the {what} must be a list of hex hashes")
    out = []
    for i, v in enumerate(values):
        try:
            out.append(bytes.fromhex(v))
        except (TypeError, ValueError):
            raise IntegrityError(f"element {i} of the {what} is not a hex hash", details={"position": i}) from None
    return out


def _field(data: Mapping, name: str, what: str) -> Any:
    if not isinstance(data, Mapping) or name not in data:
        raise IntegrityError(f"the {what} lacks its {name!r} field")
    return data[name]


@dataclasses.dataclass(frozen=True)
class InclusionProof:
    """Event ``event.index`` is included in the tree of ``checkpoint``."""

    event: Event
    path: tuple[str, ...]
    checkpoint: Checkpoint

    @property
    def index(self) -> int:
        return self.event.index

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.event.index, "size": self.checkpoint.size, "root": self.checkpoint.root,
                "leaf_hash": self.event.hash, "event": self.event.to_dict(), "path": list(self.path),
                "checkpoint": self.checkpoint.to_dict()}


@dataclasses.dataclass(frozen=True)
class ConsistencyProof:
    """The tree of ``old`` is a prefix of the tree of ``new``."""

    old: Checkpoint
    new: Checkpoint
    path: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"old_size": self.old.size, "new_size": self.new.size, "old_root": self.old.root,
                "new_root": self.new.root, "path": list(self.path), "old": self.old.to_dict(), "new": self.new.to_dict()}


def _event_from(data: Mapping) -> Event:
    from ..provenance.dsse import canonical_json

    try:
        return Event.from_body(canonical_json(data))
    except (TypeError, ValueError):
        raise IntegrityError("the proof's event is not plain JSON") from None


def verify_inclusion_proof(proof: InclusionProof | Mapping, keys: Iterable[PublicKey]) -> InclusionProof:
    """Check an inclusion proof (object or its dict) against trusted ``keys``; return it parsed."""
    if isinstance(proof, InclusionProof):
        proof = proof.to_dict()
    what = "inclusion proof"
    cp = Checkpoint.from_dict(_field(proof, "checkpoint", what))
    verify_signature(cp, keys)
    event = _event_from(_field(proof, "event", what))
    index, size, head = _field(proof, "index", what), _field(proof, "size", what), _field(proof, "root", what)
    if index != event.index:
        raise IntegrityError(f"the proof names index {index!r} but carries event {event.index}",
                             details={"index": index})
    if size != cp.size or head != cp.root:
        raise IntegrityError(f"the proof's size/root ({size!r}, {str(head)[:16]}…) differ from its signed checkpoint "
                             f"({cp.size}, {cp.root[:16]}…)", details={"size": size, "checkpoint_size": cp.size})
    leaf = leaf_hash(event.body())
    if _field(proof, "leaf_hash", what) != leaf.hex():
        raise IntegrityError(f"the proof's leaf hash is not the hash of its event {event.index}")
    path = _hexes(_field(proof, "path", what), f"{what} path")
    verify_inclusion(leaf, index=event.index, size=cp.size, proof=path, root=bytes.fromhex(cp.root))
    return InclusionProof(event=event, path=tuple(p.hex() for p in path), checkpoint=cp)


def verify_consistency_proof(proof: ConsistencyProof | Mapping, keys: Iterable[PublicKey]) -> ConsistencyProof:
    """Check a consistency proof (object or its dict) against trusted ``keys``; return it parsed."""
    if isinstance(proof, ConsistencyProof):
        proof = proof.to_dict()
    what = "consistency proof"
    keys = list(keys)
    old = Checkpoint.from_dict(_field(proof, "old", what))
    new = Checkpoint.from_dict(_field(proof, "new", what))
    verify_signature(old, keys)
    verify_signature(new, keys)
    claimed = (_field(proof, "old_size", what), _field(proof, "new_size", what),
               _field(proof, "old_root", what), _field(proof, "new_root", what))
    if claimed != (old.size, new.size, old.root, new.root):
        raise IntegrityError("the proof's sizes or roots differ from its signed checkpoints",
                             details={"claimed": [str(c) for c in claimed]})
    path = _hexes(_field(proof, "path", what), f"{what} path")
    verify_consistency(old_size=old.size, new_size=new.size, proof=path, old_root=bytes.fromhex(old.root),
                       new_root=bytes.fromhex(new.root))
    return ConsistencyProof(old=old, new=new, path=tuple(p.hex() for p in path))


def verify_trail(trail: Mapping, keys: Iterable[PublicKey]) -> list[Event]:
    """Check an exported trail (:meth:`synthgov.ledger.Ledger.export`): every event's proof against its checkpoint.

    Returns the events, oldest first. Every event must name one of the trail's records.
    """
    if not isinstance(trail, Mapping) or trail.get("type") != TRAIL_TYPE:
        raise IntegrityError("not a synthgov audit trail (its type field is missing or different)")
    keys = list(keys)
    cp = Checkpoint.from_dict(_field(trail, "checkpoint", "trail"))
    verify_signature(cp, keys)
    records = set(_field(trail, "records", "trail"))
    events = []
    for item in _field(trail, "events", "trail"):
        if not isinstance(item, Mapping) or item.get("checkpoint") not in (None, cp.to_dict()):
            raise IntegrityError("a trail event is malformed or names another checkpoint")
        proof = verify_inclusion_proof({**item, "checkpoint": cp.to_dict(), "size": cp.size, "root": cp.root}, keys)
        if not records.intersection(proof.event.subjects):
            raise IntegrityError(f"trail event {proof.event.index} touches none of the trail's records")
        events.append(proof.event)
    indexes = [e.index for e in events]
    if indexes != sorted(set(indexes)):
        raise IntegrityError("the trail's events are repeated or out of order")
    return events
