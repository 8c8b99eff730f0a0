"""CLI commands ``synthgov audit ...`` (the ledger) and ``synthgov catalog ...`` (records and lineage).

:func:`register` adds both groups to the main Typer app. They only call the public API;
errors are rendered by ``synthgov.cli`` (``error [SG-...]`` and a hint, exit code 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register", "audit_app", "catalog_app"]

audit_app = typer.Typer(help="The tamper-evident ledger: verify it, prove events, checkpoint, export a release's trail.",
                        no_args_is_help=True)
catalog_app = typer.Typer(help="What synthgov made: sources, synthesizers, datasets, releases, evaluations, lineage.",
                          no_args_is_help=True)

JSON_OPT = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
CP_OPT = Annotated[str | None, typer.Option("--checkpoint", "-c",
                                            help="Checkpoint: cp-N, N, or an exported checkpoint file (default: latest).")]


def _cli():
    from .. import cli

    return cli


def _open(*, create: bool = False):
    from ..catalog import open_catalog

    return open_catalog(create=create)


def _emit(data: Any, out_path: Path | None = None) -> None:
    text = json.dumps(data, indent=1, sort_keys=False) + "\n"
    if out_path is None:
        typer.echo(text, nl=False)
    else:
        from .._atomic import atomic_write_text

        atomic_write_text(out_path, text)
        _cli().out.print(f"written to {out_path}", highlight=False, markup=False)


# ----------------------------------------------------------------------------- audit


@audit_app.command("verify")
def audit_verify_cmd(checkpoint: CP_OPT = None, as_json: JSON_OPT = False) -> None:
    """Check every event, the hash chain and every signed checkpoint; exit 1 naming the first bad event.

    Example: synthgov audit verify --checkpoint saved-checkpoint.json
    """
    cli = _cli()
    with cli._errors():
        report = _open().ledger.verify(checkpoint=checkpoint)
        if as_json:
            _emit(report.to_dict())
        elif report.ok:
            cli.out.print(f"ledger verified: {report.size} events, {report.checkpoints} signed checkpoint(s), "
                          f"root {report.root[:16]}…", highlight=False, markup=False)
        report.raise_if_bad()


@audit_app.command("prove")
def audit_prove_cmd(event: Annotated[int, typer.Argument(help="Event index.", min=0)], checkpoint: CP_OPT = None,
                    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Write the proof here.")] = None,
                    as_json: JSON_OPT = False) -> None:
    """Inclusion proof: event EVENT is in the log a signed checkpoint commits to.

    Example: synthgov audit prove 12 --checkpoint cp-3
    """
    cli = _cli()
    with cli._errors():
        proof = _open().ledger.prove(event, checkpoint=checkpoint)
        if as_json or out_path:
            _emit(proof.to_dict(), out_path)
            return
        e, cp = proof.event, proof.checkpoint
        cli.out.print(f"event {e.index} ({e.action} by {e.actor} at {e.time}) is included in checkpoint {cp.id} "
                      f"({cp.size} events, root {cp.root[:16]}…, key {cp.key_id[:16]}…): "
                      f"{len(proof.path)}-hash proof verified", highlight=False, markup=False)


@audit_app.command("consistency")
def audit_consistency_cmd(old: Annotated[str, typer.Argument(help="Older checkpoint (cp-N or file).")],
                          new: Annotated[str, typer.Argument(help="Newer checkpoint (cp-N or file).")],
                          as_json: JSON_OPT = False) -> None:
    """Consistency proof: the log of checkpoint OLD is a prefix of NEW's (it only grew).

    Example: synthgov audit consistency cp-1 cp-2
    """
    cli = _cli()
    with cli._errors():
        proof = _open().ledger.consistency(old, new)
        if as_json:
            _emit(proof.to_dict())
            return
        cli.out.print(f"checkpoint {proof.old.id} ({proof.old.size} events) is a prefix of {proof.new.id} "
                      f"({proof.new.size} events): {len(proof.path)}-hash proof verified", highlight=False, markup=False)


@audit_app.command("export")
def audit_export_cmd(record: Annotated[str, typer.Argument(help="Release (or any catalog record) id.")],
                     checkpoint: CP_OPT = None,
                     out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Write the trail here.")] = None,
                     ) -> None:
    """The audit trail of one release: every event touching it and its ancestors, with inclusion proofs (JSON).

    Example: synthgov audit export my-release -o trail.json
    """
    with _cli()._errors():
        _emit(_open().ledger.export(record, checkpoint=checkpoint), out_path)


@audit_app.command("checkpoint")
def audit_checkpoint_cmd(key: Annotated[str | None, typer.Option("--key", help="Signing key name or path "
                                                                 "(default: the workspace's default key).")] = None,
                         out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Also save the signed "
                                                                       "checkpoint here (keep it somewhere else).")] = None,
                         as_json: JSON_OPT = False) -> None:
    """Sign a checkpoint over the whole log now (Ed25519).

    Example: synthgov audit checkpoint -o checkpoint.json
    """
    cli = _cli()
    with cli._errors():
        cp = _open(create=True).ledger.checkpoint(key)
        if as_json or out_path:
            _emit(cp.to_dict(), out_path)
        if not as_json:
            cli.out.print(f"checkpoint {cp.id}: {cp.size} events, root {cp.root}, signed by key {cp.key_id[:16]}…",
                          highlight=False, markup=False)


# ----------------------------------------------------------------------------- catalog


@catalog_app.command("list")
def catalog_list_cmd(kind: Annotated[str | None, typer.Option("--kind", "-k", help="source, dataset, synthesizer, "
                                                               "release or evaluation.")] = None,
                     as_json: JSON_OPT = False) -> None:
    """List catalog records, oldest first.

    Example: synthgov catalog list --kind release
    """
    from rich.table import Table

    from ..catalog import KINDS
    from ..errors import NotFoundError, ParameterError

    cli = _cli()
    with cli._errors():
        if kind is not None and kind not in KINDS:
            raise ParameterError(f"unknown record kind {kind!r}", hint=f"use one of: {', '.join(KINDS)}")
        try:
            cat = _open()
        except NotFoundError:
            records = []
        else:
            records = [(r, cat.generation(r.id)) for r in cat.list(kind)]
        if as_json:
            _emit([{**r.to_dict(), "generation": g} for r, g in records])
            return
        if not records:
            cli.out.print("the catalog is empty", highlight=False)
            return
        table = Table()
        for head in ("id", "kind", "name", "generation", "created"):
            table.add_column(head)
        for r, g in records:
            table.add_row(r.id, r.kind, r.name, "" if g is None else str(g), r.created)
        cli.out.print(table)


@catalog_app.command("show")
def catalog_show_cmd(record: Annotated[str, typer.Argument(help="Record id.")], as_json: JSON_OPT = False) -> None:
    """Show one record, its generation depth and (for synthesizers) the synthetic share of its training data.

    Example: synthgov catalog show src_0123abcd...
    """
    from rich.table import Table

    cli = _cli()
    with cli._errors():
        cat = _open()
        data = cat.get(record).to_dict()
        data["generation"] = cat.generation(record)
        if data["kind"] == "synthesizer":
            data["training_synthetic_share"] = cat.training_synthetic_share(record)
        if as_json:
            _emit(data)
            return
        table = Table(show_header=False)
        table.add_column("field")
        table.add_column("value")
        for k, v in data.items():
            table.add_row(k, json.dumps(v) if isinstance(v, (dict, list)) else str(v))
        cli.out.print(table)


@catalog_app.command("lineage")
def catalog_lineage_cmd(record: Annotated[str, typer.Argument(help="Record id.")], as_json: JSON_OPT = False) -> None:
    """The lineage tree of a record, up to the real sources, with generation depths.

    Example: synthgov catalog lineage my-release
    """
    from rich.markup import escape
    from rich.tree import Tree

    cli = _cli()
    with cli._errors():
        node = _open().lineage(record)
        if as_json:
            _emit(node.to_dict())
            return

        def label(n) -> str:
            rel = f"[dim]{escape(n.relation)}:[/] " if n.relation else ""
            gen = "" if n.generation is None else f"  [cyan]generation {n.generation}[/]"
            return f"{rel}[bold]{escape(n.kind)}[/] {escape(n.id)} [dim]({escape(n.name)})[/]{gen}"

        def grow(tree, n) -> None:
            for child in n.children:
                grow(tree.add(label(child)), child)

        tree = Tree(label(node))
        grow(tree, node)
        cli.out.print(tree)


def register(app: typer.Typer) -> None:
    """Add the ``audit`` and ``catalog`` groups to the synthgov CLI app."""
    app.add_typer(audit_app, name="audit")
    app.add_typer(catalog_app, name="catalog")
