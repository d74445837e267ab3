"""Engine benchmark: enterprise-months per second, peak memory, speed-up over the reference.

Runs every measurement in this one invocation and prints a table; writes one CSV row per
measurement to benchmarks/out/engine.csv. Each size runs in a fresh child process so that
its peak memory (ru_maxrss) is its own. Usage: ``python benchmarks/bench_engine.py
[--sizes 1000 10000 100000] [--repeats 3] [--reference-months 84]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def measure_engine(n: int, repeats: int) -> dict:
    """Time simulate() on the default market with n enterprises (child process)."""
    from routesim import compose, simulate
    from routesim.model import MarketModel
    from routesim.preflight import estimate_peak_bytes

    cfg = compose([f"population.n_enterprises={n}"])
    first_peak_mb = None
    months = len(MarketModel(cfg).catalog.months)
    runs, model_only = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        simulate(cfg)
        runs.append(time.perf_counter() - started)
        if first_peak_mb is None:  # one run, as the preflight estimate describes
            first_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        MarketModel(cfg).run()
        model_only.append(time.perf_counter() - started)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"n": n, "months": months, "segments": len(cfg.workload.families) * cfg.workload.segments_per_family,
            "models": len(cfg.market.models), "simulate_s": min(runs), "model_run_s": min(model_only),
            "peak_rss_mb": peak_mb, "first_run_peak_rss_mb": first_peak_mb,
            "estimated_peak_mb": estimate_peak_bytes(cfg) / 1e6}


def measure_reference(n: int, months: int) -> dict:
    """Time the per-agent reference and the vectorised model on the same config and horizon."""
    from reference import reference_run
    from routesim import compose
    from routesim.config import format_month, parse_month
    from routesim.model import MarketModel

    end = format_month(parse_month("2024-01", "start") + months - 1)
    cfg = compose([f"population.n_enterprises={n}", f"end={end}"])
    started = time.perf_counter()
    reference_run(cfg)
    ref_s = time.perf_counter() - started
    vec = []
    for _ in range(3):
        started = time.perf_counter()
        MarketModel(cfg).run()
        vec.append(time.perf_counter() - started)
    return {"n": n, "months": months, "reference_s": ref_s, "vectorised_s": min(vec)}


def measure_cli(repeats: int) -> dict:
    """Wall time of the whole `routesim` command and of importing it, best of ``repeats``."""
    import tempfile

    routesim = str(Path(sys.executable).parent / "routesim")
    walls, imports, meta = [], [], {}
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import routesim.cli"], check=True)
        imports.append(time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            subprocess.run([routesim, f"hydra.run.dir={tmp}"], check=True, capture_output=True)
            walls.append(time.perf_counter() - started)
            meta = json.loads((Path(tmp) / "run.json").read_text())["timings_s"]
    return {"cli_wall_s": min(walls), "import_s": min(imports), "plots_s": meta["plots"],
            "write_tables_s": meta["write_tables"], "simulate_s": meta["simulate"]}


def child(kind: str, *args: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, *map(str, args)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference-sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--reference-months", type=int, default=84)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *nums = args.child
        fn = measure_engine if kind == "engine" else measure_reference
        print(json.dumps(fn(*map(int, nums))))
        return

    rows = []
    print(f"{'N':>8} {'months':>6} {'simulate s':>11} {'model s':>8} {'ent-months/s':>13} {'peak MB':>8} "
          f"{'1st run MB':>10} {'estimate MB':>11}")
    for n in args.sizes:
        r = child("engine", n, args.repeats)
        r["enterprise_months_per_s"] = n * r["months"] / r["simulate_s"]
        rows.append({"measure": "engine", **r})
        print(f"{n:>8} {r['months']:>6} {r['simulate_s']:>11.3f} {r['model_run_s']:>8.3f} "
              f"{r['enterprise_months_per_s']:>13,.0f} {r['peak_rss_mb']:>8.0f} {r['first_run_peak_rss_mb']:>10.0f} "
              f"{r['estimated_peak_mb']:>11.0f}")
    engine = {r["n"]: r for r in rows}
    if 10_000 in engine and 100_000 in engine:
        ratio = engine[100_000]["simulate_s"] / engine[10_000]["simulate_s"]
        print(f"time(100k) / time(10k) = {ratio:.1f}  (linear = 10; target <= 12)")
    print(f"\n{'N':>8} {'months':>6} {'reference s':>12} {'vectorised s':>13} {'speed-up':>9}")
    for n in args.reference_sizes:
        r = child("reference", n, args.reference_months)
        r["speedup"] = r["reference_s"] / r["vectorised_s"]
        rows.append({"measure": "reference", **r})
        print(f"{n:>8} {r['months']:>6} {r['reference_s']:>12.2f} {r['vectorised_s']:>13.4f} "
              f"{r['speedup']:>8.0f}x")
    cli = measure_cli(args.repeats)
    rows.append({"measure": "cli", "n": 10_000, **cli})
    print(f"\nwhole CLI run (default market, 10,000 enterprises): {cli['cli_wall_s']:.2f} s "
          f"(python + imports {cli['import_s']:.2f} s, plots {cli['plots_s']:.2f} s, "
          f"tables {cli['write_tables_s']:.2f} s, model {cli['simulate_s']:.2f} s)")
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    fields = sorted({k for r in rows for k in r} | {"machine", "python"})
    with open(out / "engine.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for r in rows:
            writer.writerow({**r, "machine": platform.machine(), "python": platform.python_version()})
    print(f"\nwrote {out / 'engine.csv'}")


if __name__ == "__main__":
    main()
