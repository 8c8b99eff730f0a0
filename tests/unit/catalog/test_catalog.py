"""The catalog API on real fingerprints: records, idempotency, lineage, generation depth, synthetic shares."""

from __future__ import annotations

import hashlib

import pytest

from synthgov.catalog import LineageNode, open_catalog
from synthgov.errors import CatalogError, NotFoundError, ParameterError
from synthgov.provenance.source import fingerprint_source


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture()
def cat(tmp_path):
    catalog = open_catalog(workspace=tmp_path / "ws", checkpoint_every=0)
    yield catalog
    catalog.close()


@pytest.fixture()
def cps_fp(cps_small):
    return fingerprint_source(cps_small, name="CPS1988")


def test_a_source_keeps_the_fingerprint_and_never_the_content(cat, cps_small, cps_fp):
    with cat.session(actor="ann@lab") as s:
        src = s.add_source(cps_fp)
    record = cat.get(src)
    assert (record.kind, record.name, record.rows, record.columns) == ("source", "CPS1988", 2000, 7)
    assert record.sha256 == cps_fp.sha256 and src == f"src_{cps_fp.sha256[:24]}"
    event = cat.ledger.event(record.event_index)
    assert (event.action, event.actor, event.inputs, event.params["record"]) == ("read source", "ann@lab",
                                                                                 (cps_fp.sha256,), src)
    stored = str(record.to_dict()) + str(event.to_dict())
    assert str(int(cps_small.wage.iloc[0])) + "." not in stored and "education" not in stored


def test_adding_the_same_content_twice_gives_the_same_record_and_logs_both(cat, cps_fp):
    with cat.session() as s:
        first = s.add_source(cps_fp)
        ds1 = s.add_dataset(sha256=_h("synth"), name="synth", rows=10, columns=7)
    with cat.session() as s:
        assert s.add_source(cps_fp) == first
        assert s.add_dataset(sha256=_h("synth").upper(), name="again", rows=10, columns=7) == ds1
    assert len(cat.list("source")) == len(cat.list("dataset")) == 1
    assert [e.params["new"] for e in cat.ledger.events()] == [True, True, False, False]
    assert cat.find_dataset(cps_fp.sha256).id == first and cat.find_dataset(_h("synth")).id == ds1
    assert cat.find_dataset(_h("nothing")) is None


def _three_generations(cat, cps_fp):
    """real -> syn1 -> ds1 -> syn2 (on ds1 + 1000 real rows) -> ds2 -> syn3 (on ds2) -> ds3 -> release."""
    with cat.session() as s:
        src = s.add_source(cps_fp)
        syn1 = s.add_synthesizer(name="copula", params={"seed": 0}, trained_on=[src], model_sha256=_h("m1"))
        ds1 = s.add_dataset(sha256=_h("g1"), name="gen1", rows=2000, columns=7, made_by=syn1)
        syn2 = s.add_synthesizer(name="copula", trained_on=[ds1, src])
        ds2 = s.add_dataset(sha256=_h("g2"), name="gen2", rows=2000, columns=7, made_by=syn2, synthetic_share=1.0)
        rel2 = s.add_release(release_id="gen2-release", files={"data.parquet": _h("p2")}, dataset=ds2,
                             synthesizer=syn2)
        syn3 = s.add_synthesizer(name="copula", trained_on=[rel2])
        ds3 = s.add_dataset(sha256=_h("g3"), name="gen3", rows=500, columns=7, made_by=syn3)
        rel3 = s.add_release(release_id="gen3-release", path="/releases/gen3", files={"data.parquet": _h("p3")},
                             dataset=ds3, synthesizer=syn3, override_reason="collapse study")
    return src, syn1, ds1, syn2, ds2, rel2, syn3, ds3, rel3


def test_generation_depth_counts_synthetic_on_synthetic_hops(cat, cps_fp):
    src, syn1, ds1, syn2, ds2, rel2, syn3, ds3, rel3 = _three_generations(cat, cps_fp)
    assert [cat.generation(x) for x in (src, ds1, ds2, rel2, ds3, rel3)] == [0, 1, 2, 2, 3, 3]
    assert cat.get(rel3).generation == 3 and cat.get(rel3).override_reason == "collapse study"
    assert cat.get(rel2).dataset_id == ds2


def test_training_synthetic_share_is_row_weighted(cat, cps_fp):
    src, syn1, ds1, syn2, ds2, rel2, syn3, ds3, rel3 = _three_generations(cat, cps_fp)
    assert cat.training_synthetic_share(syn1) == 0.0
    assert cat.training_synthetic_share(syn2) == pytest.approx(2000 / 4000)  # 2000 synthetic + 2000 real rows
    assert cat.training_synthetic_share(syn3) == 1.0
    assert cat.get(rel2).training_synthetic_share == pytest.approx(0.5)
    with cat.session() as s:
        hybrid = s.add_dataset(sha256=_h("hybrid"), name="hybrid", rows=1000, columns=7, made_by=syn1,
                               synthetic_share=0.25)
        syn4 = s.add_synthesizer(name="copula", trained_on=[hybrid, src])
    assert cat.training_synthetic_share(syn4) == pytest.approx(250 / 3000)
    with pytest.raises(ParameterError, match="not a synthesizer"):
        cat.training_synthetic_share(src)


