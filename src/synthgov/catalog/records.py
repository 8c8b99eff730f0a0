"""Reading the catalog: records, lineage, generation depth and synthetic shares.

Functions take a connection inside a transaction. The lineage graph points from a
record to what it came from: a synthetic dataset to the synthesizer that sampled it
(``made_by``), a synthesizer to what it was trained on (``trained_on``), a release to
its dataset (``contains``) and synthesizer (``made_by``), an evaluation to the tables
it compared (``real``, ``synthetic``, ``holdout``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..errors import LineageDepthError, NotFoundError, ParameterError
from .models import KIND_TABLES, DatasetRow, EdgeRow, SourceRow

__all__ = ["Record", "LineageNode", "get_record", "find_record", "list_records", "parents", "generation",
           "training_synthetic_share", "lineage", "ancestors", "KINDS", "MAX_DEPTH"]

KINDS = tuple(KIND_TABLES)
#: Longest lineage chain followed (a guard; real chains are a few hops).
MAX_DEPTH = 256
_COMMON = ("id", "name", "created", "event_index")

@dataclasses.dataclass(frozen=True)
class Record:
    """One catalog record: ``id``, ``kind``, ``name``, ``created`` and its kind's ``fields`` (also as attributes)."""

    id: str
    kind: str
    name: str
    created: str
    event_index: int
    fields: dict[str, Any]

    def __getattr__(self, item: str) -> Any:
        fields = self.__dict__.get("fields", {})
        if item in fields:
            return fields[item]
        raise AttributeError(item)

    def __getitem__(self, item: str) -> Any:
        return self.to_dict()[item]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name, "created": self.created,
                "event_index": self.event_index, **self.fields}

def _record(kind: str, row) -> Record:
    data = dict(row._mapping)
    return Record(id=data["id"], kind=kind, name=data["name"], created=data["created"],
                  event_index=data["event_index"], fields={k: v for k, v in data.items() if k not in _COMMON})

def find_record(conn: Connection, record_id: str) -> Record | None:
    if not isinstance(record_id, str):
        raise ParameterError(f"a catalog id is text, got {type(record_id).__name__}")
    for kind, table in KIND_TABLES.items():
        row = conn.execute(select(table.__table__).where(table.id == record_id)).first()
        if row is not None:
            return _record(kind, row)
    return None

def get_record(conn: Connection, record_id: str) -> Record:
    record = find_record(conn, record_id)
    if record is None:
        raise NotFoundError(f"no catalog record {record_id!r}",
                            hint="`synthgov catalog list` shows the ids", details={"id": record_id})
    return record

def list_records(conn: Connection, kind: str | None = None) -> list[Record]:
    if kind is not None and kind not in KIND_TABLES:
        raise ParameterError(f"unknown record kind {kind!r}", hint=f"use one of: {', '.join(KINDS)}")
    out = []
    for name, table in KIND_TABLES.items():
        if kind in (None, name):
            rows = conn.execute(select(table.__table__).order_by(table.event_index)).all()
            out.extend(_record(name, r) for r in rows)
    return sorted(out, key=lambda r: r.event_index)

def find_dataset(conn: Connection, sha256: str) -> Record | None:
    """A source or synthetic dataset by content digest."""
    for kind, table in (("source", SourceRow), ("dataset", DatasetRow)):
        row = conn.execute(select(table.__table__).where(table.sha256 == sha256.lower())).first()
        if row is not None:
            return _record(kind, row)
    return None

def parents(conn: Connection, record_id: str) -> list[tuple[str, str, int | None]]:
    """(parent id, relation, rows) for each lineage edge out of ``record_id``."""
    rows = conn.execute(select(EdgeRow.parent, EdgeRow.relation, EdgeRow.rows)
                        .where(EdgeRow.child == record_id).order_by(EdgeRow.id)).all()
    return [(r.parent, r.relation, r.rows) for r in rows]

