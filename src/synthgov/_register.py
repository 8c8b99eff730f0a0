"""Registering what synthgov makes in the catalog, each step in one transaction with its ledger events.

The generating, evaluating and packaging steps (API and CLI) call these functions. A table is
identified by its content digest (:func:`synthgov.provenance.source.frame_digest` of the table
as synthgov reads it back), so that a model trained on a table synthgov made — read from its
file or passed as a DataFrame — is recognised as synthetic, and its lineage recorded.

``catalog`` arguments accept: ``None`` or ``True`` (the workspace's catalog, ``$SYNTHGOV_DB``
or the SQLite file in the workspace), ``False`` (record nothing), a URL, or an open
:class:`~synthgov.catalog.Catalog`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import ParameterError

__all__ = ["catalog_of", "table_digest", "lineage_from_catalog", "lineage_for", "record_generation", "record_evaluation",
           "record_release", "record_event"]


@contextlib.contextmanager
def catalog_of(catalog, *, workspace=None) -> Iterator[Any]:
    """Yield the catalog to record into (or None for ``catalog=False``); closes one it opened."""
    if catalog is False:
        yield None
        return
    from .catalog import Catalog, open_catalog

    if isinstance(catalog, Catalog):
        yield catalog
        return
    if catalog is None or catalog is True or isinstance(catalog, (str, os.PathLike)):
        opened = open_catalog(None if catalog in (None, True) else str(catalog), workspace=workspace)
        try:
            yield opened
        finally:
            opened.close()
        return
    raise ParameterError(f"catalog must be None, False, a database URL or a Catalog, got {type(catalog).__name__}")


def table_digest(data) -> str:
    """The content digest a table is catalogued under (a path is read first, as synthgov reads it)."""
    from .provenance.source import frame_digest
    from .table.io import read

    return frame_digest(data if isinstance(data, pd.DataFrame) else read(data))


def _fingerprint(data, digest: str, name: str | None, schema=None):
    from .provenance.source import SourceFingerprint, fingerprint_source

    if isinstance(data, SourceFingerprint):
        return data
    fp = fingerprint_source(data, name=name, schema=schema)
    # catalogued by content, whatever form it came in
    return SourceFingerprint(**{**fp.to_dict(), "sha256": digest,
                                "digest_method": "sha256 over column names, dtypes and pandas row hashes (index excluded)"})


def _training_input(session, data, *, name: str | None, schema=None) -> str:
    """The catalog id of a training or reference table: a known dataset or release, else a new real source."""
    from .provenance.source import SourceFingerprint

    digest = data.sha256 if isinstance(data, SourceFingerprint) else table_digest(data)
    known = session.find_dataset(digest)  # the session's own view: it sees what this step added
    if known is not None:
        return known.id
    return session.add_source(_fingerprint(data, digest, name, schema))


def lineage_from_catalog(cat, source):
    """The :class:`~synthgov.provenance.lineage.Lineage` of rows made from ``source``, or None if the catalog does not know it."""
    from .provenance.lineage import Lineage
    from .provenance.source import SourceFingerprint

    digests = [source.sha256] if isinstance(source, SourceFingerprint) else [table_digest(source)]
    for digest in digests:
        known = cat.find_dataset(digest)
        if known is None:
            continue
        if known.kind == "source":
            return Lineage()
        generation = cat.generation(known.id) or 1
        releases = [r.id for r in cat.list("release") if getattr(r, "dataset_id", None) == known.id]
        return Lineage(generation=generation + 1, training_synthetic_share=float(known.synthetic_share) or 1.0,
                       parents=tuple(releases) or (known.id,))
    return None


def lineage_for(cat, source, *, recorded=None):
    """The lineage of rows made from ``source``: what the catalog knows and what the table records
    (``recorded``: the file it was read from, default ``source``), the further from real data winning."""
    from .provenance.lineage import lineage_of

    known = [None if cat is None else lineage_from_catalog(cat, source),
             lineage_of(source if recorded is None else recorded)]
    return max((x for x in known if x is not None), key=lambda x: x.generation)


def _file_sha256(path) -> str | None:
    if path is None or not Path(path).is_file():
        return None
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _synthesizer(session, synthesizer, trained_on: Iterable[str], *, model_path=None) -> str:
    from .provenance.source import generator_info

    info, _ = generator_info(synthesizer)
    model_json = None if model_path is None else Path(model_path) / "synthesizer.json"
    privacy = None if info.epsilon is None else {"epsilon": info.epsilon, "delta": info.delta, "mechanism": info.mechanism}
    return session.add_synthesizer(name=info.name, params={**info.parameters, "version": info.version},
                                   trained_on=list(trained_on), privacy=privacy, model_sha256=_file_sha256(model_json),
                                   path=None if model_path is None else str(model_path))


def _share(table: pd.DataFrame) -> float:
    info = table.attrs.get("synthgov") if isinstance(table.attrs.get("synthgov"), dict) else {}
    if "_synthetic" in table.columns:
        return float(table["_synthetic"].mean()) if len(table) else 0.0
    if info.get("replaced_columns"):
        return len(info["replaced_columns"]) / table.shape[1]
    return 1.0


def record_generation(*, catalog, source, synthesizer, output: pd.DataFrame, output_path=None, model_path=None,
                      source_name: str | None = None, actor: str | None = None, workspace=None) -> dict[str, str] | None:
    """Register a generating step: the training table, the fitted synthesizer, the synthetic table it wrote."""
    with catalog_of(catalog, workspace=workspace) as cat:
        if cat is None:
            return None
        written = output if output_path is None else table_digest(output_path)
        digest = written if isinstance(written, str) else table_digest(output)
        with cat.session(actor=actor) as s:
            trained_on = _training_input(s, source, name=source_name,
                                         schema=getattr(synthesizer, "schema_", None))
            syn = _synthesizer(s, synthesizer, [trained_on], model_path=model_path)
            ds = s.add_dataset(sha256=digest, name=Path(output_path).name if output_path else "synthetic table",
                               rows=len(output), columns=output.shape[1], made_by=syn, synthetic_share=_share(output),
                               path=None if output_path is None else str(output_path))
        return {"trained_on": trained_on, "synthesizer": syn, "dataset": ds}


def record_evaluation(*, catalog, report, real, synthetic, holdout=None, actor: str | None = None,
                      workspace=None) -> str | None:
    """Register an evaluation: the real, synthetic and holdout tables (by digest) and the report's digest."""
    from .provenance.dsse import canonical_json
    from .table.io import read

    with catalog_of(catalog, workspace=workspace) as cat:
        if cat is None:
            return None
        real, synthetic, holdout = (x if x is None or isinstance(x, pd.DataFrame) else read(x)
                                    for x in (real, synthetic, holdout))
        doc = report.to_dict()
        summary = {"verdict": doc.get("verdict"), "metrics": len(doc.get("metrics", [])),
                   "failed": sorted(n for n, v in report.verdicts.items() if v == "fail")}
        with cat.session(actor=actor) as s:
            real_id = _training_input(s, real, name="real table")
            synth_digest = table_digest(synthetic)
            known = s.find_dataset(synth_digest)
            synth_id = known.id if known is not None else s.add_dataset(
                sha256=synth_digest, name="synthetic table", rows=len(synthetic), columns=synthetic.shape[1],
                synthetic_share=_share(synthetic))
            holdout_id = None if holdout is None else _training_input(s, holdout, name="holdout table")
            return s.add_evaluation(report_sha256=hashlib.sha256(canonical_json(doc)).hexdigest(), real=real_id,
                                    synthetic=synth_id, holdout=holdout_id, verdict=doc.get("verdict"), summary=summary)


