"""The plain records a sharing decision reads and writes, each with a stable JSON form.

* :class:`ShareRequest`: who asks to send which release to whom, where, for what, and
  where it may go next; its :attr:`~ShareRequest.request_id` is the sha256 of its JSON.
* :class:`ReleaseFacts`: what the decision needs to know about a release: its own classes,
  the classes of every ancestor (the caller walks the lineage; :func:`ancestors` helps),
  its evaluation scores and its DP epsilon.
* :class:`Reason` and :class:`Decision`: the outcome and every reason behind it.
* :class:`ShareRecord`: what an allowed share hands over: recipient, conditions, expiry,
  with an ODRL-style view for metadata.

>>> inherit({"rel-2": [], "rel-1": ["dual-use:geospatial"], "rel-0": ["personal:health", "dual-use:geospatial"]})
{'dual-use:geospatial': ('rel-0', 'rel-1'), 'personal:health': ('rel-0',)}
>>> ancestors("rel-2", parents={"rel-2": ["rel-1"], "rel-1": ["rel-0"]})
('rel-1', 'rel-0')
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ParameterError, PolicyDenied
from .countries import country_code
from .grants import parse_time

__all__ = ["ShareRequest", "ReleaseFacts", "Reason", "Decision", "ShareRecord", "inherit", "ancestors",
           "OUTCOMES", "EFFECTS"]

#: Outcomes, most severe first.
OUTCOMES = ("deny", "needs-licence", "needs-second-approval", "allow")
#: What a reason does to the outcome ("info" only explains).
EFFECTS = ("deny", "needs-licence", "needs-second-approval", "info")


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _text(value: Any, field: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise ParameterError(f"{field} must be {'text' if empty else 'non-empty text'}, got {value!r}")
    return value.strip()


def _texts(value: Any, field: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ParameterError(f"{field} must be a list of text, got {value!r}")
    return tuple(_text(v, field) for v in value)


def inherit(classes_by_release: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """Every class carried by any of the releases, with the releases that carry it (sorted)."""
    out: dict[str, set[str]] = {}
    for release_id, classes in classes_by_release.items():
        for class_id in _texts(classes, f"classes of {release_id!r}"):
            out.setdefault(class_id, set()).add(release_id)
    return {c: tuple(sorted(out[c])) for c in sorted(out)}


def ancestors(release_id: str, *, parents: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """Every ancestor of ``release_id`` in ``parents`` (child → its direct parents), nearest first; cycles are safe."""
    seen: list[str] = []
    frontier = list(parents.get(release_id, ()))
    while frontier:
        nxt: list[str] = []
        for node in frontier:
            if node != release_id and node not in seen:
                seen.append(node)
                nxt.extend(parents.get(node, ()))
        frontier = nxt
    return tuple(seen)


@dataclasses.dataclass(frozen=True)
class ShareRequest:
    """A request to share ``release_id`` with ``recipient`` in ``country``; ``reexport_to`` lists onward destinations."""

    release_id: str
    recipient: str
    country: str
    end_use: str
    purpose: str
    requester: str
    reexport_to: tuple[str, ...] = ()
    onward_recipients: tuple[str, ...] = ()
    end_use_categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for field in ("release_id", "recipient", "end_use", "purpose", "requester"):
            object.__setattr__(self, field, _text(getattr(self, field), field))
        object.__setattr__(self, "country", country_code(self.country))
        object.__setattr__(self, "reexport_to", tuple(country_code(c, field="re-export destination")
                                                      for c in _texts(self.reexport_to, "reexport_to")))
        object.__setattr__(self, "onward_recipients", _texts(self.onward_recipients, "onward_recipients"))
        object.__setattr__(self, "end_use_categories", _texts(self.end_use_categories, "end_use_categories"))

    @property
    def destinations(self) -> tuple[str, ...]:
        """The destination country, then every re-export destination (each once)."""
        return tuple(dict.fromkeys((self.country, *self.reexport_to)))

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShareRequest:
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ParameterError(f"unknown share request field(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    @property
    def request_id(self) -> str:
        """The sha256 of the request's canonical JSON: approvals name it, so they cannot be moved to another request."""
        return hashlib.sha256(_canonical(self.to_dict()).encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True)
