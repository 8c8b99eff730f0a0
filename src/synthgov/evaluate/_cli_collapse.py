"""CLI command ``synthgov collapse-test``: fit a generator on its own output and report the decay.

:func:`register` adds it to the main Typer app (``synthgov.cli.app``). It only calls
:func:`synthgov.evaluate.collapse.collapse_test`; errors are rendered by
``synthgov.cli``'s helpers (code, message, hint; exit code 1), and nothing is
written unless the whole test ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register", "collapse_test_cmd"]


def collapse_test_cmd(
    data: Annotated[Path, typer.Argument(help="The real table: CSV, TSV or Parquet.")],
    generations: Annotated[int, typer.Option(help="Generators fitted one on the output of the other.")] = 10,
    method: Annotated[str, typer.Option(help="Generator name (see `synthgov generators`).")] = "copula",
    real_share: Annotated[float, typer.Option(help="Also run a chain that keeps this share of real rows in each "
                                              "generation's training set (the mitigation), in [0, 1).")] = 0.0,
    rows: Annotated[int | None, typer.Option("--rows", "-n", help="Rows per generation (default: every "
                                             "training row).")] = None,
    target: Annotated[str | None, typer.Option(help="Column the utility models predict (no utility without it).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same report.")] = 0,
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="The HTML report (default: in the "
                                                  "workspace).")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the report as JSON here.")] = None,
) -> None:
    """Fit a generator on its own output, generation after generation, and report the decay (model collapse).

    Each generation is compared with the original real rows: fidelity, variance and tail shrinkage,
    categories that went extinct, and utility (with --target). --real-share runs a second chain that keeps
    that share of real rows in every training set, and the report compares the two.

    Example:

      synthgov collapse-test data.csv --generations 10 --real-share 0.2 --target wage --out collapse.html
    """
    from rich.table import Table

    from ..cli import _errors, _progress, out
    from ..table.io import read
    from ..workspace import Workspace
    from .collapse import collapse_test

    with _errors():
        df = read(data)
        with _progress() as bar:
            report = collapse_test(df, generations=generations, method=method, real_share=real_share, rows=rows,
                                   target=target, random_state=seed, progress=bar)
        if out_path is None:
            out_path = Workspace().outputs / f"{data.name.split('.')[0]}-collapse.html"
        report.to_html(out_path)
        if json_path is not None:
            report.to_json(json_path)
        table = Table(title=f"model collapse: {method}, {report.settings['rows']:,} rows per generation")
        heads = ["chain", "generation", "fidelity", "std ratio", "span ratio", "extinct"]
        if target:
            heads.insert(3, "utility ratio")
        for head in heads:
            table.add_column(head, justify="left" if head == "chain" else "right")
        for chain in report.chains:
            s = chain["real_share"]
            series = {m: report.series(m, real_share=s) for m in
                      ("fidelity_score", "utility_ratio", "std_ratio", "span_ratio", "extinct")}
            for g in sorted({1, len(series["extinct"]) - 1}):
                cells = [chain["label"], str(g)] + [_fmt(series[m][g]) for m in
                                                    ("fidelity_score", "std_ratio", "span_ratio", "extinct")]
                if target:
                    cells.insert(3, _fmt(series["utility_ratio"][g]))
                table.add_row(*cells)
        out.print(table)
        out.print(f"report written to {out_path}", markup=False, highlight=False)
        if json_path is not None:
            out.print(f"JSON written to {json_path}", markup=False, highlight=False)


def _fmt(value) -> str:
    if value is None:
        return "–"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def register(app: typer.Typer) -> None:
    """Add ``collapse-test`` to the synthgov CLI app."""
    app.command("collapse-test")(collapse_test_cmd)
