"""Ensemble members: values from their row, command-line overrides winning, bad members refused,
and a sweep over members identical whatever the launcher."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from routesim import compose
from routesim.calibration import priors
from routesim.config import ConfigError
from routesim.ensemble import members
from routesim.results import TABLES

ROUTESIM = str(Path(sys.executable).parent / "routesim")


def test_a_member_runs_with_its_row_and_an_override_still_wins():
    table = members("prior_draws")
    cfg = compose(["fitted=prior_draws", "fitted.member=7"])
    assert cfg.adoption.imitation_q == table.at[7, "adoption.imitation_q"]
    assert cfg.population.size_median_tasks_per_month == table.at[7, "population.size_median_tasks_per_month"]
    assert compose(["fitted=prior_draws", "fitted.member=7", "adoption.imitation_q=0.5"]).adoption.imitation_q == 0.5
    assert compose(["fitted=prior_draws", "fitted.member=8"]).adoption.imitation_q != cfg.adoption.imitation_q


@pytest.mark.parametrize(("override", "message"), [
    ("fitted.member=50", "fitted.member = 50: allowed 0..49"),
    ("fitted.ensemble=nope", "fitted.ensemble = 'nope': no file conf/fitted/nope.csv; allowed: posterior, prior_draws"),
])
def test_a_bad_member_or_ensemble_names_the_key_and_what_is_allowed(override, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        compose(["fitted=prior_draws", override])


def test_prior_draws_are_a_latin_hypercube_of_the_priors():
    """One draw in each of the n equal-probability strata of every parameter's prior (a
    log-normal prior is drawn through its quantile function, not as a box)."""
    table = members("prior_draws")
    n = len(table)
    assert n >= 50 and np.allclose(table["weight"], 1 / n)
    for key, prior in priors().items():
        values = table[key].to_numpy()
        inside = (values > 0) if prior.dist == "lognormal" else (values >= prior.low) & (values <= prior.high)
        assert inside.all(), key
        strata = np.floor(prior.frozen().cdf(values) * n).clip(0, n - 1)
        # rounding to 6 significant figures may move a draw at a stratum's edge by one
        assert len(set(strata)) >= n - 2, key


def test_a_sweep_over_members_is_identical_with_either_launcher(tmp_path):
    args = ["-m", "market=tiny", "population=tiny", "fitted=posterior", "fitted.member=3,11", "end=2024-09",
            "output.plots=false"]  # every launcher: tests/test_launchers.py (slow)
    env = {**os.environ}
    for name, launcher in (("basic", ["hydra/launcher=basic"]), ("joblib", ["hydra.launcher.n_jobs=2"])):
        proc = subprocess.run([ROUTESIM, *args, *launcher, f"hydra.sweep.dir={tmp_path / name}"],
                              capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr
    for job in ("0", "1"):
        for table in TABLES:
            one = (tmp_path / "basic" / job / f"{table}.parquet").read_bytes()
            assert (tmp_path / "joblib" / job / f"{table}.parquet").read_bytes() == one, (job, table)
    a, b = ((tmp_path / "basic" / job / "market.parquet").read_bytes() for job in ("0", "1"))
    assert a != b  # two members, two markets


def test_the_shipped_posterior_is_an_ensemble_of_weighted_members_inside_the_priors():
    """conf/fitted/posterior.csv: >= 50 distinct parameter sets with positive weights summing to
    one, each inside its prior's support; the default point is the posterior's representative."""
    table = members("posterior")
    keys = [c for c in table.columns if c not in ("member", "weight")]
    assert len(table) >= 50 and not table.duplicated(subset=keys).any()
    assert (table["weight"] > 0).all() and table["weight"].sum() == pytest.approx(1.0)
    for key, prior in priors().items():
        values = table[key].to_numpy()
        inside = (values > 0) if prior.dist == "lognormal" else (values >= prior.low) & (values <= prior.high)
        assert inside.all(), key
    # the posterior narrows at least some parameters well inside their prior range
    widths = [(table[k].quantile(0.95) - table[k].quantile(0.05)) / (priors()[k].high - priors()[k].low) for k in keys]
    assert min(widths) < 0.5