class ReleaseFacts:
    """What a decision knows about a release. ``ancestor_classes`` maps every ancestor's id to its own classes."""

    release_id: str
    classes: tuple[str, ...] = ()
    ancestor_classes: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    metrics: Mapping[str, float] = dataclasses.field(default_factory=dict)
    epsilon: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "release_id", _text(self.release_id, "release_id"))
        object.__setattr__(self, "classes", _texts(self.classes, "classes"))
        if not isinstance(self.ancestor_classes, Mapping):
            raise ParameterError("ancestor_classes must map ancestor release ids to their classes")
        object.__setattr__(self, "ancestor_classes", {_text(k, "ancestor id"): _texts(v, f"classes of {k!r}")
                                                      for k, v in self.ancestor_classes.items()})
        if not isinstance(self.metrics, Mapping):
            raise ParameterError("metrics must map metric names to numbers")
        metrics = {}
        for name, value in self.metrics.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ParameterError(f"metric {name!r} must be a number or None, got {value!r}")
            metrics[_text(name, "metric name")] = None if value is None else float(value)
        object.__setattr__(self, "metrics", metrics)
        if self.epsilon is not None and (isinstance(self.epsilon, bool) or not isinstance(self.epsilon, (int, float))
                                         or not self.epsilon >= 0):
            raise ParameterError(f"epsilon must be a non-negative number or None (not DP), got {self.epsilon!r}")

    @property
    def classifications(self) -> dict[str, tuple[str, ...]]:
        """The release's own classes and every ancestor's, each with the releases it comes from."""
        return inherit({self.release_id: self.classes, **self.ancestor_classes})

    def metric(self, name: str) -> float | None:
        """A measured value (``epsilon`` is the release's DP epsilon); None when not measured or not a number."""
        value = self.epsilon if name == "epsilon" else self.metrics.get(name)
        return None if value is None or not math.isfinite(value) else float(value)

    def to_dict(self) -> dict[str, Any]:
        return {"release_id": self.release_id, "classes": list(self.classes),
                "ancestor_classes": {k: list(v) for k, v in self.ancestor_classes.items()},
                "metrics": dict(self.metrics), "epsilon": self.epsilon}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReleaseFacts:
        return cls(**data)

    @classmethod
    def from_report(cls, report: Any, *, release_id: str, classes: Iterable[str] = (),
                    ancestor_classes: Mapping[str, Iterable[str]] | None = None) -> ReleaseFacts:
        """Facts from an evaluation :class:`~synthgov.evaluate.Report`: every computed metric's value, and
        the DP epsilon from its privacy account (``None``, no formal guarantee, when there is none)."""
        results = getattr(report, "results", None)
        if not isinstance(results, Mapping):
            raise ParameterError(f"report must be an evaluation Report, got {type(report).__name__}",
                                 hint="pass what synthgov.evaluate(...) returned, or Report.from_json(path)")
        privacy = getattr(report, "privacy", None) or {}
        return cls(release_id=release_id, classes=tuple(classes),
                   ancestor_classes={k: tuple(v) for k, v in (ancestor_classes or {}).items()},
                   metrics={name: r.value for name, r in results.items() if r.value is not None},
                   epsilon=privacy.get("epsilon"))


