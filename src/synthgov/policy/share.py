"""Sharing, end to end: classify a release, grant licences, decide, approve, hand over a bundle.

These functions are what ``synthgov share | approve | licence | classify`` call. Each
reads the ledger (classifications, licences, approvals) through :mod:`.store`, checks the
whole ledger first (nothing is decided on an altered log), and writes one ledger event in
one transaction: every decision whatever its outcome, every approval, every grant and
revocation. An allowed share then writes its bundle (:mod:`.bundle`) and logs the hand-over
in the same step: if either fails, neither is left behind.

>>> import tempfile, datetime as dt, pandas as pd
>>> from synthgov.catalog import open_catalog
>>> from synthgov.provenance.package import package
>>> from synthgov.policy import example_policy_path, example_list_path
>>> ws = tempfile.mkdtemp(); cat = open_catalog(workspace=ws)
>>> rel = package(pd.DataFrame({"x": [1.0, 2.0]}), f"{ws}/rel", source=pd.DataFrame({"x": [3.0]}),
...               synthesizer="copula", purpose="a doctest", creator="Ann <ann@example.org>", workspace=ws)
>>> _ = classify(f"{ws}/rel", catalog=cat, classes=["public:open"], actor="ann")
>>> policy, lists = load_inputs(policy=example_policy_path(), lists=[example_list_path()], workspace=ws)
>>> result = share_release(f"{ws}/rel", catalog=cat, recipient="Harbourlight Research Ltd", country="FR",
...                        end_use="teaching", purpose="a course", requester="ann", policy=policy, lists=lists,
...                        now=dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc))
>>> result.decision.outcome, result.bundle.name == result.decision.decision_id
('allow', True)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError, NotFoundError, OutputError, ParameterError, PolicyDenied
from ..ledger.events import default_actor
from ..provenance.keys import SigningKey, create_key, load_signing_key
from ..workspace import Workspace
from . import store
from .bundle import write_bundle
from .engine import decide
from .gather import ResolvedRelease, release_facts, resolve_release
from .grants import Approval, Licence, check_licence, parse_time, utc_now
from .hints import Suggestion, suggest_classes
from .load import LoadedPolicy, load_policy
from .parties import PartyList, load_party_lists
from .records import Decision, ShareRecord, ShareRequest

__all__ = ["POLICY_ENV", "LISTS_ENV", "DEFAULT_SHARE_DAYS", "DEFAULT_LICENCE_DAYS", "ShareResult", "load_inputs",
           "share_release", "share_again", "approve", "grant_licence", "classify", "suggest"]

POLICY_ENV = "SYNTHGOV_POLICY"
LISTS_ENV = "SYNTHGOV_LISTS"
#: A share without a licence or --expires lasts this long.
DEFAULT_SHARE_DAYS = 365
DEFAULT_LICENCE_DAYS = 365
_CLASS_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*(:[a-z0-9][a-z0-9_.-]*)*\Z")


@dataclasses.dataclass(frozen=True)
class ShareResult:
    """A decision, and for an allowed one the bundle written and its share record."""

    decision: Decision
    release: ResolvedRelease
    bundle: Path | None = None
    share: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()


def _ws(catalog) -> Workspace:
    return catalog.workspace


def _now(now) -> dt.datetime:
    return parse_time(now or utc_now(), field="now")


def load_inputs(*, policy: str | os.PathLike | None = None, lists: Sequence[str | os.PathLike] | None = None,
                workspace=None) -> tuple[LoadedPolicy | None, tuple[PartyList, ...]]:
    """The policy and denied-party lists to decide with.

    ``policy``: a file, else ``$SYNTHGOV_POLICY``, else ``<workspace>/policy.yaml`` if present, else
    none (every decision then denies). ``lists``: files, else ``$SYNTHGOV_LISTS`` (paths separated by
    ``os.pathsep``), else every ``*.csv``/``*.json`` in ``<workspace>/lists/``, else none (screening fails
    closed). A file that is named but unreadable or malformed is an error, never a silent deny.
    """
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    path = policy or os.environ.get(POLICY_ENV) or (ws.root / "policy.yaml" if (ws.root / "policy.yaml").is_file()
                                                    else None)
    loaded = load_policy(path) if path else None
    if lists is None or not list(lists):
        env = [p for p in os.environ.get(LISTS_ENV, "").split(os.pathsep) if p.strip()]
        folder = ws.root / "lists"
        lists = env or (sorted(p for p in folder.iterdir() if p.suffix.lower() in (".csv", ".json"))
                        if folder.is_dir() else [])
    found: list[PartyList] = []
    for item in lists:
        found.extend(load_party_lists(item))
    return loaded, tuple(found)


def _signer(key: SigningKey | str | os.PathLike | None, workspace: Workspace, *, create: bool) -> SigningKey | None:
    """The key that signs bundles: ``key``, else the workspace's ``default`` (created when ``create``; else None)."""
    if isinstance(key, SigningKey):
        return key
    if key is not None:
        return load_signing_key(key, workspace=workspace)
    try:
        return load_signing_key("default", workspace=workspace)
    except InputError as exc:
        if exc.details.get("code") != "SG-KEY-NOT-FOUND":
            raise
    if not create:
        return None
    create_key("default", workspace=workspace)
    return load_signing_key("default", workspace=workspace)


