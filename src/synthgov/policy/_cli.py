"""CLI commands for controlled sharing: ``share``, ``approve``, ``licence grant|revoke|list``, ``classify``.

:func:`register` adds them to the main Typer app. They only call :mod:`synthgov.policy.share`;
errors are rendered by ``synthgov.cli`` (code, message, hint; exit code 1).

``synthgov share`` exits with the outcome: 0 allow (the bundle was written), 3 deny,
4 needs-licence, 5 needs-second-approval; 1 is a user error (``error [SG-…]``), 2 a usage error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register", "licence_app", "EXIT_CODES", "verify_share_cli"]

#: ``synthgov share``'s exit code for each outcome.
EXIT_CODES = {"allow": 0, "deny": 3, "needs-licence": 4, "needs-second-approval": 5}

licence_app = typer.Typer(help="Licences to receive a release: grant, revoke, list.", no_args_is_help=True)

_NOW = typer.Option("--now", help="Decide as of this ISO time instead of the clock (reproducible examples, audits).")
_ACTOR = typer.Option("--actor", help="Who is acting (default: $SYNTHGOV_ACTOR, else user@host).")


def _cli():
    from .. import cli

    return cli


def _catalog():
    from ..catalog import open_catalog

    return open_catalog()


def _print(text: str, **kw) -> None:
    _cli().out.print(text, highlight=False, markup=False, **kw)


def _show_decision(decision, *, verbose: bool = True) -> None:
    cli = _cli()
    style = {"allow": "green", "deny": "red"}.get(decision.outcome, "yellow")
    cli.out.print(f"[bold {style}]{decision.outcome}[/]", highlight=False, end="")
    _print(f"  decision {decision.decision_id}  release {decision.release_id}  request {decision.request.request_id[:16]}…")
    for reason in decision.blocking():
        _print(f"  ✗ [{reason.code}] {reason.text}")
    if verbose:
        for reason in decision.reasons:
            if reason.effect == "info":
                _print(f"  · [{reason.code}] {reason.text}")
    policy = f"{decision.policy_name} sha256 {decision.policy_sha256}" if decision.policy_sha256 else "none"
    _print(f"  policy: {policy}")
    lists = "; ".join(f"{v['name']} dated {v['date']}" for v in decision.list_versions) or "none"
    _print(f"  lists: {lists}")


def share_cmd(
    release: Annotated[str | None, typer.Argument(help="Release id from the catalog, or a release directory.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="The recipient organisation or person.")] = None,
    country: Annotated[str | None, typer.Option(help="The recipient's country (ISO 3166-1 alpha-2).")] = None,
    end_use: Annotated[str | None, typer.Option(help="What the recipient will do with the data.")] = None,
    purpose: Annotated[str | None, typer.Option(help="Why the data is shared.")] = None,
    reexport_to: Annotated[list[str] | None, typer.Option("--reexport-to", help="A country the recipient may pass the "
                                                          "data on to; repeatable.")] = None,
    onward: Annotated[list[str] | None, typer.Option("--onward-recipient", help="A declared onward recipient (screened "
                                                     "too); repeatable.")] = None,
    category: Annotated[list[str] | None, typer.Option("--end-use-category", help="A declared end-use category of "
                                                       "the policy; repeatable.")] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy YAML (default $SYNTHGOV_POLICY, else "
                                                "<workspace>/policy.yaml; none: deny).")] = None,
    lists: Annotated[list[Path] | None, typer.Option("--list", help="Denied-party list CSV/JSON; repeatable (default "
                                                     "$SYNTHGOV_LISTS, else <workspace>/lists/).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The bundle folder (default "
                                             "<workspace>/shares/DECISION).")] = None,
    expires: Annotated[str | None, typer.Option(help="When the share ends (ISO date; default: the licence's expiry, "
                                                "else one year).")] = None,
    licence: Annotated[str | None, typer.Option("--licence", help="Rely on this licence only.")] = None,
    decision: Annotated[str | None, typer.Option("--decision", help="Decide the request of this earlier decision "
                                                 "again (after a licence or an approval).")] = None,
    actor: Annotated[str | None, _ACTOR] = None,
    key: Annotated[str | None, typer.Option(help="Key that signs the share (default: the workspace's 'default').")] = None,
    trust: Annotated[list[str] | None, typer.Option("--trust", help="Public key the release must verify under; "
                                                    "repeatable (default: the workspace's keys).")] = None,
    now: Annotated[str | None, _NOW] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing bundle folder.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
) -> None:
    """Screen a share of a release like a dual-use export; write a signed bundle when allowed.

    Exit code: 0 allow (bundle written), 3 deny, 4 needs-licence, 5 needs-second-approval,
    1 an error. Every decision is written to the ledger with the policy hash and list editions.

    Example: synthgov share REL --to "Harbourlight Research Ltd" --country FR --end-use "churn model"
      --purpose research --policy policy.yaml --list denied.csv
    """
    from ..errors import ParameterError
    from . import share as api

    cli = _cli()
    with cli._errors():
        cat = _catalog()
        loaded, party_lists = api.load_inputs(policy=policy, lists=lists, workspace=cat.workspace)
        common = dict(catalog=cat, policy=loaded, lists=party_lists, out=out, expires=expires, now=now,
                      licence_id=licence, key=key, trust=trust or None, overwrite=force, actor=actor)
        if decision is not None:
            given = [n for n, v in (("--to", to), ("--country", country), ("--end-use", end_use),
                                    ("--purpose", purpose), ("--reexport-to", reexport_to)) if v]
            if given:
                raise ParameterError(f"--decision re-decides the stored request; drop {', '.join(given)}",
                                     hint="to change the request, run synthgov share without --decision")
            result = api.share_again(decision, release=release, **common)
        else:
            missing = [n for n, v in (("RELEASE", release), ("--to", to), ("--country", country),
                                      ("--end-use", end_use), ("--purpose", purpose)) if not v]
            if missing:
                raise ParameterError(f"missing {', '.join(missing)}",
                                     hint='e.g. synthgov share REL --to "Org" --country FR --end-use "…" --purpose "…"')
            result = api.share_release(release, recipient=to, country=country, end_use=end_use, purpose=purpose,
                                       reexport_to=reexport_to or (), onward_recipients=onward or (),
                                       end_use_categories=category or (), **common)
        d = result.decision
        if as_json:
            typer.echo(json.dumps({**d.to_dict(), "bundle": str(result.bundle) if result.bundle else None},
                                  indent=1, ensure_ascii=False))
        else:
            _show_decision(d)
            for note in result.notes:
                _print(f"  note: {note}", style="yellow")
            if result.bundle is not None:
                _print(f"share bundle written to {result.bundle} (expires {result.share['expires']}); the recipient "
                       f"checks it with: synthgov verify {result.bundle}")
            elif d.outcome == "needs-second-approval":
                _print(f"next: a second person runs `synthgov approve {d.decision_id}`, then "
                       f"`synthgov share --decision {d.decision_id}`")
            elif d.outcome == "needs-licence":
                _print(f"next: `synthgov licence grant --release {d.release_id} --to \"{d.request.recipient}\" "
                       f"--country {' --country '.join(d.request.destinations)}`, then "
                       f"`synthgov share --decision {d.decision_id}`")
        if d.outcome != "allow":
            raise typer.Exit(code=EXIT_CODES[d.outcome])


def approve_cmd(
    decision: Annotated[str, typer.Argument(help="The decision id `synthgov share` printed.")],
    actor: Annotated[str | None, _ACTOR] = None,
    comment: Annotated[str, typer.Option(help="Why you approve.")] = "",
    now: Annotated[str | None, _NOW] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the approval as JSON.")] = False,
) -> None:
    """Approve a share request as a second person (never the requester; one actor counts once).

    Example: SYNTHGOV_ACTOR=bob synthgov approve dec-0123abcd…
    """
    from . import share as api

    cli = _cli()
    with cli._errors():
        result = api.approve(decision, catalog=_catalog(), actor=actor, now=now, comment=comment)
        if as_json:
            typer.echo(json.dumps({"approval": result.approval.to_dict(), "recorded": result.recorded,
                                   "approvers": list(result.approvers)}, indent=1))
            return
        who, req = result.approval.actor, result.decision.request
        _print(f"request by {req.requester}: release {req.release_id} to {req.recipient} in "
               f"{', '.join(req.destinations)}, end use {req.end_use!r}, purpose {req.purpose!r}")
        if result.recorded:
            _print(f"approved by {who}: request {result.approval.request_id[:16]}… of decision {decision}")
        else:
            _print(f"{who} has already approved this request; an approver counts once (nothing written)",
                   style="yellow")
        _print(f"approvers: {', '.join(result.approvers)}; now run `synthgov share --decision {decision}`")


@licence_app.command("grant")
def licence_grant_cmd(
    release: Annotated[str, typer.Option("--release", help="Release id or release directory.")],
    to: Annotated[str, typer.Option("--to", help="The licensed recipient.")],
    country: Annotated[list[str], typer.Option("--country", help="A country the licence covers; repeatable.")],
    expires: Annotated[str | None, typer.Option(help="ISO date the licence ends (default: one year).")] = None,
    licence_id: Annotated[str | None, typer.Option("--id", help="The licence id (default: lic-<random>).")] = None,
    conditions: Annotated[str, typer.Option(help="Conditions, as text.")] = "",
    actor: Annotated[str | None, _ACTOR] = None,
    now: Annotated[str | None, _NOW] = None,
) -> None:
    """Grant a licence for a recipient to receive a release in named countries.

    Example: synthgov licence grant --release REL --to "Harbourlight Research Ltd" --country GB --country NO
    """
    from . import share as api

    cli = _cli()
    with cli._errors():
        lic = api.grant_licence(catalog=_catalog(), release=release, recipient=to, countries=country, expires=expires,
                                licence_id=licence_id, actor=actor, now=now, conditions=conditions)
        _print(f"licence {lic.licence_id}: {lic.recipient} may receive release {lic.release_id} in "
               f"{', '.join(lic.countries)} until {lic.expires.isoformat()} (granted by {lic.granted_by})")


@licence_app.command("revoke")
def licence_revoke_cmd(
    licence_id: Annotated[str, typer.Argument(help="The licence id.")],
    reason: Annotated[str, typer.Option(help="Why it is revoked.")] = "",
    actor: Annotated[str | None, _ACTOR] = None,
) -> None:
    """Revoke a licence (later shares relying on it are refused).

    Example: synthgov licence revoke lic-0123abcd --reason "contract ended"
    """
    from ..ledger.events import default_actor
    from . import store

    cli = _cli()
    with cli._errors():
        cat = _catalog()
        store.check_ledger(cat)
        event = store.revoke_licence(cat, licence_id, actor=actor or default_actor(), reason=reason)
        _print(f"licence {licence_id} revoked" if event else f"licence {licence_id} was already revoked "
               "(nothing written)")


@licence_app.command("list")
def licence_list_cmd(
    release: Annotated[str | None, typer.Option("--release", help="Only licences for this release id.")] = None,
    now: Annotated[str | None, _NOW] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List licences with their status (active, expired, revoked).

    Example: synthgov licence list --json
    """
    from rich.table import Table

    from . import store
    from .grants import parse_time, utc_now

    cli = _cli()
    with cli._errors():
        when = parse_time(now or utc_now(), field="now")
        found = store.licences(_catalog(), release_id=release)
        status = {x.licence_id: "revoked" if x.revoked else "expired" if when >= x.expires else "active" for x in found}
        if as_json:
            typer.echo(json.dumps([{**x.to_dict(), "status": status[x.licence_id]} for x in found], indent=1,
                                  ensure_ascii=False))
            return
        if not found:
            _print("no licences; grant one with `synthgov licence grant`")
            return
        table = Table()
        for head in ("id", "release", "recipient", "countries", "expires", "status", "granted by"):
            table.add_column(head)
        for x in found:
            table.add_row(x.licence_id, x.release_id, x.recipient, ", ".join(x.countries), x.expires.date().isoformat(),
                          status[x.licence_id], x.granted_by)
        cli.out.print(table)


