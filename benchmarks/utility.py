"""Utility report benchmark: sanitizer's streaming summaries against SDMetrics' QualityReport.

    pip install sdmetrics            # the anchor; not a dependency of sanitizer
    python benchmarks/utility.py --rows 1000000

Makes a production-like table (age, income tied to age, signup date, gender, city) and a staging copy that
a refresh could have made (1% noise on income, dates shifted, gender kept, city pseudonymised with the same
proportions, tenure shuffled so its tie to age is gone), then scores the pair both ways, each in its own
process, and prints wall time, peak RSS and the scores side by side. SDMetrics needs both tables in memory
as DataFrames; sanitizer sees them as a stream of 64k-row Arrow batches.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa

BATCH = 65_536


def tables(rows: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, rows)
    income = 18_000 + age * 900 + rng.normal(0, 9_000, rows)
    signup = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, rows), unit="D")
    gender = rng.choice(["F", "M", "X"], rows, p=[0.49, 0.49, 0.02])
    city = rng.choice([f"city{i}" for i in range(200)], rows, p=np.arange(1, 201) / np.arange(1, 201).sum())
    tenure = (age - 18) / 8 + rng.exponential(2.0, rows)  # older customers stayed longer
    prod = pd.DataFrame({"age": age, "income": income, "signup": signup, "gender": gender, "city": city,
                         "tenure": tenure})
    renamed = {f"city{i}": f"town{(i * 37) % 200}" for i in range(200)}  # a pseudonym per city
    staging = pd.DataFrame({
        "age": age, "income": income * (1 + rng.uniform(-0.01, 0.01, rows)),
        "signup": signup + pd.to_timedelta(rng.integers(-30, 31, rows), unit="D"), "gender": gender,
        "city": pd.Series(city).map(renamed).to_numpy(), "tenure": rng.permutation(tenure)})
    return prod, staging


def run_sanitizer(rows: int) -> dict:
    from sanitizer.schema.model import ColumnInfo, TableInfo
    from sanitizer.utility.collect import UtilityCollector, watch_table

    prod, staging = tables(rows)
    types = {"age": pa.int64(), "income": pa.float64(), "signup": pa.timestamp("ns"), "gender": pa.string(),
             "city": pa.string(), "tenure": pa.float64()}
    info = TableInfo(None, "people", tuple(ColumnInfo("people", n, str(t), t) for n, t in types.items()))
    strategies = {"income": "noise", "signup": "date_shift", "city": "hash", "tenure": "shuffle", "age": "noise",
                  "gender": "choice"}
    collector = UtilityCollector([watch_table(info, strategies)])
    batches = {side: pa.Table.from_pandas(frame, preserve_index=False).to_batches(BATCH)
               for side, frame in (("source", prod), ("staging", staging))}
    del prod, staging
    t0 = time.monotonic()
    for side, parts in batches.items():
        for batch in parts:
            collector.observe("people", side, batch)
    report = collector.report()
    seconds = time.monotonic() - t0
    columns = {c["column"]: c["shape"] for c in report["tables"][0]["columns"]}
    pairs = [p["score"] for p in report["tables"][0]["pairs"] if p["score"] is not None]
    return {"seconds": seconds, "column_shapes": report["column_shapes"], "pair_trends": float(np.mean(pairs)),
            "columns": columns}


def run_sdmetrics(rows: int) -> dict:
    from sdmetrics.reports.single_table import QualityReport

    prod, staging = tables(rows)
    metadata = {"columns": {"age": {"sdtype": "numerical"}, "income": {"sdtype": "numerical"},
                            "signup": {"sdtype": "datetime"}, "gender": {"sdtype": "categorical"},
                            "city": {"sdtype": "categorical"}, "tenure": {"sdtype": "numerical"}}}
    t0 = time.monotonic()
    report = QualityReport()
    report.generate(prod, staging, metadata, verbose=False)
    seconds = time.monotonic() - t0
    properties = report.get_properties().set_index("Property")["Score"]
    shapes = report.get_details("Column Shapes").set_index("Column")["Score"]
    return {"seconds": seconds, "column_shapes": float(properties["Column Shapes"]),
            "pair_trends": float(properties["Column Pair Trends"]), "columns": shapes.round(4).to_dict()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--contestant", choices=["sanitizer", "sdmetrics"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contestant:
        result = (run_sanitizer if args.contestant == "sanitizer" else run_sdmetrics)(args.rows)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    results = {}
    for name in ("sanitizer", "sdmetrics"):
        done = subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--contestant", name],
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{name} failed: {done.stderr.strip()[-500:]}")
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    ours, theirs = results["sanitizer"], results["sdmetrics"]
    print(f"rows per table: {args.rows:,} (peak RSS includes building both tables)")
    print(f"{'':22}{'sanitizer':>12}{'SDMetrics':>12}")
    print(f"{'scoring time (s)':22}{ours['seconds']:12.2f}{theirs['seconds']:12.2f}")
    print(f"{'peak RSS (MB)':22}{ours['peak_rss_mb']:12.0f}{theirs['peak_rss_mb']:12.0f}")
    print(f"{'column shapes':22}{ours['column_shapes']:12.3f}{theirs['column_shapes']:12.3f}")
    print(f"{'column pair trends':22}{ours['pair_trends']:12.3f}{theirs['pair_trends']:12.3f}")
    for column in ours["columns"]:
        print(f"  {column:20}{ours['columns'][column]:12.3f}{theirs['columns'].get(column, float('nan')):12.3f}")


if __name__ == "__main__":
    main()
