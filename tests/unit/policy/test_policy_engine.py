"""The decision engine: fails closed, inherits classes, checks re-export, licences and the two-person rule."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from synthgov.errors import ParameterError, PolicyDenied
from synthgov.policy import (
    Approval,
    Decision,
    Licence,
    ReleaseFacts,
    ShareRecord,
    ShareRequest,
    ancestors,
    check_licence,
    decide,
    example_list_path,
    example_policy_path,
    inherit,
    load_party_lists,
    load_policy,
    parse_policy,
)

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
GOOD = {"mia_auc": 0.51, "exact_copies": 0}


@pytest.fixture(scope="module")
def policy():
    return load_policy(example_policy_path())


@pytest.fixture(scope="module")
def lists():
    return load_party_lists(example_list_path())


def request(**over) -> ShareRequest:
    base = dict(release_id="rel-2", recipient="Harbourlight Research Ltd", country="FR",
                end_use="training a demand forecasting model", purpose="research", requester="alice")
    return ShareRequest(**{**base, **over})


def facts(*classes, release_id="rel-2", **over) -> ReleaseFacts:
    return ReleaseFacts(release_id=release_id, classes=classes, **{"metrics": GOOD, **over})


def codes(decision: Decision, effect: str | None = None) -> set[str]:
    return {r.code for r in decision.reasons if effect is None or r.effect == effect}


def test_allowed_share_records_policy_hash_and_list_versions(policy, lists):
    decision = decide(request(), policy=policy, facts=facts("personal:general"), lists=lists, now=NOW)
    assert decision.outcome == "allow" and not decision.blocking()
    assert decision.policy_sha256 == policy.sha256
    assert [v["name"] for v in decision.list_versions] == ["FICTITIOUS-CONSOLIDATED", "FICTITIOUS-ENTITIES"]
    assert all(v["sha256"] == lists[0].sha256 for v in decision.list_versions)
    screening = [r for r in decision.reasons if r.code == "screening"]
    assert screening and screening[0].text.endswith("no match on lists FICTITIOUS-CONSOLIDATED dated 2026-11-01, "
                                                    "FICTITIOUS-ENTITIES dated 2026-11-10 (threshold 88)")


def test_fail_closed_cases_all_deny(policy, lists):
    # no policy
    assert decide(request(), policy=None, facts=facts("public:open"), lists=lists, now=NOW).outcome == "deny"
    # a declared class that no rule covers
    bare = parse_policy("""
version: 1
name: bare
classifications:
  - {id: "public:open", description: open}
  - {id: "personal:genetic", description: genomes}
screening: {max_list_age_days: 30}
rules:
  - {class: "public:open", destinations: {allow: ["*"]}}
