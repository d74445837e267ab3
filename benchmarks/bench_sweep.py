"""Sweep throughput: a 200-run sweep of the default market, serially and with the joblib
launcher on both cores, in one invocation; plus the start-up overhead of one run.

Prints runs per minute and the parallel efficiency (speed-up / workers), writes one CSV row
per measurement to benchmarks/out/sweep.csv. Usage: ``python benchmarks/bench_sweep.py
[--runs 200] [--end 2025-12]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROUTESIM = str(Path(sys.executable).parent / "routesim")


def sweep(runs: int, end: str, launcher: list[str], folder: Path) -> float:
    started = time.perf_counter()
    subprocess.run([ROUTESIM, "-m", f"seed=range(0,{runs})", f"end={end}", "output.plots=false", *launcher,
                    f"hydra.sweep.dir={folder}"], check=True, capture_output=True)
    return time.perf_counter() - started


def mean_work(folder: Path) -> float:
    """Mean seconds a sweep's runs spent validating, simulating and writing (from run.json)."""
    work = [t["validate_simulate_tabulate"] + t["write_tables"]
            for t in (json.loads(f.read_text())["timings_s"] for f in folder.glob("*/run.json"))]
    return sum(work) / len(work)


def startup_overhead(end: str) -> dict[str, float]:
    """Wall time of one `routesim` run minus the time spent simulating and writing."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run([ROUTESIM, f"end={end}", "output.plots=false", f"hydra.run.dir={tmp}"], check=True,
                       capture_output=True)
        wall = time.perf_counter() - started
        t = json.loads((Path(tmp) / "run.json").read_text())["timings_s"]
    work = t["validate_simulate_tabulate"] + t["write_tables"]
    return {"run_wall_s": wall, "run_work_s": work, "startup_overhead_s": wall - work}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--end", default="2025-12")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        serial = sweep(args.runs, args.end, ["hydra/launcher=basic"], Path(tmp) / "serial")
        parallel = sweep(args.runs, args.end, [], Path(tmp) / "joblib")  # default: joblib, 2 workers
        work = mean_work(Path(tmp) / "serial")
    speedup = serial / parallel
    in_sweep = serial / args.runs - work  # per run inside one process: composing the job, bookkeeping
    rows.append({"measure": "serial", "runs": args.runs, "seconds": serial, "runs_per_min": 60 * args.runs / serial,
                 "mean_work_s": work, "in_sweep_overhead_s": in_sweep})
    rows.append({"measure": "joblib_2", "runs": args.runs, "seconds": parallel,
                 "runs_per_min": 60 * args.runs / parallel, "speedup": speedup, "efficiency": speedup / 2})
    overhead = startup_overhead(args.end)
    rows.append({"measure": "single_run", **overhead})
    print(f"{args.runs}-run sweep, default market (10,000 enterprises) to {args.end}:")
    print(f"  serial (one process): {serial:.1f} s = {60 * args.runs / serial:.0f} runs/min; per run "
          f"{work:.2f} s simulating and writing + {in_sweep:.2f} s overhead (composing the job, bookkeeping)")
    print(f"  joblib, 2 workers:    {parallel:.1f} s = {60 * args.runs / parallel:.0f} runs/min; "
          f"speed-up {speedup:.2f}, parallel efficiency {speedup / 2:.0%}")
    print(f"one run as a command: {overhead['run_wall_s']:.2f} s wall, {overhead['run_work_s']:.2f} s simulating "
          f"and writing, start-up overhead {overhead['startup_overhead_s']:.2f} s (target < 1.5 s)")
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    fields = sorted({k for r in rows for k in r})
    with open(out / "sweep.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