def classify_cmd(
    target: Annotated[str, typer.Argument(help="Release id or directory (or a source/dataset id of the catalog).")],
    classes: Annotated[list[str] | None, typer.Option("--class", help="A class you confirm; repeatable.")] = None,
    suggest: Annotated[bool, typer.Option("--suggest", help="Show the classes the policy's hints suggest.")] = False,
    policy: Annotated[Path | None, typer.Option(help="Policy YAML (its classes are checked; default as for share).")] = None,
    note: Annotated[str, typer.Option(help="Why these classes.")] = "",
    actor: Annotated[str | None, _ACTOR] = None,
) -> None:
    """Record the classes a person confirms for a release; releases made from it inherit them.

    Example: synthgov classify REL --suggest --policy policy.yaml; synthgov classify REL --class personal:financial
    """
    from ..errors import ParameterError
    from . import share as api

    cli = _cli()
    with cli._errors():
        cat = _catalog()
        loaded, _ = api.load_inputs(policy=policy, lists=[], workspace=cat.workspace)
        if not classes and not suggest:
            raise ParameterError("give --class CLASS (repeatable), or --suggest to see suggestions")
        if suggest:
            found = api.suggest(target, catalog=cat, policy=loaded)
            if not found:
                _print("the policy's hints suggest no class; classify it yourself (e.g. --class public:open)")
            for s in found:
                _print(f"suggested {s.class_id}: {'; '.join(s.reasons)}")
        if classes:
            event = api.classify(target, catalog=cat, classes=classes, policy=loaded, actor=actor, note=note)
            _print(f"classified {event.params['target']} as {', '.join(event.params['classes'])} "
                   f"(ledger event {event.index}, by {event.actor})")


