"""Signed checkpoints: Ed25519-signed tree heads ``{size, root, time, key_id}``.

A checkpoint commits to the first ``size`` events through their Merkle root. Its signed
message is the canonical JSON of its body, which names its type, so a checkpoint
signature cannot be replayed as any other synthgov signature. Whoever holds a
checkpoint (a copy in a file, say) can check that the log still contains those
events (:func:`synthgov.ledger.Ledger.verify`) and only grew since
(:meth:`synthgov.ledger.Ledger.consistency`).

>>> from synthgov.provenance.keys import SigningKey
>>> key = SigningKey.generate()
>>> cp = sign(size=3, root="ab" * 32, key=key, seq=1, time="2026-01-01T00:00:00.000000Z")
>>> verify_signature(cp, [key.public_key()]).key_id == key.key_id
True
>>> Checkpoint.from_dict(cp.to_dict()) == cp
True
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from ..errors import IntegrityError, NotFoundError, ParameterError
from ..provenance.dsse import canonical_json
from ..provenance.keys import PublicKey, SigningKey
from .events import utc_now

__all__ = ["Checkpoint", "CHECKPOINT_TYPE", "sign", "verify_signature", "store", "load", "latest", "all_checkpoints",
           "resolve", "parse_ref"]

CHECKPOINT_TYPE = "https://synthgov.dev/ledger/checkpoint/v1"
_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")
_REF = re.compile(r"^(?:cp-)?([0-9]{1,12})\Z")


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A signed tree head. ``seq`` numbers the checkpoints of one ledger (``cp-1``, ``cp-2``, ...)."""

    seq: int
    size: int
    root: str
    time: str
    key_id: str
    signature: str

    @property
    def id(self) -> str:
        return f"cp-{self.seq}"

    def body(self) -> dict[str, Any]:
        return {"type": CHECKPOINT_TYPE, "seq": self.seq, "size": self.size, "root": self.root, "time": self.time,
                "key_id": self.key_id}

    def message(self) -> bytes:
        """The signed bytes."""
        return canonical_json(self.body())

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "id": self.id, "signature": self.signature}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        """Parse an exported checkpoint; IntegrityError when fields are missing or malformed."""
        if not isinstance(data, Mapping) or data.get("type") != CHECKPOINT_TYPE:
            raise IntegrityError("not a synthgov checkpoint (its type field is missing or different)")
        try:
            cp = cls(seq=data["seq"], size=data["size"], root=data["root"], time=data["time"],
                     key_id=data["key_id"], signature=data["signature"])
        except KeyError as exc:
            raise IntegrityError(f"the checkpoint lacks its {exc.args[0]!r} field") from None
        ints_ok = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (cp.seq, cp.size))
        strs_ok = all(isinstance(v, str) for v in (cp.root, cp.time, cp.key_id, cp.signature))
        if not (ints_ok and strs_ok and _HEX64.match(cp.root) and _HEX64.match(cp.key_id)):
            raise IntegrityError("the checkpoint has a malformed field (size, seq, root or key id)")
        return cp

    @classmethod
    def from_row(cls, row) -> Checkpoint:
        return cls(seq=row.seq, size=row.size, root=row.root, time=row.time, key_id=row.key_id,
                   signature=row.signature)


def sign(*, size: int, root: str, key: SigningKey, seq: int, time: str | None = None) -> Checkpoint:
    """A new checkpoint over ``size`` events with Merkle root ``root`` (hex), signed by ``key``."""
    if not isinstance(key, SigningKey):
        raise ParameterError(f"key must be a SigningKey, got {type(key).__name__}")
    unsigned = Checkpoint(seq=seq, size=size, root=root, time=time or utc_now(), key_id=key.key_id, signature="")
    return dataclasses.replace(unsigned, signature=key.sign(unsigned.message()).hex())


def verify_signature(cp: Checkpoint, keys: Iterable[PublicKey]) -> PublicKey:
    """The trusted key that signed ``cp``; IntegrityError naming the key id when unknown or the signature is bad."""
    by_id = {k.key_id: k for k in keys}
    key = by_id.get(cp.key_id)
    if key is None:
        raise IntegrityError(
            f"checkpoint {cp.id} is signed by key {cp.key_id}, which is not a trusted key",
            hint="add that key's public half to <workspace>/keys (only if you trust it), or name it with --key",
            details={"code": "SG-CHECKPOINT-KEY", "key_id": cp.key_id, "checkpoint": cp.id,
                     "trusted": sorted(by_id)})
    try:
        signature = bytes.fromhex(cp.signature)
    except ValueError:
        signature = b""
    if not key.verify(signature, cp.message()):
        raise IntegrityError(f"the signature of checkpoint {cp.id} (key {cp.key_id[:16]}…) does not verify",
                             hint="the checkpoint was altered after signing",
                             details={"code": "SG-CHECKPOINT-SIGNATURE", "key_id": cp.key_id, "checkpoint": cp.id})
    return key


def _table():
    from ..catalog.models import CheckpointRow

    return CheckpointRow


def store(conn: Connection, cp: Checkpoint) -> None:
    row = _table()
    conn.execute(insert(row).values(seq=cp.seq, size=cp.size, root=cp.root, time=cp.time, key_id=cp.key_id,
                                    body=canonical_json(cp.body()).decode("ascii"), signature=cp.signature))


def next_seq(conn: Connection) -> int:
    row = _table()
    top = conn.execute(select(func.max(row.seq))).scalar()
    return 1 if top is None else int(top) + 1


def all_checkpoints(conn: Connection) -> list[Checkpoint]:
    row = _table()
    return [Checkpoint.from_row(r) for r in conn.execute(select(row).order_by(row.seq)).all()]


def latest(conn: Connection) -> Checkpoint | None:
    row = _table()
    r = conn.execute(select(row).order_by(row.seq.desc()).limit(1)).first()
    return None if r is None else Checkpoint.from_row(r)


def load(conn: Connection, seq: int) -> Checkpoint:
    row = _table()
    r = conn.execute(select(row).where(row.seq == seq)).first()
    if r is None:
        raise NotFoundError(f"no checkpoint cp-{seq} in the ledger",
                            hint="`synthgov audit checkpoint` makes one; `synthgov audit verify` lists them")
    return Checkpoint.from_row(r)


def parse_ref(ref: str | int | os.PathLike | Checkpoint | Mapping) -> int | Checkpoint:
    """A checkpoint reference: a Checkpoint, its dict, ``cp-N``/``N``, or the path of an exported checkpoint file."""
    if isinstance(ref, Checkpoint):
        return ref
    if isinstance(ref, Mapping):
        return Checkpoint.from_dict(ref)
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ref
    if isinstance(ref, str) and _REF.match(ref.strip()):
        return int(_REF.match(ref.strip()).group(1))
    if isinstance(ref, (str, os.PathLike)):
        path = Path(ref)
        if not path.is_file():
            raise NotFoundError(f"no checkpoint {str(ref)!r}: give cp-N (see `synthgov audit verify`) or a checkpoint file")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IntegrityError(f"cannot read the checkpoint file {path}: {exc}") from None
        return Checkpoint.from_dict(data.get("checkpoint", data) if isinstance(data, dict) else data)
    raise ParameterError(f"a checkpoint is cp-N, a number, a file path or a Checkpoint, got {type(ref).__name__}")


def resolve(conn: Connection, ref) -> Checkpoint:
    """The checkpoint ``ref`` names (stored ones by number; external ones as given)."""
    parsed = parse_ref(ref)
    return parsed if isinstance(parsed, Checkpoint) else load(conn, parsed)
