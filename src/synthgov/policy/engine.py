"""The decision engine: may this release go to this recipient, there, for this use?

:func:`decide` applies a policy to a :class:`~synthgov.policy.records.ShareRequest` and the
:class:`~synthgov.policy.records.ReleaseFacts` of the release (its classes and its
ancestors'), screens every named party against denied-party lists, and returns a
:class:`~synthgov.policy.records.Decision` with every reason. It fails closed: no policy, a
release without a class, a class no rule covers, a missing, stale or future-dated list, an
unmeasured metric, all deny. The outcome is the most severe effect among the reasons:
``deny`` > ``needs-licence`` > ``needs-second-approval`` > ``allow``.

Checks, in order: classification and rules; every destination, the declared re-export
destinations included, against the embargo and each rule's allowed and denied places;
prohibited end uses (declared categories, and keywords found as words in the end use and
purpose); minimum evaluation results; denied-party screening of the recipient and every
declared onward recipient; a licence where a rule needs one; a second person's approval
where a rule needs one (distinct actors, never the requester, bound to this request).

>>> import datetime as dt
>>> from synthgov.policy import load_policy, load_party_lists, example_policy_path, example_list_path
>>> policy, lists = load_policy(example_policy_path()), load_party_lists(example_list_path())
>>> request = ShareRequest(release_id="rel-1", recipient="Harbourlight Research Ltd", country="FR",
...                        end_use="training a churn model", purpose="research", requester="alice")
>>> facts = ReleaseFacts(release_id="rel-1", classes=("public:open",))
>>> decision = decide(request, policy=policy, facts=facts, lists=lists, now=dt.date(2026, 11, 20))
>>> decision.outcome
'allow'
>>> decide(request, policy=None, facts=facts, lists=lists, now=dt.date(2026, 11, 20)).reasons[0].text
'no sharing policy was given; without a policy nothing is shared'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from anyascii import anyascii

from ..errors import ParameterError
from .grants import Approval, Licence, parse_time, utc_now
from .load import LoadedPolicy, dump_policy, policy_sha256
from .parties import PartyList, list_problems, screen_many
from .records import OUTCOMES, Decision, Reason, ReleaseFacts, ShareRequest
from .schema import Policy, Rule

__all__ = ["decide"]


def _words(text: str) -> str:
    return " " + " ".join(re.split(r"[^a-z0-9]+", anyascii(text).casefold())).strip() + " "


def _keyword_hit(keyword: str, text: str) -> bool:
    """``keyword`` (normalised) starts a word in ``text`` (normalised): "weapon" finds "weapons"."""
    return (" " + _words(keyword).strip()) in text


def _as_policy(policy: object) -> tuple[Policy, str]:
    if isinstance(policy, LoadedPolicy):
        return policy.policy, policy.sha256
    if isinstance(policy, Policy):
        return policy, policy_sha256(dump_policy(policy))
    raise ParameterError(f"policy must be a loaded policy or None, got {type(policy).__name__}",
                         hint="load one with synthgov.policy.load_policy(path)")


class _Checks:
    """Collects reasons while the checks run."""

    def __init__(self) -> None:
        self.reasons: list[Reason] = []

    def add(self, code: str, effect: str, text: str, **details: object) -> None:
        self.reasons.append(Reason(code=code, effect=effect, text=text, details=details))

    def outcome(self) -> str:
        effects = {r.effect for r in self.reasons}
        return next((o for o in OUTCOMES[:-1] if o in effects), "allow")


def _classes(checks: _Checks, model: Policy, facts: ReleaseFacts) -> list[Rule]:
    classes = facts.classifications
    if not classes:
        checks.add("no-classification", "deny", f"release {facts.release_id!r} carries no classification, nor do its "
                   "ancestors; classify it (e.g. public:open) before sharing")
    rules: list[Rule] = []
    for class_id, sources in classes.items():
        inherited = [s for s in sources if s != facts.release_id]
        origin = f" (inherited from {', '.join(inherited)})" if inherited else ""
        if model.classification(class_id) is None:
            checks.add("unknown-class", "deny", f"class {class_id!r}{origin} is not declared in policy {model.name!r}",
                       class_id=class_id, sources=list(sources))
            continue
        matched = model.rules_for(class_id)
        if not matched:
            checks.add("no-rule", "deny", f"no rule in policy {model.name!r} covers class {class_id!r}{origin}; "
                       "no rule means no share", class_id=class_id, sources=list(sources))
            continue
        checks.add("class", "info", f"class {class_id!r}{origin} is governed by rule(s) "
                   f"{', '.join(repr(r.class_) for r in matched)}", class_id=class_id, sources=list(sources))
        rules.extend(r for r in matched if r not in rules)
    return rules


def _destinations(checks: _Checks, model: Policy, rules: list[Rule], request: ShareRequest) -> None:
    embargo = model.expand(model.embargo)
    roles = [(request.country, "destination")] + [(c, "re-export destination") for c in request.reexport_to]
    for country, role in roles:
        refused = False
        if country in embargo:
            checks.add("embargo", "deny", f"{role} {country} is under the policy's embargo", country=country, role=role)
            refused = True
        for rule in rules:
            if country in model.expand(rule.destinations.deny):
                checks.add("country-denied", "deny", f"{role} {country} is denied for class {rule.class_!r}",
                           country=country, role=role, rule=rule.class_)
                refused = True
            elif not ({"*", country} & model.expand(rule.destinations.allow)):
                checks.add("country-not-allowed", "deny", f"{role} {country} is not among the places class "
                           f"{rule.class_!r} may go ({', '.join(rule.destinations.allow)})",
                           country=country, role=role, rule=rule.class_)
                refused = True
        if not refused:
            checks.add("country", "info", f"{role} {country} is allowed for every class", country=country, role=role)


def _end_uses(checks: _Checks, model: Policy, rules: list[Rule], request: ShareRequest) -> list[str]:
    text = _words(f"{request.end_use} {request.purpose}")
    prohibited = list(dict.fromkeys(e for r in rules for e in r.prohibited_end_uses))
    for end_use_id in prohibited:
        if end_use_id in request.end_use_categories:
            checks.add("end-use-prohibited", "deny", f"declared end use {end_use_id!r} is prohibited for this release",
                       end_use=end_use_id)
            continue
        end_use = model.end_use(end_use_id)
        hit = next((k for k in (end_use.keywords if end_use else ()) if _keyword_hit(k, text)), None)
        if hit is not None:
            checks.add("end-use-prohibited", "deny", f"the declared end use or purpose mentions {hit!r}, which falls "
                       f"under prohibited end use {end_use_id!r}", end_use=end_use_id, keyword=hit)
    if prohibited and not any(r.code == "end-use-prohibited" for r in checks.reasons):
        checks.add("end-use", "info", f"no prohibited end use ({', '.join(prohibited)}) was declared or mentioned; "
                   "keyword matching is a screen, not proof of intent")
    return prohibited


def _gates(checks: _Checks, rules: list[Rule], facts: ReleaseFacts) -> None:
    seen: set[str] = set()
    for rule in rules:
        for gate in rule.require:
            if str(gate) in seen:
                continue
            seen.add(str(gate))
            value = facts.metric(gate.metric)
            if value is None:
                why = ("the release is not differentially private (no formal guarantee)" if gate.metric == "epsilon"
                       else f"{gate.metric} was not measured")
                checks.add("metric-missing", "deny", f"{why}; the policy requires {gate} for class {rule.class_!r}",
                           metric=gate.metric, requirement=str(gate))
            elif not gate.passes(value):
                checks.add("metric-failed", "deny", f"{gate.metric} is {value:g}; the policy requires {gate} for class "
                           f"{rule.class_!r}", metric=gate.metric, value=value, requirement=str(gate))
            else:
                checks.add("metric", "info", f"{gate.metric} is {value:g}, meeting {gate}", metric=gate.metric, value=value)


def _screening(checks: _Checks, model: Policy, request: ShareRequest, lists: Sequence[PartyList],
               now: dt.datetime) -> None:
    problems = list_problems(lists, max_age_days=model.screening.max_list_age_days, now=now,
                             required=model.screening.required_lists)
    for code, text in problems:
        checks.add(code, "deny", text + "; screening fails closed")
    if problems:
        return
    names = list(dict.fromkeys((request.recipient, *request.onward_recipients)))
    for result in screen_many(names, lists=lists, threshold=model.screening.threshold):
        if result.matched:
            checks.add("denied-party", "deny", result.summary + "; a compliance officer must resolve it before any share",
                       screening=result.to_dict())
        else:
            checks.add("screening", "info", f"{result.query!r}: {result.summary}", screening=result.to_dict())


def _licence(checks: _Checks, request: ShareRequest, licences: Sequence[Licence], now: dt.datetime) -> Licence | None:
    problems: list[str] = []
    for licence in licences:
        found = licence.problems(release_id=request.release_id, recipient=request.recipient,
                                 countries=request.destinations, now=now)
        if not found:
            checks.add("licence", "info", f"licence {licence.licence_id!r} covers this share until "
                       f"{licence.expires.isoformat()}", licence=licence.licence_id)
            return licence
        problems.extend(found)
    checks.add("licence-required", "needs-licence", "a licence is required for this release, recipient and "
               f"destination(s) {', '.join(request.destinations)}" + (f" ({'; '.join(problems)})" if problems else ""),
               problems=problems)
    return None


def _approvals(checks: _Checks, request: ShareRequest, approvals: Sequence[Approval]) -> tuple[str, ...]:
    requester = request.requester.casefold()
    counted: dict[str, str] = {}
    for approval in approvals:
        actor = approval.actor.casefold()
        if approval.request_id != request.request_id:
            checks.add("approval-ignored", "info", f"approval by {approval.actor!r} is for another request; ignored")
        elif actor == requester:
            checks.add("approval-ignored", "info", f"{approval.actor!r} asked for this share and cannot approve it")
        else:
            counted.setdefault(actor, approval.actor)
    if counted:
        checks.add("approved", "info", f"second approval by {', '.join(counted.values())}", approvers=list(counted.values()))
        return tuple(counted.values())
    checks.add("second-approval-required", "needs-second-approval", "a second person (not the requester "
               f"{request.requester!r}) must approve this share")
    return ()


def decide(request: ShareRequest, *, policy: LoadedPolicy | Policy | None, facts: ReleaseFacts,
           lists: Sequence[PartyList], licences: Sequence[Licence] = (), approvals: Sequence[Approval] = (),
           now: dt.datetime | dt.date | None = None) -> Decision:
    """Decide a share request; see the module docstring for the checks and the order of outcomes."""
    if not isinstance(request, ShareRequest):
        raise ParameterError(f"request must be a ShareRequest, got {type(request).__name__}")
    if not isinstance(facts, ReleaseFacts):
        raise ParameterError(f"facts must be ReleaseFacts, got {type(facts).__name__}")
    if facts.release_id != request.release_id:
        raise ParameterError(f"the facts describe release {facts.release_id!r}, the request names {request.release_id!r}",
                             hint="pass the facts of the release being shared")
    for name, items, kind in (("lists", lists, PartyList), ("licences", licences, Licence), ("approvals", approvals, Approval)):
        if isinstance(items, (str, bytes)) or not all(isinstance(i, kind) for i in items):
            raise ParameterError(f"{name} must be a sequence of {kind.__name__}")
    now = parse_time(now or utc_now(), field="now")
    checks = _Checks()
    model, sha = (None, None) if policy is None else _as_policy(policy)
    licence, approvers, conditions = None, (), {}
    if model is None:
        checks.add("no-policy", "deny", "no sharing policy was given; without a policy nothing is shared")
    else:
        rules = _classes(checks, model, facts)
        _destinations(checks, model, rules, request)
        prohibited = _end_uses(checks, model, rules, request)
        _gates(checks, rules, facts)
        _screening(checks, model, request, lists, now)
        if any(r.licence_required for r in rules):
            licence = _licence(checks, request, licences, now)
        if any(r.two_person_approval for r in rules):
            approvers = _approvals(checks, request, approvals)
        conditions = {"countries": list(request.destinations), "prohibited_end_uses": prohibited,
                      "expires": licence.expires.isoformat() if licence else None}
    body = {
        "outcome": checks.outcome(), "reasons": tuple(checks.reasons), "request": request,
        "classifications": facts.classifications, "policy_name": model.name if model else None,
        "policy_sha256": sha, "list_versions": tuple(pl.version() for pl in lists), "decided_at": now,
        "licence_id": licence.licence_id if licence else None, "approvers": approvers, "conditions": conditions,
    }
    draft = Decision(decision_id="", **body)
    return Decision(decision_id=Decision.make_id(draft.to_dict()), **body)