@dataclasses.dataclass(frozen=True)
class Reason:
    """One reason behind a decision: a stable ``code``, its ``effect`` on the outcome and a sentence."""

    code: str
    effect: str
    text: str
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.effect not in EFFECTS:
            raise ParameterError(f"effect must be one of {', '.join(EFFECTS)}, got {self.effect!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "effect": self.effect, "text": self.text, "details": dict(self.details)}


@dataclasses.dataclass(frozen=True)
class Decision:
    """The engine's answer with every reason, the policy hash and the list editions it relied on."""

    decision_id: str
    outcome: str
    reasons: tuple[Reason, ...]
    request: ShareRequest
    classifications: Mapping[str, tuple[str, ...]]
    policy_name: str | None
    policy_sha256: str | None
    list_versions: tuple[Mapping[str, Any], ...]
    decided_at: dt.datetime
    licence_id: str | None = None
    approvers: tuple[str, ...] = ()
    conditions: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.outcome == "allow"

    @property
    def release_id(self) -> str:
        return self.request.release_id

    def blocking(self) -> tuple[Reason, ...]:
        """The reasons that keep the outcome from being "allow"."""
        return tuple(r for r in self.reasons if r.effect != "info")

    def to_dict(self) -> dict[str, Any]:
        """A stable JSON-friendly view (keys never renamed; new keys may be added)."""
        return {
            "decision_id": self.decision_id, "outcome": self.outcome, "release_id": self.release_id,
            "request": self.request.to_dict(), "request_id": self.request.request_id,
            "reasons": [r.to_dict() for r in self.reasons],
            "classifications": {k: list(v) for k, v in self.classifications.items()},
            "policy": {"name": self.policy_name, "sha256": self.policy_sha256},
            "lists": [dict(v) for v in self.list_versions], "decided_at": self.decided_at.isoformat(),
            "licence_id": self.licence_id, "approvers": list(self.approvers), "conditions": dict(self.conditions),
        }

    def to_json(self) -> str:
        return _canonical(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        return cls(
            decision_id=data["decision_id"], outcome=data["outcome"],
            reasons=tuple(Reason(**r) for r in data["reasons"]), request=ShareRequest.from_dict(data["request"]),
            classifications={k: tuple(v) for k, v in data["classifications"].items()},
            policy_name=data["policy"]["name"], policy_sha256=data["policy"]["sha256"],
            list_versions=tuple(data["lists"]), decided_at=parse_time(data["decided_at"], field="decided_at"),
            licence_id=data.get("licence_id"), approvers=tuple(data.get("approvers", ())),
            conditions=dict(data.get("conditions", {})),
        )

    @staticmethod
    def make_id(body: Mapping[str, Any]) -> str:
        """``dec-`` and the first 24 hex digits of the sha256 of a decision's JSON without its id."""
        return "dec-" + hashlib.sha256(_canonical({k: v for k, v in body.items() if k != "decision_id"}).encode()).hexdigest()[:24]


@dataclasses.dataclass(frozen=True)
class ShareRecord:
    """What an allowed share hands over with the release: recipient, places, prohibited uses and expiry."""

    decision_id: str
    release_id: str
    recipient: str
    countries: tuple[str, ...]
    end_use: str
    purpose: str
    prohibited_end_uses: tuple[str, ...]
    expires: dt.datetime | None
    licence_id: str | None
    policy_sha256: str | None

    @classmethod
    def from_decision(cls, decision: Decision, *, expires: dt.datetime | None = None) -> ShareRecord:
        """The record of an allowed decision; any other outcome raises :class:`PolicyDenied` with its reasons."""
        if not decision.allowed:
            texts = [r.text for r in decision.blocking()]
            raise PolicyDenied(f"decision {decision.decision_id} is {decision.outcome!r}, not 'allow': nothing is shared",
                               hint="; ".join(texts[:3]), details={"decision": decision.decision_id, "reasons": texts})
        expiry = decision.conditions.get("expires")
        if expires is not None:
            expires = parse_time(expires, field="expires")
        elif expiry:
            expires = parse_time(expiry, field="expires")
        return cls(decision_id=decision.decision_id, release_id=decision.release_id, recipient=decision.request.recipient,
                   countries=decision.request.destinations, end_use=decision.request.end_use,
                   purpose=decision.request.purpose,
                   prohibited_end_uses=tuple(decision.conditions.get("prohibited_end_uses", ())),
                   expires=expires, licence_id=decision.licence_id, policy_sha256=decision.policy_sha256)

    def to_dict(self) -> dict[str, Any]:
        return {"decision_id": self.decision_id, "release_id": self.release_id, "recipient": self.recipient,
                "countries": list(self.countries), "end_use": self.end_use, "purpose": self.purpose,
                "prohibited_end_uses": list(self.prohibited_end_uses),
                "expires": self.expires.isoformat() if self.expires else None,
                "licence_id": self.licence_id, "policy_sha256": self.policy_sha256}

    def odrl(self) -> dict[str, Any]:
        """The conditions as an ODRL agreement (JSON-LD) for a release's metadata."""
        constraints: list[dict[str, Any]] = [
            {"leftOperand": "spatial", "operator": "isAnyOf", "rightOperand": list(self.countries)}]
        if self.expires:
            constraints.append({"leftOperand": "dateTime", "operator": "lt", "rightOperand": self.expires.isoformat()})
        agreement: dict[str, Any] = {
            "@context": "http://www.w3.org/ns/odrl.jsonld", "@type": "Agreement", "uid": f"urn:synthgov:share:{self.decision_id}",
            "target": f"urn:synthgov:release:{self.release_id}", "assignee": self.recipient,
            "permission": [{"action": "use", "constraint": constraints}],
            "prohibition": [{"action": "distribute", "constraint": [
                {"leftOperand": "spatial", "operator": "isNoneOf", "rightOperand": list(self.countries)}]}],
        }
        if self.prohibited_end_uses:
            agreement["prohibition"].append({"action": "use", "constraint": [
                {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": list(self.prohibited_end_uses)}]})
        return agreement
