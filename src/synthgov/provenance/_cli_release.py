"""CLI commands for releases: ``keys create|list|export-public``, ``package``, ``verify``.

:func:`register` adds them to the main Typer app (``synthgov.cli.app``). Like the
rest of the CLI they only call the public API; errors are rendered by
``synthgov.cli``'s helpers (code, message, hint; exit code 1).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from .lineage import DEFAULT_MAX_GENERATION

__all__ = ["register", "keys_app"]

WATERMARK_ENV = "SYNTHGOV_WATERMARK_KEY"

keys_app = typer.Typer(help="Ed25519 signing keys in the workspace (create, list, export the public half).",
                       no_args_is_help=True)


def _cli():
    from .. import cli

    return cli


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()] if text else []


@keys_app.command("create")
def keys_create_cmd(
    name: Annotated[str, typer.Argument(help="Key name (file stem in <workspace>/keys).")] = "default",
    passphrase: Annotated[bool, typer.Option("--passphrase", help="Encrypt the private key with a passphrase "
                                             "(asked for, or read from $SYNTHGOV_KEY_PASSPHRASE).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing key of that name.")] = False,
) -> None:
    """Create an Ed25519 key pair in the workspace (private key mode 0600).

    Example: synthgov keys create team --passphrase
    """
    from .keys import PASSPHRASE_ENV, create_key

    cli = _cli()
    with cli._errors():
        secret = None
        if passphrase:
            secret = os.environ.get(PASSPHRASE_ENV) or typer.prompt("Passphrase", hide_input=True,
                                                                    confirmation_prompt=True)
        info = create_key(name, passphrase=secret, overwrite=force)
        from .._register import record_event

        record_event("key create", params={"name": info.name, "key_id": info.key_id, "encrypted": info.encrypted,
                                           "replaced": force})
        cli.out.print(f"created key {info.name!r}  key id {info.key_id}", highlight=False)
        cli.out.print(f"  private: {info.private_path} (mode 0600{', encrypted' if info.encrypted else ''})",
                      highlight=False, markup=False)
        cli.out.print(f"  public:  {info.public_path} (give this to recipients: `synthgov keys export-public {name}`)",
                      highlight=False, markup=False)


@keys_app.command("list")
def keys_list_cmd() -> None:
    """List the key pairs in the workspace.

    Example: synthgov keys list
    """
    from rich.table import Table

    from .keys import keys_dir, list_keys

    cli = _cli()
    with cli._errors():
        keys = list_keys()
        if not keys:
            cli.out.print(f"no keys in {keys_dir()}; create one with `synthgov keys create`", highlight=False,
                          markup=False)
            return
        table = Table()
        for head in ("name", "key id", "private key", "encrypted", "public key file"):
            table.add_column(head)
        for k in keys:
            table.add_row(k.name, k.key_id[:16] + "…", "yes" if k.private_path else "no",
                          "yes" if k.encrypted else "no", str(k.public_path))
        cli.out.print(table)


@keys_app.command("export-public")
def keys_export_cmd(
    name: Annotated[str, typer.Argument(help="Key name.")] = "default",
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Write the PEM here instead of printing it.")] = None,
) -> None:
    """Print (or write) a key's public half as PEM: what recipients pass to `synthgov verify --key`.

    Example: synthgov keys export-public team -o team.pub
    """
    from .._atomic import atomic_write_text
    from .keys import export_public

    cli = _cli()
    with cli._errors():
        pem = export_public(name)
        if out_path is None:
            typer.echo(pem, nl=False)
        else:
            atomic_write_text(out_path, pem)
            cli.out.print(f"public key {name!r} written to {out_path}", highlight=False, markup=False)


def _signer(key: str | None):
    """Load the signing key, asking for its passphrase when it is encrypted and none is set."""
    from ..errors import InputError
    from .keys import load_signing_key

    if key is None:
        return None
    try:
        return load_signing_key(key)
    except InputError as exc:
        if exc.details.get("code") != "SG-KEY-PASSPHRASE" or exc.details.get("given"):
            raise
    return load_signing_key(key, passphrase=typer.prompt(f"Passphrase for key {key!r}", hide_input=True))


def _watermark_key(flag: bool, key_file: Path | None) -> str | None:
    from ..errors import ParameterError

    if key_file is not None:
        try:
            text = key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ParameterError(f"cannot read the watermark key file {key_file}: {exc.strerror or exc}") from None
        if not text:
            raise ParameterError(f"the watermark key file {key_file} is empty")
        return text
    if flag:
        text = os.environ.get(WATERMARK_ENV, "")
        if not text:
            raise ParameterError("--watermark needs a secret key",
                                 hint=f"set {WATERMARK_ENV}, or pass --watermark-key-file PATH")
        return text
    return None


def package_cmd(
    synthetic: Annotated[Path, typer.Argument(help="The synthetic table (Parquet or CSV).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="The release directory to create.")],
    source: Annotated[Path, typer.Option(help="The real table it was made from (only its fingerprint is kept).")],
    purpose: Annotated[str | None, typer.Option(help="Why this synthetic data was made (mandatory).")] = None,
    creator: Annotated[str | None, typer.Option(help="Who made it: 'Name <email>' (mandatory).")] = None,
    model: Annotated[Path | None, typer.Option(help="The saved model that made the rows (--save-model).")] = None,
    generator: Annotated[str | None, typer.Option(help="The generator's name, when no saved model is given.")] = None,
    seed: Annotated[int | None, typer.Option(help="The seed used, with --generator.")] = None,
    report: Annotated[Path | None, typer.Option(help="The evaluation report JSON (synthgov evaluate).")] = None,
    assumption: Annotated[list[str] | None, typer.Option(help="An assumption; repeatable.")] = None,
    intended_use: Annotated[list[str] | None, typer.Option(help="An intended use; repeatable.")] = None,
    prohibited_use: Annotated[list[str] | None, typer.Option(help="A prohibited use; repeatable.")] = None,
    license_id: Annotated[str, typer.Option("--license", help="SPDX licence id or URL.")] = "CC-BY-4.0",
    key: Annotated[str | None, typer.Option(help="Signing key: workspace key name or private key file "
                                            "(default: the workspace's 'default' key, created if missing).")] = None,
    watermark: Annotated[bool, typer.Option("--watermark", help=f"Embed a keyed watermark (key from ${WATERMARK_ENV}).")] = False,
    watermark_key_file: Annotated[Path | None, typer.Option(help="Embed a keyed watermark, key read from this file.")] = None,
    mode: Annotated[str | None, typer.Option(help="full, hybrid, partial or rebalance (recognised when left out).")] = None,
    replaced_columns: Annotated[str | None, typer.Option(help="Partial releases: the replaced columns, comma-separated.")] = None,
    name: Annotated[str | None, typer.Option(help="The release's title.")] = None,
    description: Annotated[str | None, typer.Option(help="A description of the release.")] = None,
    source_description: Annotated[str | None, typer.Option(help="A description of the source (no content).")] = None,
    audience: Annotated[str | None, typer.Option(help="For whom the release is made.")] = None,
    contact: Annotated[str | None, typer.Option(help="Contact (default: the creator's e-mail).")] = None,
    release_id: Annotated[str | None, typer.Option(help="The release id (default: a random UUID).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing, non-empty output directory.")] = False,
    max_generation: Annotated[int, typer.Option(help="Refuse releases above this many synthetic generations "
                                                "(model collapse).")] = DEFAULT_MAX_GENERATION,
    override_reason: Annotated[str | None, typer.Option(help="Package above --max-generation anyway; this reason "
                                                        "is recorded in the release and the ledger.")] = None,
) -> None:
    """Package a synthetic table as a signed release: data, Croissant metadata, card, report, signature.

    Example:

      synthgov package synth.parquet -o release/ --source real.csv --model model/ --report report.json
        --purpose "Teach regression on wage data" --creator "Ann Lee <ann@example.org>"
        --intended-use teaching --prohibited-use "re-identification"
    """
    from ..errors import ParameterError
    from .package import package

    cli = _cli()
    with cli._errors():
        if (model is None) == (generator is None):
            raise ParameterError("say how the rows were made: pass --model DIR or --generator NAME (one of them)")
        if seed is not None and generator is None:
            raise ParameterError("--seed goes with --generator; a saved model records its own seed")
        wm_key = _watermark_key(watermark, watermark_key_file)
        if model is not None:
            from ..generators import load_synthesizer

            syn = load_synthesizer(model)
        else:
            syn = {"name": generator, "seed": seed}
        signer = _signer(key)
        rel = package(synthetic, out_dir, source=source, source_description=source_description,
                      model_path=model, synthesizer=syn, report=report, purpose=purpose, creator=creator,
                      assumptions=assumption or (), intended_uses=intended_use or (),
                      prohibited_uses=prohibited_use or (), license=license_id, key=signer, watermark_key=wm_key,
                      mode=mode, replaced_columns=_split(replaced_columns) or None, name=name,
                      description=description, audience=audience, contact=contact, release_id=release_id,
                      overwrite=force, max_generation=max_generation, override_reason=override_reason)
        if rel.key_created:
            cli.out.print(f"created signing key 'default' (key id {rel.key_id[:16]}…) in the workspace; "
                          "give recipients its public half: synthgov keys export-public default",
                          style="yellow", highlight=False, markup=False)
        share = (f"{rel.synthetic_share:.0%} of rows synthetic" if rel.mode in ("hybrid", "rebalance") else
                 f"{rel.synthetic_share:.0%} of cells synthetic" if rel.mode == "partial" else "fully synthetic")
        cli.out.print(f"release {rel.release_id} written to {rel.path} ({rel.mode}, {share})", highlight=False,
                      markup=False)
        for file, digest in rel.files.items():
            cli.out.print(f"  {file:<16} sha256 {digest}", highlight=False, markup=False)
        cli.out.print(f"  signed by key {rel.key_id[:16]}… in release.dsse.json", highlight=False, markup=False)
        for warning in rel.warnings:
            cli.out.print(f"warning: {warning}", style="yellow", highlight=False, markup=False)


def verify_cmd(
    directory: Annotated[Path, typer.Argument(help="The release directory.")],
    key: Annotated[list[str] | None, typer.Option("--key", help="Trusted public key (.pub file or workspace key "
                                                  "name); repeatable. Default: the workspace's keys.")] = None,
    release_id: Annotated[str | None, typer.Option(help="The release id you expect.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check a release's signature and the sha256 of every file; name exactly what is wrong.

    Exit code 0 when the release verifies, 1 otherwise. Each problem has a stable code
    (SG-VERIFY-DIGEST, SG-VERIFY-MISSING, SG-VERIFY-UNEXPECTED, SG-VERIFY-UNKNOWN-KEY,
    SG-VERIFY-SIGNATURE, SG-VERIFY-PAYLOAD-TYPE, SG-VERIFY-RELEASE-ID, SG-VERIFY-MALFORMED, ...).

    Example: synthgov verify release/ --key team.pub
    """
    from ..policy.verify_share import is_share_bundle
    from .verify import shown, verify

    if is_share_bundle(directory):  # a share bundle: the release inside it and the signed share record
        from ..policy._cli import verify_share_cli

        return verify_share_cli(directory, key=key, release_id=release_id, as_json=as_json)
    cli = _cli()
    with cli._errors():
        result = verify(directory, key=key or None, release_id=release_id)
        from .._register import record_event

        record_event("verify", params={"path": str(directory), "release_id": result.release_id, "ok": result.ok,
                                       "codes": sorted({p.code for p in result.problems})},
                     inputs=sorted(set(result.files.values())) if result.files else [],
                     subjects=[result.release_id] if result.ok and result.release_id else [])
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=1))
            if not result.ok:
                raise typer.Exit(code=1)
            return
        if result.ok:
            cli.out.print(f"verified: release {result.release_id}, {len(result.files)} files, signed by key "
                          f"{', '.join(k[:16] + '…' for k in result.key_ids)}", highlight=False, markup=False)
            return
        for p in result.problems:
            where = f"{shown(p.file)}: " if p.file else ""  # a file name is the attacker's text: escaped
            cli.err.print(f"  [{p.code}] {where}{p.message}", highlight=False, markup=False)
        result.raise_for_problems()


def register(app: typer.Typer) -> None:
    """Add ``keys``, ``package`` and ``verify`` to the synthgov CLI app."""
    app.add_typer(keys_app, name="keys")
    app.command("package")(package_cmd)
    app.command("verify")(verify_cmd)
