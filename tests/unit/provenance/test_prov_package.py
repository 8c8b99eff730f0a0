"""package(): the release directory, its labels, modes and synthetic share, and refusals."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat

import pandas as pd
import pyarrow.parquet as pq
import pytest

import synthgov as sg
from synthgov.evaluate.report import Report
from synthgov.provenance import GeneratorInfo, fingerprint_source, package, verify
from synthgov.provenance.croissant import evaluation_statements

BASE = dict(purpose="Test packaging.", creator="Ann Lee <ann@example.org>")


def _label(path):
    return json.loads(pq.read_schema(path).metadata[b"synthgov"])


def _statement(folder):
    env = json.loads((folder / "release.dsse.json").read_text())
    return json.loads(base64.b64decode(env["payload"]))


def test_release_holds_every_file_with_its_signed_digest(release, synth):
    folder = release.path
    assert sorted(p.name for p in folder.iterdir()) == ["card.md", "croissant.json", "data.parquet",
                                                        "release.dsse.json", "report.html"]
    stmt = _statement(folder)
    signed = {s["name"]: s["digest"]["sha256"] for s in stmt["subject"]}
    assert signed == {n: hashlib.sha256((folder / n).read_bytes()).hexdigest()
                      for n in ("card.md", "croissant.json", "data.parquet", "report.html")}
    assert stmt["predicateType"] == "https://synthgov.dev/provenance/v1"
    assert stmt["predicate"]["releaseId"] == "test-release-1"
    label = _label(folder / "data.parquet")
    assert label["synthetic"] is True and label["release_id"] == "test-release-1" and label["mode"] == "full"
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "data.parquet"), synth)


def test_report_html_is_the_reports_own_page(release, report):
    assert (release.path / "report.html").read_text(encoding="utf-8") == report.to_html()


@pytest.mark.parametrize("missing", ["purpose", "creator"])
@pytest.mark.parametrize("value", [None, "  "])
def test_purpose_and_creator_are_mandatory_and_nothing_is_written(missing, value, synth, real, tmp_path, signer):
    out = tmp_path / "rel"
    args = {**BASE, missing: value}
    with pytest.raises(sg.ParameterError, match=missing):
        package(synth, out, source=real, synthesizer="copula", key=signer, **args)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_non_empty_output_directory_is_refused_and_left_alone(synth, real, tmp_path, signer):
    out = tmp_path / "rel"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(sg.OutputError, match="not empty"):
        package(synth, out, source=real, synthesizer="copula", key=signer, **BASE)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    rel = package(synth, out, source=real, synthesizer="copula", key=signer, overwrite=True, **BASE)
    assert "mine.txt" not in rel.files and not (out / "mine.txt").exists()


class _BrokenReport(Report):
    """A report whose page cannot be written (as on a full disk): packaging must leave nothing behind."""

    def to_html(self, path=None):
        raise OSError(28, "No space left on device")


def test_a_failure_part_way_leaves_no_release_and_no_temporary_files(synth, real, tmp_path, signer, report):
    broken = _BrokenReport(**{f: getattr(report, f) for f in report.__dataclass_fields__})
    with pytest.raises(sg.OutputError, match="No space left"):
        package(synth, tmp_path / "rel", source=real, synthesizer="copula", report=broken, key=signer, **BASE)
    # only the workspace (SYNTHGOV_HOME=tmp_path/home, whose catalog was opened) remains, and it holds no release
    assert [p.name for p in tmp_path.iterdir()] == ["home"]
    from synthgov.catalog import open_catalog
    assert open_catalog().list("release") == []


def test_hybrid_release_keeps_the_marker_and_counts_its_share(real, synth, tmp_path, signer):
    mix = sg.hybrid(real, synth, share=0.3, random_state=0)
    rel = package(mix, tmp_path / "rel", source=real, synthesizer="copula", key=signer, **BASE)
    data = pd.read_parquet(rel.path / "data.parquet")
    assert data["_synthetic"].dtype == bool and int(data["_synthetic"].sum()) == 90
    assert rel.mode == "hybrid" and rel.synthetic_share == pytest.approx(90 / 300, abs=0)
    doc = json.loads((rel.path / "croissant.json").read_text())
    assert doc["sg:generationMode"] == "hybrid" and doc["sg:syntheticShare"] == 0.3
    assert doc["sg:syntheticMarkerColumn"] == "_synthetic"
    assert _label(rel.path / "data.parquet")["synthetic_share"] == 0.3
    assert "30.00% of the rows are synthetic" in (rel.path / "card.md").read_text()


def test_hybrid_share_is_counted_in_the_data_not_taken_from_attrs(real, synth, tmp_path, signer):
    mix = sg.hybrid(real, synth, share=0.3, random_state=0)
    mix.loc[mix.index[:10], "_synthetic"] = True  # the table changed after mixing
    expected = float(mix["_synthetic"].mean())
    rel = package(mix, tmp_path / "rel", source=real, synthesizer="copula", key=signer, **BASE)
    assert rel.synthetic_share == expected != 0.3


def test_partial_release_records_its_replaced_columns(real, fitted, tmp_path, signer):
    part = sg.partial(real, columns=["wage"], synthesizer=fitted, random_state=0)
    rel = package(part, tmp_path / "rel", source=real, synthesizer=fitted, key=signer, **BASE)
    assert rel.mode == "partial" and rel.synthetic_share == pytest.approx(1 / 7)
    doc = json.loads((rel.path / "croissant.json").read_text())
    assert doc["sg:replacedColumns"] == ["wage"]
    flags = {f["name"]: f["sg:synthetic"] for f in doc["recordSet"][0]["field"]}
    assert flags == {c: c == "wage" for c in real.columns}
    assert _statement(rel.path)["predicate"]["replacedColumns"] == ["wage"]
    assert any("every other column holds real values" in x for x in doc["rai:dataLimitations"])


def test_partial_needs_its_columns_when_the_table_does_not_record_them(real, synth, tmp_path, signer):
    with pytest.raises(sg.ParameterError, match="replaced columns"):
        package(synth, tmp_path / "a", source=real, synthesizer="copula", key=signer, mode="partial", **BASE)
    with pytest.raises(sg.ParameterError, match="not in the table"):
        package(synth, tmp_path / "b", source=real, synthesizer="copula", key=signer, mode="partial",
                replaced_columns=["salary"], **BASE)
    with pytest.raises(sg.ParameterError, match="names a column twice"):  # would count wage's cells twice
        package(synth, tmp_path / "d", source=real, synthesizer="copula", key=signer, mode="partial",
                replaced_columns=["wage", "wage"], **BASE)
    rel = package(synth, tmp_path / "c", source=real, synthesizer="copula", key=signer, mode="partial",
                  replaced_columns=["wage", "education"], **BASE)
    assert rel.synthetic_share == pytest.approx(2 / 7)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "home"]  # the release, and the workspace that catalogs it


def test_contradictory_modes_are_refused(real, synth, tmp_path, signer):
    mix = sg.hybrid(real, synth, share=0.5, random_state=0)
    with pytest.raises(sg.ParameterError, match="marks a hybrid table"):
        package(mix, tmp_path / "a", source=real, synthesizer="copula", key=signer, mode="full", **BASE)
    with pytest.raises(sg.ParameterError, match="needs the boolean"):
        package(synth, tmp_path / "b", source=real, synthesizer="copula", key=signer, mode="hybrid", **BASE)
    with pytest.raises(sg.ParameterError, match="mode must be one of"):
        package(synth, tmp_path / "c", source=real, synthesizer="copula", key=signer, mode="mostly", **BASE)
    assert list(tmp_path.iterdir()) == []


def test_mode_is_read_from_a_parquet_file_written_by_generate(real, synth, tmp_path, signer):
    mix = sg.hybrid(real, synth, share=0.5, random_state=0)
    path = sg.write(mix, tmp_path / "mix.parquet", metadata={"synthgov": json.dumps(
        {"synthetic": True, "mode": "hybrid (50% synthetic)", "generator": "copula"})})
    rel = package(path, tmp_path / "rel", source=real, synthesizer="copula", key=signer, **BASE)
    assert rel.mode == "hybrid" and rel.synthetic_share == 0.5


def test_default_key_is_created_once_in_the_workspace_with_mode_0600(synth, real, tmp_path):
    ws = tmp_path / "ws"
    first = package(synth, tmp_path / "r1", source=real, synthesizer="copula", workspace=ws, **BASE)
    private = ws / "keys" / "default.key"
    assert first.key_created and stat.S_IMODE(os.stat(private).st_mode) == 0o600
    second = package(synth, tmp_path / "r2", source=real, synthesizer="copula", workspace=ws, **BASE)
    assert not second.key_created and second.key_id == first.key_id
    assert verify(second.path, workspace=ws).ok  # the workspace's own keys are trusted by default


def test_source_is_fingerprinted_never_copied(real, synth, tmp_path, signer):
    marked = real.copy()
    marked["region"] = marked["region"].astype(str)
    marked.loc[0, "region"] = "SECRET-REGION-7731"
    rel = package(synth, tmp_path / "rel", source=marked, synthesizer="copula", key=signer, **BASE)
    for name in rel.files:
        assert b"SECRET-REGION-7731" not in (rel.path / name).read_bytes()
    fp = fingerprint_source(marked)
    doc = json.loads((rel.path / "croissant.json").read_text())
    assert doc["prov:wasDerivedFrom"]["sg:sha256"] == fp.sha256
    assert doc["prov:wasDerivedFrom"]["sg:schemaSha256"] == sg.TableSchema.infer(marked).fingerprint()


def test_source_fingerprint_changes_with_one_cell_and_not_with_a_copy(real):
    same = fingerprint_source(real.copy())
    assert same.sha256 == fingerprint_source(real).sha256
    changed = real.copy()
    changed.loc[5, "wage"] += 0.01
    assert fingerprint_source(changed).sha256 != same.sha256
    reordered = real[list(reversed(real.columns))]
    assert fingerprint_source(reordered).sha256 != same.sha256


def test_source_file_fingerprint_is_the_files_sha256(real, tmp_path):
    path = sg.write(real, tmp_path / "real.csv")
    fp = fingerprint_source(path)
    assert fp.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert fp.rows == len(real) and fp.columns == real.shape[1] and fp.name == "real.csv"


def test_dp_account_and_seed_are_recorded(synth, real, tmp_path, signer):
    gen = GeneratorInfo(name="dp-bayesnet", version="9.9", parameters={"epsilon": 1.0}, seed=42, epsilon=1.0,
                        delta=1e-6, mechanism="exponential mechanism")
    rel = package(synth, tmp_path / "rel", source=real, synthesizer=gen, key=signer, **BASE)
    act = json.loads((rel.path / "croissant.json").read_text())["prov:wasGeneratedBy"]
    assert (act["sg:dpEpsilon"], act["sg:dpDelta"], act["sg:seed"], act["sg:generator"]) == (1.0, 1e-6, 42, "dp-bayesnet")
    card = (rel.path / "card.md").read_text()
    assert "epsilon = 1, delta = 1e-06" in card and "No formal privacy guarantee" not in card


def test_evaluation_statements_worked_example():
    doc = {"notes": ["holdout split off"], "privacy": {"statement": "No formal privacy guarantee."},
           "disclaimer": "Empirical only."}
    metrics = [
        {"name": "gap", "family": "fairness", "goal": "minimize", "value": 0.125, "verdict": "fail", "threshold": 0.1,
         "definition": "Largest gap between groups. More text."},
        {"name": "parity", "family": "fairness", "value": None, "reason": "needs sensitive", "threshold": None},
        {"name": "ks", "family": "fidelity", "goal": "maximize", "value": 0.5, "verdict": "pass", "threshold": 0.4},
        {"name": "utility_ratio", "family": "utility", "value": None, "reason": "no target", "threshold": 0.9,
         "verdict": "not computed"},
    ]
    biases, limits = evaluation_statements(doc, metrics)
    assert biases == ["gap = 0.125 (fail). Largest gap between groups.", "parity: not computed (needs sensitive)."]
    assert limits == ["gap = 0.125 fails its threshold (<= 0.1). Largest gap between groups.",
                      "utility_ratio was not computed: no target.", "holdout split off",
                      "No formal privacy guarantee.", "Empirical only."]
    no_report = evaluation_statements(None, [])
    assert "not measured" in no_report[0][0] and "not measured" in no_report[1][0]


def test_watermark_key_embeds_a_mark_detect_finds(cps_small, tmp_path, signer):
    wm = pytest.importorskip("synthgov.provenance.watermark")
    real = cps_small
    syn = sg.CopulaSynthesizer(random_state=0).fit(real)
    rows = syn.sample(2000, random_state=3)
    rel = package(rows, tmp_path / "rel", source=real, synthesizer=syn, key=signer, watermark_key="k-2025", **BASE)
    data = pd.read_parquet(rel.path / "data.parquet")
    # 2,000 rows x 3 numeric columns: the scheme's own doctest reaches p < 1e-6 on 2,000 cells
    assert wm.detect(data, "k-2025").p_value < 1e-6
    assert wm.detect(data, "another key").p_value > 1e-3
    assert json.loads((rel.path / "croissant.json").read_text())["sg:watermark"]["embedded"] is True
    assert "k-2025" not in "".join((rel.path / n).read_text(errors="ignore") for n in rel.files)


def test_watermark_leaves_real_rows_of_a_hybrid_release_exact(real, synth, tmp_path, signer):
    pytest.importorskip("synthgov.provenance.watermark")
    mix = sg.hybrid(real, synth, share=0.5, random_state=0)
    rel = package(mix, tmp_path / "rel", source=real, synthesizer="copula", key=signer, watermark_key="k", **BASE)
    data = pd.read_parquet(rel.path / "data.parquet")
    real_rows = ~data["_synthetic"]
    pd.testing.assert_frame_equal(data[real_rows], mix[real_rows.to_numpy()].set_axis(data.index[real_rows]))
    assert not data[~real_rows].equals(mix[(~real_rows).to_numpy()].set_axis(data.index[~real_rows]))


@pytest.mark.parametrize("bad", ["", "a b", "r\n", "../x", "x" * 129])
def test_a_release_id_must_be_a_plain_token(bad, synth, real, tmp_path, signer):
    with pytest.raises(sg.ParameterError, match="release_id"):
        package(synth, tmp_path / "rel", source=real, synthesizer="copula", key=signer, release_id=bad, **BASE)
    assert not (tmp_path / "rel").exists()


def test_the_signed_statement_gives_every_files_size(release):
    stmt = _statement(release.path)
    assert stmt["predicate"]["fileSizes"] == {n: (release.path / n).stat().st_size for n in release.files}


def test_source_name_and_description_must_be_text(real):
    with pytest.raises(sg.ParameterError, match="source's name must be text"):
        fingerprint_source(real, name=7)
    with pytest.raises(sg.ParameterError, match="source's description must be text"):
        fingerprint_source(real, description=["x"])
    assert fingerprint_source(real, name="cps", description="CPS 1988").description == "CPS 1988"
