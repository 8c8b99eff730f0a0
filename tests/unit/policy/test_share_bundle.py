"""The share bundle: the release copied byte for byte, the signed share record, the shared metadata
carrying the conditions, and verification that rejects every kind of tampering with the right code."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthgov.catalog import open_catalog
from synthgov.errors import InputError, OutputError
from synthgov.policy import ShareRecord, load_party_lists, load_policy
from synthgov.policy import share as api
from synthgov.policy.bundle import write_bundle
from synthgov.policy.verify_share import CODES, is_share_bundle, verify_share
from synthgov.provenance import dsse
from synthgov.provenance.keys import SigningKey

sys.path.insert(0, str(Path(__file__).parent))
from share_helpers import NOW, RECIPIENT, list_path, make_release, policy_path, register  # noqa: E402

EXPIRES = dt.datetime(2027, 3, 31, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One allowed share (public data to GB with a re-export to NO), made once; tests work on copies."""
    root = tmp_path_factory.mktemp("share")
    cat = open_catalog(workspace=root / "ws")
    release = make_release(root / "rel", release_id="rel-bundle", workspace=cat.workspace)
    register(cat, release)
    policy = load_policy(policy_path())
    api.classify("rel-bundle", catalog=cat, classes=["public:open"], policy=policy, actor="carol")
    result = api.share_release("rel-bundle", catalog=cat, recipient=RECIPIENT, country="GB", reexport_to=["NO"],
                               end_use="flood-risk model training", purpose="research", requester="alice",
                               policy=policy, lists=load_party_lists(list_path()), now=NOW, expires=EXPIRES,
                               out=root / "bundle")
    assert result.decision.outcome == "allow"
    public = cat.workspace.root / "keys" / "default.pub"
    cat.close()
    return {"bundle": result.bundle, "release": release, "key": str(public), "result": result}


