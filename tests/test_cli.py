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
    for plot in ("revenue_by_provider", "revenue_vs_token_share", "enterprise_savings", "cumulative_cash"):
        assert (out / f"{plot}.png").stat().st_size > 10_000
    meta = json.loads((out / "run.json").read_text())
    assert meta["seed"] == 0 and meta["config"]["end"] == "2025-06"
    assert meta["git_commit"] and meta["routesim_version"]
    assert all(v["ok"] for v in meta["invariants"].values())
    assert set(meta["timings_s"]) >= {"simulate", "write_tables", "plots"}
    assert meta["choices"]["market"] == "tiny"
    back = load_run(out)
    assert back.market["total_spend_usd"].iloc[-1] > 0


def test_bad_value_exits_nonzero_before_writing_tables(tmp_path):
    out = tmp_path / "bad"
    proc = run("market=tiny", "population=tiny", "fitted=none", "adoption.imitation_q=-1", f"hydra.run.dir={out}")
    assert proc.returncode == 2
    assert "adoption.imitation_q" in proc.stderr and "allowed" in proc.stderr
    assert not list(out.glob("*.parquet")) and not (out / "run.json").exists()


def test_wrong_type_exits_nonzero_naming_key(tmp_path):
    proc = run("market=tiny", "population=tiny", "fitted=none", "seed=abc", f"hydra.run.dir={tmp_path}")
    assert proc.returncode != 0
    assert "seed" in proc.stderr


def test_multirun_one_folder_per_seed(tmp_path):
    proc = run("-m", "market=tiny", "population=tiny", "fitted=none", "end=2024-06", "seed=1,2", "output.plots=false",
               f"hydra.sweep.dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    seeds = sorted(json.loads((tmp_path / d / "run.json").read_text())["seed"] for d in ("0", "1"))
    assert seeds == [1, 2]
    a, b = (pd.read_parquet(tmp_path / d / "market.parquet") for d in ("0", "1"))
    assert not a["total_spend_usd"].equals(b["total_spend_usd"])


def test_sweep_results_do_not_depend_on_worker_count(tmp_path):
    args = ["-m", "market=tiny", "population=tiny", "fitted=none", "end=2025-06", "seed=3,4,5",
            "scenario=status_quo,no_routing", "output.plots=false"]
    serial = run(*args, "hydra.launcher.n_jobs=1", f"hydra.sweep.dir={tmp_path / 'one'}")
    parallel = run(*args, "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={tmp_path / 'two'}")
    assert serial.returncode == 0 and parallel.returncode == 0, serial.stderr + parallel.stderr
    assert "sweep finished: 6/6 runs complete" in serial.stdout
    for job in range(6):
        for name in TABLES:
            a = pd.read_parquet(tmp_path / "one" / str(job) / f"{name}.parquet")
            b = pd.read_parquet(tmp_path / "two" / str(job) / f"{name}.parquet")
            pd.testing.assert_frame_equal(a, b, check_exact=True)
