"""The analyst clients' costs, measured side by side in one process (issue 17).

1. The DataCollector's cost on the step: ``MarketModel.run()`` with the market row collected
   each month against the same model with collection switched off, alternating runs.
   Also one collection timed alone over 1,000 calls, which the difference of two noisy runs
   on a shared machine cannot resolve.
2. The parameter API's overhead: ``routesim.run(overrides)`` (an EMA-style experiment: two
   group choices, the calibration's eleven priors, seed and size) against ``simulate(cfg)``
   on the same, already composed config, alternating runs; and what one Hydra composition
   costs, for comparison.
3. With ``--dashboard``: the dashboard's update time in Chromium (a scenario change until the
   new numbers are on the page), served by ``routesim-dashboard``.

Prints the ratios and writes one CSV row per measurement to benchmarks/out/clients.csv.
Usage: ``python benchmarks/bench_clients.py [--repeats 7] [--dashboard]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from routesim import compose, run, simulate
from routesim.calibration import prior_ranges
from routesim.model import MarketModel
from routesim.params import configure

HERE = Path(__file__).resolve().parent


def datacollector_cost(n: int, repeats: int) -> dict[str, float]:
    """Seconds for run() with and without collecting, best of ``repeats`` each, alternating."""
    cfg = compose([f"population.n_enterprises={n}"])
    timings: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(repeats):
        for mode in ("with", "without"):
            model = MarketModel(cfg)
            if mode == "without":
                model._collect = lambda: None  # the step as it was before the DataCollector
            started = time.perf_counter()
            model.run()
            timings[mode].append(time.perf_counter() - started)
    best = {k: min(v) for k, v in timings.items()}
    # the collection alone, timed over many calls on a finished model: less noisy than the difference
    model = MarketModel(cfg).run()
    started = time.perf_counter()
    for _ in range(1000):
        model._collect()
    collect_s = (time.perf_counter() - started) / 1000
    return {"n_enterprises": n, "run_with_s": best["with"], "run_without_s": best["without"],
            "ratio": best["with"] / best["without"], "months": model.n_months, "collect_s": collect_s,
            "ratio_from_collect": 1 + collect_s * model.n_months / best["without"]}


def parameter_api_overhead(n: int, repeats: int) -> dict[str, float]:
    """Seconds for run(overrides) and simulate(cfg) at ``n`` enterprises, medians, alternating."""
    priors = {key: (low + high) / 2 for key, (low, high) in prior_ranges().items()}
    overrides = {"scenario": "price_war", "router": "threshold", **priors, "seed": 3,
                 "population.n_enterprises": n}
    run(overrides)  # the one composition per process a driver pays, outside the timing
    started = time.perf_counter()
    cfg = compose(["scenario=price_war", "router=threshold", *(f"{k}={v}" for k, v in priors.items()), "seed=3",
                   f"population.n_enterprises={n}"])
    compose_s = time.perf_counter() - started
    assert configure(overrides) == cfg
    timings: dict[str, list[float]] = {"run": [], "simulate": []}
    for _ in range(repeats):
        for mode in ("run", "simulate"):
            started = time.perf_counter()
            run(overrides) if mode == "run" else simulate(cfg)
            timings[mode].append(time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(100):
        configure(overrides)
    configure_s = (time.perf_counter() - started) / 100
    med = {k: statistics.median(v) for k, v in timings.items()}
    return {"n_enterprises": n, "run_s": med["run"], "simulate_s": med["simulate"],
            "ratio": med["run"] / med["simulate"], "configure_s": configure_s, "hydra_compose_s": compose_s}


def dashboard_update(repeats: int, port: int = 8799) -> dict[str, float]:
    """Seconds from choosing another scenario to its numbers on the page, median of ``repeats``."""
    from playwright.sync_api import expect, sync_playwright

    server = subprocess.Popen([str(Path(sys.executable).parent / "routesim-dashboard"), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        times = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1560})
            page.goto(f"http://127.0.0.1:{port}/")
            status = page.locator("#status")
            expect(status).to_contain_text("status_quo vs", timeout=60_000)
            scenarios = ["price_war", "status_quo"] * repeats
            for j, name in enumerate(scenarios):
                page.locator(".v-select", has_text="Scenario").click()
                page.get_by_role("option", name=name).click()
                started = time.perf_counter()
                expect(status).to_contain_text(f"{name} vs", timeout=60_000)
                expect(status).to_have_attribute("data-state", "done", timeout=60_000)
                if j >= 2:  # the first two compose each scenario's config once: not a typical update
                    times.append(time.perf_counter() - started)
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
    return {"n_enterprises": 2000, "update_median_s": statistics.median(times), "update_max_s": max(times),
            "updates": len(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dashboard", action="store_true", help="also time the dashboard in Chromium")
    args = parser.parse_args()
    rows = []
    for n in (2000, 10_000):
        row = datacollector_cost(n, args.repeats)
        rows.append({"measure": "datacollector", **row})
        print(f"DataCollector at N={n:,}: run() {row['run_with_s']:.3f} s with, {row['run_without_s']:.3f} s without "
              f"({row['months']} months): x{row['ratio']:.3f}; one collection {1e6 * row['collect_s']:.0f} us, "
              f"so x{row['ratio_from_collect']:.4f} (target < 1.10)")
    row = parameter_api_overhead(2000, args.repeats)
    rows.append({"measure": "parameter_api", **row})
    print(f"parameter API at N=2,000: run(overrides) {row['run_s']:.3f} s vs simulate(cfg) {row['simulate_s']:.3f} s: "
          f"x{row['ratio']:.3f} (target < 1.05); configure() {1e3 * row['configure_s']:.2f} ms vs one Hydra "
          f"composition {row['hydra_compose_s']:.2f} s")
    if args.dashboard:
        row = dashboard_update(max(args.repeats // 2, 2))
        rows.append({"measure": "dashboard_update", **row})
        print(f"dashboard at N=2,000: a scenario change is on the page in {row['update_median_s']:.2f} s "
              f"(median of {row['updates']}, max {row['update_max_s']:.2f} s; target < 3 s)")
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    fields = sorted({k for r in rows for k in r})
    with open(out / "clients.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