@pytest.fixture()
def bundle(shared, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(shared["bundle"], copy)
    return copy


def check(path, shared, **kw):
    return verify_share(path, key=shared["key"], now=kw.pop("now", NOW), **kw)


def test_the_bundle_verifies_and_holds_the_release_byte_for_byte(shared, bundle):
    result = check(bundle, shared)
    assert result.ok, result.problems
    assert result.release_id == "rel-bundle" and result.share["decision_id"] == shared["result"].decision.decision_id
    original = shared["release"].path
    names = sorted(p.name for p in original.iterdir())
    assert sorted(p.name for p in (bundle / "release").iterdir()) == names
    for name in names:
        assert (bundle / "release" / name).read_bytes() == (original / name).read_bytes()
    assert is_share_bundle(bundle) and not is_share_bundle(original)


def test_the_share_record_names_recipient_conditions_expiry_policy_and_lists(shared, bundle):
    share = json.loads((bundle / "share.json").read_text())
    decision = shared["result"].decision
    assert share["recipient"] == RECIPIENT and share["country"] == "GB" and share["reexport_to"] == ["NO"]
    assert share["end_use"] == "flood-risk model training" and share["purpose"] == "research"
    assert share["conditions"]["countries"] == ["GB", "NO"] and share["conditions"]["prohibited_end_uses"] == ["weapons"]
    assert share["expires"] == EXPIRES.isoformat()
    assert share["policy"]["sha256"] == load_policy(policy_path()).sha256
    assert [v["name"] for v in share["lists"]] == [v["name"] for v in decision.list_versions]
    envelope = (shared["release"].path / "release.dsse.json").read_bytes()
    assert share["release"] == {"id": "rel-bundle", "envelope_sha256": hashlib.sha256(envelope).hexdigest()}


def test_the_shared_croissant_and_card_carry_the_conditions(shared, bundle):
    doc = json.loads((bundle / "croissant.json").read_text())
    agreement = doc["usageInfo"][-1]
    assert "odrl:Agreement" in agreement["@type"] and agreement["odrl:assignee"] == RECIPIENT
    permission = agreement["odrl:permission"][0]["odrl:constraint"]
    assert {"odrl:leftOperand": "dateTime", "odrl:operator": "lt", "odrl:rightOperand": EXPIRES.isoformat()} in permission
    assert {"odrl:leftOperand": "spatial", "odrl:operator": "isAnyOf", "odrl:rightOperand": ["GB", "NO"]} in permission
    assert [d["odrl:action"] for d in agreement["odrl:duty"]] == ["attribute", "delete", "inform"]
    assert doc["distribution"][0]["contentUrl"] == "release/data.parquet"
    original = json.loads((shared["release"].path / "croissant.json").read_text())
    assert doc["identifier"] == original["identifier"] and doc["usageInfo"][0] == original["usageInfo"]
    card = (bundle / "card.md").read_text()
    assert card.startswith((shared["release"].path / "card.md").read_text().rstrip("\n"))
    assert "## Conditions of this share" in card and RECIPIENT in card and EXPIRES.isoformat() in card


@pytest.mark.parametrize("name", ["share.json", "croissant.json", "card.md"])
def test_editing_a_shared_file_is_a_digest_problem_naming_it(shared, bundle, name):
    path = bundle / name
    path.write_bytes(path.read_bytes().replace(b"Harbourlight", b"Harbourlite", 1))
    result = check(bundle, shared)
    assert result.codes == ["SG-VERIFY-SHARE-DIGEST"] and result.problems[0].file == name


def test_an_expired_share_is_rejected(shared, bundle):
    assert check(bundle, shared, now=EXPIRES - dt.timedelta(seconds=1)).ok
    assert check(bundle, shared, now=EXPIRES).codes == ["SG-VERIFY-SHARE-EXPIRED"]


def test_extending_the_expiry_breaks_the_signature_or_the_digest(shared, bundle):
    later = "2099-01-01T00:00:00+00:00"
    share = bundle / "share.json"
    share.write_text(share.read_text().replace(EXPIRES.isoformat(), later))
    assert "SG-VERIFY-SHARE-DIGEST" in check(bundle, shared, now=EXPIRES + dt.timedelta(days=1)).codes
    env_path = bundle / "share.dsse.json"
    env = json.loads(env_path.read_bytes())
    payload = base64.b64decode(env["payload"]).replace(EXPIRES.isoformat().encode(), later.encode())
    env["payload"] = base64.b64encode(payload).decode()
    env_path.write_bytes(dsse.dumps(env))
    assert check(bundle, shared, now=EXPIRES + dt.timedelta(days=1)).codes[-1] == "SG-VERIFY-SHARE-SIGNATURE"


def test_a_share_re_signed_by_another_key_is_not_trusted(shared, bundle):
    env_path = bundle / "share.dsse.json"
    env = json.loads(env_path.read_bytes())
    forged = dsse.sign(base64.b64decode(env["payload"]), SigningKey.generate())
    env_path.write_bytes(dsse.dumps(forged))
    assert check(bundle, shared).codes == ["SG-VERIFY-SHARE-UNKNOWN-KEY"]


def test_swapping_in_another_release_is_a_release_problem(shared, bundle, tmp_path):
    key = SigningKey.generate()
    other = make_release(tmp_path / "other", release_id="rel-other", key=key)
    shutil.rmtree(bundle / "release")
    shutil.copytree(other.path, bundle / "release")
    result = verify_share(bundle, key=[shared["key"], key.public_key()], now=NOW)
    assert "SG-VERIFY-SHARE-RELEASE" in result.codes
    assert result.ok is False and not any(c.startswith("SG-VERIFY-SHARE-DIGEST") for c in result.codes)


def test_tampering_with_the_embedded_release_is_reported_with_the_release_codes(shared, bundle):
    data = bundle / "release" / "card.md"
    data.write_bytes(data.read_bytes() + b"\n")
    result = check(bundle, shared)
    assert result.codes == ["SG-VERIFY-DIGEST"] and result.problems[0].file == "release/card.md"


def test_missing_and_unexpected_files(shared, bundle):
    (bundle / "notes.txt").write_text("hi")
    assert check(bundle, shared).codes == ["SG-VERIFY-SHARE-UNEXPECTED"]
    (bundle / "notes.txt").unlink()
    (bundle / "share.dsse.json").unlink()
    assert check(bundle, shared).codes == ["SG-VERIFY-SHARE-MISSING"]
    assert set(CODES) >= {"SG-VERIFY-SHARE-MISSING", "SG-VERIFY-SHARE-UNEXPECTED", "SG-VERIFY-SHARE-EXPIRED"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_flipping_any_byte_of_a_signed_share_file_is_detected(shared, tmp_path_factory, data):
    name = data.draw(st.sampled_from(["share.json", "share.dsse.json", "croissant.json", "card.md"]))
    copy = tmp_path_factory.mktemp("flip") / "bundle"
    shutil.copytree(shared["bundle"], copy)
    raw = bytearray((copy / name).read_bytes())
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] ^= data.draw(st.integers(1, 255))
    (copy / name).write_bytes(bytes(raw))
    result = check(copy, shared)
    assert not result.ok
    assert all(c.startswith("SG-VERIFY-SHARE-") for c in result.codes)


def test_a_failed_bundle_write_leaves_nothing_behind(shared, tmp_path):
    result = shared["result"]
    target = tmp_path / "out"

    def fail(share, digests):
        assert set(digests) == {"share.json", "croissant.json", "card.md", "release/release.dsse.json",
                                "share.dsse.json"}
        raise OutputError("the ledger refused")

    with pytest.raises(OutputError):
        write_bundle(target, release=result.release, decision=result.decision,
                     record=ShareRecord.from_decision(result.decision, expires=EXPIRES),
                     signer=SigningKey.generate(), shared_by="alice", now=NOW, key=shared["key"], before_commit=fail)
    assert list(tmp_path.iterdir()) == []


def test_verify_share_refuses_an_unknown_folder(tmp_path):
    with pytest.raises(InputError):
        verify_share(tmp_path / "nope")


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated", "ignore:The inplace keyword")
def test_the_shared_croissant_passes_mlcroissant_and_its_records_load_from_the_release(shared, bundle):
    mlc = pytest.importorskip("mlcroissant")
    ds = mlc.Dataset(jsonld=str(bundle / "croissant.json"))
    assert not ds.metadata.ctx.issues.errors and not ds.metadata.ctx.issues.warnings
    records = list(ds.records(record_set=ds.metadata.record_sets[0].uuid))
    assert len(records) == len(pd.read_parquet(bundle / "release" / "data.parquet")) == 150
