"""Sharing records kept in the ledger: classifications, decisions, approvals, licences, shares.

Nothing here has a table of its own: each fact is a ledger event (event sourcing), written
in one catalog transaction and read back by action. The current state is a fold over the
events, oldest first:

=====================  ===================================================================
``classify``           ``{"target", "classes", "policy_sha256"}``: the classes a person confirmed
                       for a catalog record or release; the latest event per target wins
``share decision``     ``{"decision": Decision.to_dict(), "release_sha256"}``: every decision,
                       whatever its outcome, with the policy hash and the list editions
``approve``            ``{"approval": Approval.to_dict()}``: one person's approval of a request
``licence grant``      ``{"licence": Licence.to_dict()}``
``licence revoke``     ``{"licence_id", "reason"}``
``share``              ``{"decision_id", "bundle", ...}``: a bundle was handed over (its digests
                       are the event's outputs)
=====================  ===================================================================

Each event names the release (and the decision, licence or request) among its
``subjects``, so ``synthgov audit export RELEASE`` carries the sharing trail too. Events
read back are checked against their stored hash; :func:`check_ledger` verifies the whole
chain before a share relies on licences and approvals read from it.

>>> import tempfile, datetime as dt
>>> from synthgov.catalog import open_catalog
>>> cat = open_catalog(workspace=tempfile.mkdtemp())
>>> _ = record_classification(cat, target="rel-1", classes=["public:open"], actor="ann")
>>> _ = record_classification(cat, target="rel-1", classes=["dual-use:geospatial"], actor="bob")
>>> classifications(cat)
{'rel-1': ('dual-use:geospatial',)}
>>> lic = Licence(licence_id="L-1", release_id="rel-1", recipient="Harbourlight Research Ltd", countries=("FR",),
...               expires=dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc), granted_by="dpo")
>>> _ = record_licence(cat, lic, actor="dpo")
>>> _ = revoke_licence(cat, "L-1", actor="dpo", reason="contract ended")
>>> [(x.licence_id, x.revoked) for x in licences(cat)]
[('L-1', True)]
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from ..errors import IntegrityError, NotFoundError, ParameterError
from ..ledger import chain
from ..ledger.events import Event
from .grants import Approval, Licence
from .records import Decision

__all__ = ["CLASSIFY", "DECISION", "APPROVE", "LICENCE_GRANT", "LICENCE_REVOKE", "SHARE", "record_classification",
           "classifications", "record_decision", "find_decision", "decision_event", "decisions", "record_approval", "approvals",
           "record_licence", "revoke_licence", "licences", "find_licence", "known_release", "share_events", "check_ledger", "events"]

CLASSIFY = "classify"
DECISION = "share decision"
APPROVE = "approve"
LICENCE_GRANT = "licence grant"
LICENCE_REVOKE = "licence revoke"
SHARE = "share"

_SUBJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_SHA = re.compile(r"^[0-9a-f]{64}\Z")


def _subjects(*ids: str | None) -> list[str]:
    """The ids an event can be found by (those that are valid record ids), each once."""
    return list(dict.fromkeys(i for i in ids if isinstance(i, str) and _SUBJECT.match(i)))


def _shas(*values: str | None) -> list[str]:
    return list(dict.fromkeys(v for v in values if isinstance(v, str) and _SHA.match(v)))


def events(catalog, actions: Iterable[str], *, subject: str | None = None) -> list[Event]:
    """Events with one of ``actions`` (touching ``subject`` if given), oldest first, each checked against its hash."""
    from ..catalog.models import EventRow, EventSubject

    query = select(EventRow).where(EventRow.action.in_(list(actions))).order_by(EventRow.idx)
    if subject is not None:
        query = query.where(EventRow.idx.in_(select(EventSubject.event_idx).where(EventSubject.record_id == subject)))
    out = []
    with catalog._reader() as conn:
        for row in conn.execute(query).all():
            problem = chain.row_problem(row._mapping, expected_index=row.idx, expected_prev=None)
            if problem:
                raise IntegrityError(f"ledger event {row.idx} does not verify: {problem}",
                                     hint="run `synthgov audit verify`; nothing is shared from an altered ledger",
                                     details={"index": row.idx})
            out.append(Event.from_body(row.body))
    return out


def check_ledger(catalog) -> None:
    """Raise :class:`~synthgov.errors.IntegrityError` unless the whole ledger verifies (chain and checkpoints)."""
    catalog.ledger.verify().raise_if_bad()


def _log(catalog, action: str, *, actor: str | None, params: dict[str, Any], subjects: list[str],
         inputs: list[str] = (), outputs: list[str] = ()) -> Event:
    with catalog.session(actor=actor) as s:
        return s.log(action, params=params, subjects=subjects, inputs=list(inputs), outputs=list(outputs))


# -- classifications ------------------------------------------------------------------------------
def record_classification(catalog, *, target: str, classes: Iterable[str], actor: str | None,
                          policy_sha256: str | None = None, note: str = "") -> Event:
    """Record that a person confirmed ``classes`` for ``target`` (a release or catalog record id)."""
    if not isinstance(target, str) or not _SUBJECT.match(target):
        raise ParameterError(f"cannot classify {target!r}: not a release or catalog record id")
    if isinstance(classes, str):
        classes = [classes]
    classes = sorted(set(classes))
    return _log(catalog, CLASSIFY, actor=actor, subjects=_subjects(target),
                params={"target": target, "classes": classes, "policy_sha256": policy_sha256, "note": note},
                inputs=_shas(policy_sha256))


def classifications(catalog) -> dict[str, tuple[str, ...]]:
    """Every classified target and its current classes (the latest ``classify`` event for it)."""
    out: dict[str, tuple[str, ...]] = {}
    for event in events(catalog, [CLASSIFY]):
        out[event.params["target"]] = tuple(event.params["classes"])
    return out


# -- decisions ------------------------------------------------------------------------------------
def record_decision(catalog, decision: Decision, *, actor: str | None, release_sha256: str | None = None,
                    release_path: str | None = None, fixed_clock: bool = False) -> Event:
    """Log ``decision`` (any outcome) with its policy hash and list editions; one transaction.

    ``fixed_clock``: the decision was made as of a given time (``--now``) rather than the clock; the
    event's own time is always the clock's, so an audit sees both.
    """
    if not isinstance(decision, Decision):
        raise ParameterError(f"expected a Decision, got {type(decision).__name__}")
    lists = [v.get("sha256") for v in decision.list_versions]
    return _log(catalog, DECISION, actor=actor,
                subjects=_subjects(decision.release_id, decision.decision_id, "req-" + decision.request.request_id[:24]),
                params={"decision": decision.to_dict(), "release_sha256": release_sha256,
                        "release_path": release_path, "fixed_clock": bool(fixed_clock)},
                inputs=_shas(release_sha256, decision.policy_sha256, *lists))


def decisions(catalog, *, release_id: str | None = None) -> list[Decision]:
    """Every logged decision (for ``release_id``), oldest first."""
    return [Decision.from_dict(e.params["decision"]) for e in events(catalog, [DECISION], subject=release_id)]


def find_decision(catalog, decision_id: str) -> Decision:
    """The logged decision ``decision_id`` (NotFoundError when the ledger holds none)."""
    return Decision.from_dict(decision_event(catalog, decision_id).params["decision"])


def decision_event(catalog, decision_id: str) -> Event:
    """The (latest) ledger event that logged decision ``decision_id``."""
    if not isinstance(decision_id, str) or not _SUBJECT.match(decision_id):
        raise ParameterError(f"{decision_id!r} is not a decision id", hint="decision ids look like dec-0123abcd…")
    found = events(catalog, [DECISION], subject=decision_id)
    if not found:
        raise NotFoundError(f"no share decision {decision_id!r} in the ledger",
                            hint="`synthgov share` prints the decision id; check its spelling",
                            details={"id": decision_id})
    return found[-1]


# -- approvals ------------------------------------------------------------------------------------
def record_approval(catalog, approval: Approval, *, decision: Decision | None = None) -> Event:
    """Log one approval (bound to its request id) with the policy hash and list editions of the decision it
    approves; one transaction."""
    if not isinstance(approval, Approval):
        raise ParameterError(f"expected an Approval, got {type(approval).__name__}")
    release_id = decision.release_id if decision is not None else None
    policy = decision.policy_sha256 if decision is not None else None
    lists = [dict(v) for v in decision.list_versions] if decision is not None else []
    return _log(catalog, APPROVE, actor=approval.actor,
                subjects=_subjects(release_id, approval.decision_id or None, "req-" + approval.request_id[:24]),
                params={"approval": approval.to_dict(), "release_id": release_id, "policy_sha256": policy,
                        "lists": lists},
                inputs=_shas(policy, *(v.get("sha256") for v in lists)))


def approvals(catalog, request_id: str) -> list[Approval]:
    """Every logged approval of the request ``request_id``, oldest first."""
    found = events(catalog, [APPROVE], subject="req-" + request_id[:24])
    out = [Approval.from_dict(e.params["approval"]) for e in found]
    return [a for a in out if a.request_id == request_id]


# -- licences -------------------------------------------------------------------------------------
def record_licence(catalog, licence: Licence, *, actor: str | None) -> Event:
    """Log a licence grant; a licence id already granted is refused."""
    if not isinstance(licence, Licence):
        raise ParameterError(f"expected a Licence, got {type(licence).__name__}")
    if any(x.licence_id == licence.licence_id for x in licences(catalog)):
        raise ParameterError(f"licence {licence.licence_id!r} already exists", hint="choose another --id",
                             details={"code": "SG-LICENCE-EXISTS", "licence": licence.licence_id})
    return _log(catalog, LICENCE_GRANT, actor=actor, subjects=_subjects(licence.release_id, licence.licence_id),
                params={"licence": licence.to_dict()})


def revoke_licence(catalog, licence_id: str, *, actor: str | None, reason: str = "") -> Event | None:
    """Log the revocation of ``licence_id``; None (nothing written) when it was already revoked."""
    licence = find_licence(catalog, licence_id)
    if licence.revoked:
        return None
    return _log(catalog, LICENCE_REVOKE, actor=actor, subjects=_subjects(licence.release_id, licence.licence_id),
                params={"licence_id": licence.licence_id, "reason": reason})


def licences(catalog, *, release_id: str | None = None) -> list[Licence]:
    """Every granted licence (for ``release_id``) with revocations applied, in grant order."""
    state: dict[str, Licence] = {}
    for event in events(catalog, [LICENCE_GRANT, LICENCE_REVOKE], subject=release_id):
        if event.action == LICENCE_GRANT:
            lic = Licence.from_dict(event.params["licence"])
            state.setdefault(lic.licence_id, lic)
        elif event.params["licence_id"] in state:
            state[event.params["licence_id"]] = state[event.params["licence_id"]].revoke()
    return list(state.values())


def known_release(catalog, release_id: str) -> bool:
    """Whether the ledger has classified or decided on ``release_id`` (a release outside the catalog)."""
    return bool(events(catalog, [CLASSIFY, DECISION], subject=release_id))


def find_licence(catalog, licence_id: str) -> Licence:
    """The licence ``licence_id`` (NotFoundError when none was granted)."""
    for lic in licences(catalog):
        if lic.licence_id == licence_id:
            return lic
    raise NotFoundError(f"no licence {licence_id!r}", hint="`synthgov licence list` shows the licences",
                        details={"id": licence_id})


def share_events(catalog, *, release_id: str | None = None) -> list[Event]:
    """The ``share`` events (bundles handed over), oldest first."""
    return events(catalog, [SHARE], subject=release_id)
