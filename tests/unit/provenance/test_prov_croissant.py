"""croissant.json passes mlcroissant, its records load from data.parquet, and every field round-trips."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import synthgov as sg
from synthgov.provenance import package

mlc = pytest.importorskip("mlcroissant")
pytestmark = [pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated"),  # inside rdflib
              pytest.mark.filterwarnings("ignore:The inplace keyword")]  # inside mlcroissant's Parquet reader


def _doc(release):
    return json.loads((release.path / "croissant.json").read_text(encoding="utf-8"))


def test_mlcroissant_validates_without_errors_or_warnings(release):
    ds = mlc.Dataset(jsonld=str(release.path / "croissant.json"))
    issues = ds.metadata.ctx.issues
    assert not issues.errors and not issues.warnings


def _as_python(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_localize(None) if value.tzinfo else value
    return value.item() if hasattr(value, "item") else value


def _expected(series):
    if pd.api.types.is_datetime64_any_dtype(series):
        series = series.dt.tz_localize(None) if series.dt.tz is not None else series
    return [None if pd.isna(v) else (v.item() if hasattr(v, "item") and not isinstance(v, pd.Timestamp) else v)
            for v in series.astype(object)]


def test_records_load_from_data_parquet_with_every_type(synth, real, tmp_path, signer):
    """Numbers, text, booleans, datetimes, nullable integers and missing values come back from the records."""
    table = synth.copy()
    table["big_city"] = table["smsa"].astype(str) == "yes"
    table["surveyed"] = pd.Timestamp("1988-03-01") + pd.to_timedelta(np.arange(len(table)) % 28, unit="D")
    table["children"] = pd.array([None if i % 5 == 0 else i % 4 for i in range(len(table))], dtype="Int64")
    table.loc[table.index[::7], "wage"] = np.nan
    table.loc[table.index[::9], "region"] = None
    rel = package(table, tmp_path / "rel", source=real, synthesizer="copula", key=signer,
                  purpose="Round-trip test.", creator="Ann")
    ds = mlc.Dataset(jsonld=str(rel.path / "croissant.json"))
    records = list(ds.records("rows"))
    data = pd.read_parquet(rel.path / "data.parquet")
    assert len(records) == len(data)
    fields = {f["@id"]: f["name"] for f in _doc(rel)["recordSet"][0]["field"]}
    assert sorted(fields.values()) == sorted(data.columns)
    types = {f["name"]: f["dataType"] for f in _doc(rel)["recordSet"][0]["field"]}
    assert (types["wage"], types["education"], types["region"], types["big_city"], types["surveyed"],
            types["children"]) == ("sc:Float", "sc:Integer", "sc:Text", "sc:Boolean", "sc:DateTime", "sc:Integer")
    for fid, column in fields.items():
        got = [_as_python(r[fid]) for r in records]
        assert got == _expected(data[column]), column


def test_every_field_round_trips(release, real, fitted, report, signer):
    doc = _doc(release)
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    assert doc["identifier"] == doc["sg:releaseId"] == "test-release-1"
    assert doc["datePublished"] == "2025-03-01T09:30:00+00:00"
    assert doc["license"] == "https://spdx.org/licenses/CC-BY-NC-4.0.html"
    assert doc["creator"] == {"@type": "Person", "name": "Ann Lee", "email": "ann@example.org"}
    assert doc["prov:wasAttributedTo"]["name"] == "Ann Lee"
    assert doc["sg:purpose"] == "Teach regression on wage data."
    assert doc["sg:audience"] == "students of econometrics"
    assert doc["sg:assumptions"] == ["Wages are weekly, in 1988 dollars."]
    assert doc["sg:isSynthetic"] is True and doc["sg:syntheticShare"] == 1.0 and doc["sg:generationMode"] == "full"
    assert doc["rai:dataUseCases"] == ["teaching", "software testing"]
    odrl = doc["usageInfo"]
    assert odrl["odrl:uid"] == {"@id": "sg:release/test-release-1"}  # not a UUID, so not urn:uuid
    assert [r["odrl:constraint"][0]["odrl:rightOperand"] for r in odrl["odrl:permission"]] == ["teaching", "software testing"]
    assert [r["odrl:constraint"][0]["odrl:rightOperand"] for r in odrl["odrl:prohibition"]] == [
        "re-identification", "decisions about individuals"]
    # provenance: the source's fingerprint and the generation activity
    derived = doc["prov:wasDerivedFrom"]
    assert derived["sg:sha256"] == sg.provenance.fingerprint_source(real).sha256
    assert derived["sg:schemaSha256"] == fitted.schema_.fingerprint()
    assert (derived["sg:rows"], derived["sg:columns"]) == real.shape
    activity = doc["prov:wasGeneratedBy"]
    assert activity["sg:generator"] == "copula" and activity["sg:seed"] == 0
    assert activity["sg:parameters"] == json.loads(json.dumps(fitted.get_params(), default=list))
    assert "sg:dpEpsilon" not in activity  # the copula is not differentially private
    # the distribution's digest is the file's
    import hashlib

    assert doc["distribution"][0]["sha256"] == hashlib.sha256((release.path / "data.parquet").read_bytes()).hexdigest()
    # the metrics, with their definitions, exactly as the report states them
    measured = {m["dqv:isMeasurementOf"]["name"]: m for m in doc["dqv:hasQualityMeasurement"]}
    for m in report.to_dict()["metrics"]:
        got = measured[m["name"]]
        assert got["dqv:isMeasurementOf"]["skos:definition"] == m["definition"]
        assert got["dqv:isMeasurementOf"]["dct:source"] == m["source"]
        assert got["dqv:isMeasurementOf"]["dqv:inDimension"]["@id"] == f"sg:dimension/{m['family']}"
        assert got.get("dqv:value") == m["value"] and got.get("sg:verdict") == m["verdict"]
        assert got.get("sg:ci") == m["ci"] and got.get("sg:threshold") == m["threshold"]
    assert doc["sg:evaluationVerdict"] == report.verdict == "fail"
    assert any(x.startswith("ks_complement = ") and "fails its threshold (>= 0.9999)" in x
               for x in doc["rai:dataLimitations"])
    assert report.to_dict()["disclaimer"] in doc["rai:dataLimitations"]


def test_rai_properties_as_mlcroissant_reads_them(release):
    doc = _doc(release)
    meta = mlc.Dataset(jsonld=str(release.path / "croissant.json")).metadata
    assert meta.data_collection == doc["rai:dataCollection"] and "fitted on the source" in meta.data_collection
    assert meta.data_collection_type == ["Software Collection", "Others: synthetic data generation"]
    assert meta.data_biases == doc["rai:dataBiases"]
    assert meta.data_limitations == doc["rai:dataLimitations"]
    assert meta.personal_sensitive_information == doc["rai:personalSensitiveInformation"]
    assert meta.data_use_cases == ["teaching", "software testing"]
    assert meta.data_social_impact == doc["rai:dataSocialImpact"] and "Teach regression" in meta.data_social_impact
    assert meta.data_release_maintenance_plan == doc["rai:dataReleaseMaintenancePlan"]
    assert [c.name for c in meta.creators] == ["Ann Lee"]
    assert meta.license == ["https://spdx.org/licenses/CC-BY-NC-4.0.html"]


def test_pii_scan_feeds_personal_sensitive_information(covid, tmp_path, signer):
    real = covid.drop(columns=["subject_id"]).head(400)
    syn = sg.CopulaSynthesizer(random_state=0).fit(real)
    rel = package(syn.sample(200, random_state=0), tmp_path / "rel", source=real, synthesizer=syn, key=signer,
                  purpose="PII test.", creator="Ann")
    doc = _doc(rel)
    pii = doc["rai:personalSensitiveInformation"]
    tagged = {c: t for c, t in syn.schema_.pii_columns.items()}
    assert tagged and len(pii) == len(tagged)
    for column, tag in tagged.items():
        assert any(f"'{column}' ({tag})" in line for line in pii)
    fields = {f["name"]: f.get("sg:piiTag") for f in doc["recordSet"][0]["field"]}
    assert {c: t for c, t in fields.items() if t} == tagged


def test_no_pii_says_the_scan_can_miss(release):
    assert _doc(release)["rai:personalSensitiveInformation"] == [
        "The PII scan (column names and value patterns) found no personal-data columns; a pattern scan can miss some."]


def test_card_states_purpose_creator_uses_metrics_and_contact(release, report):
    card = (release.path / "card.md").read_text(encoding="utf-8")
    for text in ("Teach regression on wage data.", "Ann Lee <ann@example.org>", "students of econometrics",
                 "Wages are weekly, in 1988 dollars.", "- teaching", "- re-identification",
                 "Overall verdict: **fail**", "`copula`", "No formal privacy guarantee", "test-release-1"):
        assert text in card, text
    for m in report.to_dict()["metrics"]:
        assert f"| {m['name']} | {m['family']} |" in card
    # the report beside the card shows the source's own distributions: the card must not say "only a fingerprint"
    assert "`report.html`) does show aggregate statistics of the source" in card
    assert card.index("## Purpose") < card.index("## Metrics") < card.index("## Prohibited uses") < card.index("## Contact")
