"""Verify a share bundle: the embedded release, the signed share record, the binding and the expiry.

:func:`verify_share` checks the release under ``release/`` exactly as
:func:`synthgov.provenance.verify.verify` does (its problems keep their ``SG-VERIFY-*``
codes, with the file named ``release/…``), then the share's own envelope and every file
it signs, that the share names that very release (its id and the sha256 of its signed
envelope), and that the share has not expired. Each problem has a stable code:

================================  ===============================================================
``SG-VERIFY-SHARE-MALFORMED``     share.dsse.json or its statement is not well-formed, or
                                  share.json disagrees with the signed statement
``SG-VERIFY-SHARE-UNKNOWN-KEY``   the share is signed by a key that is not trusted
``SG-VERIFY-SHARE-SIGNATURE``     a signature by a trusted key does not verify
``SG-VERIFY-SHARE-MISSING``       a file of the bundle is missing
``SG-VERIFY-SHARE-UNEXPECTED``    a file no signature covers (or a link) is in the bundle
``SG-VERIFY-SHARE-DIGEST``        a signed file's sha256 or size differs (the file is named)
``SG-VERIFY-SHARE-RELEASE``       the share names another release than the one in the bundle
``SG-VERIFY-SHARE-EXPIRED``       the share's expiry has passed
================================  ===============================================================
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import InputError, IntegrityError, ParameterError
from ..provenance import dsse
from ..provenance.keys import PublicKey, SigningKey, load_public_key, trusted_keys
from ..provenance.verify import ENVELOPE, Problem, Verification, verify
from .bundle import RELEASE_DIR, RELEASE_ENVELOPE, SHARE_ENVELOPE, SHARE_FILE, SHARE_PREDICATE_TYPE, SHARE_TYPE, SHARED_FILES
from .grants import parse_time, utc_now

__all__ = ["CODES", "ShareVerification", "verify_share", "is_share_bundle"]

CODES = {
    "SG-VERIFY-SHARE-MALFORMED": "share.dsse.json or its statement is not well-formed",
    "SG-VERIFY-SHARE-UNKNOWN-KEY": "the share is signed by a key that is not trusted",
    "SG-VERIFY-SHARE-SIGNATURE": "a signature by a trusted key does not verify",
    "SG-VERIFY-SHARE-MISSING": "a file of the bundle is missing",
    "SG-VERIFY-SHARE-UNEXPECTED": "a file no signature covers is in the bundle",
    "SG-VERIFY-SHARE-DIGEST": "a signed file's sha256 or size differs",
    "SG-VERIFY-SHARE-RELEASE": "the share names another release",
    "SG-VERIFY-SHARE-EXPIRED": "the share has expired",
}
EXPECTED = frozenset({RELEASE_DIR, SHARE_FILE, SHARE_ENVELOPE, *SHARED_FILES})
_SUBJECTS = frozenset({SHARE_FILE, *SHARED_FILES, RELEASE_ENVELOPE})
_MAX = 16 * 1024 * 1024
_SHA = re.compile(r"^[0-9a-f]{64}\Z")


@dataclasses.dataclass(frozen=True)
class ShareVerification:
    """The outcome of :func:`verify_share`; ``ok`` only when the release and the share both verify."""

    path: Path
    problems: tuple[Problem, ...]
    release: Verification | None = None
    share: dict[str, Any] | None = None
    key_ids: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    @property
    def release_id(self) -> str | None:
        return self.release.release_id if self.release is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "ok": self.ok, "kind": "share", "release_id": self.release_id,
                "decision_id": (self.share or {}).get("decision_id"), "recipient": (self.share or {}).get("recipient"),
                "expires": (self.share or {}).get("expires"), "key_ids": list(self.key_ids),
                "release": None if self.release is None else self.release.to_dict(),
                "problems": [p.to_dict() for p in self.problems]}

    def raise_for_problems(self) -> None:
        """Raise :class:`~synthgov.errors.IntegrityError` naming every problem (``details["codes"]``)."""
        if self.ok:
            return
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more problem(s))" if len(self.problems) > 1 else ""
        raise IntegrityError(f"the share bundle {self.path} does not verify: [{first.code}] {first.message}{more}",
                             hint="do not use this data; ask the sender for the bundle again",
                             details={"codes": self.codes, "problems": [p.to_dict() for p in self.problems]})


def is_share_bundle(path: str | os.PathLike) -> bool:
    """Whether ``path`` looks like a share bundle (rather than a release directory)."""
    path = Path(path)
    if not path.is_dir():
        return False
    if (path / SHARE_ENVELOPE).exists() or (path / SHARE_FILE).exists():
        return True
    return (path / RELEASE_DIR).is_dir() and not (path / ENVELOPE).exists()


def _trusted(key, workspace) -> list[PublicKey]:
    if key is None:
        return trusted_keys(workspace=workspace)
    items = [key] if isinstance(key, (PublicKey, SigningKey, str, bytes, os.PathLike)) else key
    if not isinstance(items, Iterable):
        raise ParameterError(f"key must be a public key, a path, PEM text or a list of them, got {type(key).__name__}")
    out = []
    for item in items:
        if isinstance(item, SigningKey):
            item = item.public_key()
        out.append(item if isinstance(item, PublicKey) else load_public_key(item, workspace=workspace))
    return out


def _read(path: Path, size: int | None) -> bytes | Problem:
    name = path.name if path.parent.name != RELEASE_DIR else RELEASE_ENVELOPE
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return Problem("SG-VERIFY-SHARE-MISSING", f"{name} is missing", name)
    if not stat.S_ISREG(info.st_mode):
        return Problem("SG-VERIFY-SHARE-UNEXPECTED", f"{name} is not a regular file", name)
    if size is not None and info.st_size != size:
        return Problem("SG-VERIFY-SHARE-DIGEST", f"{name} is {info.st_size} bytes, but {size} bytes were signed", name)
    if info.st_size > _MAX:
        return Problem("SG-VERIFY-SHARE-MALFORMED", f"{name} is larger than {_MAX} bytes", name)
    with open(path, "rb") as fh:
        return fh.read(_MAX + 1)


def _statement(payload: bytes) -> tuple[dict[str, str], dict[str, Any]]:
    doc = dsse.loads_strict(payload, "the signed share statement")
    if not isinstance(doc, dict) or set(doc) != {"_type", "subject", "predicateType", "predicate"}:
        raise dsse.EnvelopeError("the signed payload is not an in-toto Statement")
    if doc["_type"] != dsse.STATEMENT_TYPE or doc["predicateType"] != SHARE_PREDICATE_TYPE:
        raise dsse.EnvelopeError(f"the statement is not a synthgov share ({doc['predicateType']!r})")
    subjects: dict[str, str] = {}
    for entry in doc["subject"] if isinstance(doc["subject"], list) else []:
        if not isinstance(entry, dict) or set(entry) != {"name", "digest"} or entry["name"] not in _SUBJECTS \
                or not isinstance(entry["digest"], dict) or set(entry["digest"]) != {"sha256"} \
                or not _SHA.match(str(entry["digest"]["sha256"])) or entry["name"] in subjects:
            raise dsse.EnvelopeError(f"bad subject in the share statement: {str(entry)[:120]}")
        subjects[entry["name"]] = entry["digest"]["sha256"]
    if set(subjects) != _SUBJECTS:
        raise dsse.EnvelopeError(f"the share statement must cover exactly {', '.join(sorted(_SUBJECTS))}")
    predicate = doc["predicate"]
    sizes = predicate.get(dsse.FILE_SIZES) if isinstance(predicate, dict) else None
    if not isinstance(sizes, dict) or set(sizes) != _SUBJECTS or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in sizes.values()):
        raise dsse.EnvelopeError("the share statement must give the size of every subject")
    for field in ("decisionId", "releaseId", "releaseEnvelopeSha256", "recipient"):
        if not isinstance(predicate.get(field), str):
            raise dsse.EnvelopeError(f"the share statement has no {field}")
    return subjects, predicate


def _envelope(folder: Path, trusted: list[PublicKey]) -> tuple[list[Problem], dsse.Envelope | None]:
    raw = _read(folder / SHARE_ENVELOPE, None)
    if isinstance(raw, Problem):
        return [raw], None
    try:
        env = dsse.parse(raw)
    except dsse.EnvelopeError as exc:
        return [Problem("SG-VERIFY-SHARE-MALFORMED", str(exc), SHARE_ENVELOPE)], None
    if env.payload_type != dsse.PAYLOAD_TYPE:
        return [Problem("SG-VERIFY-SHARE-MALFORMED", f"payloadType is {env.payload_type[:100]!r}", SHARE_ENVELOPE)], None
    by_id = {k.key_id: k for k in trusted}
    problems = []
    for i, sig in enumerate(env.signatures, 1):
        k = by_id.get(sig.keyid)
        if k is None:
            problems.append(Problem("SG-VERIFY-SHARE-UNKNOWN-KEY", f"signature {i} is by key id {sig.keyid[:64]!r}, "
                                    "which is not trusted (pass --key PUB)", SHARE_ENVELOPE))
        elif len(sig.sig) != 64 or not k.verify(sig.sig, env.signed_bytes()):
            problems.append(Problem("SG-VERIFY-SHARE-SIGNATURE", f"signature {i} by trusted key {sig.keyid[:16]}… does "
                                    "not verify: the share was altered or the signature is forged", SHARE_ENVELOPE))
    return problems, env


def _share_doc(data: bytes, predicate: dict[str, Any], release_id: str | None) -> tuple[list[Problem], dict | None]:
    try:
        share = dsse.loads_strict(data, SHARE_FILE)
    except dsse.EnvelopeError as exc:
        return [Problem("SG-VERIFY-SHARE-MALFORMED", str(exc), SHARE_FILE)], None
    if not isinstance(share, dict) or share.get("type") != SHARE_TYPE or not isinstance(share.get("release"), dict):
        return [Problem("SG-VERIFY-SHARE-MALFORMED", f"{SHARE_FILE} is not a synthgov share record", SHARE_FILE)], None
    problems = []
    pairs = {"decision_id": "decisionId", "recipient": "recipient", "expires": "expires"}
    for ours, theirs in pairs.items():
        if share.get(ours) != predicate.get(theirs):
            problems.append(Problem("SG-VERIFY-SHARE-MALFORMED", f"{SHARE_FILE} says {ours} {share.get(ours)!r}, the "
                                    f"signed statement {predicate.get(theirs)!r}", SHARE_FILE))
    bound = share["release"]
    if bound.get("id") != predicate["releaseId"] or bound.get("envelope_sha256") != predicate["releaseEnvelopeSha256"]:
        problems.append(Problem("SG-VERIFY-SHARE-MALFORMED", f"{SHARE_FILE} names another release than the signed "
                                "statement", SHARE_FILE))
    if release_id is not None and predicate["releaseId"] != release_id:
        problems.append(Problem("SG-VERIFY-SHARE-RELEASE", f"the share is for release {predicate['releaseId']!r}, but "
                                f"the bundle holds release {release_id!r}", SHARE_FILE))
    return problems, share


def verify_share(directory: str | os.PathLike, *, key=None, release_id: str | None = None,
                 now: dt.datetime | dt.date | str | None = None, workspace=None) -> ShareVerification:
    """Check the share bundle in ``directory``; return every problem found (see the module docs for codes).

    ``key``: trusted public key(s) for the release and the share (default: the workspace's);
    ``release_id``: the release you expect; ``now``: the time the expiry is checked against.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a directory", hint="pass the folder `synthgov share` wrote")
    when = parse_time(now or utc_now(), field="now")
    trusted = _trusted(key, workspace)
    problems: list[Problem] = []
    names = set(os.listdir(folder))
    for name in sorted(names - EXPECTED):
        problems.append(Problem("SG-VERIFY-SHARE-UNEXPECTED", f"{name!r} is in the bundle but not covered by a "
                                "signature", name))
    release = None
    release_dir = folder / RELEASE_DIR
    if release_dir.is_symlink() or not release_dir.is_dir():
        problems.append(Problem("SG-VERIFY-SHARE-MISSING", f"{RELEASE_DIR}/ (the signed release) is missing or not a "
                                "folder", RELEASE_DIR))
    else:
        release = verify(release_dir, key=trusted, release_id=release_id, workspace=workspace)
        problems.extend(dataclasses.replace(p, file=f"{RELEASE_DIR}/{p.file}" if p.file else RELEASE_DIR)
                        for p in release.problems)
    found, env = _envelope(folder, trusted)
    problems.extend(found)
    if env is None or found:
        return ShareVerification(path=folder, problems=tuple(problems), release=release)
    key_ids = tuple(s.keyid for s in env.signatures)
    try:
        subjects, predicate = _statement(env.payload)
    except dsse.EnvelopeError as exc:
        problems.append(Problem("SG-VERIFY-SHARE-MALFORMED", str(exc), SHARE_ENVELOPE))
        return ShareVerification(path=folder, problems=tuple(problems), release=release, key_ids=key_ids)
    contents: dict[str, bytes] = {}
    for name, digest in sorted(subjects.items()):
        bound = name == RELEASE_ENVELOPE  # the release itself: any difference means another release
        data = _read(folder / name, None if bound else predicate[dsse.FILE_SIZES][name])
        if isinstance(data, Problem):
            problems.append(data)
        elif (actual := hashlib.sha256(data).hexdigest()) != digest or (bound and actual != predicate[
                "releaseEnvelopeSha256"]):
            problems.append(Problem("SG-VERIFY-SHARE-RELEASE", "the release in the bundle is not the one the share "
                                    f"was signed for (its envelope has sha256 {actual}, the share names "
                                    f"{predicate['releaseEnvelopeSha256']})", name) if bound else
                            Problem("SG-VERIFY-SHARE-DIGEST", f"{name} has sha256 {actual}, but {digest} was signed",
                                    name))
        else:
            contents[name] = data
    held = release.release_id if release is not None else None
    share = None
    if SHARE_FILE in contents:
        found, share = _share_doc(contents[SHARE_FILE], predicate, held)
        problems.extend(found)
    expires = predicate.get("expires")
    if expires is not None:
        try:
            limit = parse_time(expires, field="expires")
        except ParameterError:
            problems.append(Problem("SG-VERIFY-SHARE-MALFORMED", f"the expiry {expires!r} is not a time", SHARE_ENVELOPE))
        else:
            if when >= limit:
                problems.append(Problem("SG-VERIFY-SHARE-EXPIRED", f"the share expired on {limit.isoformat()} (now "
                                        f"{when.isoformat()}); the recipient must delete the data", SHARE_FILE))
    return ShareVerification(path=folder, problems=tuple(problems), release=release, share=share, key_ids=key_ids)