def record_release(session, *, release_id: str, path, files: dict[str, str], data: pd.DataFrame, source,
                   synthesizer, mode: str, synthetic_share: float, lineage, name: str | None = None,
                   model_path=None, created_key: dict | None = None) -> str:
    """Register a release inside an open session (the caller commits it with the release's own write).

    ``created_key``: ``{"name", "key_id"}`` when packaging created the signing key, logged as ``key create``.
    """
    if created_key:
        session.log("key create", params={**created_key, "encrypted": False, "replaced": False, "by": "package"})
    trained_on = _training_input(session, source, name=getattr(source, "name", None))
    syn = _synthesizer(session, synthesizer, [trained_on], model_path=model_path)
    digest = table_digest(data)
    known = session.find_dataset(digest)
    ds = known.id if known is not None and known.kind == "dataset" else session.add_dataset(
        sha256=digest, name=f"{name or release_id} data", rows=len(data), columns=data.shape[1], made_by=syn,
        synthetic_share=synthetic_share)
    return session.add_release(release_id=release_id, path=str(path), files=files, dataset=ds, synthesizer=syn,
                               mode=mode, generation=lineage.generation,
                               training_synthetic_share=lineage.training_synthetic_share,
                               override_reason=lineage.override_reason, name=name)


def record_event(action: str, *, catalog=None, params: dict | None = None, inputs: Iterable[str] = (),
                 outputs: Iterable[str] = (), subjects: Iterable[str] = (), actor: str | None = None,
                 workspace=None):
    """Append one event with no catalog row (verify, key create, ...)."""
    with catalog_of(catalog, workspace=workspace) as cat:
        if cat is None:
            return None
        with cat.session(actor=actor) as s:
            return s.log(action, params=params or {}, inputs=list(inputs), outputs=list(outputs),
                         subjects=list(subjects))
