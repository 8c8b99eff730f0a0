"""The catalog's tables (SQLAlchemy 2 typed models) — the ledger's events and checkpoints included.

One metadata for everything the catalog database holds, so that a single Alembic
history creates and upgrades it. Catalog rows keep fingerprints, never content:
a source is its sha256, schema hash and shape.

Every catalog row names the ledger event that created it (``event_index``, a
foreign key), and the events name the records they touch (``event_subjects``),
so a row without its event cannot exist, and the reverse is checkable.

>>> sorted(Base.metadata.tables)[:3]
['checkpoints', 'datasets', 'edges']
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "EventRow", "EventSubject", "CheckpointRow", "SourceRow", "DatasetRow", "SynthesizerRow",
           "ReleaseRow", "EvaluationRow", "EdgeRow", "KIND_TABLES"]


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class EventRow(Base):
    """One ledger event. ``body`` is its canonical JSON; ``hash`` = RFC 9162 leaf hash of ``body`` (hex)."""

    __tablename__ = "events"
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[str] = mapped_column(Text)


class EventSubject(Base):
    """Which catalog records an event touches (a lookup index; the event body is authoritative)."""

    __tablename__ = "event_subjects"
    event_idx: Mapped[int] = mapped_column(ForeignKey("events.idx"), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)


class CheckpointRow(Base):
    """A signed tree head: ``body`` is canonical JSON {size, root, time, key_id}; ``signature`` hex Ed25519."""

    __tablename__ = "checkpoints"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(Integer, index=True)
    root: Mapped[str] = mapped_column(String(64))
    time: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(128))


class _Record:
    """Columns every catalog record has."""

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created: Mapped[str] = mapped_column(String(40))
    event_index: Mapped[int] = mapped_column(ForeignKey("events.idx"))


class SourceRow(_Record, Base):
    """A real dataset, by fingerprint only."""

    __tablename__ = "sources"
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    digest_method: Mapped[str] = mapped_column(Text)
    schema_sha256: Mapped[str | None] = mapped_column(String(64))
    rows: Mapped[int | None] = mapped_column(Integer)
    columns: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)


class SynthesizerRow(_Record, Base):
    """A fitted (saved) synthesizer; what it was trained on lives in ``edges``."""

    __tablename__ = "synthesizers"
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    privacy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    model_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    path: Mapped[str | None] = mapped_column(Text)


class DatasetRow(_Record, Base):
    """A synthetic (or hybrid) table, by digest; ``made_by`` the synthesizer that sampled it."""

    __tablename__ = "datasets"
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    rows: Mapped[int] = mapped_column(Integer)
    columns: Mapped[int] = mapped_column(Integer)
    made_by: Mapped[str | None] = mapped_column(ForeignKey("synthesizers.id"))
    synthetic_share: Mapped[float] = mapped_column(Float)
    path: Mapped[str | None] = mapped_column(Text)


class ReleaseRow(_Record, Base):
    """A packaged, signed release directory."""

    __tablename__ = "releases"
    path: Mapped[str | None] = mapped_column(Text)
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    synthesizer_id: Mapped[str | None] = mapped_column(ForeignKey("synthesizers.id"))
    mode: Mapped[str] = mapped_column(String(40))
    generation: Mapped[int] = mapped_column(Integer)
    training_synthetic_share: Mapped[float] = mapped_column(Float)
    override_reason: Mapped[str | None] = mapped_column(Text)


class EvaluationRow(_Record, Base):
    """An evaluation report of a synthetic table against real data."""

    __tablename__ = "evaluations"
    report_sha256: Mapped[str] = mapped_column(String(64))
    real_id: Mapped[str] = mapped_column(String(128))
    synthetic_id: Mapped[str] = mapped_column(String(128))
    holdout_id: Mapped[str | None] = mapped_column(String(128))
    verdict: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


class EdgeRow(Base):
    """A lineage edge: ``child`` was derived from ``parent`` (``relation``: trained_on, made_by, contains, ...)."""

    __tablename__ = "edges"
    __table_args__ = (UniqueConstraint("child", "parent", "relation", name="uq_edges"),
                      Index("ix_edges_parent", "parent"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    child: Mapped[str] = mapped_column(String(128), index=True)
    parent: Mapped[str] = mapped_column(String(128))
    relation: Mapped[str] = mapped_column(String(40))
    rows: Mapped[int | None] = mapped_column(Integer)
    event_index: Mapped[int] = mapped_column(ForeignKey("events.idx"))


#: record kind -> (table row class, id prefix)
KIND_TABLES: dict[str, type] = {"source": SourceRow, "dataset": DatasetRow, "synthesizer": SynthesizerRow,
                                "release": ReleaseRow, "evaluation": EvaluationRow}
