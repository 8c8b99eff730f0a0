"""The hash chain in the database: append an event, read events, check the stored chain.

All functions take a SQLAlchemy connection that is already inside a transaction;
:func:`append` must run inside the serialised write transaction
(:func:`synthgov.catalog.db.write_transaction`), which is what makes concurrent
appends form one linear chain. The ``events`` table's unique constraints on
``idx``, ``prev_hash`` and ``hash`` make a fork impossible even if that lock were
bypassed: the second writer's insert fails and its transaction rolls back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from ..errors import IntegrityError, NotFoundError, ParameterError
from .events import GENESIS, Event
from .merkle import leaf_hash

__all__ = ["append", "size", "head", "get_event", "iter_rows", "leaf_hashes", "check_rows", "row_problem", "ChainProblem"]


def _tables():
    from ..catalog.models import EventRow, EventSubject

    return EventRow, EventSubject


def size(conn: Connection) -> int:
    """Number of events (1 + the highest index; gaps are found by :func:`check_rows`)."""
    EventRow, _ = _tables()
    top = conn.execute(select(func.max(EventRow.idx))).scalar()
    if top is None:
        return 0
    if isinstance(top, int):
        return top + 1
    return int(conn.execute(select(func.count()).select_from(EventRow)).scalar())  # an altered index column


def head(conn: Connection) -> tuple[int, str]:
    """(next index, hash of the last event or GENESIS)."""
    EventRow, _ = _tables()
    row = conn.execute(select(EventRow.idx, EventRow.hash).order_by(EventRow.idx.desc()).limit(1)).first()
    if row is None:
        return 0, GENESIS
    if not isinstance(row.idx, int):
        raise IntegrityError("the ledger's last event has an altered index; refusing to append",
                             hint="run `synthgov audit verify`")
    return row.idx + 1, str(row.hash)


def append(conn: Connection, *, action: str, params: dict[str, Any] | None = None, inputs=None, outputs=None,
           subjects=None, actor: str | None = None) -> Event:
    """Append one event after the current head (inside the caller's write transaction)."""
    EventRow, EventSubject = _tables()
    index, prev = head(conn)
    event = Event.create(index=index, action=action, params=params, inputs=inputs, outputs=outputs,
                         subjects=subjects, actor=actor, prev=prev)
    conn.execute(insert(EventRow).values(idx=event.index, time=event.time, actor=event.actor, action=event.action,
                                         prev_hash=event.prev, hash=event.hash, body=event.body().decode("ascii")))
    if event.subjects:
        conn.execute(insert(EventSubject), [{"event_idx": event.index, "record_id": s} for s in event.subjects])
    return event


def get_event(conn: Connection, index: int) -> Event:
    """The event at ``index``, checked against its stored hash (NotFoundError, IntegrityError)."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ParameterError(f"an event index must be an integer >= 0, got {index!r}")
    EventRow, _ = _tables()
    row = conn.execute(select(EventRow).where(EventRow.idx == index)).first()
    if row is None:
        raise NotFoundError(f"no event {index} in the ledger (it holds {size(conn)})",
                            hint="`synthgov audit verify` shows the ledger's size")
    problem = row_problem(row._mapping, expected_index=index, expected_prev=None)
    if problem:
        raise IntegrityError(f"event {index} does not verify: {problem}", details={"index": index})
    return Event.from_body(row.body)


def iter_rows(conn: Connection, *, batch: int = 2000) -> Iterator[Any]:
    """Stored event rows in index order."""
    EventRow, _ = _tables()
    last = -1
    while True:
        rows = conn.execute(select(EventRow).where(EventRow.idx > last).order_by(EventRow.idx).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].idx


@dataclasses.dataclass(frozen=True)
class ChainProblem:
    """The first event that does not verify, and why."""

    index: int
    reason: str


def row_problem(row, *, expected_index: int, expected_prev: str | None) -> str | None:
    if row["idx"] != expected_index:
        return f"expected event {expected_index}, found event {row['idx']} (an event is missing or out of order)"
    body = row["body"]
    if not isinstance(body, str):
        return "its content is stored with the wrong type"
    try:
        event = Event.from_body(body)
    except IntegrityError as exc:
        return exc.message
    if leaf_hash(body.encode("utf-8", "surrogateescape")).hex() != row["hash"]:
        return "its hash does not match its content"
    if event.index != expected_index:
        return f"its content says it is event {event.index} (events were reordered or renumbered)"
    if expected_prev is not None and event.prev != expected_prev:
        return "it does not link to the event before it (previous hash differs)"
    mirrored = {"time": event.time, "actor": event.actor, "action": event.action, "prev_hash": event.prev}
    for column, value in mirrored.items():
        if row[column] != value:
            return f"its {column} column differs from its content"
    return None


def check_rows(conn: Connection) -> tuple[int, list[bytes], ChainProblem | None]:
    """Walk the whole chain: (events read, leaf hashes of the good prefix, first problem or None)."""
    leaves: list[bytes] = []
    prev = GENESIS
    count = 0
    for row in iter_rows(conn):
        count += 1
        problem = row_problem(row._mapping, expected_index=len(leaves), expected_prev=prev)
        if problem:
            return count, leaves, ChainProblem(index=len(leaves), reason=problem)
        leaves.append(bytes.fromhex(row.hash))
        prev = row.hash
    return count, leaves, None


def leaf_hashes(conn: Connection, *, upto: int | None = None) -> list[bytes]:
    """The stored leaf hashes of events ``0 .. upto-1`` (all when None), unverified."""
    EventRow, _ = _tables()
    query = select(EventRow.hash).order_by(EventRow.idx)
    if upto is not None:
        query = query.where(EventRow.idx < upto)
    out = []
    for i, h in enumerate(conn.execute(query).scalars()):
        try:
            out.append(bytes.fromhex(h))
        except (TypeError, ValueError):
            raise IntegrityError(f"event {i} has a malformed stored hash", hint="run `synthgov audit verify`",
                                 details={"index": i}) from None
    return out
