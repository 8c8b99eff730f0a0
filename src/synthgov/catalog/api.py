"""The catalog: what synthgov made, from what, by whom — with every change in the ledger.

>>> import tempfile
>>> from synthgov.catalog import open_catalog
>>> cat = open_catalog(workspace=tempfile.mkdtemp())
>>> with cat.session(actor="ann@lab") as s:
...     src = s.add_source({"name": "payroll", "sha256": "a" * 64, "rows": 1000, "columns": 5})
...     syn = s.add_synthesizer(name="copula", params={"seed": 0}, trained_on=[src])
...     ds = s.add_dataset(sha256="b" * 64, name="payroll-synth", rows=1000, columns=5, made_by=syn)
>>> cat.generation(ds), cat.generation(src), cat.get(ds).made_by == syn
(1, 0, True)
>>> cat.ledger.size(), cat.ledger.event(2).action, cat.ledger.verify().ok
(3, 'sample', True)
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ..errors import CatalogError, NotFoundError, ParameterError, SynthgovError
from ..ledger.core import CHECKPOINT_EVERY_ENV, Ledger
from ..workspace import Workspace
from . import records as rec
from .db import make_engine, read_connection, resolve_url, sqlite_path, unreachable, write_transaction
from .models import KIND_TABLES, EventRow
from .schema import ensure_schema
from .session import CatalogSession

__all__ = ["Catalog", "open_catalog", "DEFAULT_CHECKPOINT_EVERY"]

#: Sign a checkpoint each time the ledger grows past a multiple of this many events.
DEFAULT_CHECKPOINT_EVERY = 100


def _every(value: int | None) -> int | None:
    if value is None:
        env = os.environ.get(CHECKPOINT_EVERY_ENV, "").strip()
        if not env:
            return DEFAULT_CHECKPOINT_EVERY
        try:
            value = int(env)
        except ValueError:
            raise ParameterError(f"{CHECKPOINT_EVERY_ENV} must be an integer, got {env!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParameterError(f"checkpoint_every must be an integer >= 0 (0: only on demand), got {value!r}")
    return value or None


class Catalog:
    """An open catalog database (see :func:`open_catalog`)."""

    def __init__(self, *, url: str, workspace: Workspace, checkpoint_every: int | None):
        self.url = url
        self.workspace = workspace
        self._engine = make_engine(url)
        self._local = threading.local()
        self.ledger = Ledger(engine=self._engine, url=url, workspace=workspace, checkpoint_every=checkpoint_every,
                             writer=self._writer, reader=self._reader, ancestors=rec.ancestors)

    def __repr__(self) -> str:
        return f"Catalog({self._engine.url.render_as_string(hide_password=True)!r})"

    @contextlib.contextmanager
    def _writer(self):
        if getattr(self._local, "writing", False):
            raise CatalogError("a catalog session is already open in this thread; a second write would wait for it "
                               "forever", hint="record through the open session (s.log(...), s.add_...)",
                               details={"code": "SG-CATALOG-WRITE"})
        self._local.writing = True
        try:
            with write_transaction(self._engine, self.url) as conn:
                yield conn
        except SynthgovError:
            raise
        except DBAPIError as exc:
            if exc.connection_invalidated or "could not connect" in str(exc.orig):
                raise unreachable(self.url, exc) from None
            raise CatalogError(f"the catalog refused the change: {' '.join(str(exc.orig).split())[:300]}",
                               hint="nothing was written; retry, or run `synthgov audit verify`",
                               details={"code": "SG-CATALOG-WRITE"}) from None
        finally:
            self._local.writing = False

    @contextlib.contextmanager
    def _reader(self):
        try:
            with read_connection(self._engine, self.url) as conn:
                yield conn
        except SynthgovError:
            raise
        except SQLAlchemyError as exc:
            raise unreachable(self.url, exc) from None

    @contextlib.contextmanager
    def session(self, actor: str | None = None) -> Iterator[CatalogSession]:
        """One transaction: the records added and their ledger events are committed together, or not at all."""
        with self._writer() as conn:
            s = CatalogSession(conn, actor=actor)
            yield s
            self.ledger.checkpoint_if_due(conn, actor=actor)

    # ------------------------------------------------------------------ reading
    def get(self, record_id: str) -> rec.Record:
        """The record ``record_id`` (NotFoundError when unknown)."""
        with self._reader() as conn:
            return rec.get_record(conn, record_id)

    def list(self, kind: str | None = None) -> list[rec.Record]:
        """Every record (of ``kind``: source, dataset, synthesizer, release or evaluation), oldest first."""
        with self._reader() as conn:
            return rec.list_records(conn, kind)

    def find_dataset(self, sha256: str) -> rec.Record | None:
        """A source or synthetic dataset by content digest (None when unknown)."""
        if not isinstance(sha256, str):
            raise ParameterError(f"sha256 must be a hex digest, got {type(sha256).__name__}")
        with self._reader() as conn:
            return rec.find_dataset(conn, sha256)

    def generation(self, record_id: str) -> int | None:
        """Synthetic-on-synthetic depth: 0 real data, 1 synthetic from real, 2 synthetic from that, ..."""
        with self._reader() as conn:
            return rec.generation(conn, record_id)

    def training_synthetic_share(self, synthesizer_id: str) -> float:
        """Row-weighted share of synthetic rows in the synthesizer's training data."""
        with self._reader() as conn:
            return rec.training_synthetic_share(conn, synthesizer_id)

    def lineage(self, record_id: str) -> rec.LineageNode:
        """The tree of what ``record_id`` came from, up to real sources."""
        with self._reader() as conn:
            return rec.lineage(conn, record_id)

    def check(self) -> list[str]:
        """Catalog/ledger pairing problems: a record whose event does not name it, or an event whose record is gone."""
        problems = []
        with self._reader() as conn:
            events = {r.idx: r for r in conn.execute(select(EventRow.idx, EventRow.body)).all()}
            seen = set()
            for kind, table in KIND_TABLES.items():
                for rid, idx in conn.execute(select(table.id, table.event_index)).all():
                    seen.add(rid)
                    if idx not in events or f'"record":"{rid}"' not in events[idx].body:
                        problems.append(f"{kind} {rid} has no event recording it (event {idx})")
            for idx, row in sorted(events.items()):
                record = _record_of(row.body)
                if record is not None and record not in seen:
                    problems.append(f"event {idx} records {record}, which is not in the catalog")
        return problems

    def integrity_check(self) -> list[str]:
        """The database engine's own check (SQLite ``PRAGMA integrity_check``); empty when fine."""
        if self._engine.dialect.name != "sqlite":
            return []
        with self._reader() as conn:
            rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").all()]
        return [] if rows == ["ok"] else rows

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()