def _trained_on(conn: Connection, synthesizer_id: str) -> list[tuple[str, int | None]]:
    return [(p, n) for p, rel, n in parents(conn, synthesizer_id) if rel == "trained_on"]

def generation(conn: Connection, record_id: str, _depth: int = 0) -> int | None:
    """0 for real data; for synthetic data 1 + the highest generation its synthesizer was trained on.

    A synthesizer's generation is that of its training data; an evaluation has none.
    """
    if _depth > MAX_DEPTH:
        raise LineageDepthError(f"the lineage of {record_id!r} is deeper than {MAX_DEPTH} hops (a cycle?)")
    record = get_record(conn, record_id)
    if record.kind == "source":
        return 0
    if record.kind == "release":
        return generation(conn, record.dataset_id, _depth + 1)
    if record.kind == "synthesizer":
        inputs = _trained_on(conn, record_id)
        return max((generation(conn, p, _depth + 1) or 0 for p, _ in inputs), default=0)
    if record.kind == "dataset":
        if record.made_by is None:
            return 0 if record.synthetic_share == 0 else 1
        return 1 + (generation(conn, record.made_by, _depth + 1) or 0)
    return None

def _synthetic_rows(conn: Connection, record_id: str) -> tuple[float, float]:
    """(rows, synthetic share) of a training input."""
    record = get_record(conn, record_id)
    if record.kind == "release":
        record = get_record(conn, record.dataset_id)
    if record.kind == "source":
        return float(record.rows or 0), 0.0
    if record.kind == "dataset":
        return float(record.rows), float(record.synthetic_share)
    raise ParameterError(f"{record_id!r} is a {record.kind}, not training data")

def training_synthetic_share(conn: Connection, synthesizer_id: str) -> float:
    """Row-weighted share of synthetic rows in what ``synthesizer_id`` was trained on (0.0 when all real)."""
    record = get_record(conn, synthesizer_id)
    if record.kind != "synthesizer":
        raise ParameterError(f"{synthesizer_id!r} is a {record.kind}, not a synthesizer")
    parts = [_synthetic_rows(conn, p) for p, _ in _trained_on(conn, synthesizer_id)]
    if not parts:
        return 0.0
    total = sum(n for n, _ in parts)
    if total <= 0:  # row counts unknown: each input counts once
        return sum(s for _, s in parts) / len(parts)
    return sum(n * s for n, s in parts) / total

@dataclasses.dataclass(frozen=True)
class LineageNode:
    """A node of a lineage tree; ``children`` are what it came from (upward, to real sources)."""

    id: str
    kind: str
    name: str
    generation: int | None
    relation: str | None = None
    children: tuple[LineageNode, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name, "generation": self.generation,
                "relation": self.relation, "children": [c.to_dict() for c in self.children]}

    def walk(self):
        """This node and every node under it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

def lineage(conn: Connection, record_id: str, *, relation: str | None = None, _path: tuple = ()) -> LineageNode:
    """The tree of what ``record_id`` came from."""
    if len(_path) > MAX_DEPTH or record_id in _path:
        raise LineageDepthError(f"the lineage of {_path[0] if _path else record_id!r} loops or is deeper than "
                                f"{MAX_DEPTH} hops")
    record = get_record(conn, record_id)
    kids = tuple(lineage(conn, p, relation=rel, _path=(*_path, record_id)) for p, rel, _ in parents(conn, record_id))
    return LineageNode(id=record.id, kind=record.kind, name=record.name, generation=generation(conn, record_id),
                       relation=relation, children=kids)

def ancestors(conn: Connection, record_id: str) -> list[str]:
    """``record_id`` and every record it came from, nearest first (NotFoundError when unknown)."""
    get_record(conn, record_id)
    seen = [record_id]
    i = 0
    while i < len(seen) and len(seen) < 100_000:
        for parent, _rel, _n in parents(conn, seen[i]):
            if parent not in seen:
                seen.append(parent)
        i += 1
    return seen

