"""The same sweep (over ensemble members) through every launcher gives bit-identical tables
(slow: starts Ray and submitit workers). Needs the `cluster` extra, which `make test-slow` installs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from routesim.results import TABLES

ROUTESIM = str(Path(sys.executable).parent / "routesim")
# over two ensemble members (their values resolve inside each job) and two scenarios
SWEEP = ["-m", "market=tiny", "population=tiny", "fitted=posterior", "fitted.member=3,11", "seed=1",
         "end=2025-06", "scenario=status_quo,no_routing", "output.plots=false"]
LAUNCHERS = {
    "serial": ["hydra/launcher=basic"],
    "joblib": [],  # the default for sweeps (conf/hydra/launcher/local_joblib.yaml)
    "submitit_local": ["hydra/launcher=submitit_local"],
    "ray": ["hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=2"],
}


@pytest.mark.slow
def test_every_launcher_matches_the_serial_sweep(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    for name, extra in LAUNCHERS.items():
        proc = subprocess.run([ROUTESIM, *SWEEP, *extra, f"hydra.sweep.dir={tmp_path / name}"],
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, (name, proc.stderr[-2000:])
    for name in LAUNCHERS:
        for job in range(4):
            for table in TABLES:
                a = pd.read_parquet(tmp_path / "serial" / str(job) / f"{table}.parquet")
                b = pd.read_parquet(tmp_path / name / str(job) / f"{table}.parquet")
                pd.testing.assert_frame_equal(a, b, check_exact=True)