def test_lineage_tree_goes_up_to_the_real_source(cat, cps_fp):
    src, syn1, ds1, syn2, ds2, rel2, syn3, ds3, rel3 = _three_generations(cat, cps_fp)
    tree = cat.lineage(rel3)
    assert isinstance(tree, LineageNode) and (tree.id, tree.kind, tree.generation) == (rel3, "release", 3)
    assert [(c.relation, c.id) for c in tree.children] == [("contains", ds3), ("made_by", syn3)]
    leaves = {n.id for n in tree.walk() if not n.children}
    assert leaves == {src}
    data = tree.to_dict()
    assert data["children"][0]["children"][0]["children"][0]["id"] == rel2
    assert {n.id for n in tree.walk()} == {rel3, ds3, syn3, rel2, ds2, syn2, ds1, syn1, src}


def test_evaluations_link_real_synthetic_and_holdout(cat, cps_fp):
    with cat.session() as s:
        src = s.add_source(cps_fp)
        holdout = s.add_source({"name": "CPS1988 holdout", "sha256": _h("holdout"), "rows": 500, "columns": 7})
        syn = s.add_synthesizer(name="copula", trained_on=[src])
        ds = s.add_dataset(sha256=_h("s"), name="s", rows=2000, columns=7, made_by=syn)
        ev = s.add_evaluation(report_sha256=_h("report"), real=src, synthetic=ds, holdout=holdout,
                              verdict="pass", summary={"fidelity": 0.91})
    record = cat.get(ev)
    assert (record.kind, record.verdict, record.summary, record.holdout_id) == ("evaluation", "pass",
                                                                                {"fidelity": 0.91}, holdout)
    event = cat.ledger.event(record.event_index)
    assert event.action == "evaluate" and event.outputs == (_h("report"),)
    assert set(event.inputs) == {cps_fp.sha256, _h("s"), _h("holdout")}
    assert cat.generation(ev) is None and {c.relation for c in cat.lineage(ev).children} == {"real", "synthetic",
                                                                                              "holdout"}


def test_a_failed_session_writes_nothing(cat, cps_fp):
    with cat.session() as s:
        src = s.add_source(cps_fp)
    size = cat.ledger.size()
    with pytest.raises(NotFoundError, match="syn_missing"):
        with cat.session() as s:
            s.add_dataset(sha256=_h("x"), name="x", rows=1, columns=1)
            s.add_synthesizer(name="copula", trained_on=[src])
            s.add_dataset(sha256=_h("y"), name="y", rows=1, columns=1, made_by="syn_missing")
    with pytest.raises(RuntimeError):
        with cat.session() as s:
            s.add_dataset(sha256=_h("z"), name="z", rows=1, columns=1)
            raise RuntimeError("crash in the middle of a step")
    assert cat.ledger.size() == size and [r.id for r in cat.list()] == [src]
    assert cat.check() == [] and cat.ledger.verify().ok


def test_records_and_events_pair_up(cat, cps_fp):
    _three_generations(cat, cps_fp)
    with cat.session() as s:
        s.log("verify", params={"release": "gen3-release"}, subjects=["gen3-release"])
    assert cat.check() == []
    records = cat.list()
    assert len(records) == 9 and {r.kind for r in records} == {"source", "synthesizer", "dataset", "release"}
    for r in records:
        assert cat.ledger.event(r.event_index).params["record"] == r.id
    assert [r.id for r in cat.list("release")] == ["gen2-release", "gen3-release"]


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda s: s.add_dataset(sha256="nothex", name="x", rows=1, columns=1), ParameterError, "sha256"),
    (lambda s: s.add_dataset(sha256=_h("a"), name="", rows=1, columns=1), ParameterError, "name"),
    (lambda s: s.add_dataset(sha256=_h("a"), name="x", rows=-1, columns=1), ParameterError, "rows"),
    (lambda s: s.add_dataset(sha256=_h("a"), name="x", rows=1, columns=1, synthetic_share=1.5), ParameterError, "share"),
    (lambda s: s.add_synthesizer(name="c", trained_on=["src_nope"]), NotFoundError, "src_nope"),
    (lambda s: s.add_synthesizer(name="c", params={"x": float("nan")}), ParameterError, "plain JSON"),
    (lambda s: s.add_release(release_id="bad id!", files={"a": _h("a")}, dataset="ds_x"), ParameterError, "release_id"),
    (lambda s: s.add_evaluation(report_sha256=_h("r"), real="src_x", synthetic="ds_x"), NotFoundError, "src_x"),
    (lambda s: s.add_source("not a fingerprint"), ParameterError, "fingerprint"),
    (lambda s: s.log("Not An Action"), ParameterError, "action"),
    (lambda s: s.log("verify", inputs=["abc"]), ParameterError, "sha256"),
])
def test_bad_arguments_are_clear_errors_and_write_nothing(cat, call, error, match):
    with pytest.raises(error, match=match):
        with cat.session() as s:
            call(s)
    assert cat.ledger.size() == 0 and cat.list() == []


