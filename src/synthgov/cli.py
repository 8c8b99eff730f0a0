"""The ``synthgov`` command line: a thin shell over the Python API.

Every command calls the public API; errors from the library are rendered here
(code, message, hint) with exit code 1, never as a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from . import __version__
from ._atomic import atomic_write_text
from ._register import catalog_of, lineage_for, record_generation
from .errors import ParameterError, SynthgovError
from .generators import available_synthesizers, load_synthesizer, synthesizer
from .generators.hybrid import hybrid
from .generators.partial import partial
from .generators.rebalance import rebalance
from .table.io import output_format, read, write
from .table.schema import Kind, TableSchema
from .workspace import Workspace

app = typer.Typer(
    name="synthgov",
    help="Governed synthetic data: generate, measure, label, remember and control who receives it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

NO_GUARANTEE = ("Privacy: this generator offers no formal privacy guarantee (no differential privacy); "
                "evaluate re-identification risk before sharing.")


def _fail(exc: SynthgovError) -> None:
    err.print(f"[bold red]error[/] {escape(f'[{exc.code}]: {exc.message}')}", highlight=False)
    if exc.hint:
        err.print(f"  hint: {exc.hint}", highlight=False, markup=False)
    raise typer.Exit(code=1)


@contextmanager
def _errors():
    try:
        yield
    except SynthgovError as exc:
        _fail(exc)


class _Progress:
    """A rich progress bar that only appears once work has taken longer than ``delay`` seconds."""

    def __init__(self, delay: float = 1.0):
        self.delay = delay
        self.start = time.perf_counter()
        self.bar: Progress | None = None
        self.tasks: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.bar is None:
            waited = time.perf_counter() - self.start
            too_soon = waited < self.delay
            if too_soon or (not err.is_terminal and not _force_progress()):
                return
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                TimeElapsedColumn(), console=err, transient=True)
            self.bar.start()
        key = stage.split(" · ")[0]  # "fit · loss 1.234": one bar per stage, its text updated
        if key not in self.tasks:
            self.tasks[key] = self.bar.add_task(stage, total=total)
        self.bar.update(self.tasks[key], completed=done, total=total, description=stage)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _force_progress() -> bool:
    import os

    return os.environ.get("SYNTHGOV_PROGRESS") == "1"


@contextmanager
def _progress():
    bar = _Progress()
    try:
        yield bar
    finally:
        bar.close()


def _coerce(text: str, schema: TableSchema, column: str) -> Any:
    if text.lower() in ("", "none", "null", "na"):
        return None
    if column not in schema:
        return text  # the library reports the unknown column
    col = schema[column]
    if col.kind is Kind.NUMERIC:
        try:
            return float(text)
        except ValueError:
            raise ParameterError(f"condition on numeric column {column!r} needs a number, got {text!r}") from None
    if col.kind in (Kind.CATEGORICAL, Kind.BOOLEAN) and col.categories:
        for level in col.categories:
            if str(level) == text:
                return level
    return text


def parse_conditions(items: list[str], schema: TableSchema) -> dict[str, Any]:
    """``col=value`` for equality, ``col=low..high`` for a range (either end may be empty)."""
    conditions: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"bad condition {item!r}", hint="write COLUMN=VALUE or COLUMN=LOW..HIGH")
        column, value = item.split("=", 1)
        column = column.strip()
        if ".." in value:
            low, high = value.split("..", 1)
            conditions[column] = (_coerce(low.strip(), schema, column), _coerce(high.strip(), schema, column))
        else:
            conditions[column] = _coerce(value.strip(), schema, column)
    return conditions


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()] if text else []


@app.command("schema")
def schema_cmd(
    data: Annotated[Path, typer.Argument(help="CSV, TSV or Parquet file.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the schema JSON here.")] = None,
    rare_threshold: Annotated[int, typer.Option(help="Group categories seen fewer times than this.")] = 5,
) -> None:
    """Infer and show a table's schema: kinds, missing rates, PII tags, rare levels.

    Example: synthgov schema data.csv -o schema.json
    """
    with _errors():
        df = read(data)
        schema = TableSchema.infer(df, rare_threshold=rare_threshold)
        table = Table(title=f"{data.name}: {len(df):,} rows × {len(schema)} columns")
        for head in ("column", "kind", "missing", "pii", "details", "flags"):
            table.add_column(head)
        for col in schema:
            details = ""
            if col.kind is Kind.NUMERIC:
                details = f"{col.minimum} … {col.maximum}" + (" (integer)" if col.integer else f" ({col.decimals} dp)")
            elif col.kind in (Kind.CATEGORICAL, Kind.BOOLEAN):
                details = f"{len(col.categories or ())} levels" + (f", {col.rare_grouped} rare grouped" if col.rare_grouped else "")
            elif col.kind is Kind.DATETIME:
                details = f"{col.minimum} … {col.maximum}" + (f" ({col.datetime_format})" if col.datetime_format else "")
            elif col.shape:
                details = f"shape {col.shape}"
            table.add_row(col.name, col.kind.value, f"{col.missing_rate:.1%}", col.pii or "", details, ", ".join(col.flags))
        out.print(table)
        if output:
            schema.save(output)
            out.print(f"schema written to {output}")


@app.command("generate")
def generate_cmd(
    data: Annotated[Path, typer.Argument(help="The real table: CSV, TSV or Parquet.")],
    rows: Annotated[int | None, typer.Option("--rows", "-n", help="Rows to generate (default: as many as the source).")] = None,
    method: Annotated[str, typer.Option(help="Generator name (see `synthgov generators`).")] = "copula",
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Output .csv/.parquet (default: in the workspace).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed: the same seed gives the same output.")] = None,
    epsilon: Annotated[float | None, typer.Option(help="Differential privacy budget (bayesnet, neural); "
                                                  "without it there is no formal privacy guarantee.")] = None,
    schema_path: Annotated[Path | None, typer.Option("--schema", help="Schema JSON (from `synthgov schema -o`).")] = None,
    condition: Annotated[list[str] | None, typer.Option("--condition", "-c", help="COLUMN=VALUE or COLUMN=LOW..HIGH; repeatable.")] = None,
    partial_cols: Annotated[str | None, typer.Option("--partial", help="Replace only these columns (comma-separated).")] = None,
    hybrid_share: Annotated[float | None, typer.Option("--hybrid", help="Mix real and synthetic rows; this share synthetic.")] = None,
    rebalance_col: Annotated[str | None, typer.Option("--rebalance", help="Add synthetic rows of scarce groups of this column.")] = None,
    save_model: Annotated[Path | None, typer.Option(help="Also save the fitted model to this directory.")] = None,
) -> None:
    """Fit a generator on DATA and write synthetic rows.

    Examples:

      synthgov generate data.csv --rows 10000 --out synth.parquet --seed 7

      synthgov generate data.csv --condition sex=female --condition age=30..40 --out women.csv

      synthgov generate data.csv --partial income,diagnosis --out partial.parquet

      synthgov generate data.csv --method bayesnet --epsilon 1 --out private.parquet
    """
    with _errors():
        modes = [m for m, v in (("--partial", partial_cols), ("--hybrid", hybrid_share), ("--rebalance", rebalance_col))
                 if v is not None]
        if len(modes) > 1:
            raise ParameterError(f"choose one of {', '.join(modes)}", hint="they are different kinds of output")
        if rows is not None and rows < 1:
            raise ParameterError(f"--rows must be at least 1, got {rows}")
        if rows is not None and (partial_cols is not None or rebalance_col is not None):
            raise ParameterError(f"--rows does not apply to {modes[0]}",
                                 hint="--partial keeps the source's rows; --rebalance adds as many as the target needs")
        if out_path is not None:
            output_format(out_path)  # refuse an unwritable format before any work
        started = time.perf_counter()
        df = read(data)
        schema = TableSchema.load(schema_path) if schema_path else None
        syn = synthesizer(method, random_state=seed, **({} if epsilon is None else {"epsilon": epsilon}))
        with _progress() as bar:
            syn.fit(df, schema=schema, progress=bar)
            n = rows or len(df)
            conditions = parse_conditions(condition or [], syn.schema_) or None
            if partial_cols is not None:
                if conditions:
                    raise ParameterError("--condition cannot be combined with --partial")
                result = partial(df, columns=_split(partial_cols), synthesizer=syn, random_state=seed)
                mode = f"partial ({partial_cols} replaced)"
            elif hybrid_share is not None:
                synth = syn.sample(n, conditions=conditions, random_state=seed, progress=bar)
                result = hybrid(df, synth, share=hybrid_share, n=n, random_state=seed)
                mode = f"hybrid ({hybrid_share:.0%} synthetic)"
            elif rebalance_col is not None:
                if conditions:
                    raise ParameterError("--condition cannot be combined with --rebalance",
                                         hint="rebalancing draws each scarce group under its own condition")
                result = rebalance(df, syn, column=rebalance_col, random_state=seed)
                mode = f"rebalanced on {rebalance_col}"
            else:
                result = syn.sample(n, conditions=conditions, random_state=seed, progress=bar)
                mode = "fully synthetic"
        if out_path is None:
            out_path = Workspace().outputs / f"{data.name.split('.')[0]}-{method}.parquet"
        if save_model:
            syn.save(save_model)
        replaced = list(result.attrs.get("synthgov", {}).get("replaced_columns", []))
        share = (float(result["_synthetic"].mean()) if "_synthetic" in result.columns else
                 len(replaced) / result.shape[1] if replaced else 1.0)
        with catalog_of(None) as cat:
            # what the table says about itself, so that a model trained on it knows its generation
            meta = {"synthetic": True, "mode": mode, "generator": method, "synthetic_share": share,
                    "generation": lineage_for(cat, df, recorded=data).generation}
            if replaced:
                meta["replaced_columns"] = replaced
            write(result, out_path, metadata={"synthgov": json.dumps(meta)})
            record_generation(catalog=cat, source=df, synthesizer=syn, output=result, output_path=out_path,
                              model_path=save_model, source_name=data.name)
        _summary(result, time.perf_counter() - started, out_path, mode, method, syn)


def _summary(result, seconds: float, path: Path, mode: str, method: str, syn) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("rows", f"{len(result):,}")
    table.add_row("columns", str(result.shape[1]))
    table.add_row("mode", mode)
    table.add_row("generator", method)
    table.add_row("seconds", f"{seconds:.2f}")
    table.add_row("output", str(path))
    out.print(table)
    if syn.privacy_ is None:
        out.print(NO_GUARANTEE, style="yellow")
    else:
        out.print(f"Privacy: ({syn.privacy_.epsilon}, {syn.privacy_.delta})-differential privacy, {syn.privacy_.mechanism}")


@app.command("demo")
def demo_cmd(
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Run the main job on the bundled CPS1988 table (US Census Bureau, public domain).

    Splits off a 20% holdout, screens the training rows for poisoning, infers the schema,
    fits the copula on the other 80%, samples as many rows, evaluates them against the real
    rows (fidelity, utility for wage, privacy against the holdout, fairness across
    ethnicity, diversity), packages them as a signed release and verifies it, then shows
    the release's lineage in the catalog and verifies the tamper-evident ledger that
    recorded every step. Everything goes into the workspace (./.synthgov or $SYNTHGOV_HOME).

    Example: synthgov demo
    """
    from . import _demo

    with _errors():
        _demo.run(seed=seed, cli=sys.modules[__name__])


