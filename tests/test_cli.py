"""The `routesim` command: what it writes, and how it fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from routesim import load_run
from routesim.results import TABLES

ROUTESIM = str(Path(sys.executable).parent / "routesim")
ENV = {**os.environ, "HYDRA_FULL_ERROR": "0"}


def run(*args, cwd=None):
    return subprocess.run([ROUTESIM, *args], capture_output=True, text=True, env=ENV, cwd=cwd,
                          timeout=300)


def test_run_writes_tables_metadata_and_plots(tmp_path):
    out = tmp_path / "run"
    proc = run("market=tiny", "population=tiny", "fitted=none", "end=2025-06", f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr
    for name in TABLES:
        frame = pd.read_parquet(out / f"{name}.parquet")
        assert "month" in frame.columns and len(frame) > 0
    for plot in ("revenue_by_provider", "spend_vs_usage_share", "enterprise_savings", "cumulative_result"):
        assert (out / f"{plot}.png").stat().st_size > 10_000
    meta = json.loads((out / "run.json").read_text())
    assert meta["seed"] == 0 and meta["config"]["end"] == "2025-06"
    assert meta["git_commit"] and meta["routesim_version"]
    assert all(v["ok"] for v in meta["invariants"].values())
    assert set(meta["timings_s"]) >= {"simulate", "write_tables", "plots"}
    assert meta["choices"]["market"] == "tiny"
    back = load_run(out)
    assert back.market["total_spend_usd"].iloc[-1] > 0


def test_multirun_one_folder_per_seed(tmp_path):
    proc = run("-m", "market=tiny", "population=tiny", "fitted=none", "end=2024-06", "seed=1,2", "output.plots=false",
               f"hydra.sweep.dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    seeds = sorted(json.loads((tmp_path / d / "run.json").read_text())["seed"] for d in ("0", "1"))
    assert seeds == [1, 2]
    a, b = (pd.read_parquet(tmp_path / d / "market.parquet") for d in ("0", "1"))
    assert not a["total_spend_usd"].equals(b["total_spend_usd"])


def test_sweep_results_do_not_depend_on_worker_count_or_a_concurrent_sweep(tmp_path):
    """A serial sweep, and two parallel sweeps started together on one folder: each run is
    done once (the other sweep waits on the run folder's lock, then skips it), and every
    table is byte-identical to the serial sweep's."""
    args = ["-m", "market=tiny", "population=tiny", "fitted=none", "end=2025-06", "seed=3,4",
            "scenario=status_quo,no_routing", "output.plots=false"]
    twice = [subprocess.Popen([ROUTESIM, *args, "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={tmp_path / 'two'}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV) for _ in range(2)]
    serial = run(*args, "hydra.launcher.n_jobs=1", f"hydra.sweep.dir={tmp_path / 'one'}")
    outputs = [p.communicate(timeout=300) for p in twice]
    assert serial.returncode == 0 and all(p.returncode == 0 for p in twice), serial.stderr + str(outputs)
    assert "sweep finished: 4/4 runs complete" in serial.stdout
    assert all("sweep finished: 4/4 runs complete" in out for out, _ in outputs)
    for job in range(4):
        log = (tmp_path / "two" / str(job) / "routesim.log").read_text()
        assert log.count(" - wrote ") == 1 and log.count("complete already: skipped") == 1, log
        assert not list((tmp_path / "two" / str(job)).glob(".*.tmp"))
        for name in TABLES:
            one = (tmp_path / "one" / str(job) / f"{name}.parquet").read_bytes()
            assert (tmp_path / "two" / str(job) / f"{name}.parquet").read_bytes() == one, (job, name)


def test_calibration_sweep_then_refit_from_it(tmp_path):
    """A small Optuna sweep writes a fit table per trial and the best parameters; the refit
    from that sweep (--from-sweep) writes the 10-seed-style report without touching conf/."""
    sweep = tmp_path / "cal"
    proc = run("+calibrate=default", "hydra/launcher=basic", "hydra.sweeper.n_trials=3",  # trials in one process
               "hydra.sweeper.sampler.n_startup_trials=3", "calibration.n_seeds=1", "population.n_enterprises=300",
               f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr
    assert "sweep finished: 3/3 runs complete" in proc.stdout
    assert all((sweep / str(job) / "fit_table.csv").exists() for job in range(3))
    trial = json.loads((sweep / "0" / "trial.json").read_text())
    assert "switching.switching_cost" in trial["params"] and trial["loss"] >= 0
    assert "population.n_enterprises" not in trial["params"]  # only what the sweeper searched
    fitted = (Path(__file__).parents[1] / "conf" / "fitted" / "default.yaml").read_text()
    refit = subprocess.run([str(Path(sys.executable).parent / "routesim-calibrate"), "--method", "optuna",
                            "--from-sweep", str(sweep),
                            "--no-write", "--seeds", "1", "--finalists", "2", "--agents", "300"],
                           capture_output=True, text=True, timeout=600)
    assert refit.returncode == 0, refit.stderr
    assert "fit targets within tolerance" in refit.stdout
    assert "re-scoring the 2 best trials over 1 seeds" in refit.stdout and "keeping trial" in refit.stdout
    table = pd.read_csv(sweep / "fit_table.csv")
    censored = table["note"].fillna("").str.contains("not within the horizon")  # break-even after 2030
    assert set(table["kind"]) == {"fit", "validate", "check"} and table.loc[~censored, "simulated_mean"].notna().all()
    assert (Path(__file__).parents[1] / "conf" / "fitted" / "default.yaml").read_text() == fitted


def test_a_rejected_config_leaves_no_run_folder_and_two_quick_runs_get_two(tmp_path):
    """A configuration refused after Hydra made the run folder removes it (it would count as a
    broken run later); two runs started within the same second write two folders."""
    bad = subprocess.run([ROUTESIM, "market=tiny", "population=tiny", "fitted=none", "end=2099-12",
                          "demand.growth_per_month=1.0", "demand.long_run_growth_per_month=1.0"],
                         capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=300)
    assert bad.returncode == 2 and "invalid configuration" in bad.stderr
    assert not list((tmp_path / "results" / "runs").iterdir())
    args = [ROUTESIM, "market=tiny", "population=tiny", "fitted=none", "end=2024-02", "output.plots=false"]
    procs = [subprocess.Popen([*args, f"seed={s}"], cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for s in (1, 2)]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    runs = sorted((tmp_path / "results" / "runs").iterdir())
    assert len(runs) == 2 and {json.loads((r / "run.json").read_text())["seed"] for r in runs} == {1, 2}


def test_help_is_a_short_page_with_groups_and_examples():
    out = subprocess.run([ROUTESIM, "--help"], capture_output=True, text=True, env=ENV, timeout=120)
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert len(lines) < 40, len(lines)  # not the 1,000-line config dump
    assert "Examples:" in out.stdout and "scenario: " in out.stdout and "routesim --cfg job" in out.stdout
    assert "price_in_usd_per_mtok" not in out.stdout
