"""`synthgov demo`: the main job end to end on the bundled CPS1988 table, one step after another.

Each step is a plain call of the public API; the CLI only prints. Everything is written into
the workspace (``./.synthgov`` or ``$SYNTHGOV_HOME``), and every step is recorded in its
catalog and ledger.
"""

from __future__ import annotations

import json
import time

__all__ = ["run"]

SOURCE_TEXT = ("80% of the March 1988 Current Population Survey extract (US Census Bureau, public domain): "
               "weekly wages, education, experience, ethnicity, region, SMSA and part-time status of men")


def run(*, seed: int, cli) -> None:
    """Run every step, printing through ``cli`` (the CLI module: its consoles, progress bar and printers)."""
    from .datasets import demo_path, load_cps1988
    from .evaluate import evaluate, holdout_split
    from .generators import synthesizer
    from .provenance import fingerprint_source, package, verify
    from .screen import screen
    from .table.io import write
    from .table.schema import TableSchema
    from .workspace import Workspace

    out = cli.out
    ws = Workspace()
    started = time.perf_counter()

    def step(title: str) -> None:
        out.print(f"\n[bold]── {title}[/]")

    step("1. source")
    df = load_cps1988()
    out.print(f"{demo_path().name}: CPS March 1988 extract, US Census Bureau (public domain), {len(df):,} rows")
    train, holdout = holdout_split(df, fraction=0.2, random_state=seed)
    out.print(f"split: {len(train):,} rows to fit on, {len(holdout):,} held out for the privacy and utility tests")

    step("2. poisoning screen (before fitting)")
    screened = screen(train, random_state=seed)
    out.print(f"{len(screened.rows)} suspicious rows of {screened.n_rows:,} (near-duplicate clusters "
              f"{screened.counts['near_duplicate']}, outliers {screened.counts['outlier']}); "
              "flagged rows are for a person to review, not removed", highlight=False)

    step("3. generate (Gaussian copula)")
    schema = TableSchema.infer(train)
    syn = synthesizer("copula", random_state=seed)
    with cli._progress() as bar:
        syn.fit(train, schema=schema, progress=bar)
        synth = syn.sample(len(train), progress=bar)
    path = write(synth, ws.outputs / "cps1988-synthetic.parquet",
                 metadata={"synthgov": json.dumps({"synthetic": True, "mode": "fully synthetic", "generator": "copula",
                                                   "synthetic_share": 1.0, "generation": 1})})
    schema.save(ws.outputs / "cps1988-schema.json")
    syn.save(ws.models / "cps1988-copula")
    cli._summary(synth, time.perf_counter() - started, path, "fully synthetic", "copula", syn)

    step("4. evaluate")
    with cli._progress() as bar:
        report = evaluate(train, synth, holdout=holdout, schema=schema, target="wage", sensitive=["ethnicity"],
                          synthesizer=syn, random_state=seed,
                          progress=lambda _metric, done, total: bar("evaluate", done, total))
    paths = [ws.outputs / "cps1988-report.json", ws.outputs / "cps1988-report.html"]
    report.to_json(paths[0])
    report.to_html(paths[1])
    cli._print_report(report, paths)

    step("5. package and verify a signed release")
    release = package(
        synth, ws.root / "releases" / "cps1988",
        source=fingerprint_source(train, name="CPS1988 training split", schema=schema, description=SOURCE_TEXT),
        synthesizer=syn, report=report, name="Synthetic CPS1988 wages (synthgov demo)",
        audience="people learning synthgov, and developers testing tools that read CPS-like tables",
        description="Fully synthetic rows generated with synthgov's Gaussian copula from the CPS1988 training split.",
        purpose="Demonstrate synthgov end to end on a public table: generation, evaluation and a signed release.",
        creator="synthgov demo", intended_uses=["learning synthgov", "testing software that reads CPS-like tables"],
        prohibited_uses=["drawing conclusions about real individuals", "official statistics"],
        assumptions=["the 1988 CPS extract stands for a sensitive table"], model_path=ws.models / "cps1988-copula",
        overwrite=True)
    check = verify(release.path)
    out.print(f"release: {release.path} (signed by key {release.key_id[:16]}…; "
              f"verify: {'OK' if check.ok else ', '.join(check.codes)}; generation {release.lineage.generation})",
              markup=False, highlight=False)

    step("6. a differentially private generator: Bayesian network at epsilon = 1")
    private = synthesizer("bayesnet", epsilon=1.0, random_state=seed).fit(train, progress=None)
    rows = private.sample(len(train))
    score = evaluate(train, rows, holdout=holdout, metrics=["fidelity_score"], random_state=seed,
                     catalog=False)["fidelity_score"].value
    account = private.privacy_
    out.print(f"fidelity {score:.3f} (copula above: {report['fidelity_score'].value:.3f}); spent epsilon "
              f"{account.epsilon:.3f} of 1.0, delta {account.delta:g} ({account.mechanism}, {account.neighbouring}, "
              f"{len(account.steps)} accounted steps); bounds and categories were learnt privately, not read off the data",
              markup=False, highlight=False)

    step("7. controlled sharing: classify, then screen two requests like exports (EXAMPLE policy, FICTITIOUS list)")
    _sharing(release.release_id, cli)

    step("8. accountability: catalog, lineage and the tamper-evident ledger")
    _accountability(release.release_id, cli)
    out.print(f"\ntotal seconds: {time.perf_counter() - started:.1f}")