@app.command("generators")
def generators_cmd() -> None:
    """List the registered generators (built-ins and plugins).

    Example: synthgov generators
    """
    for name, cls in available_synthesizers().items():
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        out.print(f"[bold]{name}[/]  {doc}")


@app.command("sample")
def sample_cmd(
    model: Annotated[Path, typer.Argument(help="A model directory saved with --save-model.")],
    rows: Annotated[int, typer.Option("--rows", "-n", help="Rows to generate.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Output .csv/.parquet.")],
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    condition: Annotated[list[str] | None, typer.Option("--condition", "-c", help="COLUMN=VALUE or COLUMN=LOW..HIGH.")] = None,
) -> None:
    """Sample from a saved model without refitting.

    Example: synthgov sample model/ --rows 1000 --out more.parquet
    """
    with _errors():
        output_format(out_path)
        started = time.perf_counter()
        syn = load_synthesizer(model)
        with _progress() as bar:
            result = syn.sample(rows, conditions=parse_conditions(condition or [], syn.schema_) or None,
                                random_state=seed, progress=bar)
        write(result, out_path, metadata={"synthgov": json.dumps({"synthetic": True, "generator": syn.name})})
        _summary(result, time.perf_counter() - started, out_path, "fully synthetic", syn.name, syn)


def _parse_thresholds(items: list[str]) -> dict[str, float | None]:
    thresholds: dict[str, float | None] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"--threshold needs METRIC=VALUE, got {item!r}", hint="e.g. --threshold dcr_share=0.55")
        value = value.strip()
        if value.lower() in ("", "none", "off"):
            thresholds[name.strip()] = None
            continue
        try:
            thresholds[name.strip()] = float(value)
        except ValueError:
            raise ParameterError(f"--threshold {name.strip()} needs a number, got {value!r}") from None
    return thresholds


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"