def _record_of(body: str) -> str | None:
    import json

    try:
        params = json.loads(body).get("params", {})
    except (ValueError, AttributeError):
        return None
    return params.get("record") if isinstance(params, dict) and isinstance(params.get("record"), str) else None


def open_catalog(url: str | None = None, *, workspace=None, checkpoint_every: int | None = None,
                 create: bool = True) -> Catalog:
    """Open (creating or upgrading) the catalog at ``url`` (default: ``$SYNTHGOV_DB``, else the workspace's SQLite file).

    ``checkpoint_every``: sign a checkpoint each time the ledger passes a multiple of this many
    events (default ``$SYNTHGOV_CHECKPOINT_EVERY`` or 100; 0 = only on demand). Errors:
    :class:`~synthgov.errors.CatalogError` with ``details["code"]`` ``SG-CATALOG-UNREACHABLE``,
    ``SG-CATALOG-NEWER`` or ``SG-CATALOG-URL``. With ``create=False`` a missing SQLite file is a
    :class:`~synthgov.errors.NotFoundError` instead of a new, empty catalog (read-only commands).
    """
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    resolved = resolve_url(url, workspace=ws)
    path = sqlite_path(resolved)
    if path is not None and not create and not path.is_file():
        raise NotFoundError(f"there is no catalog at {path} yet",
                            hint="synthgov creates it when it first records something (generate, package, "
                                 "`synthgov audit checkpoint`); or set SYNTHGOV_DB / SYNTHGOV_HOME",
                            details={"path": str(path)})
    if path is not None and url is None and not os.environ.get("SYNTHGOV_DB"):
        ws.root.mkdir(parents=True, exist_ok=True)  # the default catalog lives in the workspace
    if path is not None and not path.parent.is_dir():
        raise CatalogError(f"the catalog database {path} cannot be reached: its folder does not exist",
                           hint="create the folder, or set SYNTHGOV_DB to another URL",
                           details={"code": "SG-CATALOG-UNREACHABLE", "url": resolved})
    catalog = Catalog(url=resolved, workspace=ws, checkpoint_every=_every(checkpoint_every))
    try:
        ensure_schema(catalog._engine, resolved)
    except SynthgovError:
        catalog.close()
        raise
    except SQLAlchemyError as exc:
        catalog.close()
        raise unreachable(resolved, exc) from None
    return catalog