def _accountability(release_id: str, cli) -> None:
    from .catalog import open_catalog

    out = cli.out
    cat = open_catalog()
    try:
        node = cat.lineage(release_id)
        chain = " ← ".join(f"{n.kind} {n.id[:20]}" for n in node.walk())
        out.print(f"lineage of {release_id[:13]}…: {chain}", markup=False, highlight=False)
        out.print(f"generation {cat.generation(release_id)} (1 = made from real data only); "
                  f"catalog: {len(cat.list())} records", highlight=False)
        checkpoint = cat.ledger.checkpoint()
        result = cat.ledger.verify()
        out.print(f"ledger: {cat.ledger.size()} events, hash chain and Merkle tree "
                  f"{'verified' if result.ok else 'BROKEN: ' + str(result.reason)}; "
                  f"signed checkpoint at size {checkpoint.size} (root {checkpoint.root[:16]}…)",
                  markup=False, highlight=False)
        record = cat.get(release_id)
        proof = cat.ledger.prove(record.event_index, checkpoint=checkpoint.id)
        out.print(f"the package event #{record.event_index} is in the checkpoint: inclusion proof of "
                  f"{len(proof.path)} hashes verified", markup=False, highlight=False)
        out.print(f"try: synthgov catalog lineage {release_id} · synthgov audit verify · "
                  f"synthgov audit export {release_id}", markup=False, highlight=False, style="dim")
    finally:
        cat.close()


def _sharing(release_id: str, cli) -> None:
    from .catalog import open_catalog
    from .policy import example_list_path, example_policy_path, load_party_lists, load_policy
    from .policy._cli import _show_decision
    from .policy.share import classify, share_release, suggest

    out = cli.out
    policy, lists = load_policy(example_policy_path()), load_party_lists(example_list_path())
    cat = open_catalog()
    try:
        hints = suggest(release_id, catalog=cat, policy=policy)
        classes = sorted({h.class_id for h in hints}) or ["personal:financial"]
        out.print(f"suggested classes: {', '.join(classes)} (from {', '.join(sorted({c for h in hints for c in h.columns}))}"
                  "); confirmed by the demo's actor", markup=False, highlight=False)
        classify(release_id, catalog=cat, classes=classes, policy=policy, actor="synthgov demo")
        for recipient, country, end_use in (
                ("Harbourlight Research Ltd", "FR", "teaching wage regression"),
                ("Zentrova Dinamiks Limited", "GB", "teaching wage regression")):  # a spelling of a listed name
            out.print(f"share to {recipient} ({country}) for {end_use!r}:", markup=False, highlight=False)
            result = share_release(release_id, catalog=cat, recipient=recipient, country=country, end_use=end_use,
                                   purpose="demonstration", policy=policy, lists=lists, actor="synthgov demo",
                                   out=cli.Workspace().root / "shares" / "demo", overwrite=True)
            _show_decision(result.decision, verbose=False)
            if result.bundle is not None:
                out.print(f"  share bundle: {result.bundle}", markup=False, highlight=False)
    finally:
        cat.close()