_VERDICT_STYLE = {"pass": "green", "fail": "bold red", "not computed": "yellow", "info": "dim"}


def _print_report(report, paths: list[Path]) -> None:
    table = Table(title=f"evaluation: {report.verdict.upper()}", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("metric", no_wrap=True)
    for head in ("value", "95% CI", "threshold"):
        table.add_column(head, justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for family, metrics in report.scores.items():
        table.add_row(f"[bold]{family}[/]", end_section=False)
        for name, result in metrics.items():
            ci = f"{_fmt(result.ci[0])}–{_fmt(result.ci[1])}" if result.ci else ""
            verdict = report.verdict_of(name)
            threshold = report.thresholds.get(name)
            goal = "≥" if report.definitions[name]["goal"] == "maximize" else "≤"
            table.add_row(f"  {name}", _fmt(result.value), ci, "" if threshold is None else f"{goal}{_fmt(threshold)}",
                          f"[{_VERDICT_STYLE[verdict]}]{verdict}[/]")
    out.print(table)
    skipped = [(n, r.reason) for n, r in report.results.items() if not r.computed]
    for name, reason in skipped:
        out.print(f"  {name}: not computed — {reason}", markup=False, highlight=False)
    for note in report.notes:
        out.print(f"note: {note}", markup=False, highlight=False, style="cyan")
    out.print(report.privacy_statement, style="yellow" if report.privacy is None else None, markup=False)
    for path in paths:
        out.print(f"written: {path}", markup=False, highlight=False)


@app.command("evaluate")
def evaluate_cmd(
    real: Annotated[Path, typer.Argument(help="The real rows the generator was fitted on (CSV, TSV or Parquet).")],
    synthetic: Annotated[Path, typer.Argument(help="The synthetic rows.")],
    holdout: Annotated[Path | None, typer.Option(help="Real rows the generator never saw (privacy metrics need them).")] = None,
    target: Annotated[str | None, typer.Option(help="Column to predict for utility and fairness metrics.")] = None,
    sensitive: Annotated[str | None, typer.Option(help="Subgroup columns for fairness, comma-separated.")] = None,
    quasi_identifiers: Annotated[str | None, typer.Option("--qi", help="Columns an attacker is assumed to know.")] = None,
    secrets: Annotated[str | None, typer.Option(help="Columns an attacker tries to infer.")] = None,
    metrics: Annotated[str | None, typer.Option(help="Only these metrics or families, comma-separated.")] = None,
    threshold: Annotated[list[str] | None, typer.Option("--threshold", "-t", help="METRIC=VALUE verdict threshold; repeatable.")] = None,
    model: Annotated[Path | None, typer.Option(help="The saved model, so the report shows its privacy account.")] = None,
    out_html: Annotated[Path | None, typer.Option("--out", "-o", help="HTML report path (default: in the workspace).")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the JSON report here.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed for splits, subsamples and attacks.")] = 0,
    strict: Annotated[bool, typer.Option(help="Exit with code 2 when the verdict is not 'pass'.")] = False,
) -> None:
    """Measure SYNTHETIC against REAL: fidelity, utility, privacy, fairness, diversity.

    Writes a self-contained HTML report (and JSON with --json) and prints the summary.
    Without --holdout, 20% of REAL is split off as the holdout and the report says so.

    Examples:

      synthgov evaluate train.csv synth.parquet --holdout test.csv --target income --out report.html

      synthgov evaluate train.csv synth.parquet --sensitive sex,race --json report.json --strict
    """
    from .evaluate import evaluate

    with _errors():
        thresholds = _parse_thresholds(threshold or [])
        if out_html is None:
            out_html = Workspace().outputs / f"{synthetic.name.split('.')[0]}-report.html"
        syn = load_synthesizer(model) if model else None
        with _progress() as bar:
            report = evaluate(real, synthetic, holdout=holdout, target=target, sensitive=sensitive,
                              quasi_identifiers=quasi_identifiers, secrets=secrets, synthesizer=syn,
                              metrics=metrics, thresholds=thresholds or None, random_state=seed,
                              progress=lambda _metric, done, total: bar("evaluate", done, total))
        paths = []
        if json_path:
            report.to_json(json_path)
            paths.append(json_path)
        report.to_html(out_html)
        paths.append(out_html)
        _print_report(report, paths)
    if strict and report.verdict != "pass":
        raise typer.Exit(code=2)


@app.command("metrics")
def metrics_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print the definitions as JSON.")] = False,
) -> None:
    """List every registered metric with its family, goal, range, definition and source.

    Example: synthgov metrics --json > metrics.json
    """
    from .evaluate import metric_definitions

    definitions = metric_definitions()
    if as_json:
        typer.echo(json.dumps(definitions, indent=1, ensure_ascii=False))
        return
    for d in definitions:
        low, high = ("-inf" if d["range"][0] is None else f"{d['range'][0]:g}",
                     "inf" if d["range"][1] is None else f"{d['range'][1]:g}")
        threshold = "" if d["threshold"] is None else f", threshold {d['threshold']:g}"
        needs = f", needs {', '.join(d['needs'])}" if d["needs"] else ""
        out.print(f"[bold]{d['name']}[/] ({d['family']}; {d['goal']} in [{low}, {high}]{threshold}{needs})")
        out.print(f"  {d['definition']}", markup=False, highlight=False)
        out.print(f"  source: {d['source']}", markup=False, highlight=False, style="dim")


@app.command("screen")
def screen_cmd(
    data: Annotated[Path, typer.Argument(help="CSV, TSV or Parquet file to screen before fitting.")],
    label: Annotated[str | None, typer.Option(help="Class column to check against each row's nearest neighbours.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the full report as JSON here.")] = None,
    top: Annotated[int, typer.Option(help="Show at most this many flagged rows.")] = 20,
    seed: Annotated[int, typer.Option(help="Random seed for subsamples and projections.")] = 0,
) -> None:
    """Screen a table for signs of data poisoning before fitting on it.

    Flags near-duplicate clusters, injected outliers and (with --label) labels that disagree
    with their nearest neighbours; prints scores and reasons, never the rows' values.

    Example: synthgov screen data.csv --label grade --json screen.json
    """
    from .screen import screen

    with _errors():
        df = read(data)
        report = screen(df, label=label, random_state=seed)
        counts = ", ".join(f"{k}: {v}" for k, v in report.counts.items() if v is not None)
        out.print(f"{data.name}: {len(report.rows):,} of {report.n_rows:,} rows flagged ({counts})",
                  markup=False, highlight=False)
        if report.rows:
            table = Table(title="suspicious rows (highest score first)")
            for head in ("row", "score", "reasons"):
                table.add_column(head)
            for row in report.rows[:max(0, top)]:
                table.add_row(str(row.index), f"{row.score:.2f}", escape("; ".join(row.reasons)))
            out.print(table)
        for note in report.notes:
            out.print(note, markup=False, highlight=False)
        if json_path:
            atomic_write_text(json_path, json.dumps(report.to_dict(), indent=2))
            out.print(f"written: {json_path}", markup=False, highlight=False)


from .provenance._cli_release import register as _register_release  # noqa: E402

_register_release(app)
from .policy._cli import register as _register_policy  # noqa: E402

_register_policy(app)

from .ledger._cli import register as _register_ledger  # noqa: E402

_register_ledger(app)
from .evaluate._cli_collapse import register as _register_collapse  # noqa: E402

_register_collapse(app)


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"synthgov {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Governed synthetic data."""


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
