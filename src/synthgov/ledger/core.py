"""The :class:`Ledger`: the catalog database's append-only event log, its checkpoints and proofs.

Get one from :attr:`synthgov.catalog.Catalog.ledger` (it shares the catalog's database
and write lock). Catalog changes append their events inside the catalog session's
transaction; :meth:`Ledger.append` logs a stand-alone event in its own transaction.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from ..errors import InputError, IntegrityError, NotFoundError, OutputError, ParameterError
from ..provenance.keys import PublicKey, SigningKey, create_key, load_signing_key, trusted_keys
from ..workspace import Workspace
from . import chain
from . import checkpoints as cps
from .events import Event
from .merkle import consistency_proof, inclusion_proof, root
from .proofs import TRAIL_TYPE, ConsistencyProof, InclusionProof, verify_consistency_proof, verify_inclusion_proof

__all__ = ["Ledger", "VerifyReport", "CHECKPOINT_EVERY_ENV"]

CHECKPOINT_EVERY_ENV = "SYNTHGOV_CHECKPOINT_EVERY"


@dataclasses.dataclass(frozen=True)
class VerifyReport:
    """What :meth:`Ledger.verify` found. ``first_bad`` is the first event index that does not verify."""

    ok: bool
    size: int
    verified: int
    root: str
    checkpoints: int
    first_bad: int | None = None
    reason: str = ""
    key_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def raise_if_bad(self) -> VerifyReport:
        """Raise IntegrityError when the ledger did not verify; return self otherwise."""
        if not self.ok:
            where = f"event {self.first_bad}: " if self.first_bad is not None else ""
            details = {"first_bad": self.first_bad, "verified": self.verified, "size": self.size}
            if self.key_id:
                details.update(code="SG-CHECKPOINT-KEY", key_id=self.key_id)
            raise IntegrityError(f"the ledger does not verify at {where}{self.reason}",
                                 hint="the log was altered after it was written; compare with a backup or an "
                                      "exported checkpoint", details=details)
        return self


def _resolve_keys(keys, workspace: Workspace) -> list[PublicKey]:
    if keys is None:
        return trusted_keys(workspace=workspace)
    keys = [keys] if isinstance(keys, PublicKey) else list(keys)
    if not all(isinstance(k, PublicKey) for k in keys):
        raise ParameterError("keys must be PublicKey objects (synthgov.provenance.keys.load_public_key)")
    return keys


class Ledger:
    """The event log of one catalog database."""

    def __init__(self, *, engine: Engine, url: str, workspace: Workspace, checkpoint_every: int | None,
                 writer: Callable, reader: Callable, ancestors: Callable[[Connection, str], list[str]] | None = None):
        self._engine, self._url, self._workspace = engine, url, workspace
        self.checkpoint_every = checkpoint_every
        self._writer, self._reader, self._ancestors = writer, reader, ancestors

    # ------------------------------------------------------------------ reading
    def size(self) -> int:
        """Number of events."""
        with self._reader() as conn:
            return chain.size(conn)

    def event(self, index: int) -> Event:
        """Event ``index`` (checked against its hash); NotFoundError when there is none."""
        with self._reader() as conn:
            return chain.get_event(conn, index)

    def events(self, *, start: int = 0, stop: int | None = None) -> list[Event]:
        """Events ``start .. stop-1`` (unverified reads; use :meth:`verify` to check them)."""
        with self._reader() as conn:
            return [Event.from_body(r.body) for r in chain.iter_rows(conn)
                    if r.idx >= start and (stop is None or r.idx < stop)]

    def checkpoints(self) -> list[cps.Checkpoint]:
        """Stored checkpoints, oldest first."""
        with self._reader() as conn:
            return cps.all_checkpoints(conn)

    def get_checkpoint(self, ref) -> cps.Checkpoint:
        """A checkpoint by ``cp-N``, number, file path or dict."""
        with self._reader() as conn:
            return cps.resolve(conn, ref)

    # ------------------------------------------------------------------ writing
    def append(self, action: str, *, params: Mapping[str, Any] | None = None, inputs: Iterable[str] | None = None,
               outputs: Iterable[str] | None = None, subjects: Iterable[str] | None = None,
               actor: str | None = None) -> Event:
        """Log one event in its own transaction (checkpointing when due) and return it."""
        with self._writer() as conn:
            event = chain.append(conn, action=action, params=params, inputs=inputs, outputs=outputs,
                                 subjects=subjects, actor=actor)
            self.checkpoint_if_due(conn, actor=actor)
        return event

    def checkpoint(self, key: SigningKey | str | os.PathLike | None = None, *, passphrase: str | None = None,
                   actor: str | None = None) -> cps.Checkpoint:
        """Sign and store a checkpoint over every event now in the log (``key``: default workspace key)."""
        signer = self._signer(key, passphrase)
        with self._writer() as conn:
            return self._checkpoint(conn, signer, actor=actor)

    def checkpoint_if_due(self, conn: Connection, *, actor: str | None = None) -> cps.Checkpoint | None:
        """Inside a write transaction: checkpoint when the log crossed a multiple of ``checkpoint_every``."""
        every = self.checkpoint_every
        if not every:
            return None
        last = cps.latest(conn)
        done = last.size if last else 0
        if chain.size(conn) // every <= done // every:
            return None
        try:
            signer = self._signer(None, None, conn=conn, actor=actor)
        except InputError as exc:  # e.g. an encrypted default key and no passphrase: keep the write, say so
            warnings.warn(f"no automatic ledger checkpoint: {exc} — sign one with `synthgov audit checkpoint`",
                          RuntimeWarning, stacklevel=4)
            return None
        return self._checkpoint(conn, signer, actor=actor)

    def _signer(self, key, passphrase, *, conn: Connection | None = None, actor: str | None = None) -> SigningKey:
        if isinstance(key, SigningKey):
            return key
        if key is not None:
            return load_signing_key(key, passphrase=passphrase, workspace=self._workspace)
        try:
            return load_signing_key("default", passphrase=passphrase, workspace=self._workspace)
        except InputError as exc:
            if exc.details.get("code") != "SG-KEY-NOT-FOUND":
                raise
        try:
            info = create_key("default", workspace=self._workspace)
        except OutputError:  # made meanwhile by another process
            return load_signing_key("default", passphrase=passphrase, workspace=self._workspace)
        if conn is not None:
            chain.append(conn, action="key create", params={"name": info.name, "key_id": info.key_id}, actor=actor)
        else:
            self.append("key create", params={"name": info.name, "key_id": info.key_id}, actor=actor)
        return load_signing_key("default", workspace=self._workspace)

    def _checkpoint(self, conn: Connection, signer: SigningKey, *, actor: str | None) -> cps.Checkpoint:
        last = cps.latest(conn)
        leaves = chain.leaf_hashes(conn)
        start = 0
        if last is not None:
            if last.size > len(leaves) or root(leaves[: last.size]).hex() != last.root:
                raise IntegrityError(f"the log no longer matches checkpoint {last.id}; refusing to sign a new one",
                                     hint="run `synthgov audit verify` to find the altered event",
                                     details={"checkpoint": last.id})
            start = last.size
        _check_tail(conn, start, leaves)
        cp = cps.sign(size=len(leaves), root=root(leaves).hex(), key=signer, seq=cps.next_seq(conn))
        cps.store(conn, cp)
        return cp

    # ------------------------------------------------------------------ verifying
    def verify(self, *, checkpoint=None, keys: Iterable[PublicKey] | None = None) -> VerifyReport:
        """Check every event, the chain links and every checkpoint (plus ``checkpoint``, e.g. an exported one).

        Checkpoints are checked against ``keys`` (default: the workspace's trusted keys). A log
        shorter than a checkpoint (truncated) or whose prefix no longer has the checkpoint's
        root fails, naming the first event that cannot be confirmed.
        """
        trusted = _resolve_keys(keys, self._workspace)
        with self._reader() as conn:
            count, leaves, problem = chain.check_rows(conn)
            stored = cps.all_checkpoints(conn)
            total = max(chain.size(conn), count)
            extra = [] if checkpoint is None else [cps.resolve(conn, checkpoint)]
        head = root(leaves).hex()
        base = {"size": total, "verified": len(leaves), "root": head, "checkpoints": 0}
        if problem is not None:
            return VerifyReport(ok=False, first_bad=problem.index, reason=problem.reason, **base)
        confirmed = 0  # events covered by a checkpoint that matched
        for cp in sorted([*stored, *extra], key=lambda c: c.size):
            try:
                cps.verify_signature(cp, trusted)
            except IntegrityError as exc:
                return VerifyReport(ok=False, reason=exc.message, key_id=cp.key_id, **base)
            if cp.size > len(leaves):
                return VerifyReport(ok=False, first_bad=len(leaves),
                                    reason=f"checkpoint {cp.id} covers {cp.size} events but the log holds "
                                           f"{len(leaves)} (events were removed)", **base)
            if root(leaves[: cp.size]).hex() != cp.root:
                return VerifyReport(ok=False, first_bad=confirmed,
                                    reason=f"events {confirmed}..{cp.size - 1} do not match checkpoint {cp.id} "
                                           "(the log was rewritten)", **base)
            confirmed = cp.size
            base["checkpoints"] += 1
        return VerifyReport(ok=True, **base)

    # ------------------------------------------------------------------ proofs
    def _covering(self, conn: Connection, checkpoint, index: int) -> cps.Checkpoint:
        if checkpoint is None:
            cp = cps.latest(conn)
            if cp is None or cp.size <= index:
                raise NotFoundError(f"no checkpoint covers event {index} yet",
                                    hint="make one with `synthgov audit checkpoint` (or Ledger.checkpoint())",
                                    details={"index": index})
            return cp
        return cps.resolve(conn, checkpoint)

    def _leaves_for(self, conn: Connection, cp: cps.Checkpoint) -> list[bytes]:
        leaves = chain.leaf_hashes(conn, upto=cp.size)
        if len(leaves) < cp.size or root(leaves).hex() != cp.root:
            raise IntegrityError(f"the log no longer matches checkpoint {cp.id}",
                                 hint="run `synthgov audit verify` to find the altered event",
                                 details={"checkpoint": cp.id})
        return leaves

    def prove(self, index: int, *, checkpoint=None, keys: Iterable[PublicKey] | None = None) -> InclusionProof:
        """An inclusion proof of event ``index`` against ``checkpoint`` (default: the latest), verified."""
        trusted = _resolve_keys(keys, self._workspace)
        with self._reader() as conn:
            event = chain.get_event(conn, index)
            cp = self._covering(conn, checkpoint, index)
            cps.verify_signature(cp, trusted)
            if index >= cp.size:
                raise IntegrityError(f"event {index} is not covered by checkpoint {cp.id} ({cp.size} events)",
                                     hint="prove it against a newer checkpoint",
                                     details={"index": index, "checkpoint": cp.id})
            leaves = self._leaves_for(conn, cp)
        path = tuple(p.hex() for p in inclusion_proof(leaves, index=index))
        return verify_inclusion_proof(InclusionProof(event=event, path=path, checkpoint=cp), trusted)

    def consistency(self, old, new, *, keys: Iterable[PublicKey] | None = None) -> ConsistencyProof:
        """A consistency proof that checkpoint ``old``'s log is a prefix of checkpoint ``new``'s, verified."""
        trusted = _resolve_keys(keys, self._workspace)
        with self._reader() as conn:
            first, second = cps.resolve(conn, old), cps.resolve(conn, new)
            for cp in (first, second):
                cps.verify_signature(cp, trusted)
            if first.size > second.size:
                raise IntegrityError(f"checkpoint {first.id} ({first.size} events) is larger than {second.id} "
                                     f"({second.size}): a log cannot shrink", hint="give the older checkpoint first",
                                     details={"old_size": first.size, "new_size": second.size})
            leaves = self._leaves_for(conn, second)
        path = tuple(p.hex() for p in consistency_proof(leaves, old_size=first.size))
        return verify_consistency_proof(ConsistencyProof(old=first, new=second, path=path), trusted)

    def export(self, record_id: str, *, checkpoint=None, keys: Iterable[PublicKey] | None = None) -> dict[str, Any]:
        """The trail of one record: every event touching it or its ancestors, with inclusion proofs.

        The proofs are against ``checkpoint`` (default: the latest), which must cover them all.
        Check the result with :func:`synthgov.ledger.verify_trail`.
        """
        from ..catalog.models import EventSubject

        trusted = _resolve_keys(keys, self._workspace)
        with self._reader() as conn:
            records = self._ancestors(conn, record_id) if self._ancestors else [record_id]
            indexes = sorted(set(conn.execute(select(EventSubject.event_idx)
                                              .where(EventSubject.record_id.in_(records))).scalars()))
            if not indexes:
                raise NotFoundError(f"no ledger event touches {record_id!r}")
            cp = self._covering(conn, checkpoint, indexes[-1])
            cps.verify_signature(cp, trusted)
            if indexes[-1] >= cp.size:
                raise IntegrityError(f"checkpoint {cp.id} does not cover event {indexes[-1]} of this trail",
                                     hint="make a newer one with `synthgov audit checkpoint`")
            leaves = self._leaves_for(conn, cp)
            events = [chain.get_event(conn, i) for i in indexes]
        items = []
        for event in events:
            path = [p.hex() for p in inclusion_proof(leaves, index=event.index)]
            items.append({"index": event.index, "leaf_hash": event.hash, "event": event.to_dict(), "path": path})
        signer = next((k for k in trusted if k.key_id == cp.key_id), None)
        return {"type": TRAIL_TYPE, "record": record_id, "records": records, "checkpoint": cp.to_dict(),
                "public_key": signer.pem() if signer else None, "events": items}


def _check_tail(conn: Connection, start: int, leaves: list[bytes]) -> None:
    """Verify stored events from ``start`` on (their bodies, hashes and links) before signing over them."""
    from ..catalog.models import EventRow

    prev = leaves[start - 1].hex() if start else chain.GENESIS
    rows = conn.execute(select(EventRow).where(EventRow.idx >= start).order_by(EventRow.idx)).all()
    for offset, row in enumerate(rows):
        problem = chain.row_problem(row._mapping, expected_index=start + offset, expected_prev=prev)
        if problem:
            raise IntegrityError(f"event {start + offset} does not verify ({problem}); refusing to sign a checkpoint",
                                 details={"index": start + offset})
        prev = row.hash