""")
    d = decide(request(), policy=bare, facts=facts("personal:genetic"), lists=lists, now=NOW)
    assert d.outcome == "deny" and "no-rule" in codes(d, "deny")
    # a class the policy does not know, and a release with no class at all
    assert "unknown-class" in codes(decide(request(), policy=policy, facts=facts("secret:x"), lists=lists, now=NOW), "deny")
    assert "no-classification" in codes(decide(request(), policy=policy, facts=facts(), lists=lists, now=NOW), "deny")
    # missing lists: none at all, or the required one absent
    d = decide(request(), policy=policy, facts=facts("public:open"), lists=[], now=NOW)
    assert d.outcome == "deny" and "list-missing" in codes(d, "deny")
    only_entities = [pl for pl in lists if pl.name == "FICTITIOUS-ENTITIES"]
    d = decide(request(), policy=policy, facts=facts("public:open"), lists=only_entities, now=NOW)
    assert d.outcome == "deny" and any("FICTITIOUS-CONSOLIDATED" in r.text for r in d.reasons if r.code == "list-missing")
    # stale list (the policy allows 30 days)
    d = decide(request(), policy=policy, facts=facts("public:open"), lists=lists, now=NOW + dt.timedelta(days=40))
    assert d.outcome == "deny" and "list-stale" in codes(d, "deny")
    # the same request with everything in place is allowed, so the denials above come from the cases
    assert decide(request(), policy=policy, facts=facts("public:open"), lists=lists, now=NOW).outcome == "allow"


def test_inheritance_through_three_generations(policy, lists):
    parents = {"rel-3": ["rel-2"], "rel-2": ["rel-1"], "rel-1": ["rel-0"]}
    own = {"rel-0": ["personal:health"], "rel-1": [], "rel-2": ["public:open"], "rel-3": ["public:open"]}
    chain = ancestors("rel-3", parents=parents)
    assert chain == ("rel-2", "rel-1", "rel-0")
    grandchild = ReleaseFacts(release_id="rel-3", classes=("public:open",), metrics=GOOD,
                              ancestor_classes={a: tuple(own[a]) for a in chain})
    assert grandchild.classifications == inherit({k: own[k] for k in ("rel-0", "rel-1", "rel-2", "rel-3")})
    assert grandchild.classifications["personal:health"] == ("rel-0",)
    d = decide(request(release_id="rel-3"), policy=policy, facts=grandchild, lists=lists, now=NOW)
    # health data must be DP (epsilon <= 1): the grandchild is not, so re-synthesis did not launder the class
    assert d.outcome == "deny" and "metric-missing" in codes(d, "deny")
    assert any("inherited from rel-0" in r.text for r in d.reasons)
    dp = ReleaseFacts(release_id="rel-3", classes=("public:open",), metrics=GOOD, epsilon=0.5,
                      ancestor_classes={a: tuple(own[a]) for a in chain})
    assert decide(request(release_id="rel-3"), policy=policy, facts=dp, lists=lists, now=NOW).outcome == "allow"
    # to a country outside the personal-data area, the inherited class still decides
    d = decide(request(release_id="rel-3", country="US"), policy=policy, facts=dp, lists=lists, now=NOW)
    assert "country-not-allowed" in codes(d, "deny")


def test_reexport_to_denied_country_denied(policy, lists):
    ok = decide(request(country="DE"), policy=policy, facts=facts("personal:general"), lists=lists, now=NOW)
    assert ok.outcome == "allow"
    d = decide(request(country="DE", reexport_to=("BY",)), policy=policy, facts=facts("personal:general"), lists=lists, now=NOW)
    assert d.outcome == "deny"
    denied = [r for r in d.reasons if r.effect == "deny"]
    assert {r.details["role"] for r in denied} == {"re-export destination"} and {r.code for r in denied} >= {"embargo"}
    d = decide(request(country="DE", reexport_to=("BR",)), policy=policy, facts=facts("personal:general"), lists=lists, now=NOW)
    assert "country-not-allowed" in codes(d, "deny")


def test_two_person_rule_needs_a_distinct_second_actor(policy, lists):
    req = request(country="GB")
    lic = Licence(licence_id="L-1", release_id="rel-2", recipient="Harbourlight Research", countries=("GB",),
                  expires=NOW + dt.timedelta(days=90), granted_by="dpo")
    f = facts("dual-use:geospatial")
    d = decide(req, policy=policy, facts=f, lists=lists, licences=[lic], now=NOW)
    assert d.outcome == "needs-second-approval"
    own = [Approval(request_id=req.request_id, actor="alice", at=NOW), Approval(request_id=req.request_id, actor="Alice", at=NOW)]
    d = decide(req, policy=policy, facts=f, lists=lists, licences=[lic], approvals=own, now=NOW)
    assert d.outcome == "needs-second-approval" and d.approvers == ()
    elsewhere = [Approval(request_id=request(country="DE").request_id, actor="bob", at=NOW)]
    d = decide(req, policy=policy, facts=f, lists=lists, licences=[lic], approvals=elsewhere, now=NOW)
    assert d.outcome == "needs-second-approval"
    twice = [Approval(request_id=req.request_id, actor="bob", at=NOW), Approval(request_id=req.request_id, actor="BOB", at=NOW)]
    d = decide(req, policy=policy, facts=f, lists=lists, licences=[lic], approvals=twice, now=NOW)
    assert d.outcome == "allow" and d.approvers == ("bob",)  # one actor approving twice counts once


def test_licences(policy, lists):
    req, f = request(country="GB"), facts("military:personnel")
    approve = [Approval(request_id=req.request_id, actor="carol", at=NOW)]
    assert decide(req, policy=policy, facts=f, lists=lists, approvals=approve, now=NOW).outcome == "needs-licence"
    base = dict(licence_id="L-7", release_id="rel-2", recipient="Harbourlight Research Ltd", countries=("GB",),
                expires=NOW + dt.timedelta(days=30), granted_by="dpo")
    other = Licence(**{**base, "release_id": "rel-9"})
    d = decide(req, policy=policy, facts=f, lists=lists, licences=[other], approvals=approve, now=NOW)
    assert d.outcome == "needs-licence" and "is for release 'rel-9', not 'rel-2'" in d.reasons[-2].text
    with pytest.raises(ParameterError) as err:
        check_licence(other, release_id="rel-2", recipient="Harbourlight Research Ltd", countries=("GB",), now=NOW)
    assert err.value.details["code"] == "SG-LICENCE-RELEASE"
    for bad in (Licence(**base).revoke(), Licence(**{**base, "expires": NOW - dt.timedelta(days=1)}),
                Licence(**{**base, "countries": ("FR",)}), Licence(**{**base, "recipient": "Someone Else"})):
        assert decide(req, policy=policy, facts=f, lists=lists, licences=[bad], approvals=approve, now=NOW).outcome == "needs-licence"
        with pytest.raises(PolicyDenied):
            check_licence(bad, release_id="rel-2", recipient=req.recipient, countries=("GB",), now=NOW)
    good = Licence(**base)
    d = decide(req, policy=policy, facts=f, lists=lists, licences=[other, good], approvals=approve, now=NOW)
    assert d.outcome == "allow" and d.licence_id == "L-7" and d.conditions["expires"] == good.expires.isoformat()
    assert Licence.from_dict(json.loads(json.dumps(good.to_dict()))) == good


def test_metric_gates_fail_closed(policy, lists):
    d = decide(request(), policy=policy, facts=facts("personal:general", metrics={"mia_auc": 0.5}), lists=lists, now=NOW)
    assert d.outcome == "deny" and any(r.details.get("metric") == "exact_copies" for r in d.reasons if r.code == "metric-missing")
    d = decide(request(), policy=policy, facts=facts("personal:general", metrics={"mia_auc": 0.7, "exact_copies": 0}),
               lists=lists, now=NOW)
    assert "metric-failed" in codes(d, "deny")
    d = decide(request(), policy=policy, facts=facts("personal:health", epsilon=3.0), lists=lists, now=NOW)
    assert any(r.details.get("metric") == "epsilon" for r in d.reasons if r.code == "metric-failed")


def test_end_use_and_denied_parties(policy, lists):
    f = facts("personal:general")
    d = decide(request(end_use="re-identification of patients"), policy=policy, facts=f, lists=lists, now=NOW)
    assert d.outcome == "deny" and "end-use-prohibited" in codes(d)
    d = decide(request(end_use_categories=("surveillance",)), policy=policy, facts=f, lists=lists, now=NOW)
    assert "end-use-prohibited" in codes(d, "deny")
    d = decide(request(recipient="ZENTROVA DINAMIKS LIMITED"), policy=policy, facts=f, lists=lists, now=NOW)
    assert d.outcome == "deny"
    hit = next(r for r in d.reasons if r.code == "denied-party")
    assert hit.details["screening"]["candidates"][0]["list"] == "FICTITIOUS-CONSOLIDATED"
    # an intermediary: the onward recipient is screened too
    d = decide(request(onward_recipients=("株式会社クロザネ測器",)), policy=policy, facts=f, lists=lists, now=NOW)
    assert "denied-party" in codes(d, "deny")


def test_decision_json_and_share_record(policy, lists):
    d = decide(request(country="DE"), policy=policy, facts=facts("personal:general"), lists=lists, now=NOW)
    again = Decision.from_dict(json.loads(d.to_json()))
    assert again == d and again.to_json() == d.to_json()
    assert d.decision_id == Decision.make_id(d.to_dict()) and d.decision_id.startswith("dec-")
    f = facts("personal:general", ancestor_classes={"rel-1": ("dual-use:geospatial",)}, epsilon=0.5)
    assert ReleaseFacts.from_dict(json.loads(json.dumps(f.to_dict()))) == f
    approval = Approval(request_id=d.request.request_id, actor="bob", at=NOW, decision_id=d.decision_id)
    assert Approval.from_dict(json.loads(json.dumps(approval.to_dict()))) == approval
    record = ShareRecord.from_decision(d, expires=NOW + dt.timedelta(days=365))
    assert record.to_dict()["countries"] == ["DE"] and record.prohibited_end_uses == ("re-identification", "surveillance")
    odrl = record.odrl()
    assert odrl["assignee"] == "Harbourlight Research Ltd" and odrl["permission"][0]["constraint"][0]["rightOperand"] == ["DE"]
    denied = decide(request(country="KP"), policy=policy, facts=facts("personal:general"), lists=lists, now=NOW)
    with pytest.raises(PolicyDenied):
        ShareRecord.from_decision(denied)


def test_facts_from_a_real_evaluation(policy, lists, cps_small):
    import synthgov

    train, holdout = cps_small.iloc[:1500], cps_small.iloc[1500:]
    synthetic = synthgov.synthesizer("copula", random_state=0).fit(train).sample(1500, random_state=1)
    report = synthgov.evaluate(train, synthetic, holdout=holdout, metrics=["exact_copies", "mia_auc"], random_state=0)
    f = ReleaseFacts.from_report(report, release_id="rel-2", classes=("personal:financial",))
    assert f.metrics["exact_copies"] == report["exact_copies"].value and f.metrics["mia_auc"] == report["mia_auc"].value
    assert f.epsilon is None  # the copula is not DP
    d = decide(request(), policy=policy, facts=f, lists=lists, now=NOW)
    gates = {r.details["metric"]: r.code for r in d.reasons if r.code.startswith("metric")}
    assert set(gates) == {"mia_auc", "exact_copies"}
    for name, code in gates.items():
        assert (code == "metric") == next(g for r in policy.policy.rules for g in r.require if g.metric == name).passes(f.metrics[name])
    health = ReleaseFacts.from_report(report, release_id="rel-2", classes=("personal:health",))
    assert "metric-missing" in codes(decide(request(), policy=policy, facts=health, lists=lists, now=NOW), "deny")
    with pytest.raises(ParameterError):
        ReleaseFacts.from_report({"mia_auc": 0.5}, release_id="rel-2")


def test_bad_requests_are_clear_errors(policy, lists):
    with pytest.raises(ParameterError) as err:
        request(country="XX")
    assert "'XX'" in err.value.message
    with pytest.raises(ParameterError):
        request(reexport_to=("FR", "ZZ"))
    with pytest.raises(ParameterError):
        decide(request(), policy=policy, facts=facts("public:open", release_id="rel-other"), lists=lists, now=NOW)
    with pytest.raises(ParameterError):
        decide(request(), policy="policy.yaml", facts=facts("public:open"), lists=lists, now=NOW)
