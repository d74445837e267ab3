"""Sweeps survive faults: a killed sweep resumes without redoing finished runs, a failed run
is recorded and does not stop the others.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from routesim.analysis.sweep import load_sweep
from routesim.results import TABLES

ROUTESIM = str(Path(sys.executable).parent / "routesim")
SWEEP = ["-m", "market=tiny", "population=tiny", "fitted=none", "end=2025-12", "population.n_enterprises=3000",
         "seed=range(0,8)", "output.plots=false"]


def complete(folder: Path) -> list[Path]:
    return sorted(p.parent for p in folder.rglob("run.json"))


def children(pid: int) -> set[int]:
    """Live child processes of ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_killed_sweep_resumes_without_redoing_finished_runs(tmp_path):
    """SIGKILL only the sweep's own process mid-sweep: its loky workers end within seconds
    (they watch their parent), and the same command then finishes the sweep without redoing
    the finished runs."""
    sweep = tmp_path / "sweep"
    cmd = [ROUTESIM, *SWEEP, f"hydra.sweep.dir={sweep}"]
    proc = subprocess.Popen([*cmd, "hydra.launcher.n_jobs=2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while len(complete(sweep)) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    workers = children(proc.pid)
    proc.kill()  # the parent alone, as a lost terminal or an OOM kill would
    proc.wait()
    assert len(workers) >= 2, "the sweep should have started its worker processes"
    deadline = time.time() + 15
    while any(alive(w) for w in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if alive(w)], "workers outlived the killed sweep"
    before = {p: (p / "run.json").stat().st_mtime_ns for p in complete(sweep)}
    assert 2 <= len(before) < 8, "the kill should land part-way through the sweep"

    rerun = subprocess.run([*cmd, "hydra.launcher.n_jobs=1"], capture_output=True, text=True, timeout=600)
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
           "output.fail_for_testing=false,true", "output.plots=false", "hydra/launcher=basic",
           f"hydra.sweep.dir={sweep}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "sweep finished: 2/4 runs complete" in proc.stdout and "(2 failed; rerun" in proc.stdout
    statuses = [json.loads((p / "run.json").read_text()) for p in complete(sweep)]
    assert sorted(s["status"] for s in statuses) == ["complete", "complete", "failed", "failed"]
    assert all("fail_for_testing" in s["error"] for s in statuses if s["status"] == "failed")
    loaded = load_sweep(sweep)
    assert len(loaded.runs) == 2 and len(loaded.broken) == 2


def test_a_folder_of_another_configuration_is_not_reused(tmp_path):
    out = tmp_path / "run"
    first = subprocess.run([ROUTESIM, "market=tiny", "population=tiny", "fitted=none", "end=2024-03",
                            "output.plots=false", f"hydra.run.dir={out}"], capture_output=True, text=True)
    assert first.returncode == 0
    again = subprocess.run([ROUTESIM, "market=tiny", "population=tiny", "fitted=none", "end=2024-03",
                            "output.plots=false", f"hydra.run.dir={out}"], capture_output=True, text=True)
    assert again.returncode == 0 and "complete already" in again.stdout + again.stderr
    other = subprocess.run([ROUTESIM, "market=tiny", "population=tiny", "fitted=none", "end=2024-04",
                            "output.plots=false", f"hydra.run.dir={out}"], capture_output=True, text=True)
    assert other.returncode == 2 and "different configuration" in other.stderr


def test_a_corrupt_or_unfinished_run_json_is_redone(tmp_path):
    from routesim.cli import completed_run
    from routesim.compose import compose_dict

    cfg = compose_dict(["market=tiny", "population=tiny", "fitted=none"])
    for text in ('{"status": "compl', "[]", '{"status": "running"}', ""):
        (tmp_path / "run.json").write_text(text)
        assert completed_run(tmp_path, cfg) is False, text
