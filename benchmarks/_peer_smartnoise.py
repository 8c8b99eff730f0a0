"""Fit smartnoise-synth's AIM or MST on a CSV at a given epsilon; write the synthetic CSV and timings.

Runs in its own virtual environment (``.venv-snsynth``: smartnoise-synth pins old numpy/pandas and
pulls jax, opacus and a CPU torch), so benchmarks/bench_generators.py calls it by subprocess:

    .venv-snsynth/bin/python benchmarks/_peer_smartnoise.py --data real.csv --method aim \
        --epsilon 1.0 --out synthetic.csv --json timings.json

Column handling (the same for both methods, all within the stated epsilon):

* numbers and dates (as epoch days) are continuous; smartnoise estimates their bounds privately with
  ``preprocessor_eps`` (10 % of epsilon, subtracted from the training budget by smartnoise itself);
* text columns with at most ``--max-levels`` distinct values are categorical; missing values are a
  level of their own (``nullable=True``);
* other text columns (identifiers, free text) are not modelled: they are listed in the JSON under
  ``dropped_columns`` and left out of the synthetic CSV.

The JSON holds fit_seconds, sample_seconds, the method, epsilon, delta, rows and the versions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _prepare(df: pd.DataFrame, max_levels: int) -> tuple[pd.DataFrame, list[str], list[str], dict[str, str], list[str]]:
    categorical, continuous, dates, dropped = [], [], {}, []
    out = {}
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_bool_dtype(s):
            out[name] = s.astype("object").where(s.notna(), None)
            categorical.append(name)
        elif pd.api.types.is_numeric_dtype(s):
            out[name] = s.astype("float64")
            continuous.append(name)
        else:
            head = s.dropna().astype(str).head(50)
            looks_like_date = len(head) and head.str.match(r"^\d{4}-\d{2}-\d{2}").all()
            parsed = pd.to_datetime(s, errors="coerce", utc=True, format="ISO8601") if looks_like_date else None
            if parsed is not None and parsed.notna().sum() >= 0.95 * s.notna().sum():
                out[name] = (parsed - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds() / 86400.0
                continuous.append(name)
                dates[name] = "days"
            elif s.nunique(dropna=True) <= max_levels:
                out[name] = s.astype("object").where(s.notna(), None).astype(str).where(s.notna(), None)
                categorical.append(name)
            else:
                dropped.append(name)
    return pd.DataFrame(out), categorical, continuous, dates, dropped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="real table (CSV)")
    ap.add_argument("--method", choices=["aim", "mst"], required=True)
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--delta", type=float, default=1e-9)
    ap.add_argument("--rows", type=int, default=None, help="rows to sample (default: as many as the data)")
    ap.add_argument("--max-levels", type=int, default=100)
    ap.add_argument("--out", required=True, help="synthetic CSV to write")
    ap.add_argument("--json", required=True, help="timings JSON to write")
    args = ap.parse_args(argv)

    from importlib.metadata import version

    import snsynth  # noqa: F401 - imported here so --help works without it

    df = pd.read_csv(args.data)
    table, categorical, continuous, dates, dropped = _prepare(df, args.max_levels)
    synth = snsynth.Synthesizer.create(args.method, epsilon=args.epsilon, delta=args.delta, verbose=False)
    t0 = time.perf_counter()
    synth.fit(table, categorical_columns=categorical, continuous_columns=continuous, nullable=True,
              preprocessor_eps=0.1 * args.epsilon)
    fit_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = synth.sample(args.rows or len(df))
    sample_seconds = time.perf_counter() - t0
    out = pd.DataFrame(out, columns=table.columns)
    for name in dates:
        out[name] = pd.Timestamp("1970-01-01", tz="UTC") + pd.to_timedelta(out[name].astype("float64"), unit="D")
    for name in continuous:
        if name not in dates and pd.api.types.is_integer_dtype(df[name].dtype):
            out[name] = np.round(out[name].astype("float64")).astype("Int64")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False)
    Path(args.json).write_text(json.dumps({
        "method": args.method, "epsilon": args.epsilon, "delta": args.delta, "rows": int(len(out)),
        "fit_seconds": fit_seconds, "sample_seconds": sample_seconds, "dropped_columns": dropped,
        "preprocessor_epsilon": 0.1 * args.epsilon,
        "versions": {"smartnoise-synth": version("smartnoise-synth"), "python": sys.version.split()[0]},
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