def verify_share_cli(directory: Path, *, key: list[str] | None, release_id: str | None, as_json: bool) -> None:
    """``synthgov verify BUNDLE``: the release and the share (called by the verify command for a bundle)."""
    from ..provenance.verify import shown
    from .verify_share import verify_share

    cli = _cli()
    with cli._errors():
        result = verify_share(directory, key=key or None, release_id=release_id)
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=1, ensure_ascii=False))
            if not result.ok:
                raise typer.Exit(code=1)
            return
        if result.ok:
            s = result.share
            _print(f"verified: share {s['decision_id']} of release {result.release_id} to {s['recipient']} "
                   f"({', '.join(s['conditions']['countries'])}), expires {s['expires']}, signed by key "
                   f"{', '.join(k[:16] + '…' for k in result.key_ids)}")
            return
        for p in result.problems:
            where = f"{shown(p.file)}: " if p.file else ""
            cli.err.print(f"  [{p.code}] {where}{p.message}", highlight=False, markup=False)
        result.raise_for_problems()


def register(app: typer.Typer) -> None:
    """Add ``share``, ``approve``, ``licence`` and ``classify`` to the synthgov CLI app."""
    app.command("share")(share_cmd)
    app.command("approve")(approve_cmd)
    app.add_typer(licence_app, name="licence")
    app.command("classify")(classify_cmd)
