"""What a share decision needs to know about a release, read from the release and the catalog.

:func:`resolve_release` takes a release id known to the catalog or a release directory,
verifies the release (a release that does not verify is never shared) and, when the
catalog knows it, checks that the directory holds the files the catalog recorded.
:func:`release_facts` gathers its :class:`~synthgov.policy.records.ReleaseFacts`:

* its own classes and those of every ancestor: everything in its catalog lineage (datasets,
  synthesizers, sources, releases used as training data), every release that holds the same
  dataset as one of those, and the parents its signed lineage names, so that re-synthesising
  a dataset cannot launder its class;
* the evaluation results and the DP epsilon from its **signed** provenance statement.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..errors import InputError, IntegrityError, NotFoundError, ParameterError
from ..provenance.verify import ENVELOPE, Verification, verify
from .records import ReleaseFacts

__all__ = ["ResolvedRelease", "resolve_release", "ancestor_ids", "release_facts"]


@dataclasses.dataclass(frozen=True)
class ResolvedRelease:
    """A verified release: its id, directory, verification and the sha256 of its signed envelope."""

    release_id: str
    path: Path
    verification: Verification
    envelope_sha256: str
    in_catalog: bool

    @property
    def predicate(self) -> dict[str, Any]:
        return self.verification.predicate or {}


def _looks_like_path(ref: str) -> bool:
    return os.sep in ref or (os.altsep is not None and os.altsep in ref) or ref.startswith(".")


def _catalog_record(catalog, release_id: str):
    try:
        return catalog.get(release_id)
    except NotFoundError:
        return None


def resolve_release(ref: str | os.PathLike, *, catalog, key=None) -> ResolvedRelease:
    """Find and verify the release ``ref`` (a catalog release id or a release directory).

    Raises :class:`NotFoundError` for an unknown id, :class:`InputError` for a missing directory
    or one the catalog cannot locate, and :class:`IntegrityError` when the release does not verify
    or differs from what the catalog recorded.
    """
    text = os.fspath(ref)
    if not isinstance(text, str) or not text.strip():
        raise ParameterError("name the release: a release id from the catalog or a release directory")
    path = Path(text)
    record = None
    if not path.is_dir():
        if _looks_like_path(text):
            raise InputError(f"{text} is not a release directory", hint="give the directory `synthgov package` wrote, "
                             "or a release id from `synthgov catalog list --kind release`")
        record = catalog.get(text)  # NotFoundError for an unknown id
        if record.kind != "release":
            raise ParameterError(f"{text!r} is a {record.kind}, not a release", hint="share a release id")
        if not record.path or not Path(record.path).is_dir():
            raise InputError(f"the catalog does not know where release {text!r} is (recorded path: {record.path!r})",
                             hint="pass the release directory instead of its id")
        path = Path(record.path)
    checked = verify(path, key=key, release_id=record.id if record is not None else None,
                     workspace=catalog.workspace)
    checked.raise_for_problems()
    if record is None:
        record = _catalog_record(catalog, checked.release_id)
    if record is not None and record.kind == "release":
        recorded = {k: v for k, v in (record.files or {}).items() if k != ENVELOPE}
        if recorded and recorded != checked.files:
            raise IntegrityError(f"the release in {path} is not the one the catalog recorded as {record.id!r}: its files "
                                 "differ", hint="share the directory the catalog names, or re-register the release",
                                 details={"code": "SG-SHARE-CATALOG-MISMATCH", "release": record.id})
    envelope = (path / ENVELOPE).read_bytes()
    return ResolvedRelease(release_id=checked.release_id, path=path, verification=checked,
                           envelope_sha256=hashlib.sha256(envelope).hexdigest(),
                           in_catalog=record is not None and record.kind == "release")


def _same_dataset_releases(catalog, dataset_ids: list[str]) -> list[str]:
    from ..catalog.models import ReleaseRow

    if not dataset_ids:
        return []
    with catalog._reader() as conn:
        return list(conn.execute(select(ReleaseRow.id).where(ReleaseRow.dataset_id.in_(dataset_ids))
                                 .order_by(ReleaseRow.event_index)).scalars())


def ancestor_ids(catalog, release_id: str, *, parents: tuple[str, ...] = ()) -> list[str]:
    """Every record ``release_id`` derives from, nearest first, plus releases of the same datasets.

    ``parents``: ids the release's own signed lineage names (used even when the catalog lacks them).
    """
    found: list[str] = []
    starts = [release_id, *parents]
    for start in starts:
        if _catalog_record(catalog, start) is None:
            found.append(start)
            continue
        nodes = list(catalog.lineage(start).walk())
        found.extend(n.id for n in nodes)
        found.extend(_same_dataset_releases(catalog, [n.id for n in nodes if n.kind == "dataset"]))
    return [i for i in dict.fromkeys(found) if i != release_id]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def release_facts(release: ResolvedRelease, *, catalog, classes: dict[str, tuple[str, ...]]) -> ReleaseFacts:
    """The facts of a verified release; ``classes``: every classified id (:func:`store.classifications`)."""
    predicate = release.predicate
    lineage = predicate.get("lineage") if isinstance(predicate.get("lineage"), dict) else {}
    parents = tuple(p for p in lineage.get("parents", ()) if isinstance(p, str) and p)
    ancestors = ancestor_ids(catalog, release.release_id, parents=parents)
    evaluation = predicate.get("evaluation") if isinstance(predicate.get("evaluation"), dict) else {}
    metrics = evaluation.get("metrics") if isinstance(evaluation.get("metrics"), dict) else {}
    generator = predicate.get("generator") if isinstance(predicate.get("generator"), dict) else {}
    return ReleaseFacts(release_id=release.release_id, classes=classes.get(release.release_id, ()),
                        ancestor_classes={a: classes[a] for a in ancestors if classes.get(a)},
                        metrics={k: v for k, v in metrics.items() if _number(v) is not None},
                        epsilon=_number(generator.get("epsilon")))
