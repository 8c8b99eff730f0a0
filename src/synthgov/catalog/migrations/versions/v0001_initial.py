"""The first catalog schema: ledger events and checkpoints, sources, synthesizers, datasets, releases,
evaluations, lineage edges.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _record_columns() -> list[sa.Column]:
    return [sa.Column("id", sa.String(128), primary_key=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("created", sa.String(40), nullable=False),
            sa.Column("event_index", sa.Integer, sa.ForeignKey("events.idx"), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("idx", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("time", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.UniqueConstraint("prev_hash"),
        sa.UniqueConstraint("hash"),
    )
    op.create_index("ix_events_action", "events", ["action"])
    op.create_table(
        "event_subjects",
        sa.Column("event_idx", sa.Integer, sa.ForeignKey("events.idx"), primary_key=True),
        sa.Column("record_id", sa.String(128), primary_key=True),
    )
    op.create_index("ix_event_subjects_record_id", "event_subjects", ["record_id"])
    op.create_table(
        "checkpoints",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("time", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )
    op.create_index("ix_checkpoints_size", "checkpoints", ["size"])
    op.create_table(
        "sources", *_record_columns(),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("digest_method", sa.Text, nullable=False),
        sa.Column("schema_sha256", sa.String(64)),
        sa.Column("rows", sa.Integer),
        sa.Column("columns", sa.Integer),
        sa.Column("description", sa.Text),
        sa.UniqueConstraint("sha256"),
    )
    op.create_table(
        "synthesizers", *_record_columns(),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("privacy", sa.JSON),
        sa.Column("model_sha256", sa.String(64)),
        sa.Column("path", sa.Text),
    )
    op.create_index("ix_synthesizers_model_sha256", "synthesizers", ["model_sha256"])
    op.create_table(
        "datasets", *_record_columns(),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("columns", sa.Integer, nullable=False),
        sa.Column("made_by", sa.String(128), sa.ForeignKey("synthesizers.id")),
        sa.Column("synthetic_share", sa.Float, nullable=False),
        sa.Column("path", sa.Text),
        sa.UniqueConstraint("sha256"),
    )
    op.create_table(
        "releases", *_record_columns(),
        sa.Column("path", sa.Text),
        sa.Column("files", sa.JSON, nullable=False),
        sa.Column("dataset_id", sa.String(128), sa.ForeignKey("datasets.id"), nullable=False),
        sa.Column("synthesizer_id", sa.String(128), sa.ForeignKey("synthesizers.id")),
        sa.Column("mode", sa.String(40), nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("training_synthetic_share", sa.Float, nullable=False),
        sa.Column("override_reason", sa.Text),
    )
    op.create_table(
        "evaluations", *_record_columns(),
        sa.Column("report_sha256", sa.String(64), nullable=False),
        sa.Column("real_id", sa.String(128), nullable=False),
        sa.Column("synthetic_id", sa.String(128), nullable=False),
        sa.Column("holdout_id", sa.String(128)),
        sa.Column("verdict", sa.String(40)),
        sa.Column("summary", sa.JSON, nullable=False),
    )
    op.create_table(
        "edges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("child", sa.String(128), nullable=False),
        sa.Column("parent", sa.String(128), nullable=False),
        sa.Column("relation", sa.String(40), nullable=False),
        sa.Column("rows", sa.Integer),
        sa.Column("event_index", sa.Integer, sa.ForeignKey("events.idx"), nullable=False),
        sa.UniqueConstraint("child", "parent", "relation", name="uq_edges"),
    )
    op.create_index("ix_edges_child", "edges", ["child"])
    op.create_index("ix_edges_parent", "edges", ["parent"])


def downgrade() -> None:
    for table in ("edges", "evaluations", "releases", "datasets", "synthesizers", "sources", "checkpoints",
                  "event_subjects", "events"):
        op.drop_table(table)