def _check_out(out, overwrite: bool) -> None:
    """Refuse an occupied bundle folder before anything is decided or logged."""
    if out is None or overwrite:
        return
    path = Path(out)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise OutputError(f"{path} already exists", hint="choose another --out, or remove it first",
                          details={"code": "SG-SHARE-EXISTS"})


def _expiry(expires, *, now: dt.datetime, decision: Decision) -> tuple[dt.datetime, list[str]]:
    notes = []
    licence_end = decision.conditions.get("expires")
    limit = parse_time(licence_end, field="licence expiry") if licence_end else None
    when = parse_time(expires, field="expires") if expires is not None else (limit or now + dt.timedelta(
        days=DEFAULT_SHARE_DAYS))
    if limit is not None and when > limit:
        notes.append(f"the share expires with licence {decision.licence_id!r} on {limit.isoformat()}, not later")
        when = limit
    return when, notes


def _check_expires(expires, now: dt.datetime) -> None:
    if expires is not None and parse_time(expires, field="expires") <= now:
        raise ParameterError(f"--expires {expires} is not in the future (now {now.isoformat()})",
                             hint="give a later date, e.g. 2027-12-31", details={"code": "SG-SHARE-EXPIRES"})


def share_release(release: str | os.PathLike, *, catalog, recipient: str, country: str, end_use: str, purpose: str,
                  requester: str | None = None, reexport_to: Iterable[str] = (), onward_recipients: Iterable[str] = (),
                  end_use_categories: Iterable[str] = (), policy: LoadedPolicy | None, lists: Sequence[PartyList],
                  out: str | os.PathLike | None = None, expires=None, now=None, licence_id: str | None = None,
                  key=None, trust=None, overwrite: bool = False, actor: str | None = None) -> ShareResult:
    """Decide a share of ``release`` (a catalog release id or a release directory) and, when allowed, write its bundle.

    ``key``: the signing key of the bundle (default: the workspace's ``default``); ``trust``: the public
    key(s) the release must verify under (default: the workspace's). ``licence_id``: consider only this
    licence (one for another release is an error, ``SG-LICENCE-RELEASE``). ``requester`` defaults to
    ``actor``, which defaults to ``$SYNTHGOV_ACTOR`` or user@host.
    """
    resolved = resolve_release(release, catalog=catalog, key=trust)
    request = ShareRequest(release_id=resolved.release_id, recipient=recipient, country=country, end_use=end_use,
                           purpose=purpose, requester=requester or actor or default_actor(), reexport_to=tuple(reexport_to),
                           onward_recipients=tuple(onward_recipients), end_use_categories=tuple(end_use_categories))
    return _share(request, resolved, catalog=catalog, policy=policy, lists=lists, out=out, expires=expires, now=now,
                  licence_id=licence_id, key=key, trust=trust, overwrite=overwrite, actor=actor or request.requester)


def share_again(decision_id: str, *, catalog, release: str | os.PathLike | None = None,
                policy: LoadedPolicy | None, lists: Sequence[PartyList], out=None, expires=None, now=None,
                licence_id: str | None = None, key=None, trust=None, overwrite: bool = False,
                actor: str | None = None) -> ShareResult:
    """Decide the request of a logged decision again (e.g. after a licence or an approval); same request, new decision."""
    event = store.decision_event(catalog, decision_id)  # the whole ledger is verified before deciding
    previous = Decision.from_dict(event.params["decision"])
    if release is None:
        try:
            catalog.get(previous.release_id)
            release = previous.release_id
        except NotFoundError:
            release = event.params.get("release_path") or previous.release_id
    resolved = resolve_release(release, catalog=catalog, key=trust)
    if resolved.release_id != previous.release_id:
        raise ParameterError(f"decision {decision_id} is about release {previous.release_id!r}, not "
                             f"{resolved.release_id!r}", hint="give the release the decision names")
    return _share(previous.request, resolved, catalog=catalog, policy=policy, lists=lists, out=out, expires=expires,
                  now=now, licence_id=licence_id, key=key, trust=trust, overwrite=overwrite,
                  actor=actor or default_actor())


