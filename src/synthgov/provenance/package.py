"""Package a synthetic table as a signed, self-describing release directory.

:func:`package` writes, atomically (a temporary sibling directory renamed into
place: a failure leaves nothing behind)::

    out_dir/
      data.parquet       the rows; file-level metadata ``synthgov`` = {"synthetic": true, "release_id": ...}
      croissant.json     Croissant 1.1 JSON-LD (see :mod:`synthgov.provenance.croissant`)
      card.md            the datasheet (see :mod:`synthgov.provenance.card`)
      report.html        the evaluation report, when one is given
      release.dsse.json  DSSE envelope: an in-toto Statement over the sha256 (and size) of every file, Ed25519-signed

Purpose and creator are mandatory: a release says why it was made and by whom.

How the kind of output is recognised (``mode``): an explicit ``mode=`` wins; otherwise
the ``attrs["synthgov"]`` that :func:`synthgov.partial`, :func:`synthgov.hybrid` and
:func:`synthgov.rebalance` attach to their output (or the ``synthgov`` metadata of a
Parquet file that records them); otherwise a boolean ``_synthetic`` column means
``hybrid``; otherwise ``full``. A partial release needs its replaced columns: from
those attrs or from ``replaced_columns=``. The synthetic share is 1.0 for ``full``,
the share of ``_synthetic`` rows for ``hybrid``/``rebalance`` (counted in the data, not
taken on trust), and the share of replaced cells for ``partial`` (with the column list).

>>> import tempfile, pathlib, pandas as pd
>>> from synthgov.provenance.keys import SigningKey
>>> out = pathlib.Path(tempfile.mkdtemp()) / "release"
>>> rel = package(pd.DataFrame({"x": [1.0, 2.0]}), out, source=pd.DataFrame({"x": [3.0, 4.0]}),
...               synthesizer="copula", purpose="a doctest", creator="Ann Lee <ann@example.org>",
...               key=SigningKey.generate())
>>> sorted(rel.files), rel.mode, rel.synthetic_share
(['card.md', 'croissant.json', 'data.parquet'], 'full', 1.0)
>>> rel.verify(key=rel.public_key).ok
True
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .. import _register
from .._atomic import _umask, atomic_dir
from ..errors import InputError, OutputError, ParameterError, SynthgovError
from . import card, croissant, dsse
from .keys import PublicKey, SigningKey, create_key, load_signing_key
from .lineage import DEFAULT_MAX_GENERATION, Lineage, check_lineage, lineage_of, recorded_lineage
from .source import GeneratorInfo, SourceFingerprint, fingerprint_source, generator_info, sha256_file

__all__ = ["package", "Release", "ReleaseFacts", "SourceFingerprint", "GeneratorInfo", "fingerprint_source",
           "MODES", "METADATA_KEY", "ENVELOPE", "MARKER"]

MODES = ("full", "hybrid", "partial", "rebalance")
METADATA_KEY = "synthgov"
ENVELOPE = "release.dsse.json"
DATA_FILE = "data.parquet"
MARKER = "_synthetic"
_RELEASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_CREATOR = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>\s]+@[^<>\s]+)>\s*$")


# -- the facts a release states (shared by croissant.json, card.md and the signed predicate) ------
@dataclasses.dataclass(frozen=True)
class ReleaseFacts:
    """Everything :mod:`~synthgov.provenance.croissant` and :mod:`~synthgov.provenance.card` write."""

    release_id: str
    created: str
    name: str
    description: str
    url: str | None
    purpose: str
    audience: str | None
    creator: dict[str, Any]
    contact: str | None
    license: str
    mode: str
    synthetic_share: float
    replaced_columns: tuple[str, ...]
    marker: str
    columns: tuple[tuple[str, Any], ...]
    rows: int
    data_size: int
    source: SourceFingerprint
    generator: GeneratorInfo
    assumptions: tuple[str, ...]
    intended_uses: tuple[str, ...]
    prohibited_uses: tuple[str, ...]
    metrics: tuple[dict[str, Any], ...]
    verdict: str | None
    biases: tuple[str, ...]
    limitations: tuple[str, ...]
    pii: tuple[str, ...]
    pii_tags: dict[str, str]
    collection: str
    social_impact: str
    maintenance: str
    watermark: dict[str, Any] | None
    synthgov_version: str
    key_id: str
    lineage: Lineage = dataclasses.field(default_factory=Lineage)

    def predicate(self) -> dict[str, Any]:
        """Our in-toto predicate: the provenance the signature vouches for."""
        return {
            "releaseId": self.release_id,
            "created": self.created,
            "producer": {"name": "synthgov", "version": self.synthgov_version},
            "synthetic": True,
            "mode": self.mode,
            "syntheticShare": self.synthetic_share,
            "replacedColumns": list(self.replaced_columns),
            "purpose": self.purpose,
            "creator": self.creator,
            "license": self.license,
            "intendedUses": list(self.intended_uses),
            "prohibitedUses": list(self.prohibited_uses),
            "source": self.source.to_dict(),
            "generator": self.generator.to_dict(),
            "evaluation": None if self.verdict is None else {
                "verdict": self.verdict,
                "metrics": {m["name"]: m.get("value") for m in self.metrics},
            },
            "watermark": self.watermark,
            "lineage": self.lineage.to_dict(),
        }


_METRIC_KEYS = ("name", "family", "goal", "range", "definition", "source", "value", "ci", "reason", "threshold", "verdict")


# -- arguments ---------------------------------------------------------------------------------------
def _text(value: Any, what: str, *, required: bool, hint: str = "") -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ParameterError(f"packaging needs {what}", hint=hint)
        return None
    if not isinstance(value, str):
        raise ParameterError(f"{what} must be text, got {type(value).__name__}")
    return value.strip()


def _texts(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable):
        raise ParameterError(f"{what} must be text or a list of text")
    out = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ParameterError(f"every entry of {what} must be non-empty text, got {item!r}")
        out.append(item.strip())
    return tuple(out)


def _creator(value: Any) -> dict[str, Any]:
    hint = "say who made this release: creator='Ann Lee <ann@example.org>' (--creator)"
    if isinstance(value, Mapping):
        name = _text(value.get("name"), "a creator name", required=True, hint=hint)
        kind = value.get("type", "Person")
        if kind not in ("Person", "Organization"):
            raise ParameterError(f"creator type must be 'Person' or 'Organization', got {kind!r}")
        unknown = set(value) - {"name", "type", "email", "url"}
        if unknown:
            raise ParameterError(f"unknown creator field(s): {', '.join(sorted(unknown))}", hint="use name, type, email, url")
        return {"type": kind, "name": name, "email": _text(value.get("email"), "creator email", required=False),
                "url": _text(value.get("url"), "creator url", required=False)}
    text = _text(value, "a creator (transparency is mandatory: who made this release?)", required=True, hint=hint)
    match = _CREATOR.match(text)
    if match:
        return {"type": "Person", "name": match["name"], "email": match["email"], "url": None}
    return {"type": "Person", "name": text, "email": None, "url": None}


def _created(value: Any) -> str:
    if value is None:
        value = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ParameterError("created must be a timezone-aware datetime")
    return value.isoformat()


def _release_id(value: Any) -> str:
    if value is None:
        return str(uuid.uuid4())
    if not isinstance(value, str) or not _RELEASE_ID.match(value):
        raise ParameterError(f"release_id must be 1-128 letters, digits, '.', '_', ':' or '-', got {value!r}")
    return value


def _recorded(synthetic) -> dict[str, Any]:
    """What the generating step recorded (DataFrame attrs or Parquet metadata), with ``mode`` normalised."""
    info = recorded_lineage(synthetic)
    if isinstance(synthetic, pd.DataFrame):
        return info
    mode = str(info.get("mode", ""))
    for key in ("hybrid", "rebalance", "partial"):
        if mode.startswith(key):
            info["mode"] = key
    if mode.startswith("fully") or mode == "full":
        info["mode"] = "full"
    return info


def _lineage(lineage, source) -> Lineage:
    """An explicit lineage, else what the training data records about itself (generation 1 for real data)."""
    if lineage is None:
        return lineage_of(source)
    if isinstance(lineage, Lineage):
        return lineage
    if isinstance(lineage, Mapping):
        return Lineage.from_dict(lineage)
    raise ParameterError(f"lineage must be a Lineage or its dict, got {type(lineage).__name__}")


def _mode_and_share(df: pd.DataFrame, mode: str | None, replaced_columns, recorded: dict[str, Any]):
    if mode is None:
        mode = recorded.get("mode") if recorded.get("mode") in MODES else None
    if mode is None:
        mode = "hybrid" if MARKER in df.columns else "full"
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    replaced = _texts(replaced_columns, "replaced_columns") or _texts(recorded.get("replaced_columns"), "replaced_columns")
    if mode == "partial":
        if not replaced:
            raise ParameterError("a partial release must name its replaced columns",
                                 hint="pass replaced_columns=[...] (--replaced-columns); synthgov.partial() records them")
        unknown = [c for c in replaced if c not in df.columns]
        if unknown:
            raise ParameterError(f"replaced column(s) not in the table: {', '.join(unknown)}")
        if MARKER in df.columns:
            raise ParameterError(f"a partial release has no {MARKER!r} column", hint="drop it or choose mode='hybrid'")
        if len(set(replaced)) != len(replaced):
            raise ParameterError(f"replaced_columns names a column twice: {', '.join(replaced)}")
        return mode, len(replaced) / df.shape[1], replaced
    if replaced:
        raise ParameterError(f"replaced_columns applies to mode='partial', not {mode!r}")
    if mode == "full":
        if MARKER in df.columns:
            raise ParameterError(f"the table has a {MARKER!r} column, which marks a hybrid table",
                                 hint="pass mode='hybrid', or drop the column if every row is synthetic")
        return mode, 1.0, ()
    if MARKER not in df.columns:
        raise ParameterError(f"a {mode} release needs the boolean {MARKER!r} column that marks synthetic rows",
                             hint="synthgov.hybrid() and synthgov.rebalance() add it")
    marker = df[MARKER]
    if not pd.api.types.is_bool_dtype(marker) or marker.isna().any():
        raise ParameterError(f"the {MARKER!r} column must be boolean with no missing values")
    return mode, float(marker.mean()) if len(marker) else 0.0, ()


def _report_doc(report) -> tuple[dict[str, Any] | None, Any]:
    """(report.to_dict(), the Report object for HTML)."""
    if report is None:
        return None, None
    from ..evaluate.report import Report

    if isinstance(report, (str, os.PathLike)):
        report = Report.from_json(report)
    elif isinstance(report, Mapping):
        report = Report.from_dict(dict(report))
    if not (hasattr(report, "to_dict") and hasattr(report, "to_html")):
        raise ParameterError(f"report must be a synthgov Report, its dict or a report.json path, got {type(report).__name__}")
    return report.to_dict(), report


def _signer(key, workspace) -> tuple[SigningKey, bool]:
    """(the signing key, whether the workspace default key was created now)."""
    if isinstance(key, SigningKey):
        return key, False
    if key is None:
        try:
            return load_signing_key("default", workspace=workspace), False
        except InputError as exc:
            if exc.details.get("code") != "SG-KEY-NOT-FOUND":
                raise
        create_key("default", workspace=workspace)
        return load_signing_key("default", workspace=workspace), True
    if isinstance(key, (str, os.PathLike)):
        return load_signing_key(key, workspace=workspace), False
    raise ParameterError(f"key must be a key name, a private key path or a SigningKey, got {type(key).__name__}")


def _check_out_dir(out_dir, overwrite: bool) -> Path:
    if not isinstance(out_dir, (str, os.PathLike)):
        raise ParameterError(f"out_dir must be a path, got {type(out_dir).__name__}")
    path = Path(out_dir)
    if path.exists():
        if not path.is_dir():
            raise OutputError(f"{path} exists and is not a directory", hint="choose a new directory for the release")
        if any(path.iterdir()) and not overwrite:
            raise OutputError(f"{path} already exists and is not empty",
                              hint="choose a new directory, or pass overwrite=True (--force) to replace it")
    return path


@dataclasses.dataclass(frozen=True)
class Release:
    """A release directory written by :func:`package`.

    Attributes:
        path: the directory; release_id: its id; key_id / public_key: who signed it.
        files: name -> sha256 of every signed file (all but ``release.dsse.json``).
        mode, synthetic_share: see the module docs.
        key_created: whether the workspace's ``default`` key was created for this release.
    """

    path: Path
    release_id: str
    key_id: str
    public_key: PublicKey
    files: dict[str, str]
    mode: str
    synthetic_share: float
    key_created: bool = False
    lineage: Lineage = dataclasses.field(default_factory=Lineage)
    warnings: tuple[str, ...] = ()

    def verify(self, *, key=None):
        """:func:`synthgov.provenance.verify` on this release (``key`` defaults to the workspace's keys)."""
        from .verify import verify

        return verify(self.path, key=key, release_id=self.release_id)


def package(synthetic, out_dir, *, source, synthesizer, report=None, purpose=None, creator=None,
            assumptions: Iterable[str] = (), intended_uses: Iterable[str] = (), prohibited_uses: Iterable[str] = (),
            license: str = "CC-BY-4.0", key=None, watermark_key=None,  # noqa: A002 - Croissant's own name
            mode: str | None = None, replaced_columns: Iterable[str] | None = None, name: str | None = None,
            description: str | None = None, audience: str | None = None, contact: str | None = None,
            social_impact: str | None = None, maintenance: str | None = None, url: str | None = None,
            release_id: str | None = None, created: dt.datetime | None = None, overwrite: bool = False,
            lineage: Lineage | Mapping | None = None, max_generation: int = DEFAULT_MAX_GENERATION,
            override_reason: str | None = None, source_description: str | None = None, model_path=None,
            catalog=None, workspace=None) -> Release:
    """Write ``synthetic`` as a signed release directory ``out_dir`` and return a :class:`Release`.

    Args:
        synthetic: the synthetic table (DataFrame or a path :func:`synthgov.read` accepts).
        out_dir: the release directory to create (refused if it exists and is not empty, unless ``overwrite``).
        source: the real table it was made from (DataFrame or path; only its fingerprint is kept),
            or a :class:`SourceFingerprint`.
        synthesizer: the fitted synthesizer, its name, or a :class:`GeneratorInfo`.
        report: the evaluation :class:`~synthgov.evaluate.report.Report` (or its dict / JSON path).
        purpose: why the data was made (mandatory).
        creator: who made it, ``"Name <email>"`` or ``{"name", "type", "email", "url"}`` (mandatory).
        assumptions, intended_uses, prohibited_uses: lists of sentences.
        license: SPDX identifier or URL.
        key: signing key: a workspace key name, a private key file, or a :class:`SigningKey`.
            Default: the workspace's ``default`` key, created (unencrypted, mode 0600) on first use;
            it is the one thing that can stay behind when packaging then fails.
        watermark_key: embed a keyed watermark (:mod:`synthgov.provenance.watermark`) before packaging.
        mode: ``full``, ``hybrid``, ``partial`` or ``rebalance`` (recognised when left out; see the module docs).
        replaced_columns: the replaced columns of a partial release (when the table does not record them).
        name, description, audience, contact, social_impact, maintenance, url: card and metadata texts.
        release_id: the release id (default: a random UUID); created: the release time (default: now, UTC).
        lineage: the release's :class:`~synthgov.provenance.lineage.Lineage` (default: what the catalog knows
            about the source, else what the source records about itself — a synthgov Parquet file or
            DataFrame attrs — else generation 1).
        max_generation, override_reason: the model-collapse gate (:func:`~synthgov.provenance.lineage.check_lineage`):
            above generation 1 the release carries a warning; above ``max_generation`` packaging is refused
            (LineageDepthError) unless ``override_reason`` says why, which the release records.
        source_description: a description of the source (no content), for the card and metadata.
        model_path: the saved model directory that made the rows, if any (recorded in the catalog).
        catalog: where the release is registered with its ledger event, in the same step: ``None`` (the
            workspace's catalog), ``False`` (nowhere), a database URL or a :class:`~synthgov.catalog.Catalog`.
            If registering fails, nothing is written.
        workspace: the workspace holding the keys and the default catalog (default: the active one).
    """
    with contextlib.ExitStack() as stack:
        # opened once the arguments are checked: a refused call creates nothing, not even the catalog
        def open_catalog():
            return stack.enter_context(_register.catalog_of(catalog, workspace=workspace))

        return _package(synthetic, out_dir, source=source, synthesizer=synthesizer, report=report, purpose=purpose,
                        creator=creator, assumptions=assumptions, intended_uses=intended_uses,
                        prohibited_uses=prohibited_uses, license=license, key=key, watermark_key=watermark_key,
                        mode=mode, replaced_columns=replaced_columns, name=name, description=description,
                        audience=audience, contact=contact, social_impact=social_impact, maintenance=maintenance,
                        url=url, release_id=release_id, created=created, overwrite=overwrite, lineage=lineage,
                        max_generation=max_generation, override_reason=override_reason,
                        source_description=source_description, model_path=model_path, open_catalog=open_catalog,
                        workspace=workspace)


def _package(synthetic, out_dir, *, source, synthesizer, report, purpose, creator, assumptions, intended_uses,
             prohibited_uses, license, key, watermark_key, mode, replaced_columns, name, description, audience,  # noqa: A002
             contact, social_impact, maintenance, url, release_id, created, overwrite, lineage, max_generation,
             override_reason, source_description, model_path, open_catalog, workspace) -> Release:
    from .. import __version__
    from ..table.io import read, write

    purpose = _text(purpose, "a purpose (transparency is mandatory: why was this synthetic data made?)",
                    required=True, hint="pass purpose='...' (--purpose)")
    creator_info = _creator(creator)
    assumptions, intended, prohibited = (_texts(assumptions, "assumptions"), _texts(intended_uses, "intended_uses"),
                                         _texts(prohibited_uses, "prohibited_uses"))
    license = _text(license, "a licence", required=True, hint="an SPDX identifier such as CC-BY-4.0, or a URL")
    texts = {k: _text(v, k, required=False) for k, v in
             (("name", name), ("description", description), ("audience", audience), ("contact", contact),
              ("social_impact", social_impact), ("maintenance", maintenance), ("url", url))}
    release = _release_id(release_id)
    when = _created(created)
    if not isinstance(overwrite, bool):
        raise ParameterError("overwrite must be True or False")
    out = _check_out_dir(out_dir, overwrite)
    recorded = _recorded(synthetic)
    df = read(synthetic)
    df.attrs = {}
    if df.shape[1] == 0 or len(df) == 0:
        raise InputError("the synthetic table is empty", hint="package a table with rows and columns")
    gen, schema = generator_info(synthesizer)
    src = fingerprint_source(source, schema=schema, description=source_description)
    mode, share, replaced = _mode_and_share(df, mode, replaced_columns, recorded)
    report_doc, report_obj = _report_doc(report)
    cat = open_catalog()
    if lineage is None:
        lineage = _register.lineage_for(cat, source)
    lineage, lineage_notes = check_lineage(_lineage(lineage, source), max_generation=max_generation,
                                           override_reason=override_reason)
    metrics = [{k: m.get(k) for k in _METRIC_KEYS} for m in (report_doc or {}).get("metrics", [])]
    biases, limitations = croissant.evaluation_statements(report_doc, metrics)
    pii, pii_tags = croissant.pii_statements(schema, df, mode, replaced, marker=MARKER)
    watermark = None
    if watermark_key is not None:
        try:
            from . import watermark as wm
        except ImportError:
            raise ParameterError("watermarking is not available in this installation",
                                 hint="package without watermark_key") from None
        # only synthetic values carry the mark: real rows (hybrid) and real columns (partial) stay exact
        where = ({"columns": list(replaced)} if mode == "partial" else
                 {"rows": df[MARKER].to_numpy()} if mode in ("hybrid", "rebalance") else {})
        df = wm.embed(df, watermark_key, schema=schema, **where)
        watermark = {"embedded": True, "scheme": getattr(wm, "SCHEME", wm.KEY_CONTEXT.decode()),
                     "marked": ("replaced columns" if mode == "partial" else
                                "synthetic rows" if mode in ("hybrid", "rebalance") else "all numeric cells"),
                     "detect": "synthgov.provenance.watermark.detect(table, key)"}
        if report_doc is not None:
            limitations.append("The evaluation was computed before the watermark was embedded; the watermark "
                               "changes values slightly.")
    if mode == "partial":
        limitations.append(f"Only {', '.join(replaced)} were replaced; every other column holds real values "
                           "from the source and must be protected like the source.")
    elif mode in ("hybrid", "rebalance"):
        limitations.append(f"{1 - share:.2%} of the rows are real rows from the source ({MARKER} is False); "
                           "they must be protected like the source.")
    limitations.extend(note[0].upper() + note[1:] + ("" if note.endswith(".") else ".") for note in lineage_notes)
    signer, key_created = _signer(key, workspace)
    facts_kwargs = dict(
        release_id=release, created=when,
        name=texts["name"] or f"Synthetic {src.name}",
        description=texts["description"] or (f"Synthetic data ({mode}) made from {src.name} with the {gen.name} "
                                             f"generator, for: {purpose}"),
        url=texts["url"], purpose=purpose, audience=texts["audience"], creator=creator_info,
        contact=texts["contact"] or creator_info.get("email"), license=license,
        mode=mode, synthetic_share=share, replaced_columns=replaced, marker=MARKER,
        columns=tuple((str(c), df[c].dtype) for c in df.columns), rows=len(df), data_size=0,
        source=src, generator=gen, assumptions=assumptions, intended_uses=intended, prohibited_uses=prohibited,
        metrics=tuple(metrics), verdict=None if report_doc is None else report_doc.get("verdict"),
        biases=tuple(biases), limitations=tuple(limitations), pii=tuple(pii), pii_tags=pii_tags,
        collection=(f"Generated by software: the {gen.name} generator (synthgov {__version__}) was fitted on the "
                    f"source {src.name!r} and drew new rows ({mode} mode). No data was collected from people for "
                    "this release." + (" Real rows or columns of the source are included, as marked."
                                       if mode != "full" else "")),
        social_impact=texts["social_impact"] or (
            f"Made for this purpose: {purpose.rstrip('.')}. Synthetic data can still disclose patterns about the "
            "people in the source, and can mislead when used beyond its intended uses."),
        maintenance=texts["maintenance"] or (f"Static release {release}; it is not updated. A new version is a new "
                                             "release with its own id and signature."),
        watermark=watermark, synthgov_version=__version__, key_id=signer.key_id, lineage=lineage,
    )
    files: dict[str, str] = {}
    try:
        with atomic_dir(out) as tmp:
            os.chmod(tmp, 0o777 & ~_umask())
            meta = {"synthetic": True, "release_id": release, "mode": mode, "synthetic_share": share,
                    "replaced_columns": list(replaced), "generator": gen.name, "generation": lineage.generation}
            write(df, tmp / DATA_FILE, metadata={METADATA_KEY: json.dumps(meta, sort_keys=True)})
            files[DATA_FILE] = sha256_file(tmp / DATA_FILE)
            facts = ReleaseFacts(**{**facts_kwargs, "data_size": (tmp / DATA_FILE).stat().st_size})
            if report_obj is not None:
                (tmp / "report.html").write_text(report_obj.to_html(), encoding="utf-8")
            doc = croissant.build(facts, files[DATA_FILE])
            (tmp / "croissant.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                                                encoding="utf-8")
            (tmp / "card.md").write_text(card.render(facts, data_sha256=files[DATA_FILE]), encoding="utf-8")
            sizes: dict[str, int] = {}
            for entry in sorted(tmp.iterdir()):
                files[entry.name], sizes[entry.name] = sha256_file(entry), entry.stat().st_size
            # the sizes are signed too, so that verify() can refuse an oversized file before reading it
            payload = dsse.canonical_json(dsse.statement(files, {**facts.predicate(), dsse.FILE_SIZES: sizes}))
            (tmp / ENVELOPE).write_bytes(dsse.dumps(dsse.sign(payload, signer)))
            if cat is not None:  # registered in one transaction before the directory is renamed into place
                with cat.session() as session:
                    _register.record_release(session, release_id=release, path=out.resolve(),
                                             files={**files, ENVELOPE: sha256_file(tmp / ENVELOPE)},
                                             data=read(tmp / DATA_FILE), source=source, synthesizer=synthesizer,
                                             mode=mode, synthetic_share=share, lineage=lineage,
                                             name=facts_kwargs["name"], model_path=model_path,
                                             created_key={"name": "default", "key_id": signer.key_id}
                                             if key_created else None)
    except SynthgovError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write the release to {out}: {exc}",
                          hint="check the directory's parent exists and is writable") from None
    return Release(path=out, release_id=release, key_id=signer.key_id, public_key=signer.public_key(),
                   files=dict(sorted(files.items())), mode=mode, synthetic_share=share, key_created=key_created,
                   lineage=lineage, warnings=tuple(lineage_notes))
