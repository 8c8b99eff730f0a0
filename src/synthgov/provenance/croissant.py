"""``croissant.json``: the release described in Croissant 1.1 JSON-LD, with RAI, PROV-O, DQV and ODRL.

What goes where:

* the Croissant core (MLCommons Croissant 1.1): ``distribution`` (``data.parquet`` with
  its sha256), one ``recordSet`` with a typed field per column;
* the Croissant RAI vocabulary (``rai:``): ``dataCollection`` (how the rows were
  generated), ``dataCollectionType``, ``dataBiases`` and ``dataLimitations`` (drawn
  from the evaluation), ``personalSensitiveInformation`` (from the PII scan),
  ``dataUseCases``, ``dataSocialImpact``, ``dataReleaseMaintenancePlan``;
* W3C PROV-O (``prov:``), as the Croissant 1.1 spec recommends: ``wasDerivedFrom``
  (the source's fingerprint: sha256 and schema hash, never its content),
  ``wasGeneratedBy`` (the generation activity: generator, version, parameters, seed,
  DP epsilon), ``wasAttributedTo`` (the creator);
* W3C DQV (``dqv:``): each evaluation metric as a ``QualityMeasurement`` of a
  ``Metric`` carrying its definition and source;
* W3C ODRL inside ``usageInfo`` (as the Croissant spec shows): one permission per
  intended use, one prohibition per prohibited use;
* our terms (``sg:``, https://synthgov.dev/ns#): the synthetic share and mode, the
  release id, the replaced columns, assumptions, and the lineage (generation,
  synthetic-on-synthetic hops, the synthetic share of the training data, parent
  releases, a generation-limit override) — see :mod:`synthgov.provenance.lineage`.

>>> import pandas as pd
>>> field_type(pd.Series([1, 2]).dtype), field_type(pd.Series(["a"]).dtype)
('sc:Integer', 'sc:Text')
>>> CONTEXT["prov"]
'http://www.w3.org/ns/prov#'
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .package import ReleaseFacts

__all__ = ["CONTEXT", "CONFORMS_TO", "SG", "field_type", "build", "license_url", "evaluation_statements",
           "pii_statements"]

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
SG = "https://synthgov.dev/ns#"

#: The Croissant 1.1 context (as mlcroissant writes it) plus PROV-O, DQV, ODRL, SKOS and our namespace.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "dqv": "http://www.w3.org/ns/dqv#",
    "odrl": "http://www.w3.org/ns/odrl/2/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "sg": SG,
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileObject": "cr:fileObject",
    "fileProperty": "cr:fileProperty",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    "sg:parameters": {"@type": "@json"},
    "sg:ci": {"@type": "@json"},
    "sg:range": {"@type": "@json"},
}

RECORD_SET = "rows"
DATA_FILE = "data.parquet"


def field_type(dtype) -> str:
    """The Croissant data type of a pandas dtype."""
    if pd.api.types.is_bool_dtype(dtype):
        return "sc:Boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "sc:Integer"
    if pd.api.types.is_float_dtype(dtype):
        return "sc:Float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "sc:DateTime"
    return "sc:Text"


def license_url(license: str) -> str:  # noqa: A002 - the Croissant property's name
    """An SPDX identifier becomes its spdx.org URL; a URL or other text is kept as given."""
    if re.fullmatch(r"[A-Za-z0-9.+-]+", license) and not license.startswith("LicenseRef-"):
        return f"https://spdx.org/licenses/{license}.html"
    return license


_JSON_LITERALS = {k for k, v in CONTEXT.items() if isinstance(v, dict) and v.get("@type") == "@json"}


def _clean(value: Any) -> Any:
    """Drop ``None`` values and empty lists/dicts, recursively (JSON-LD has no null); JSON literals stay whole."""
    if isinstance(value, dict):
        out = {k: (v if k in _JSON_LITERALS else _clean(v)) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and (k in _JSON_LITERALS or (v != [] and v != {}))}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value if v is not None]
    return value


def _field_id(index: int, name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40] or "column"
    return f"{RECORD_SET}/{index}-{slug}"


def _fields(facts: ReleaseFacts) -> list[dict[str, Any]]:
    fields = []
    for i, (name, dtype) in enumerate(facts.columns):
        if name == facts.marker:
            synthetic: Any = None
            text = "True for synthetic rows, False for real rows kept from the source."
        elif facts.mode == "partial":
            synthetic = name in facts.replaced_columns
            text = ("Synthetic values (replaced)." if synthetic else "Real values kept from the source (not replaced).")
        elif facts.mode in ("hybrid", "rebalance"):
            synthetic = "mixed"
            text = f"Synthetic in rows where {facts.marker} is True, real elsewhere."
        else:
            synthetic = True
            text = "Synthetic values."
        fields.append({
            "@type": "cr:Field",
            "@id": _field_id(i, name),
            "name": name,
            "description": f"Column {name!r}. {text}",
            "dataType": field_type(dtype),
            "source": {"fileObject": {"@id": DATA_FILE}, "extract": {"column": name}},
            "sg:synthetic": synthetic,
            "sg:piiTag": facts.pii_tags.get(name),
        })
    return fields


def _metrics(facts: ReleaseFacts) -> list[dict[str, Any]]:
    out = []
    for m in facts.metrics:
        out.append({
            "@type": "dqv:QualityMeasurement",
            "dqv:isMeasurementOf": {
                "@id": f"sg:metric/{m['name']}",
                "@type": "dqv:Metric",
                "name": m["name"],
                "skos:definition": m.get("definition"),
                "dct:source": m.get("source"),
                "dqv:inDimension": {"@id": f"sg:dimension/{m.get('family')}"},
                "sg:goal": m.get("goal"),
                "sg:range": list(m["range"]) if m.get("range") is not None else None,
            },
            "dqv:value": m.get("value"),
            "sg:ci": m.get("ci"),
            "sg:threshold": m.get("threshold"),
            "sg:verdict": m.get("verdict"),
            "sg:notComputedReason": m.get("reason"),
        })
    return out


def _release_iri(release_id: str) -> str:
    """``urn:uuid:...`` for a UUID release id (the default); our namespace for any other id.

    >>> _release_iri("0f8fad5b-d9cb-469f-a165-70867728950e"), _release_iri("wages-2025")
    ('urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e', 'sg:release/wages-2025')
    """
    try:
        if str(uuid.UUID(release_id)) == release_id:
            return f"urn:uuid:{release_id}"
    except ValueError:
        pass
    return f"sg:release/{release_id}"


def _odrl(facts: ReleaseFacts) -> dict[str, Any]:
    def rule(kind: str, use: str) -> dict[str, Any]:
        return {
            "@type": f"odrl:{kind}",
            "odrl:action": {"@id": "odrl:use"},
            "odrl:constraint": [{
                "@type": "odrl:Constraint",
                "odrl:leftOperand": {"@id": "odrl:purpose"},
                "odrl:operator": {"@id": "odrl:eq"},
                "odrl:rightOperand": use,
            }],
        }

    return {
        "@type": ["CreativeWork", "odrl:Offer"],
        "name": "Usage conditions",
        "odrl:uid": {"@id": _release_iri(facts.release_id)},
        "odrl:assigner": {"@type": ["prov:Agent", facts.creator["type"]], "name": facts.creator["name"]},
        "odrl:permission": [rule("Permission", use) for use in facts.intended_uses],
        "odrl:prohibition": [rule("Prohibition", use) for use in facts.prohibited_uses],
    }


def _person(creator: dict[str, Any]) -> dict[str, Any]:
    return {"@type": creator["type"], "name": creator["name"], "email": creator.get("email"), "url": creator.get("url")}


def build(facts: ReleaseFacts, data_sha256: str) -> dict[str, Any]:
    """The ``croissant.json`` document for a release (``data_sha256``: digest of ``data.parquet``)."""
    src, gen = facts.source, facts.generator
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": facts.name,
        "description": facts.description,
        "identifier": facts.release_id,
        "version": "1.0.0",
        "datePublished": facts.created,
        "license": license_url(facts.license),
        "creator": _person(facts.creator),
        "keywords": ["synthetic data", f"synthgov:{facts.mode}"],
        "citeAs": f"{facts.creator['name']}. {facts.name} (synthetic data, release {facts.release_id}). {facts.created[:4]}.",
        "url": facts.url,
        "sg:isSynthetic": True,
        "sg:releaseId": facts.release_id,
        "sg:generationMode": facts.mode,
        "sg:syntheticShare": facts.synthetic_share,
        "sg:replacedColumns": list(facts.replaced_columns),
        "sg:syntheticMarkerColumn": facts.marker if facts.marker in dict(facts.columns) else None,
        "sg:purpose": facts.purpose,
        "sg:audience": facts.audience,
        "sg:assumptions": list(facts.assumptions),
        "sg:watermark": facts.watermark,
        "sg:evaluationVerdict": facts.verdict,
        "sg:generation": facts.lineage.generation,
        "sg:syntheticOnSyntheticHops": facts.lineage.hops,
        "sg:trainingSyntheticShare": facts.lineage.training_synthetic_share,
        "sg:parentReleases": [{"@id": _release_iri(p)} for p in facts.lineage.parents],
        "sg:generationLimitOverride": facts.lineage.override_reason,
        "rai:dataCollection": facts.collection,
        "rai:dataCollectionType": ["Software Collection", "Others: synthetic data generation"],
        "rai:dataBiases": list(facts.biases),
        "rai:dataLimitations": list(facts.limitations),
        "rai:personalSensitiveInformation": list(facts.pii),
        "rai:dataUseCases": list(facts.intended_uses),
        "rai:dataSocialImpact": facts.social_impact,
        "rai:dataReleaseMaintenancePlan": facts.maintenance,
        "prov:wasDerivedFrom": {
            "@type": "prov:Entity",
            "@id": f"urn:sha256:{src.sha256}",
            "name": src.name,
            "description": src.description,
            "sg:sha256": src.sha256,
            "sg:digestMethod": src.digest_method,
            "sg:schemaSha256": src.schema_sha256,
            "sg:rows": src.rows,
            "sg:columns": src.columns,
        },
        "prov:wasGeneratedBy": {
            "@type": "prov:Activity",
            "prov:label": f"synthesis with {gen.name}",
            "prov:endedAtTime": facts.created,
            "prov:used": {"@id": f"urn:sha256:{src.sha256}"},
            "prov:wasAssociatedWith": {"@type": ["prov:SoftwareAgent", "SoftwareApplication"],
                                       "name": "synthgov", "softwareVersion": facts.synthgov_version},
            "sg:generator": gen.name,
            "sg:generatorVersion": gen.version,
            "sg:parameters": gen.parameters,
            "sg:seed": gen.seed,
            "sg:dpEpsilon": gen.epsilon,
            "sg:dpDelta": gen.delta,
            "sg:dpMechanism": gen.mechanism,
        },
        "prov:wasAttributedTo": {"@type": ["prov:Agent", facts.creator["type"]], "name": facts.creator["name"],
                                 "email": facts.creator.get("email"), "url": facts.creator.get("url")},
        "dqv:hasQualityMeasurement": _metrics(facts),
        "usageInfo": _odrl(facts),
        "distribution": [{
            "@type": "cr:FileObject",
            "@id": DATA_FILE,
            "name": DATA_FILE,
            "contentUrl": DATA_FILE,
            "contentSize": f"{facts.data_size} B",
            "encodingFormat": "application/x-parquet",
            "sha256": data_sha256,
        }],
        "recordSet": [{
            "@type": "cr:RecordSet",
            "@id": RECORD_SET,
            "name": RECORD_SET,
            "description": f"The {facts.rows} rows of {DATA_FILE}, one record per row.",
            "field": _fields(facts),
        }],
    }
    return _clean(doc)


# -- RAI statements drawn from the evaluation and the PII scan ----------------------------------------
def _first_sentence(text: str | None) -> str:
    text = " ".join((text or "").split())
    end = text.find(". ")
    return text if end < 0 else text[:end + 1]


def evaluation_statements(report_doc: dict[str, Any] | None, metrics: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(``rai:dataBiases``, ``rai:dataLimitations``) drawn from the evaluation report's ``to_dict()``."""
    if report_doc is None:
        return (["No evaluation report was attached: biases were not measured. Synthetic data carries the biases "
                 "of its source and can add the generator's own."],
                ["No evaluation report was attached: fidelity, utility and privacy were not measured."])
    biases, limits = [], []
    fairness = [m for m in metrics if m.get("family") == "fairness"]
    for m in fairness:
        if m.get("value") is None:
            biases.append(f"{m['name']}: not computed ({m.get('reason') or 'no reason given'}).")
        else:
            biases.append(f"{m['name']} = {m['value']:.4g} ({m.get('verdict')}). {_first_sentence(m.get('definition'))}")
    if not fairness:
        biases.append("Fairness was not measured (the evaluation named no sensitive columns). Synthetic data carries "
                      "the biases of its source and can add the generator's own.")
    for m in metrics:
        if m.get("verdict") == "fail":
            op = ">=" if m.get("goal") == "maximize" else "<="
            limits.append(f"{m['name']} = {m['value']:.4g} fails its threshold ({op} {m.get('threshold')}). "
                          f"{_first_sentence(m.get('definition'))}")
        elif m.get("value") is None and m.get("threshold") is not None:
            limits.append(f"{m['name']} was not computed: {m.get('reason') or 'no reason given'}.")
    limits.extend(str(n) for n in report_doc.get("notes", []) or [])
    statement = (report_doc.get("privacy") or {}).get("statement")
    if statement:
        limits.append(statement)
    if report_doc.get("disclaimer"):
        limits.append(report_doc["disclaimer"])
    return biases, limits


def pii_statements(schema, df: pd.DataFrame, mode: str, replaced: tuple[str, ...], *, marker: str) -> tuple[list[str], dict[str, str]]:
    """(``rai:personalSensitiveInformation`` lines, column -> PII tag) from the schema's PII scan."""
    from ..table.schema import TableSchema

    if schema is None:
        schema = TableSchema.infer(df.drop(columns=[marker], errors="ignore"))
    tags = {c: t for c, t in schema.pii_columns.items() if c in df.columns}
    lines = []
    for col, tag in tags.items():
        if mode == "partial" and col not in replaced:
            lines.append(f"Column {col!r} ({tag}): REAL values from the source; it was not replaced.")
            continue
        modelled = schema[col].modelled
        how = ("synthetic draws from a model fitted on the source, which can still lie close to real values"
               if modelled else "freshly generated values, not learned from the source")
        lines.append(f"Column {col!r} ({tag}): personal data detected in the source; the release holds {how}.")
        if mode in ("hybrid", "rebalance"):
            lines[-1] += f" Rows where {marker} is False hold the source's real values."
    if not tags:
        lines.append("The PII scan (column names and value patterns) found no personal-data columns; a pattern "
                     "scan can miss some.")
    return lines, tags
