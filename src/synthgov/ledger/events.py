"""Ledger events: what one step did, in a canonical, hashable form.

An event records who (``actor``), when (UTC ``time``), what (``action`` and its JSON
``params``), the sha256 of what went in and came out, the catalog records it touches
(``subjects``) and the hash of the event before it (``prev``). Its canonical bytes are
compact, key-sorted ASCII JSON; its hash is the RFC 9162 leaf hash of those bytes, so
the hash chain and the Merkle tree share one digest per event.

>>> e = Event.create(index=0, action="fit", params={"method": "copula"}, prev=GENESIS, actor="ann@lab",
...                  time="2026-01-01T00:00:00.000000Z")
>>> e.body()
b'{"action":"fit","actor":"ann@lab","index":0,"inputs":[],"outputs":[],"params":{"method":"copula"},"prev":"000...'
>>> Event.from_body(e.body()) == e
True
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import getpass
import json
import math
import os
import re
import socket
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import IntegrityError, ParameterError
from ..provenance.dsse import canonical_json
from .merkle import leaf_hash

__all__ = ["Event", "GENESIS", "ACTIONS", "ACTOR_ENV", "default_actor", "utc_now", "check_sha256_list"]

#: ``prev`` of the first event.
GENESIS = "0" * 64
ACTOR_ENV = "SYNTHGOV_ACTOR"
#: The actions synthgov itself logs (others are allowed: lowercase words, spaces, '-' and '_').
ACTIONS = ("read source", "fit", "sample", "evaluate", "package", "verify", "key create", "catalog change",
           "share decision", "checkpoint")
_ACTION = re.compile(r"^[a-z][a-z0-9 _-]{0,63}\Z")
_SHA = re.compile(r"^[0-9a-f]{64}\Z")
_RECORD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_FIELDS = ("index", "actor", "time", "action", "params", "inputs", "outputs", "subjects", "prev")


def utc_now() -> str:
    """The current UTC time, ISO 8601 with microseconds and a ``Z``."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_actor() -> str:
    """``$SYNTHGOV_ACTOR``, else ``user@host``."""
    env = os.environ.get(ACTOR_ENV, "").strip()
    if env:
        return env
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname() or 'localhost'}"


def _json_value(value: Any, where: str) -> Any:
    """Round-trip through canonical JSON so params are plain JSON (no NaN, no objects)."""
    try:
        return json.loads(canonical_json(value))
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{where} must be plain JSON (text, numbers, lists, mappings): {exc}",
                             hint="convert values to str/int/float/list/dict first; NaN and infinity are not allowed",
                             details={"parameter": where}) from None


def check_sha256_list(values: Iterable[str] | None, name: str) -> list[str]:
    """Validate a list of hex sha256 digests (lowercased)."""
    if values is None:
        return []
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ParameterError(f"{name} must be a list of sha256 hex digests, got {type(values).__name__}",
                             details={"parameter": name})
    out = []
    for v in values:
        if not isinstance(v, str) or not _SHA.match(v.lower()):
            raise ParameterError(f"{name} must hold 64-character sha256 hex digests, got {v!r}",
                                 hint="hash the file or table with hashlib.sha256(...).hexdigest()",
                                 details={"parameter": name})
        out.append(v.lower())
    return out


def _check_subjects(values: Iterable[str] | None) -> list[str]:
    if values is None:
        return []
    out = []
    for v in values:
        if not isinstance(v, str) or not _RECORD_ID.match(v):
            raise ParameterError(f"subjects must be catalog record ids, got {v!r}", details={"parameter": "subjects"})
        if v not in out:
            out.append(v)
    return out


@dataclasses.dataclass(frozen=True)
class Event:
    """One ledger event (immutable). Build with :meth:`create`; read back with :meth:`from_body`."""

    index: int
    actor: str
    time: str
    action: str
    params: dict[str, Any]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    subjects: tuple[str, ...]
    prev: str

    @classmethod
    def create(cls, *, index: int, action: str, prev: str, params: Mapping[str, Any] | None = None,
               inputs: Iterable[str] | None = None, outputs: Iterable[str] | None = None,
               subjects: Iterable[str] | None = None, actor: str | None = None, time: str | None = None) -> Event:
        """A validated event (``actor`` defaults to :func:`default_actor`, ``time`` to now)."""
        if not isinstance(action, str) or not _ACTION.match(action):
            raise ParameterError(f"action must be a short lowercase word or phrase, got {action!r}",
                                 hint=f"e.g. one of: {', '.join(ACTIONS)}", details={"parameter": "action"})
        if params is not None and not isinstance(params, Mapping):
            raise ParameterError(f"params must be a mapping, got {type(params).__name__}", details={"parameter": "params"})
        actor = default_actor() if actor is None else actor
        if not isinstance(actor, str) or not actor.strip() or len(actor) > 200:
            raise ParameterError(f"actor must be non-empty text of at most 200 characters, got {actor!r}",
                                 details={"parameter": "actor"})
        return cls(index=index, actor=actor, time=time or utc_now(), action=action,
                   params=_json_value(dict(params or {}), "params"),
                   inputs=tuple(check_sha256_list(inputs, "inputs")),
                   outputs=tuple(check_sha256_list(outputs, "outputs")),
                   subjects=tuple(_check_subjects(subjects)), prev=prev)

    def to_dict(self) -> dict[str, Any]:
        """The event as plain JSON (the hashed form)."""
        return {"index": self.index, "actor": self.actor, "time": self.time, "action": self.action,
                "params": self.params, "inputs": list(self.inputs), "outputs": list(self.outputs),
                "subjects": list(self.subjects), "prev": self.prev}

    def body(self) -> bytes:
        """The canonical bytes that are hashed."""
        return canonical_json(self.to_dict())

    @property
    def hash(self) -> str:
        """RFC 9162 leaf hash of :meth:`body`, hex: the chain link and the Merkle leaf."""
        return leaf_hash(self.body()).hex()

    @classmethod
    def from_body(cls, body: bytes | str) -> Event:
        """Parse stored canonical bytes; IntegrityError when they are not an event in canonical form."""
        raw = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else bytes(body)
        try:
            data = json.loads(raw, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise IntegrityError(f"the stored event is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or sorted(data) != sorted(_FIELDS):
            raise IntegrityError("the stored event does not have the event fields")
        event = cls(index=data["index"], actor=data["actor"], time=data["time"], action=data["action"],
                    params=data["params"], inputs=tuple(data["inputs"]), outputs=tuple(data["outputs"]),
                    subjects=tuple(data["subjects"]), prev=data["prev"])
        if not _well_typed(event):
            raise IntegrityError("the stored event has a field of the wrong type")
        try:
            again = event.body()
        except (TypeError, ValueError):
            raise IntegrityError("the stored event cannot be re-encoded") from None
        if again != raw:
            raise IntegrityError("the stored event is not in canonical form (its bytes were altered)")
        return event


def _no_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON number {name}")


def _well_typed(e: Event) -> bool:
    return (isinstance(e.index, int) and not isinstance(e.index, bool) and e.index >= 0
            and all(isinstance(x, str) for x in (e.actor, e.time, e.action, e.prev))
            and isinstance(e.params, dict)
            and all(isinstance(x, str) for x in (*e.inputs, *e.outputs, *e.subjects))
            and not any(isinstance(v, float) and not math.isfinite(v) for v in e.params.values()))
