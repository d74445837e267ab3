"""Sweeps survive faults: a killed sweep resumes without redoing finished runs, a failed run
is recorded and does not stop the others.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from routesim.analysis.sweep import load_sweep
from routesim.results import TABLES

ROUTESIM = str(Path(sys.executable).parent / "routesim")
SWEEP = ["-m", "market=tiny", "population=tiny", "fitted=none", "end=2026-12", "population.n_enterprises=3000",
         "seed=range(0,8)", "output.plots=false", "hydra.launcher.n_jobs=1"]


def complete(folder: Path) -> list[Path]:
    return sorted(p.parent for p in folder.rglob("run.json"))


def test_killed_sweep_resumes_without_redoing_finished_runs(tmp_path):
    sweep = tmp_path / "sweep"
    cmd = [ROUTESIM, *SWEEP, f"hydra.sweep.dir={sweep}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while len(complete(sweep)) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: launcher and workers
    proc.wait()
    before = {p: (p / "run.json").stat().st_mtime_ns for p in complete(sweep)}
    assert 2 <= len(before) < 8, "the kill should land part-way through the sweep"

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    runs = complete(sweep)
    assert len(runs) == 8
    for folder, mtime in before.items():  # finished runs were skipped, not redone
        assert (folder / "run.json").stat().st_mtime_ns == mtime
    for folder in runs:
        assert not list(folder.glob(".*.tmp"))  # no half-written leftovers
        assert json.loads((folder / "run.json").read_text())["status"] == "complete"
        for name in TABLES:
            assert len(pd.read_parquet(folder / f"{name}.parquet")) > 0
    seeds = sorted(json.loads((f / "run.json").read_text())["seed"] for f in runs)
    assert seeds == list(range(8))  # every run once, none twice


def test_failed_run_is_recorded_and_the_others_finish(tmp_path):
    sweep = tmp_path / "sweep"
    cmd = [ROUTESIM, "-m", "market=tiny", "population=tiny", "fitted=none", "end=2024-06", "seed=1,2",
           "output.fail_for_testing=false,true", "output.plots=false", f"hydra.sweep.dir={sweep}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    statuses = [json.loads((p / "run.json").read_text()) for p in complete(sweep)]
    assert sorted(s["status"] for s in statuses) == ["complete", "complete", "failed", "failed"]
    assert all("fail_for_testing" in s["error"] for s in statuses if s["status"] == "failed")
    loaded = load_sweep(sweep)
    assert len(loaded.runs) == 2 and len(loaded.broken) == 2


def test_a_folder_of_another_configuration_is_not_reused(tmp_path):
    out = tmp_path / "run"
    first = subprocess.run([ROUTESIM, "market=tiny", "population=tiny", "fitted=none", "end=2024-03",
                            f"hydra.run.dir={out}"], capture_output=True, text=True)
    assert first.returncode == 0
    again = subprocess.run([ROUTESIM, "market=tiny", "population=tiny", "fitted=none", "end=2024-03",
                            f"hydra.run.dir={out}"], capture_output=True, text=True)
    assert again.returncode == 0 and "complete already" in again.stdout + again.stderr
    other = subprocess.run([ROUTESIM, "market=tiny", "population=tiny", "fitted=none", "end=2024-04",
                            f"hydra.run.dir={out}"], capture_output=True, text=True)
    assert other.returncode == 2 and "different configuration" in other.stderr
