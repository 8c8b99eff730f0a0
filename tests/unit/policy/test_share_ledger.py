"""Sharing through the catalog and the ledger: every decision and approval logged, inheritance through
lineage, the two-person rule, licences, fail-closed cases and bad input (nothing shared, nothing logged)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from synthgov.catalog import open_catalog
from synthgov.errors import IntegrityError, NotFoundError, ParameterError, PolicyDenied, PolicyError
from synthgov.policy import Approval, Decision, load_party_lists, load_policy, parse_policy, store
from synthgov.policy import share as api

sys.path.insert(0, str(Path(__file__).parent))
from share_helpers import (  # noqa: E402
    NOW,
    RECIPIENT,
    dataset_of,
    list_path,
    make_release,
    policy_path,
    register,
    resynthesise,
)


@pytest.fixture()
def cat(tmp_path):
    catalog = open_catalog(workspace=tmp_path / "ws")
    yield catalog
    catalog.close()


@pytest.fixture()
def inputs():
    return load_policy(policy_path()), load_party_lists(list_path())


@pytest.fixture()
def rel(tmp_path, cat):
    release = make_release(tmp_path / "rel", release_id="rel-main", workspace=cat.workspace)
    register(cat, release)
    return release


def _share(cat, inputs, release="rel-main", **kw):
    policy, lists = inputs
    args = dict(catalog=cat, recipient=RECIPIENT, country="GB", end_use="flood-risk model training",
                purpose="research", requester="alice", policy=policy, lists=lists, now=NOW)
    return api.share_release(release, **{**args, **kw})


def _logged(cat):
    return [e for e in cat.ledger.events() if e.action == store.DECISION]


def test_every_outcome_is_logged_with_policy_hash_and_lists_and_the_ledger_verifies(cat, inputs, rel, tmp_path):
    policy, lists = inputs
    outcomes = []
    outcomes.append(_share(cat, inputs, policy=None).decision)                      # deny: no policy
    api.classify("rel-main", catalog=cat, classes=["dual-use:geospatial"], policy=policy, actor="carol")
    outcomes.append(_share(cat, inputs).decision)                                    # needs-licence
    api.grant_licence(catalog=cat, release="rel-main", recipient=RECIPIENT, countries=["GB"], licence_id="L-1",
                      now=NOW, actor="dpo")
    waiting = _share(cat, inputs).decision                                          # needs-second-approval
    outcomes.append(waiting)
    api.approve(waiting.decision_id, catalog=cat, actor="bob", now=NOW)
    final = api.share_again(waiting.decision_id, catalog=cat, policy=policy, lists=lists, now=NOW,
                            out=tmp_path / "bundle")
    outcomes.append(final.decision)
    assert [d.outcome for d in outcomes] == ["deny", "needs-licence", "needs-second-approval", "allow"]
    logged = _logged(cat)
    assert [e.params["decision"]["decision_id"] for e in logged] == [d.decision_id for d in outcomes]
    for event, decision in zip(logged, outcomes, strict=True):
        assert Decision.from_dict(event.params["decision"]) == decision
        assert event.params["decision"]["lists"] == [pl.version() for pl in lists]
        assert event.params["release_sha256"] in event.inputs
        if decision.policy_sha256:
            assert decision.policy_sha256 == policy.sha256 and policy.sha256 in event.inputs
    approval = [e for e in cat.ledger.events() if e.action == store.APPROVE]
    assert len(approval) == 1 and approval[0].actor == "bob" and approval[0].params["policy_sha256"] == policy.sha256
    shared = store.share_events(cat, release_id="rel-main")
    assert len(shared) == 1 and shared[0].params["decision_id"] == final.decision.decision_id
    assert store.find_decision(cat, final.decision.decision_id) == final.decision
    assert cat.ledger.verify().ok


def test_classes_are_inherited_through_three_generations_of_lineage(cat, inputs, tmp_path):
    policy, _ = inputs
    first = register(cat, "rel-gen1", tag="1")                       # never packaged here: only its catalog record
    api.classify("rel-gen1", catalog=cat, classes=["dual-use:geospatial"], policy=policy, actor="carol")
    second = register(cat, "rel-gen2", trained_on=first)             # trained on the first release
    third = make_release(tmp_path / "gen3", release_id="rel-gen3", workspace=cat.workspace)
    register(cat, third, trained_on=dataset_of(cat, second))         # trained on the second one's table
    api.classify(third.path, catalog=cat, classes=["public:open"], policy=policy, actor="carol")
    decision = _share(cat, inputs, release="rel-gen3").decision
    assert decision.classifications["dual-use:geospatial"] == ("rel-gen1",)
    assert decision.outcome == "needs-licence"
    assert any("inherited from rel-gen1" in r.text for r in decision.reasons)
    # the control: the same release with an unclassified ancestry goes through
    api.classify("rel-gen1", catalog=cat, classes=["public:open"], policy=policy, actor="carol")
    assert _share(cat, inputs, release="rel-gen3", out=tmp_path / "b").decision.outcome == "allow"


def test_a_release_packaged_from_a_classified_release_s_rows_inherits_its_class(cat, inputs, tmp_path):
    """The real pipeline: package registers each release; generations 2 and 3 are fitted on the previous
    release's rows, so the catalog links them by the rows' digest."""
    policy, _ = inputs
    first = make_release(tmp_path / "g1", release_id="rel-g1", workspace=cat.workspace, catalog=cat)
    table, rows = resynthesise(first, seed=1)
    second = make_release(tmp_path / "g2", release_id="rel-g2", workspace=cat.workspace, catalog=cat, table=table,
                          source=rows)
    table, rows = resynthesise(second, seed=2)
    third = make_release(tmp_path / "g3", release_id="rel-g3", workspace=cat.workspace, catalog=cat, table=table,
                         source=rows)
    assert cat.generation("rel-g3") == 3
    api.classify("rel-g1", catalog=cat, classes=["dual-use:geospatial"], policy=policy, actor="carol")
    api.classify(third.path, catalog=cat, classes=["public:open"], policy=policy, actor="carol")
    decision = _share(cat, inputs, release="rel-g3").decision
    assert decision.classifications["dual-use:geospatial"] == ("rel-g1",)
    assert decision.outcome == "needs-licence"


def test_training_on_a_classified_release_s_table_directly_does_not_launder_its_class(cat, inputs, tmp_path):
    policy, _ = inputs
    first = register(cat, "rel-src", tag="s")
    api.classify(first, catalog=cat, classes=["military:personnel"], policy=policy, actor="carol")
    child = make_release(tmp_path / "child", release_id="rel-child", workspace=cat.workspace)
    register(cat, child, trained_on=dataset_of(cat, first))  # the table, not the release id
    api.classify("rel-child", catalog=cat, classes=["public:open"], policy=policy, actor="carol")
    decision = _share(cat, inputs, release="rel-child").decision
    assert "military:personnel" in decision.classifications
    assert decision.outcome == "deny"  # military needs mia_auc/exact_copies, which were not measured


def test_reexport_to_an_embargoed_country_is_denied(cat, inputs, rel):
    api.classify("rel-main", catalog=cat, classes=["public:open"], policy=inputs[0], actor="carol")
    decision = _share(cat, inputs, reexport_to=["BY"]).decision
    assert decision.outcome == "deny"
    assert any(r.code == "embargo" and r.details["role"] == "re-export destination" for r in decision.blocking())
    assert _logged(cat)[-1].params["decision"]["request"]["reexport_to"] == ["BY"]


@pytest.mark.parametrize("case", ["no-policy", "no-list", "stale-list", "no-class", "no-rule"])
def test_fail_closed_cases_deny_and_are_logged(cat, inputs, rel, case):
    policy, lists = inputs
    kw: dict = {}
    if case != "no-class":
        api.classify("rel-main", catalog=cat, classes=["public:open"], actor="carol")
    if case == "no-policy":
        kw["policy"] = None
    elif case == "no-list":
        kw["lists"] = ()
    elif case == "stale-list":
        kw["now"] = NOW + dt.timedelta(days=60)
    elif case == "no-rule":
        text_ = policy_path_text().replace("  - class: public:open\n    destinations: {allow: [\"*\"]}\n"
                                           "    prohibited_end_uses: [weapons]\n", "")
        kw["policy"] = parse_policy(text_)
    decision = _share(cat, inputs, **kw).decision
    assert decision.outcome == "deny"
    assert _logged(cat)[-1].params["decision"]["outcome"] == "deny"
    assert not (cat.workspace.root / "shares").exists()


def policy_path_text() -> str:
    return Path(policy_path()).read_text(encoding="utf-8")


def test_the_requester_cannot_approve_and_one_actor_counts_once(cat, inputs, rel, tmp_path):
    policy, lists = inputs
    api.classify("rel-main", catalog=cat, classes=["dual-use:geospatial"], policy=policy, actor="carol")
    api.grant_licence(catalog=cat, release="rel-main", recipient=RECIPIENT, countries=["GB"], now=NOW, actor="dpo")
    waiting = _share(cat, inputs).decision
    assert waiting.outcome == "needs-second-approval"
    size = cat.ledger.size()
    with pytest.raises(ParameterError) as err:
        api.approve(waiting.decision_id, catalog=cat, actor="Alice", now=NOW)
    assert err.value.details["code"] == "SG-APPROVAL-SELF"
    assert cat.ledger.size() == size  # nothing written
    # even approvals by the requester written straight to the ledger do not count, however many
    for _ in range(2):
        store.record_approval(cat, Approval(request_id=waiting.request.request_id, actor="alice", at=NOW),
                              decision=waiting)
    again = api.share_again(waiting.decision_id, catalog=cat, policy=policy, lists=lists, now=NOW)
    assert again.decision.outcome == "needs-second-approval" and again.bundle is None
    first = api.approve(waiting.decision_id, catalog=cat, actor="bob", now=NOW)
    second = api.approve(waiting.decision_id, catalog=cat, actor="BOB", now=NOW)
    assert first.recorded and not second.recorded and second.approvers == ("bob",)
    assert len(store.approvals(cat, waiting.request.request_id)) == 3  # alice, alice, bob
    done = api.share_again(waiting.decision_id, catalog=cat, policy=policy, lists=lists, now=NOW,
                           out=tmp_path / "bundle")
    assert done.decision.outcome == "allow" and done.decision.approvers == ("bob",)


def test_an_approval_is_bound_to_its_request(cat, inputs, rel):
    policy, _ = inputs
    api.classify("rel-main", catalog=cat, classes=["dual-use:geospatial"], policy=policy, actor="carol")
    api.grant_licence(catalog=cat, release="rel-main", recipient=RECIPIENT, countries=["GB", "FR"], now=NOW,
                      actor="dpo")
    waiting = _share(cat, inputs).decision
    api.approve(waiting.decision_id, catalog=cat, actor="bob", now=NOW)
    other = _share(cat, inputs, country="FR").decision  # another request: bob's approval does not carry over
    assert other.outcome == "needs-second-approval"


def test_a_denied_decision_cannot_be_approved(cat, inputs, rel):
    denied = _share(cat, inputs, policy=None).decision
    with pytest.raises(PolicyDenied) as err:
        api.approve(denied.decision_id, catalog=cat, actor="bob")
    assert err.value.details["code"] == "SG-APPROVAL-DENIED"
    with pytest.raises(NotFoundError):
        api.approve("dec-000000000000000000000000", catalog=cat, actor="bob")


def test_licences_grant_revoke_and_a_licence_for_another_release_is_an_error(cat, inputs, rel, tmp_path):
    policy, _ = inputs
    other = register(cat, "rel-other", tag="o")
    api.classify("rel-main", catalog=cat, classes=["dual-use:geospatial"], policy=policy, actor="carol")
    wrong = api.grant_licence(catalog=cat, release=other, recipient=RECIPIENT, countries=["GB"], now=NOW,
                              licence_id="L-other")
    size = cat.ledger.size()
    with pytest.raises(ParameterError) as err:
        _share(cat, inputs, licence_id=wrong.licence_id)
    assert err.value.details["code"] == "SG-LICENCE-RELEASE"
    assert cat.ledger.size() == size and not (cat.workspace.root / "shares").exists()
    # without --licence, a licence for another release simply does not count
    assert _share(cat, inputs).decision.outcome == "needs-licence"
    right = api.grant_licence(catalog=cat, release=str(rel.path), recipient=RECIPIENT, countries=["GB"], now=NOW)
    assert right.release_id == "rel-main"
    assert _share(cat, inputs).decision.outcome == "needs-second-approval"
    store.revoke_licence(cat, right.licence_id, actor="dpo", reason="contract ended")
    assert store.revoke_licence(cat, right.licence_id, actor="dpo") is None  # already revoked: nothing written
    assert _share(cat, inputs).decision.outcome == "needs-licence"
    assert {x.licence_id: x.revoked for x in store.licences(cat)} == {"L-other": False, right.licence_id: True}
    with pytest.raises(ParameterError) as err:
        api.grant_licence(catalog=cat, release="rel-main", recipient=RECIPIENT, countries=["GB"], now=NOW,
                          licence_id="L-other")
    assert err.value.details["code"] == "SG-LICENCE-EXISTS"


def test_bad_input_is_an_error_and_nothing_is_logged_or_shared(cat, inputs, rel, tmp_path):
    size = cat.ledger.size()
    with pytest.raises(NotFoundError):
        _share(cat, inputs, release="rel-unknown")
    with pytest.raises(ParameterError) as err:
        _share(cat, inputs, country="XX")
    assert err.value.details["code"] == "SG-COUNTRY" and "'XX'" in err.value.message
    with pytest.raises(NotFoundError):
        api.grant_licence(catalog=cat, release="rel-unknown", recipient=RECIPIENT, countries=["GB"], now=NOW)
    with pytest.raises(ParameterError):
        api.grant_licence(catalog=cat, release="rel-main", recipient=RECIPIENT, countries=["ZZ"], now=NOW)
    with pytest.raises(ParameterError) as err:
        api.classify("rel-main", catalog=cat, classes=["secret:stuff"], policy=inputs[0])
    assert err.value.details["code"] == "SG-CLASS-UNKNOWN"
    broken = tmp_path / "policy.yaml"
    broken.write_text(policy_path_text().replace("two_person_approval: true", "two_person_aproval: true", 1))
    with pytest.raises(PolicyError) as err:
        api.load_inputs(policy=broken, lists=[list_path()])
    assert err.value.details["field"].endswith("two_person_aproval") and err.value.details["line"] > 1
    assert cat.ledger.size() == size
    assert not (cat.workspace.root / "shares").exists()


def test_a_release_that_does_not_verify_is_never_shared(cat, inputs, rel):
    api.classify("rel-main", catalog=cat, classes=["public:open"], actor="carol")
    data = rel.path / "card.md"
    data.write_text(data.read_text() + "\nedited\n")
    size = cat.ledger.size()
    with pytest.raises(IntegrityError) as err:
        _share(cat, inputs)
    assert "SG-VERIFY-DIGEST" in err.value.details["codes"]
    assert cat.ledger.size() == size and not (cat.workspace.root / "shares").exists()


def test_an_altered_ledger_stops_every_share(cat, inputs, rel):
    api.classify("rel-main", catalog=cat, classes=["dual-use:geospatial"], policy=inputs[0], actor="carol")
    with cat._writer() as conn:  # someone edits the stored classification to launder the release
        conn.execute(text("UPDATE events SET body = replace(body, 'dual-use:geospatial', 'public:open') "
                          "WHERE action = 'classify'"))
    with pytest.raises(IntegrityError):
        _share(cat, inputs)
    with pytest.raises(IntegrityError):
        api.approve("dec-000000000000000000000000", catalog=cat, actor="bob")


def test_classifying_the_real_source_carries_to_every_release_made_from_it(cat, inputs, rel):
    policy, _ = inputs
    source = next(n.id for n in cat.lineage("rel-main").walk() if n.kind == "source")
    api.classify(source, catalog=cat, classes=["personal:health"], policy=policy, actor="dpo")
    api.classify("rel-main", catalog=cat, classes=["public:open"], policy=policy, actor="carol")
    decision = _share(cat, inputs).decision
    assert decision.classifications["personal:health"] == (source,)
    assert decision.outcome == "deny"
    assert any(r.code == "metric-missing" and r.details["metric"] == "epsilon" for r in decision.blocking())
