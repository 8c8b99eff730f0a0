"""The share bundle: what an allowed share hands over, signed.

::

    bundle/
      release/          the signed release, copied byte for byte (verified before and after copying)
      share.json        the share record: recipient, destinations, end use, purpose, re-export
                        destinations, prohibited end uses, licence, expiry, the decision id, the
                        policy hash and the list editions, the release's id and envelope sha256
      croissant.json    the release's Croissant metadata carrying the share's conditions (an ODRL
                        Agreement: the recipient as assignee, the places and the expiry as constraints)
      card.md           the release's card with a "Conditions of this share" section
      share.dsse.json   DSSE envelope: an in-toto Statement over the sha256 and size of share.json,
                        croissant.json, card.md and release/release.dsse.json, Ed25519-signed

The release's own signed files stay untouched under ``release/``; the shared copies of the
metadata sit beside them. :func:`write_bundle` writes everything into a temporary sibling
and renames it into place (:func:`synthgov._atomic.atomic_dir`): a failure leaves nothing.
:func:`synthgov.policy.verify_share.verify_share` checks a bundle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._atomic import _umask, atomic_dir
from ..errors import IntegrityError, OutputError, ParameterError, SynthgovError
from ..provenance import dsse
from ..provenance.keys import SigningKey
from ..provenance.verify import ENVELOPE, verify
from .gather import ResolvedRelease
from .records import Decision, ShareRecord

__all__ = ["SHARE_FILE", "SHARE_ENVELOPE", "RELEASE_DIR", "SHARED_FILES", "SHARE_PREDICATE_TYPE", "SHARE_TYPE",
           "share_document", "agreement", "shared_croissant", "shared_card", "write_bundle"]

SHARE_FILE = "share.json"
SHARE_ENVELOPE = "share.dsse.json"
RELEASE_DIR = "release"
SHARED_FILES = ("croissant.json", "card.md")
#: The predicate type of a share statement.
SHARE_PREDICATE_TYPE = "https://synthgov.dev/share/v1"
#: The ``type`` of share.json.
SHARE_TYPE = "synthgov-share/v1"
RELEASE_ENVELOPE = f"{RELEASE_DIR}/{ENVELOPE}"


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def agreement(record: ShareRecord, *, reexport_to: tuple[str, ...] = (), assigner: str | None = None) -> dict[str, Any]:
    """The share's conditions as an ODRL Agreement (plain ODRL JSON-LD), duties included."""
    doc = record.odrl()
    if assigner:
        doc["assigner"] = assigner
    duties: list[dict[str, Any]] = [{"action": "attribute", "target": doc["target"]}]
    if record.expires is not None:
        duties.append({"action": "delete", "constraint": [
            {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": record.expires.isoformat()}]})
    if reexport_to:
        duties.append({"action": "inform", "note": "onward sharing only to the declared re-export destinations "
                       f"({', '.join(reexport_to)}), under the same conditions"})
    doc["duty"] = duties
    return doc


def share_document(decision: Decision, record: ShareRecord, *, release: ResolvedRelease, shared_at: dt.datetime,
                   shared_by: str, fixed_clock: bool = False) -> dict[str, Any]:
    """The content of share.json (``fixed_clock``: decided and shared as of a given time, not the clock's)."""
    request = decision.request
    return {
        "type": SHARE_TYPE,
        "decision_id": decision.decision_id,
        "release": {"id": release.release_id, "envelope_sha256": release.envelope_sha256},
        "recipient": request.recipient,
        "country": request.country,
        "reexport_to": list(request.reexport_to),
        "onward_recipients": list(request.onward_recipients),
        "end_use": request.end_use,
        "purpose": request.purpose,
        "requester": request.requester,
        "approvers": list(decision.approvers),
        "conditions": {"countries": list(record.countries), "prohibited_end_uses": list(record.prohibited_end_uses),
                       "licence_id": record.licence_id},
        "expires": _iso(record.expires),
        "classifications": {k: list(v) for k, v in decision.classifications.items()},
        "policy": {"name": decision.policy_name, "sha256": decision.policy_sha256},
        "lists": [dict(v) for v in decision.list_versions],
        "decided_at": decision.decided_at.isoformat(),
        "shared_at": shared_at.isoformat(),
        "fixed_clock": bool(fixed_clock),
        "shared_by": shared_by,
        "odrl": agreement(record, reexport_to=request.reexport_to, assigner=shared_by),
    }


def _prefixed(value: Any) -> Any:
    """Plain ODRL JSON-LD keys as ``odrl:`` terms, for a Croissant document whose vocabulary is schema.org."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "@context":
                continue
            key = k if k.startswith("@") else f"odrl:{k}"
            out[key] = _prefixed(v)
        return out
    if isinstance(value, list):
        return [_prefixed(v) for v in value]
    return value


def shared_croissant(original: bytes, share: dict[str, Any]) -> bytes:
    """The release's croissant.json with the share's conditions added to ``usageInfo`` and the file paths of the bundle."""
    try:
        doc = json.loads(original.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise IntegrityError(f"the release's croissant.json cannot be read: {exc}") from None
    terms = _prefixed(share["odrl"])
    terms["@type"] = ["CreativeWork", "odrl:Agreement"]
    terms["name"] = f"Conditions of share {share['decision_id']}"
    usage = doc.get("usageInfo")
    doc["usageInfo"] = [*(usage if isinstance(usage, list) else [usage] if usage else []), terms]
    for item in doc.get("distribution") or []:
        if isinstance(item, dict) and isinstance(item.get("contentUrl"), str) and "/" not in item["contentUrl"]:
            item["contentUrl"] = f"{RELEASE_DIR}/{item['contentUrl']}"
    doc["sg:share"] = {"sg:decision": share["decision_id"], "sg:recipient": share["recipient"],
                       "sg:expires": share["expires"], "sg:policySha256": share["policy"]["sha256"]}
    return (json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {i}" for i in items) if items else "- none"


def shared_card(original: bytes, share: dict[str, Any]) -> bytes:
    """The release's card.md followed by the conditions of this share."""
    c = share["conditions"]
    lists = [f"{v.get('name')} dated {v.get('date')} (sha256 {str(v.get('sha256'))[:16]}…)" for v in share["lists"]]
    section = f"""

---

## Conditions of this share

This copy of the card was written for one recipient. The release's own signed card is
`{RELEASE_DIR}/card.md`; these conditions are signed in `{SHARE_ENVELOPE}`.

| | |
| --- | --- |
| Recipient | {share['recipient']} |
| Destination | {share['country']} |
| Re-export allowed to | {', '.join(share['reexport_to']) or 'nowhere'} |
| End use | {share['end_use']} |
| Purpose | {share['purpose']} |
| Expires | {share['expires'] or 'no expiry'} |
| Licence | {c['licence_id'] or 'none required'} |
| Decision | {share['decision_id']} ({share['decided_at']}) |
| Policy | {share['policy']['name']} (sha256 {share['policy']['sha256']}) |
| Requested by / approved by | {share['requester']} / {', '.join(share['approvers']) or 'no second approval required'} |

**Permitted:** use of the data by the recipient in {', '.join(c['countries'])} until the expiry.

**Prohibited:** distribution to anyone outside these places; these end uses:
{_bullets(c['prohibited_end_uses'])}

**Duties:** attribute the release; delete the data when the share expires; pass these conditions on
with any onward share.

Denied-party screening searched: {'; '.join(lists) or 'no list'}. A screen is not a clearance.
"""
    return original.rstrip(b"\n") + section.encode("utf-8")


def _copy_release(release: ResolvedRelease, target: Path) -> None:
    target.mkdir()
    os.chmod(target, 0o777 & ~_umask())
    for name in release.verification.files:
        (target / name).write_bytes(release.verification.content(name))
    (target / ENVELOPE).write_bytes((release.path / ENVELOPE).read_bytes())


def write_bundle(out: str | os.PathLike, *, release: ResolvedRelease, decision: Decision, record: ShareRecord,
                 signer: SigningKey, shared_by: str, now: dt.datetime, key=None, workspace=None, overwrite: bool = False,
                 fixed_clock: bool = False,
                 before_commit: Callable[[dict[str, Any], dict[str, str]], None] | None = None) -> dict[str, Any]:
    """Write the bundle for an allowed ``decision`` atomically; return share.json's content.

    The copied release is verified again (with ``key``, the trusted keys, default those of ``workspace``) before the bundle
    is renamed into place. ``before_commit(share, digests)`` runs last, before the rename
    (e.g. to log the share in the ledger): if it raises, nothing is left behind.
    """
    if not decision.allowed:
        ShareRecord.from_decision(decision)  # raises PolicyDenied with the reasons
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise OutputError(f"{out} already exists", hint="choose another --out, or remove it first",
                          details={"code": "SG-SHARE-EXISTS"})
    if not isinstance(signer, SigningKey):
        raise ParameterError(f"signer must be a SigningKey, got {type(signer).__name__}")
    share = share_document(decision, record, release=release, shared_at=now, shared_by=shared_by,
                           fixed_clock=fixed_clock)
    files = {SHARE_FILE: (json.dumps(share, indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8"),
             "croissant.json": shared_croissant(release.verification.content("croissant.json"), share),
             "card.md": shared_card(release.verification.content("card.md"), share)}
    try:
        with atomic_dir(out) as tmp:
            os.chmod(tmp, 0o777 & ~_umask())
            _copy_release(release, tmp / RELEASE_DIR)
            copy = verify(tmp / RELEASE_DIR, key=key, release_id=release.release_id, workspace=workspace)
            copy.raise_for_problems()
            for name, data in files.items():
                (tmp / name).write_bytes(data)
            envelope = (tmp / RELEASE_DIR / ENVELOPE).read_bytes()
            if hashlib.sha256(envelope).hexdigest() != release.envelope_sha256:
                raise IntegrityError("the release changed while it was being shared", hint="share it again")
            signed = {**files, RELEASE_ENVELOPE: envelope}
            digests = {name: hashlib.sha256(data).hexdigest() for name, data in signed.items()}
            sizes = {name: len(data) for name, data in signed.items()}
            predicate = {"decisionId": decision.decision_id, "releaseId": release.release_id,
                         "releaseEnvelopeSha256": release.envelope_sha256, "recipient": share["recipient"],
                         "expires": share["expires"], dsse.FILE_SIZES: sizes}
            statement = dsse.statement(digests, predicate)
            statement["predicateType"] = SHARE_PREDICATE_TYPE
            (tmp / SHARE_ENVELOPE).write_bytes(dsse.dumps(dsse.sign(dsse.canonical_json(statement), signer)))
            if before_commit is not None:
                before_commit(share, {**digests, SHARE_ENVELOPE: hashlib.sha256((tmp / SHARE_ENVELOPE).read_bytes())
                                      .hexdigest()})
    except SynthgovError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write the share bundle to {out}: {exc.strerror or exc}",
                          hint="check the folder's parent exists and is writable") from None
    return share
