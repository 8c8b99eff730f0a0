"""One catalog write: records and their ledger events in a single serialised transaction.

Every ``add_*`` inserts the record and appends the event that records it (the event's
``params["record"]`` names the record, the record's ``event_index`` names the event), so
after a crash either both exist or neither does.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from ..errors import CatalogError, NotFoundError, ParameterError
from ..ledger import chain
from ..ledger.events import Event
from . import records as rec
from .models import DatasetRow, EdgeRow, EvaluationRow, ReleaseRow, SourceRow, SynthesizerRow

__all__ = ["CatalogSession"]

_SHA = re.compile(r"^[0-9a-f]{64}\Z")
_RELEASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")


def _sha(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _SHA.match(value.lower()):
        raise ParameterError(f"{name} must be a 64-character sha256 hex digest, got {value!r}",
                             details={"parameter": name})
    return value.lower()


def _text(value: Any, name: str, *, optional: bool = False, limit: int = 200) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ParameterError(f"{name} must be non-empty text of at most {limit} characters, got {value!r}",
                             details={"parameter": name})
    return value


def _count(value: Any, name: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParameterError(f"{name} must be an integer >= 0, got {value!r}", details={"parameter": name})
    return int(value)


def _share(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 1:
        raise ParameterError(f"{name} must be a number between 0 and 1, got {value!r}", details={"parameter": name})
    return float(value)


def _path(value: Any) -> str | None:
    return None if value is None else str(value)


class CatalogSession:
    """Adds records and events inside one open write transaction (use ``Catalog.session()``)."""

    def __init__(self, conn: Connection, *, actor: str | None):
        self._conn = conn
        self.actor = actor
        self.events: list[Event] = []

    # ------------------------------------------------------------------ reading inside the transaction
    def get(self, record_id: str) -> rec.Record:
        """A record, including those added earlier in this session (NotFoundError when unknown)."""
        return rec.get_record(self._conn, record_id)

    def find_dataset(self, sha256: str) -> rec.Record | None:
        """A source or synthetic dataset by content digest, including those added in this session."""
        if not isinstance(sha256, str):
            raise ParameterError(f"sha256 must be a hex digest, got {type(sha256).__name__}")
        return rec.find_dataset(self._conn, sha256)

    def generation(self, record_id: str) -> int | None:
        """As :meth:`Catalog.generation`, seeing this session's additions."""
        return rec.generation(self._conn, record_id)

    def training_synthetic_share(self, synthesizer_id: str) -> float:
        """As :meth:`Catalog.training_synthetic_share`, seeing this session's additions."""
        return rec.training_synthetic_share(self._conn, synthesizer_id)

    # ------------------------------------------------------------------ helpers
    def log(self, action: str, *, params: Mapping[str, Any] | None = None, inputs: Iterable[str] | None = None,
            outputs: Iterable[str] | None = None, subjects: Iterable[str] | None = None) -> Event:
        """Append an event with no catalog row (e.g. ``verify``); returns it."""
        event = chain.append(self._conn, action=action, params=params, inputs=inputs, outputs=outputs,
                             subjects=subjects, actor=self.actor)
        self.events.append(event)
        return event

    def _require(self, record_id: Any, name: str, kinds: tuple[str, ...]) -> rec.Record:
        record = rec.find_record(self._conn, _text(record_id, name, limit=128))
        if record is None:
            raise NotFoundError(f"{name}: no catalog record {record_id!r}", hint="register it first",
                                details={"id": record_id, "parameter": name})
        if record.kind not in kinds:
            raise ParameterError(f"{name} must be a {' or '.join(kinds)} id, got the {record.kind} {record_id!r}",
                                 details={"parameter": name})
        return record

    def _digest(self, record: rec.Record) -> str:
        """The content sha256 a record stands for (a release: its dataset's)."""
        if record.kind == "release":
            record = rec.get_record(self._conn, record.dataset_id)
        return {"source": lambda r: r.sha256, "dataset": lambda r: r.sha256,
                "synthesizer": lambda r: r.model_sha256, "evaluation": lambda r: r.report_sha256}[record.kind](record)

    def _event(self, action: str, record_id: str, params: dict, *, inputs=(), outputs=(), parents=()) -> Event:
        return self.log(action, params={"record": record_id, **params}, inputs=[i for i in inputs if i],
                        outputs=[o for o in outputs if o], subjects=[record_id, *[p for p in parents if p]])

    def _edges(self, child: str, edges: list[tuple[str, str, int | None]], event: Event) -> None:
        for parent, relation, rows in edges:
            exists = self._conn.execute(select(EdgeRow.id).where(EdgeRow.child == child, EdgeRow.parent == parent,
                                                                 EdgeRow.relation == relation)).first()
            if exists is None:
                self._conn.execute(insert(EdgeRow).values(child=child, parent=parent, relation=relation, rows=rows,
                                                          event_index=event.index))

    # ------------------------------------------------------------------ records
    def add_source(self, fingerprint, *, action: str = "read source") -> str:
        """Register a real dataset by its fingerprint (a SourceFingerprint or its dict); idempotent on sha256."""
        fp = fingerprint.to_dict() if hasattr(fingerprint, "to_dict") else fingerprint
        if not isinstance(fp, Mapping):
            raise ParameterError(f"fingerprint must be a SourceFingerprint or its dict, got {type(fingerprint).__name__}")
        sha = _sha(fp.get("sha256"), "fingerprint.sha256")
        values = {"name": _text(fp.get("name") or "source", "fingerprint.name"),
                  "digest_method": _text(fp.get("digest_method") or "file-sha256", "fingerprint.digest_method", limit=400),
                  "schema_sha256": None if fp.get("schema_sha256") is None else _sha(fp["schema_sha256"], "schema_sha256"),
                  "rows": _count(fp.get("rows"), "fingerprint.rows", optional=True),
                  "columns": _count(fp.get("columns"), "fingerprint.columns", optional=True),
                  "description": _text(fp.get("description"), "fingerprint.description", optional=True, limit=4000)}
        existing = self._conn.execute(select(SourceRow.id).where(SourceRow.sha256 == sha)).scalar()
        record_id = existing or f"src_{sha[:24]}"
        event = self._event(action, record_id, {"kind": "source", "new": existing is None, "sha256": sha, **values},
                            inputs=[sha])
        if existing is None:
            self._conn.execute(insert(SourceRow).values(id=record_id, sha256=sha, created=event.time,
                                                        event_index=event.index, **values))
        return record_id

    def add_dataset(self, *, sha256: str, name: str, rows: int, columns: int, made_by: str | None = None,
                    synthetic_share: float = 1.0, path=None, action: str | None = None) -> str:
        """Register a synthetic (or hybrid) table by content digest; idempotent on sha256. Returns ``ds_…``."""
        sha = _sha(sha256, "sha256")
        values = {"name": _text(name, "name"), "rows": _count(rows, "rows"), "columns": _count(columns, "columns"),
                  "synthetic_share": _share(synthetic_share, "synthetic_share"), "path": _path(path)}
        maker = None if made_by is None else self._require(made_by, "made_by", ("synthesizer",))
        values["made_by"] = None if maker is None else maker.id
        existing = self._conn.execute(select(DatasetRow.id).where(DatasetRow.sha256 == sha)).scalar()
        record_id = existing or f"ds_{sha[:24]}"
        event = self._event(action or ("sample" if maker else "catalog change"), record_id,
                            {"kind": "dataset", "new": existing is None, "sha256": sha, **values},
                            inputs=[maker.model_sha256] if maker else [], outputs=[sha],
                            parents=[values["made_by"]])
        if existing is None:
            self._conn.execute(insert(DatasetRow).values(id=record_id, sha256=sha, created=event.time,
                                                         event_index=event.index, **values))
            if maker is not None:
                self._edges(record_id, [(maker.id, "made_by", None)], event)
        return record_id

    def add_synthesizer(self, *, name: str, params: Mapping[str, Any] | None = None,
                        trained_on: Iterable[str] = (), privacy: Mapping[str, Any] | None = None,
                        model_sha256: str | None = None, path=None, action: str = "fit") -> str:
        """Register a fitted synthesizer and what it was trained on. Returns ``syn_…`` (idempotent on model_sha256)."""
        if isinstance(trained_on, str):
            trained_on = [trained_on]
        inputs = [self._require(t, "trained_on", ("source", "dataset", "release")) for t in trained_on]
        model = None if model_sha256 is None else _sha(model_sha256, "model_sha256")
        for value, what in ((params, "params"), (privacy, "privacy")):
            if value is not None and not isinstance(value, Mapping):
                raise ParameterError(f"{what} must be a mapping, got {type(value).__name__}")
        values = {"name": _text(name, "name"), "params": dict(params or {}),
                  "privacy": None if privacy is None else dict(privacy), "model_sha256": model, "path": _path(path)}
        existing = None
        if model is not None:
            existing = self._conn.execute(select(SynthesizerRow.id).where(SynthesizerRow.model_sha256 == model)).scalar()
        record_id = existing or f"syn_{secrets.token_hex(12)}"
        edges = [(r.id, "trained_on", rec._synthetic_rows(self._conn, r.id)[0] or None) for r in inputs]
        event = self._event(action, record_id, {"kind": "synthesizer", "new": existing is None,
                                                "trained_on": [r.id for r in inputs], **values},
                            inputs=[self._digest(r) for r in inputs], outputs=[model] if model else [],
                            parents=[r.id for r in inputs])
        if existing is None:
            row = {**values, "params": event.params["params"], "privacy": event.params["privacy"]}
            self._conn.execute(insert(SynthesizerRow).values(id=record_id, created=event.time,
                                                             event_index=event.index, **row))
            self._edges(record_id, edges, event)
        return record_id

    def add_release(self, *, release_id: str, path=None, files: Mapping[str, str], dataset: str,
                    synthesizer: str | None = None, mode: str = "full", generation: int | None = None,
                    training_synthetic_share: float | None = None, override_reason: str | None = None,
                    name: str | None = None, action: str = "package") -> str:
        """Register a packaged release (its files by sha256). Returns ``release_id``."""
        if not isinstance(release_id, str) or not _RELEASE_ID.match(release_id):
            raise ParameterError(f"release_id must be 1-128 letters, digits, '.', '_', ':' or '-', got {release_id!r}")
        if rec.find_record(self._conn, release_id) is not None:
            raise CatalogError(f"the catalog already holds a record {release_id!r}",
                               hint="a release id names one release; package under a new id",
                               details={"code": "SG-CATALOG-WRITE", "id": release_id})
        if not isinstance(files, Mapping) or not files:
            raise ParameterError("files must map each file name in the release to its sha256")
        digests = {str(k): _sha(v, f"files[{k!r}]") for k, v in files.items()}
        ds = self._require(dataset, "dataset", ("dataset",))
        syn = None if synthesizer is None else self._require(synthesizer, "synthesizer", ("synthesizer",))
        computed = rec.generation(self._conn, ds.id)
        share = rec.training_synthetic_share(self._conn, syn.id) if syn else 0.0
        values = {"name": _text(name or release_id, "name"), "path": _path(path), "files": digests,
                  "dataset_id": ds.id, "synthesizer_id": None if syn is None else syn.id,
                  "mode": _text(mode, "mode", limit=40),
                  "generation": computed if generation is None else _count(generation, "generation"),
                  "training_synthetic_share": share if training_synthetic_share is None
                  else _share(training_synthetic_share, "training_synthetic_share"),
                  "override_reason": _text(override_reason, "override_reason", optional=True, limit=4000)}
        event = self._event(action, release_id, {"kind": "release", **values}, inputs=[ds.sha256],
                            outputs=sorted(set(digests.values())), parents=[ds.id, values["synthesizer_id"]])
        self._conn.execute(insert(ReleaseRow).values(id=release_id, created=event.time, event_index=event.index,
                                                     **values))
        edges = [(ds.id, "contains", ds.rows)] + ([(syn.id, "made_by", None)] if syn else [])
        self._edges(release_id, edges, event)
        return release_id

    def add_evaluation(self, *, report_sha256: str, real: str, synthetic: str, holdout: str | None = None,
                       verdict: str | None = None, summary: Mapping[str, Any] | None = None,
                       name: str = "evaluation", action: str = "evaluate") -> str:
        """Register an evaluation report of ``synthetic`` against ``real`` (and ``holdout``). Returns ``eval_…``."""
        tables = ("source", "dataset", "release")
        parts = {"real": self._require(real, "real", tables), "synthetic": self._require(synthetic, "synthetic", tables)}
        if holdout is not None:
            parts["holdout"] = self._require(holdout, "holdout", tables)
        if summary is not None and not isinstance(summary, Mapping):
            raise ParameterError(f"summary must be a mapping, got {type(summary).__name__}")
        values = {"name": _text(name, "name"), "report_sha256": _sha(report_sha256, "report_sha256"),
                  "real_id": parts["real"].id, "synthetic_id": parts["synthetic"].id,
                  "holdout_id": parts["holdout"].id if "holdout" in parts else None,
                  "verdict": _text(verdict, "verdict", optional=True, limit=40), "summary": dict(summary or {})}
        record_id = f"eval_{secrets.token_hex(12)}"
        event = self._event(action, record_id, {"kind": "evaluation", **values},
                            inputs=[self._digest(r) for r in parts.values()], outputs=[values["report_sha256"]],
                            parents=[r.id for r in parts.values()])
        self._conn.execute(insert(EvaluationRow).values(id=record_id, created=event.time, event_index=event.index,
                                                        **{**values, "summary": event.params["summary"]}))
        self._edges(record_id, [(r.id, rel, None) for rel, r in parts.items()], event)
        return record_id


