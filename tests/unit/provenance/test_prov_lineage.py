"""Lineage in releases: generation and training synthetic share in the card, croissant.json and the
signed predicate; the model-collapse gate (warn above generation 1, refuse above the limit unless
overridden with a reason that the release records)."""

from __future__ import annotations

import json

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import synthgov as sg
from synthgov.provenance import package, verify
from synthgov.provenance._cli_release import register
from synthgov.provenance.lineage import Lineage, check_lineage, recorded_lineage

COMMON = dict(purpose="Lineage test.", creator="Ann Lee <ann@example.org>")


def _chain(tmp_path, real, synth, fitted, signer, generations, **last):
    """Package generation 1 from real rows, then each next generation from the previous release's data.parquet."""
    source, releases = real, []
    for g in range(1, generations + 1):
        extra = last if g == generations else {}
        rel = package(synth, tmp_path / f"gen{g}", source=source, synthesizer=fitted, key=signer,
                      release_id=f"gen-{g}", **COMMON, **extra)
        releases.append(rel)
        source = rel.path / "data.parquet"
    return releases


def test_a_release_from_real_data_is_generation_1(release):
    doc = json.loads((release.path / "croissant.json").read_text())
    assert release.lineage == Lineage() and release.warnings == ()
    assert doc["sg:generation"] == 1 and doc["sg:syntheticOnSyntheticHops"] == 0
    assert doc["sg:trainingSyntheticShare"] == 0.0 and "sg:parentReleases" not in doc
    assert "Generation 1: made by a model trained on real data only" in (release.path / "card.md").read_text()
    assert recorded_lineage(release.path / "data.parquet")["generation"] == 1


def test_training_on_a_release_makes_generation_2_with_a_warning(tmp_path, real, synth, fitted, signer):
    first, second = _chain(tmp_path, real, synth, fitted, signer, 2)
    assert second.lineage.generation == 2 and second.lineage.parents == ("gen-1",)
    assert second.lineage.training_synthetic_share == 1.0
    assert len(second.warnings) == 1 and "model collapse" in second.warnings[0]
    doc = json.loads((second.path / "croissant.json").read_text())
    assert doc["sg:generation"] == 2 and doc["sg:syntheticOnSyntheticHops"] == 1
    assert doc["sg:parentReleases"] == [{"@id": "sg:release/gen-1"}]
    assert any("model collapse" in text for text in doc["rai:dataLimitations"])
    card = (second.path / "card.md").read_text()
    assert "- Generation: 2 (synthetic-on-synthetic hops: 1)" in card
    assert "- Share of synthetic rows in the training data: 100.00%" in card
    check = verify(second.path, key=signer.public_key())
    assert check.ok and check.predicate["lineage"]["generation"] == 2  # signed, not only written


def test_a_hybrid_parent_passes_on_its_synthetic_share(tmp_path, real, synth, fitted, signer):
    mixed = sg.hybrid(real, synth, share=0.25, n=200, random_state=0)
    parent = package(mixed, tmp_path / "hybrid", source=real, synthesizer=fitted, key=signer, release_id="mix", **COMMON)
    child = package(synth, tmp_path / "child", source=parent.path / "data.parquet", synthesizer=fitted, key=signer,
                    **COMMON)
    assert child.lineage.generation == 2
    assert child.lineage.training_synthetic_share == pytest.approx(parent.synthetic_share)
    assert parent.synthetic_share == pytest.approx(0.25)


def test_above_the_limit_packaging_is_refused_and_nothing_is_written(tmp_path, real, synth, fitted, signer):
    with pytest.raises(sg.LineageDepthError) as err:
        _chain(tmp_path, real, synth, fitted, signer, 3, max_generation=2)
    assert err.value.code == "SG-LINEAGE-DEPTH" and err.value.details == {"generation": 3, "max_generation": 2}
    assert "override_reason" in err.value.hint
    assert not (tmp_path / "gen3").exists()


def test_an_override_reason_lets_it_through_and_is_recorded(tmp_path, real, synth, fitted, signer):
    reason = "Studying collapse on purpose for a methods paper."
    *_, third = _chain(tmp_path, real, synth, fitted, signer, 3, max_generation=2, override_reason=reason)
    assert third.lineage.generation == 3 and third.lineage.override_reason == reason
    assert any("overridden" in w and reason in w for w in third.warnings)
    doc = json.loads((third.path / "croissant.json").read_text())
    assert doc["sg:generationLimitOverride"] == reason
    assert f"Generation limit overridden: {reason}" in (third.path / "card.md").read_text()
    assert verify(third.path, key=signer.public_key()).predicate["lineage"]["overrideReason"] == reason


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_a_bad_limit_is_refused(bad):
    with pytest.raises(sg.ParameterError, match="max_generation"):
        check_lineage(Lineage(), max_generation=bad)


@pytest.mark.parametrize("kwargs, match", [
    (dict(generation=0), "generation"),
    (dict(generation=2, training_synthetic_share=0.0), "above 0"),
    (dict(generation=1, training_synthetic_share=0.5), "real data only"),
    (dict(generation=2, training_synthetic_share=1.5), r"\[0, 1\]"),
])
def test_inconsistent_lineages_are_refused(kwargs, match):
    with pytest.raises(sg.ParameterError, match=match):
        Lineage(**kwargs)


@given(generation=st.integers(2, 50), share=st.floats(0.001, 1.0),
       parents=st.lists(st.text(min_size=1, max_size=8), max_size=3),
       reason=st.none() | st.text(min_size=1, max_size=20))
def test_lineage_round_trips_through_its_dict(generation, share, parents, reason):
    lineage = Lineage(generation=generation, training_synthetic_share=share, parents=tuple(parents),
                      override_reason=reason)
    assert Lineage.from_dict(json.loads(json.dumps(lineage.to_dict()))) == lineage


def test_cli_refuses_above_the_limit_then_records_the_override(tmp_path, real, synth, fitted, signer):
    app = typer.Typer(pretty_exceptions_enable=False)
    register(app)
    runner = CliRunner()
    first, second = _chain(tmp_path, real, synth, fitted, signer, 2)
    model = tmp_path / "model"
    fitted.save(model)
    args = ["package", str(second.path / "data.parquet"), "--source", str(second.path / "data.parquet"),
            "--model", str(model), "--purpose", "x.", "--creator", "Ann <ann@example.org>", "--max-generation", "2"]
    refused = runner.invoke(app, [*args, "--out", str(tmp_path / "cli3")])
    assert refused.exit_code == 1 and "SG-LINEAGE-DEPTH" in refused.output
    assert not (tmp_path / "cli3").exists()
    ok = runner.invoke(app, [*args, "--out", str(tmp_path / "cli3"), "--override-reason", "collapse study"])
    assert ok.exit_code == 0, ok.output
    assert "warning: generation 3" in ok.output and "overridden: collapse study" in ok.output