def _share(request: ShareRequest, resolved: ResolvedRelease, *, catalog, policy, lists, out, expires, now,
           licence_id, key, trust, overwrite, actor: str) -> ShareResult:
    when = _now(now)
    _check_expires(expires, when)
    _check_out(out, overwrite)
    signer = _signer(key, _ws(catalog), create=False)  # a key that cannot be loaded fails before deciding
    store.check_ledger(catalog)
    facts = release_facts(resolved, catalog=catalog, classes=store.classifications(catalog))
    if licence_id is not None:
        chosen = store.find_licence(catalog, licence_id)
        if chosen.release_id != resolved.release_id:
            check_licence(chosen, release_id=resolved.release_id, recipient=request.recipient,
                          countries=request.destinations, now=when)  # raises SG-LICENCE-RELEASE
        licences = [chosen]
    else:
        licences = store.licences(catalog, release_id=resolved.release_id)
    decision = decide(request, policy=policy, facts=facts, lists=list(lists), licences=licences,
                      approvals=store.approvals(catalog, request.request_id), now=when)
    store.record_decision(catalog, decision, actor=actor, release_sha256=resolved.envelope_sha256,
                          release_path=str(resolved.path.resolve()), fixed_clock=now is not None)
    if not decision.allowed:
        return ShareResult(decision=decision, release=resolved)
    ends, notes = _expiry(expires, now=when, decision=decision)
    record = ShareRecord.from_decision(decision, expires=ends)
    target = Path(out) if out is not None else _ws(catalog).root / "shares" / decision.decision_id
    signer = signer or _signer(key, _ws(catalog), create=True)

    def log(share: dict[str, Any], digests: dict[str, str]) -> None:
        with catalog.session(actor=actor) as s:
            s.log(store.SHARE, params={"decision_id": decision.decision_id, "release_id": resolved.release_id,
                                       "bundle": str(target), "recipient": request.recipient,
                                       "countries": list(record.countries), "expires": share["expires"],
                                       "key_id": signer.key_id, "fixed_clock": now is not None},
                  inputs=[resolved.envelope_sha256], outputs=sorted(set(digests.values())),
                  subjects=[resolved.release_id, decision.decision_id])

    share = write_bundle(target, release=resolved, decision=decision, record=record, signer=signer, shared_by=actor,
                         now=when, key=trust, workspace=_ws(catalog), overwrite=overwrite,
                         fixed_clock=now is not None, before_commit=log)
    return ShareResult(decision=decision, release=resolved, bundle=target, share=share, notes=tuple(notes))


@dataclasses.dataclass(frozen=True)
class ApprovalResult:
    approval: Approval
    decision: Decision
    recorded: bool
    approvers: tuple[str, ...]


def approve(decision_id: str, *, catalog, actor: str | None = None, now=None, comment: str = "") -> ApprovalResult:
    """Record ``actor``'s approval of the request behind ``decision_id``.

    The requester cannot approve their own request (``SG-APPROVAL-SELF``); a denied decision
    cannot be approved (``SG-APPROVAL-DENIED``); an actor who already approved is counted once
    (nothing is written again).
    """
    store.check_ledger(catalog)
    decision = store.find_decision(catalog, decision_id)
    who = (actor or default_actor()).strip()
    if decision.outcome == "deny":
        raise PolicyDenied(f"decision {decision_id} denied the share; an approval cannot change that",
                           hint="; ".join(r.text for r in decision.blocking()[:3]),
                           details={"code": "SG-APPROVAL-DENIED", "decision": decision_id})
    if not any(r.code in ("second-approval-required", "approved") for r in decision.reasons):
        raise ParameterError(f"decision {decision_id} needs no second approval (outcome {decision.outcome!r})",
                             details={"code": "SG-APPROVAL-NOT-NEEDED", "decision": decision_id})
    if who.casefold() == decision.request.requester.casefold():
        raise ParameterError(f"{who!r} asked for this share and cannot approve it",
                             hint="a second person approves: run this as them (SYNTHGOV_ACTOR or --actor)",
                             details={"code": "SG-APPROVAL-SELF", "decision": decision_id})
    existing = store.approvals(catalog, decision.request.request_id)
    approval = Approval(request_id=decision.request.request_id, actor=who, at=_now(now), decision_id=decision_id,
                        comment=comment)
    recorded = not any(a.actor.casefold() == who.casefold() for a in existing)
    if recorded:
        store.record_approval(catalog, approval, decision=decision)
        existing = [*existing, approval]
    approvers = tuple(dict.fromkeys(a.actor for a in existing
                                    if a.actor.casefold() != decision.request.requester.casefold()))
    return ApprovalResult(approval=approval, decision=decision, recorded=recorded, approvers=approvers)