def test_a_release_id_is_registered_once(cat, cps_fp):
    _three_generations(cat, cps_fp)
    ds = cat.get("gen3-release").dataset_id
    with pytest.raises(CatalogError) as info:
        with cat.session() as s:
            s.add_release(release_id="gen3-release", files={"data.parquet": _h("q")}, dataset=ds)
    assert info.value.details["code"] == "SG-CATALOG-WRITE"


def test_unknown_ids_and_kinds(cat):
    with pytest.raises(NotFoundError, match="no catalog record 'ds_nope'"):
        cat.get("ds_nope")
    with pytest.raises(NotFoundError):
        cat.lineage("ds_nope")
    with pytest.raises(NotFoundError):
        cat.generation("nope")
    with pytest.raises(ParameterError, match="unknown record kind"):
        cat.list("table")
    with pytest.raises(NotFoundError, match="no event 0"):
        cat.ledger.event(0)


def test_actor_comes_from_the_argument_then_the_environment(cat, monkeypatch, cps_fp):
    monkeypatch.setenv("SYNTHGOV_ACTOR", "ci-pipeline")
    with cat.session() as s:
        s.add_source(cps_fp)
    with cat.session(actor="bob@site") as s:
        s.log("verify")
    monkeypatch.delenv("SYNTHGOV_ACTOR")
    cat.ledger.append("verify")
    actors = [e.actor for e in cat.ledger.events()]
    assert actors[:2] == ["ci-pipeline", "bob@site"] and "@" in actors[2]


def test_checkpoints_are_signed_every_n_events(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHGOV_CHECKPOINT_EVERY", "10")
    cat = open_catalog(workspace=tmp_path / "ws")
    for i in range(34):
        cat.ledger.append("verify", params={"i": i})
    sizes = [c.size for c in cat.ledger.checkpoints()]
    # the first one also logged the creation of the workspace's default key
    assert sizes == [11, 20, 30] and cat.ledger.event(10).action == "key create"
    assert cat.ledger.verify().checkpoints == 3
    cat.close()
    monkeypatch.setenv("SYNTHGOV_CHECKPOINT_EVERY", "ten")
    with pytest.raises(ParameterError, match="SYNTHGOV_CHECKPOINT_EVERY"):
        open_catalog(workspace=tmp_path / "ws")


def test_an_encrypted_default_key_does_not_block_writes(tmp_path, monkeypatch):
    from synthgov.provenance.keys import create_key

    monkeypatch.delenv("SYNTHGOV_KEY_PASSPHRASE", raising=False)
    create_key("default", passphrase="correct horse", workspace=tmp_path / "ws")
    cat = open_catalog(workspace=tmp_path / "ws", checkpoint_every=2)
    with pytest.warns(RuntimeWarning, match="no automatic ledger checkpoint"):
        for i in range(3):
            cat.ledger.append("verify", params={"i": i})
    assert cat.ledger.size() == 3 and cat.ledger.checkpoints() == []
    cp = cat.ledger.checkpoint(passphrase="correct horse")
    assert cp.size == 3 and cat.ledger.verify().checkpoints == 1
    cat.close()


def test_a_session_reads_its_own_additions(cat, cps_fp):
    with cat.session() as s:
        src = s.add_source(cps_fp)
        assert cat.find_dataset(cps_fp.sha256) is None  # not committed yet: other connections cannot see it
        assert s.find_dataset(cps_fp.sha256).id == src and s.get(src).kind == "source"
        syn = s.add_synthesizer(name="copula", trained_on=[src])
        ds = s.add_dataset(sha256=_h("d"), name="d", rows=5, columns=7, made_by=syn)
        assert (s.generation(ds), s.training_synthetic_share(syn)) == (1, 0.0)
    assert cat.find_dataset(cps_fp.sha256).id == src


def test_a_nested_write_is_refused_at_once_instead_of_deadlocking(cat):
    with pytest.raises(CatalogError, match="already open") as info:
        with cat.session() as s:
            s.log("verify")
            cat.ledger.append("verify")
    assert info.value.details["code"] == "SG-CATALOG-WRITE" and cat.ledger.size() == 0
    cat.ledger.append("verify")  # the flag was cleared
    assert cat.ledger.size() == 1
