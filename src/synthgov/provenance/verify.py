"""Verify a release directory: the signature, then every file against the signed digests.

:func:`verify` never trusts anything it has not checked. It reads
``release.dsse.json``, parses it strictly, checks the payload type and every
signature against trusted public keys, and only then reads the in-toto Statement
from the exact payload bytes that were signed. Each file is read once, through one
handle on the folder, without following links, and only when its size is the signed
one (an endless or oversized file is refused unread); its sha256 is compared with the
signed digest, and the release id checks that follow parse those same bytes. Those
bytes are what :meth:`Verification.content` and :meth:`Verification.read_table`
return: read the release through them, not from the folder again, and nothing can
change between the check and the use. Every problem found is reported with a stable code:

=========================  ==========================================================
``SG-VERIFY-MALFORMED``    the envelope or its statement is not well-formed (truncated,
                           not canonical, no signatures, bad base64, bad subjects)
``SG-VERIFY-PAYLOAD-TYPE`` the envelope's payloadType is not an in-toto Statement
``SG-VERIFY-PREDICATE-TYPE`` the statement's predicate is not a synthgov release
``SG-VERIFY-UNKNOWN-KEY``  a signature names a key that is not trusted (or none is trusted)
``SG-VERIFY-SIGNATURE``    a signature by a trusted key does not verify
``SG-VERIFY-MISSING``      a signed file (or the envelope itself) is missing
``SG-VERIFY-UNEXPECTED``   a file that no signature covers (or a link, pipe or folder) is present
``SG-VERIFY-DIGEST``       a file's sha256 or size differs from the signed one (the file is named)
``SG-VERIFY-RELEASE-ID``   the statement, data.parquet and croissant.json (or the caller)
                           name different release ids
``SG-VERIFY-CONTENT``      a signed file's content is not what a release holds
                           (data.parquet unreadable or not labelled synthetic)
=========================  ==========================================================

Every signature in the envelope must verify under a trusted key; keys are matched
by key id (the sha256 of the raw public key). Without ``key=``, the trusted keys are
the public keys in the workspace's ``keys/`` folder.

>>> import tempfile, pathlib, pandas as pd
>>> from synthgov.provenance.package import package
>>> from synthgov.provenance.keys import SigningKey
>>> signer = SigningKey.generate()
>>> out = pathlib.Path(tempfile.mkdtemp()) / "r"
>>> _ = package(pd.DataFrame({"x": [1.0]}), out, source=pd.DataFrame({"x": [2.0]}), synthesizer="copula",
...             purpose="a doctest", creator="Ann", key=signer)
>>> checked = verify(out, key=signer.public_key())
>>> checked.ok
True
>>> checked.read_table()["x"].tolist()   # the verified bytes, not a second read of the folder
[1.0]
>>> _ = (out / "notes.txt").write_text("hi")
>>> [p.code for p in verify(out, key=signer.public_key()).problems]
['SG-VERIFY-UNEXPECTED']
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

from ..errors import InputError, IntegrityError, ParameterError
from . import dsse
from .keys import PublicKey, SigningKey, load_public_key, trusted_keys

__all__ = ["verify", "Verification", "Problem", "CODES", "shown"]

ENVELOPE = "release.dsse.json"
REQUIRED = ("data.parquet", "croissant.json", "card.md")

#: Every failure code verification can report, with what it means.
CODES = {
    "SG-VERIFY-MALFORMED": "the envelope or its statement is not well-formed",
    "SG-VERIFY-PAYLOAD-TYPE": "the envelope's payload type is not an in-toto Statement",
    "SG-VERIFY-PREDICATE-TYPE": "the statement's predicate is not a synthgov release",
    "SG-VERIFY-UNKNOWN-KEY": "a signature names a key that is not trusted",
    "SG-VERIFY-SIGNATURE": "a signature by a trusted key does not verify",
    "SG-VERIFY-MISSING": "a signed file is missing",
    "SG-VERIFY-UNEXPECTED": "a file no signature covers is present",
    "SG-VERIFY-DIGEST": "a file's sha256 or size differs from the signed one",
    "SG-VERIFY-RELEASE-ID": "the release ids disagree",
    "SG-VERIFY-CONTENT": "a signed file's content is not what a release holds",
}

_SUBJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")
_STATEMENT_KEYS = {"_type", "subject", "predicateType", "predicate"}


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a release: a stable ``code``, a message, and the file concerned."""

    code: str
    message: str
    file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`. ``ok`` only when there is no problem at all."""

    path: Path
    problems: tuple[Problem, ...]
    release_id: str | None = None
    key_ids: tuple[str, ...] = ()
    files: dict[str, str] = dataclasses.field(default_factory=dict)
    predicate: dict[str, Any] | None = None
    #: name -> the exact bytes that were verified (empty unless ``ok``); see :meth:`content`.
    contents: Mapping[str, bytes] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def content(self, name: str) -> bytes:
        """The verified bytes of file ``name``: what was hashed, not a new read of the folder.

        Raises :class:`~synthgov.errors.IntegrityError` when the release did not verify, and
        :class:`~synthgov.errors.ParameterError` for a name the release does not hold.
        """
        self.raise_for_problems()
        if not isinstance(name, str) or name not in self.contents:
            raise ParameterError(f"the release holds no file {name!r}",
                                 hint=f"its files are: {', '.join(sorted(self.contents))}")
        return self.contents[name]

    def read_table(self) -> pd.DataFrame:
        """The release's rows, parsed from the verified bytes of ``data.parquet``."""
        try:
            return pq.read_table(pa.BufferReader(self.content("data.parquet"))).to_pandas()
        except (pa.ArrowException, OSError) as exc:  # pragma: no cover - verify() parsed these bytes already
            raise IntegrityError(f"data.parquet of {self.path} cannot be read: {exc}") from None

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "ok": self.ok, "release_id": self.release_id, "key_ids": list(self.key_ids),
                "files": dict(self.files), "problems": [p.to_dict() for p in self.problems]}

    def raise_for_problems(self) -> None:
        """Raise :class:`~synthgov.errors.IntegrityError` (SG-INTEGRITY) naming every problem; ``details["codes"]``."""
        if self.ok:
            return
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more problem(s))" if len(self.problems) > 1 else ""
        raise IntegrityError(
            f"{self.path} does not verify: [{first.code}] {first.message}{more}",
            hint="do not use this release; obtain it again from its publisher",
            details={"codes": self.codes, "problems": [p.to_dict() for p in self.problems]},
        )


def _trusted(key, workspace) -> list[PublicKey]:
    if key is None:
        return trusted_keys(workspace=workspace)
    if isinstance(key, (PublicKey, SigningKey, str, bytes, os.PathLike)):
        key = [key]
    if not isinstance(key, Iterable):
        raise ParameterError(f"key must be a public key, a path, PEM text or a list of them, got {type(key).__name__}")
    out = []
    for item in key:
        if isinstance(item, SigningKey):
            item = item.public_key()
        out.append(item if isinstance(item, PublicKey) else load_public_key(item, workspace=workspace))
    return out


_NOT_THERE = object()


@dataclasses.dataclass(frozen=True)
class _Refused:
    """A file :meth:`_Folder.read` would not read: the problem's code and why."""

    code: str
    why: str


_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
_BY_HANDLE = os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd and os.listdir in os.supports_fd


def shown(name: str) -> str:
    r"""A file name as it can be printed safely: control, format and undecodable characters escaped.

    >>> shown("card.md")
    'card.md'
    >>> print(shown("x\x1b[2Ky"))
    'x\x1b[2Ky'
    """
    return name if name.isprintable() else ascii(name)


class _Folder:
    """The release folder, opened once: every name is listed and opened relative to that one handle,
    so the folder cannot be swapped between the checks (where the platform allows it)."""

    def __init__(self, path: Path):
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) if _BY_HANDLE else None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)

    def names(self) -> set[str]:
        return set(os.listdir(self.path if self.fd is None else self.fd))

    def _where(self, name: str) -> dict[str, Any]:
        return {"path": self.path / name} if self.fd is None else {"path": name, "dir_fd": self.fd}

    def read(self, name: str, size: int | None, limit: int) -> bytes | _Refused | object:
        """The file's bytes; or why it is refused (:class:`_Refused`); or ``_NOT_THERE``.

        ``size``: the signed size (refused unread when the file has another); ``limit``: refused above it.
        """
        try:
            return self._read(name, size, limit)
        except FileNotFoundError:
            return _NOT_THERE
        except OSError as exc:  # unreadable: no permission, an I/O error, ...
            return _Refused("SG-VERIFY-UNEXPECTED", f"cannot be read: {exc.strerror or exc}")

    def _read(self, name: str, size: int | None, limit: int) -> bytes | _Refused:
        where = self._where(name)
        info = os.stat(where["path"], dir_fd=where.get("dir_fd"), follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            return _Refused("SG-VERIFY-UNEXPECTED", "is a symbolic link, not a regular file")
        if not stat.S_ISREG(info.st_mode):
            return _Refused("SG-VERIFY-UNEXPECTED", "is not a regular file")
        try:
            fd = os.open(where["path"], _OPEN_FLAGS, dir_fd=where.get("dir_fd"))
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.EMLINK):
                raise
            return _Refused("SG-VERIFY-UNEXPECTED", "is a symbolic link, not a regular file")  # swapped in since stat
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())  # what was opened, whatever the name points to now
            if not stat.S_ISREG(info.st_mode):
                return _Refused("SG-VERIFY-UNEXPECTED", "is not a regular file")
            if size is not None and info.st_size != size:
                return _Refused("SG-VERIFY-DIGEST", f"is {info.st_size} bytes, but {size} bytes were signed")
            if info.st_size > limit:
                return _Refused("SG-VERIFY-MALFORMED", f"is larger than {limit} bytes")
            data = fh.read(limit + 1)
        if size is not None and len(data) != size:
            return _Refused("SG-VERIFY-DIGEST", f"changed while it was read ({len(data)} bytes read, {size} signed)")
        return data


def _statement(payload: bytes) -> tuple[dict[str, str], dict[str, Any]]:
    """(subjects: name -> sha256, predicate) from the signed payload; raises EnvelopeError.

    The predicate's ``fileSizes`` must give a size for exactly the subjects (checked here).
    """
    doc = dsse.loads_strict(payload, "the signed statement")
    if not isinstance(doc, dict) or set(doc) != _STATEMENT_KEYS:
        raise dsse.EnvelopeError("the signed payload is not an in-toto Statement (keys _type, subject, predicateType, predicate)")
    if doc["_type"] != dsse.STATEMENT_TYPE:
        raise dsse.EnvelopeError(f"the statement's _type is {doc['_type']!r}, not {dsse.STATEMENT_TYPE!r}")
    if doc["predicateType"] != dsse.PREDICATE_TYPE:
        raise dsse.EnvelopeError(f"the statement's predicateType is {doc['predicateType']!r}, not {dsse.PREDICATE_TYPE!r}",
                                 code="SG-VERIFY-PREDICATE-TYPE")
    subjects: dict[str, str] = {}
    if not isinstance(doc["subject"], list) or not doc["subject"]:
        raise dsse.EnvelopeError("the statement lists no subjects")
    for entry in doc["subject"]:
        if not isinstance(entry, dict) or set(entry) != {"name", "digest"}:
            raise dsse.EnvelopeError("a subject must have exactly name and digest")
        name, digest = entry["name"], entry["digest"]
        if not isinstance(name, str) or not _SUBJECT_NAME.match(name) or name == ENVELOPE:
            raise dsse.EnvelopeError(f"subject name {name!r} is not a plain file name of a release")
        if not isinstance(digest, dict) or set(digest) != {"sha256"} or not isinstance(digest["sha256"], str) \
                or not _SHA256.match(digest["sha256"]):
            raise dsse.EnvelopeError(f"subject {name!r} must have exactly one lowercase hex sha256 digest")
        if name in subjects:
            raise dsse.EnvelopeError(f"subject {name!r} is listed twice")
        subjects[name] = digest["sha256"]
    missing = [n for n in REQUIRED if n not in subjects]
    if missing:
        raise dsse.EnvelopeError(f"the statement does not cover {', '.join(missing)}")
    predicate = doc["predicate"]
    if not isinstance(predicate, dict) or not isinstance(predicate.get("releaseId"), str) or not predicate["releaseId"]:
        raise dsse.EnvelopeError("the statement's predicate has no releaseId")
    sizes = predicate.get(dsse.FILE_SIZES)
    if not isinstance(sizes, dict) or set(sizes) != set(subjects) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in sizes.values()):
        raise dsse.EnvelopeError(f"the statement's predicate must give the size in bytes of every subject "
                                 f"({dsse.FILE_SIZES})")
    return subjects, predicate


def _signature_problems(envelope: dsse.Envelope, trusted: list[PublicKey]) -> list[Problem]:
    by_id = {k.key_id: k for k in trusted}
    signed = envelope.signed_bytes()
    problems = []
    for i, sig in enumerate(envelope.signatures, 1):
        key = by_id.get(sig.keyid)
        if key is None:
            why = "no public key is trusted (pass key=..., --key PUB)" if not trusted else "no trusted public key has it"
            problems.append(Problem("SG-VERIFY-UNKNOWN-KEY", f"signature {i} is by key id {sig.keyid[:64]!r}: {why}",
                                    ENVELOPE))
        elif len(sig.sig) != 64 or not key.verify(sig.sig, signed):
            problems.append(Problem("SG-VERIFY-SIGNATURE",
                                    f"signature {i} by trusted key {sig.keyid[:16]}… does not verify: the envelope "
                                    "was altered or the signature is forged", ENVELOPE))
    return problems


def _content_problems(data: dict[str, bytes], digests: dict[str, str], release: str) -> list[Problem]:
    """Release-id and labelling checks on the verified bytes."""
    problems = []
    try:
        meta = pq.read_schema(pa.BufferReader(data["data.parquet"])).metadata or {}
        label = dsse.loads_strict(meta[b"synthgov"], "the label")
        if not isinstance(label, dict):
            raise ValueError("not an object")
    except (pa.ArrowException, OSError, KeyError, ValueError):  # EnvelopeError is a ValueError
        label = None
        problems.append(Problem("SG-VERIFY-CONTENT", "data.parquet has no readable synthgov label in its metadata",
                                "data.parquet"))
    if label is not None:
        if label.get("synthetic") is not True:
            problems.append(Problem("SG-VERIFY-CONTENT", "data.parquet is not labelled synthetic", "data.parquet"))
        if label.get("release_id") != release:
            problems.append(Problem("SG-VERIFY-RELEASE-ID", f"data.parquet names release {label.get('release_id')!r} "
                                    f"but the signed statement is for {release!r}", "data.parquet"))
    try:
        doc = dsse.loads_strict(data["croissant.json"], "croissant.json")
        if not isinstance(doc, dict):
            raise dsse.EnvelopeError("not a JSON object")
    except dsse.EnvelopeError as exc:
        return problems + [Problem("SG-VERIFY-CONTENT", f"croissant.json cannot be read: {exc}", "croissant.json")]
    if doc.get("identifier") != release:
        problems.append(Problem("SG-VERIFY-RELEASE-ID", f"croissant.json describes release {doc.get('identifier')!r} "
                                f"but the signed statement is for {release!r}", "croissant.json"))
    distribution = doc.get("distribution") if isinstance(doc.get("distribution"), list) else []
    recorded = [d.get("sha256") for d in distribution if isinstance(d, dict) and d.get("contentUrl") == "data.parquet"]
    if recorded != [digests["data.parquet"]]:
        problems.append(Problem("SG-VERIFY-DIGEST", f"croissant.json records sha256 {recorded} for data.parquet, "
                                f"not the signed {digests['data.parquet']}", "data.parquet"))
    return problems


def verify(directory, *, key=None, release_id: str | None = None, workspace=None) -> Verification:
    """Check the release in ``directory``; return a :class:`Verification` listing every problem.

    Args:
        directory: the release directory.
        key: the trusted public key(s): a :class:`PublicKey`, a ``.pub`` path, PEM text, a workspace
            key name, or a list of them. Default: every public key in the workspace.
        release_id: the release id you expect (e.g. from a catalog); another id is a problem.
        workspace: the workspace whose keys are trusted by default.

    Raises :class:`~synthgov.errors.InputError` only when ``directory`` is not a directory, a
    named key cannot be loaded, or the workspace's trusted keys could have been planted (a key
    folder or ``.pub`` file others can write); everything wrong with the release itself is in
    the result. Files are read into memory, each no larger than its signed size.
    """
    path = Path(directory)
    if not path.is_dir():
        raise InputError(f"{path} is not a directory", hint="pass the directory of a release written by `synthgov package`")
    if release_id is not None and not isinstance(release_id, str):
        raise ParameterError(f"release_id must be text, got {type(release_id).__name__}")
    trusted = _trusted(key, workspace)
    try:
        folder = _Folder(path)
    except OSError as exc:
        raise InputError(f"cannot open the release directory {path}: {exc.strerror or exc}") from None
    try:
        return _verify(folder, trusted, release_id)
    finally:
        folder.close()


def _verify(folder: _Folder, trusted: list[PublicKey], release_id: str | None) -> Verification:
    def result(problems: list[Problem], **kw) -> Verification:
        return Verification(path=folder.path, problems=tuple(problems), **kw)

    raw = folder.read(ENVELOPE, None, dsse.MAX_ENVELOPE)
    if raw is _NOT_THERE:
        return result([Problem("SG-VERIFY-MISSING", f"not a synthgov release: {ENVELOPE} is missing", ENVELOPE)])
    if isinstance(raw, _Refused):
        return result([Problem(raw.code, f"{ENVELOPE} {raw.why}", ENVELOPE)])
    try:
        envelope = dsse.parse(raw)
    except dsse.EnvelopeError as exc:
        return result([Problem(exc.code, str(exc), ENVELOPE)])
    if envelope.payload_type != dsse.PAYLOAD_TYPE:
        return result([Problem("SG-VERIFY-PAYLOAD-TYPE", f"payloadType is {envelope.payload_type[:100]!r}, "
                               f"not {dsse.PAYLOAD_TYPE!r}", ENVELOPE)])
    problems = _signature_problems(envelope, trusted)
    if problems:
        return result(problems)
    key_ids = tuple(s.keyid for s in envelope.signatures)
    try:
        subjects, predicate = _statement(envelope.payload)
    except dsse.EnvelopeError as exc:
        return result([Problem(exc.code, str(exc), ENVELOPE)], key_ids=key_ids)
    release, sizes = predicate["releaseId"], predicate[dsse.FILE_SIZES]
    try:
        present = folder.names()
    except OSError as exc:
        raise InputError(f"cannot list the release directory {folder.path}: {exc.strerror or exc}") from None
    data: dict[str, bytes] = {}
    for name, expected in subjects.items():
        content = folder.read(name, sizes[name], sizes[name]) if name in present else _NOT_THERE
        if content is _NOT_THERE:
            problems.append(Problem("SG-VERIFY-MISSING", f"{name} is signed but missing", name))
        elif isinstance(content, _Refused):
            problems.append(Problem(content.code, f"{name} {content.why}", name))
        elif (actual := hashlib.sha256(content).hexdigest()) != expected:
            problems.append(Problem("SG-VERIFY-DIGEST", f"{name} has sha256 {actual}, but {expected} was signed", name))
        else:
            data[name] = content
    for name in sorted(present - set(subjects) - {ENVELOPE}):
        problems.append(Problem("SG-VERIFY-UNEXPECTED",
                                f"{shown(name)} is in the release but not covered by the signature", name))
    if not problems:
        problems = _content_problems(data, subjects, release)
    if release_id is not None and release_id != release:
        problems.append(Problem("SG-VERIFY-RELEASE-ID", f"the release is {release!r}, not the expected {release_id!r}"))
    if problems:
        return result(problems, release_id=release, key_ids=key_ids)
    return result([], release_id=release, key_ids=key_ids, files=dict(subjects), predicate=predicate,
                  contents=MappingProxyType(data))