def _release_id(release: str | os.PathLike, *, catalog, trust=None) -> str:
    text = os.fspath(release)
    if Path(text).is_dir():
        return resolve_release(text, catalog=catalog, key=trust).release_id
    try:
        record = catalog.get(text)
    except NotFoundError:
        if store.known_release(catalog, text):  # shared from its directory, never registered
            return text
        raise
    if record.kind != "release":
        raise ParameterError(f"{text!r} is a {record.kind}, not a release", hint="licences are granted for releases")
    return record.id


def grant_licence(*, catalog, release: str | os.PathLike, recipient: str, countries: Iterable[str], expires=None,
                  licence_id: str | None = None, actor: str | None = None, now=None, conditions: str = "",
                  trust=None) -> Licence:
    """Grant (and log) a licence for ``recipient`` to receive ``release`` in ``countries`` until ``expires``."""
    store.check_ledger(catalog)
    when = _now(now)
    if isinstance(countries, str):
        countries = [countries]
    ends = parse_time(expires, field="expires") if expires is not None else when + dt.timedelta(days=DEFAULT_LICENCE_DAYS)
    if ends <= when:
        raise ParameterError(f"the licence would expire on {ends.isoformat()}, before now ({when.isoformat()})",
                             hint="give a later --expires")
    licence = Licence(licence_id=licence_id or f"lic-{secrets.token_hex(6)}",
                      release_id=_release_id(release, catalog=catalog, trust=trust), recipient=recipient,
                      countries=tuple(countries), expires=ends, granted_by=(actor or default_actor()),
                      conditions=conditions)
    store.record_licence(catalog, licence, actor=actor or default_actor())
    return licence


def _target(target: str | os.PathLike, *, catalog, trust=None) -> tuple[str, ResolvedRelease | None]:
    text = os.fspath(target)
    if Path(text).is_dir():
        resolved = resolve_release(text, catalog=catalog, key=trust)
        return resolved.release_id, resolved
    return catalog.get(text).id, None  # NotFoundError for an unknown id


def classify(target: str | os.PathLike, *, catalog, classes: Iterable[str], policy: LoadedPolicy | None = None,
             actor: str | None = None, note: str = "", trust=None):
    """Record the classes a person confirmed for a release (id or directory) or another catalog record.

    With a ``policy``, every class must be one it declares. The latest classification of a
    record replaces earlier ones; every one stays in the ledger.
    """
    classes = [classes] if isinstance(classes, str) else list(classes)
    if not classes:
        raise ParameterError("give at least one class (--class personal:health, ...)",
                             hint="`synthgov classify RELEASE --suggest` shows what the policy's hints suggest")
    for c in classes:
        if not isinstance(c, str) or not _CLASS_ID.match(c):
            raise ParameterError(f"{c!r} is not a class id", hint="class ids look like personal:health or public:open")
        if policy is not None and policy.policy.classification(c) is None:
            declared = ", ".join(x.id for x in policy.policy.classifications)
            raise ParameterError(f"class {c!r} is not declared in policy {policy.policy.name!r}",
                                 hint=f"declared: {declared}", details={"code": "SG-CLASS-UNKNOWN", "class": c})
    store.check_ledger(catalog)
    record_id, _ = _target(target, catalog=catalog, trust=trust)
    return store.record_classification(catalog, target=record_id, classes=classes, actor=actor or default_actor(),
                                       policy_sha256=policy.sha256 if policy else None, note=note)


def suggest(release: str | os.PathLike, *, catalog, policy: LoadedPolicy, trust=None) -> list[Suggestion]:
    """Classes the policy's hints suggest for a release's columns (nothing is recorded)."""
    from ..table.infer import schema_for

    if policy is None:
        raise ParameterError("suggestions come from a policy's hints: pass --policy FILE")
    record_id, resolved = _target(release, catalog=catalog, trust=trust)
    if resolved is None:
        record = catalog.get(record_id)
        if record.kind != "release":
            raise ParameterError(f"suggestions need a release's columns; {record_id!r} is a {record.kind}")
        resolved = resolve_release(record_id, catalog=catalog, key=trust)
    return suggest_classes(schema_for(resolved.verification.read_table()), policy=policy)
