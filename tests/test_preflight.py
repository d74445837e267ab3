"""Checks made before anything is simulated: finite keys, the catalogue's span, scale, memory."""

from __future__ import annotations

import copy
import dataclasses
import math
import re

import numpy as np
import pandas as pd
import pytest

from conftest import TINY
from routesim import ConfigError, compose, simulate
from routesim.config import Config, _refuse_non_finite
from routesim.metrics import check_invariants
from routesim.preflight import (
    BASE_BYTES,
    HORIZON_YEARS,
    MAX_USD_PER_MONTH,
    check_memory,
    check_scale,
    check_span,
    estimate_peak_bytes,
    last_dated_fact,
    scale_estimate,
)


def numeric_leaves(obj, key=""):
    """(key, parent, field or index) of every float in a schema object."""
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            path = f"{key}.{f.name}" if key else f.name
            if isinstance(value, float):
                yield path, obj, f.name
            else:
                yield from numeric_leaves(value, path)
    elif isinstance(obj, dict):
        for k, value in obj.items():
            if isinstance(value, float):
                yield f"{key}.{k}", obj, k
            else:
                yield from numeric_leaves(value, f"{key}.{k}")
    elif isinstance(obj, list):
        for j, value in enumerate(obj):
            yield from numeric_leaves(value, f"{key}[{j}]")


def test_every_numeric_key_refuses_inf_and_nan_naming_it():
    cfg = compose(["scenario=price_war", "market=tiny", "population=tiny", "fitted=none"])
    keys = [k for k, _, _ in numeric_leaves(cfg)]
    assert len(keys) > 80 and "scenario.shocks[0].price_multiplier" in keys
    for j, key in enumerate(keys):
        broken = copy.deepcopy(cfg)
        _, parent, name = list(numeric_leaves(broken))[j]
        bad = (math.inf, -math.inf, math.nan)[j % 3]
        if isinstance(parent, dict):
            parent[name] = bad
        else:
            setattr(parent, name, bad)
        with pytest.raises(ConfigError, match=f"^{re.escape(key)} = "):
            _refuse_non_finite(broken, "")


@pytest.mark.parametrize("override, key", [
    ("router.integration_cost_usd=1e300", "router.integration_cost_usd"),
    ("switching.quality_weight=1e300", "switching.quality_weight"),
    ("router.logit_loyalty=1e300", "router.logit_loyalty"),
    ("demand.spike_max_multiple=1e300", "demand.spike_max_multiple"),
    ("market.models.big.price_out_usd_per_mtok=1e-300", "market.models.big.price_out_usd_per_mtok"),
    ("budget.runaway_multiple=1e300", "budget.runaway_multiple"),
    ("pricing.cut_fraction=1", "pricing.cut_fraction"),
])
def test_astronomical_values_are_out_of_range(override, key):
    with pytest.raises(ConfigError, match=f"{key} = .* out of range; allowed: "):
        compose([*TINY, override])


def test_invariants_treat_inf_like_nan():
    tables = {name: frame.copy() for name, frame in simulate(compose([*TINY, "end=2024-03"])).tables().items()}
    assert check_invariants(tables)["no_nan_or_negative_money"]["ok"]
    tables["providers"].loc[0, "cumulative_operating_income_usd"] = -np.inf  # a column allowed to be negative
    result = check_invariants(tables)["no_nan_or_negative_money"]
    assert not result["ok"] and "inf" in result["detail"]


def test_start_before_every_preferred_vendor_sells_is_refused_with_the_span():
    cfg = compose(["end=2024-06"])  # dataclasses.replace re-runs the checks of Config
    last_year = last_dated_fact(cfg) // 12 + HORIZON_YEARS  # the span ends in December of this year
    with pytest.raises(ConfigError, match=rf"start = 2023-11 .* google .* allowed: 2023-12 \.\. {last_year}-12"):
        dataclasses.replace(cfg, start="2023-11")
    assert dataclasses.replace(cfg, start="2023-12").start == "2023-12"
    longest = copy.copy(cfg)  # a shallow copy skips the other checks (50 years of growth fail check_scale)
    longest.end = f"{last_year}-12"
    check_span(longest)
    longest.end = f"{last_year + 1}-01"
    with pytest.raises(ConfigError, match=rf"end = {last_year + 1}-01 .* 50 years .* allowed: 2023-12 \.\. "):
        check_span(longest)


def with_third_vendor(*overrides: str) -> dict:
    """The tiny market plus labthree, whose only (frontier) model retires in 2024-03, preferred by half."""
    from omegaconf import OmegaConf

    from routesim.compose import compose_dict

    cfg = OmegaConf.to_container(compose_dict([*TINY, "end=2024-08", "output.enterprise_panel=true", *overrides]))
    cfg["market"]["providers"]["labthree"] = {"origin": "US", "serving_cost_fraction": 0.5}
    cfg["market"]["models"]["third"] = {"provider": "labthree", "tier": "frontier", "release": "2020-01",
                                        "retire": "2024-03", "price_in_usd_per_mtok": 2.0,
                                        "price_out_usd_per_mtok": 8.0, "ability": 1.5}
    cfg["population"]["preferred_vendor_weights"]["labthree"] = 1.0
    return cfg


def test_a_vendor_without_models_loses_its_customers_or_the_run_is_refused():
    from routesim.config import to_config

    res = simulate(to_config(with_third_vendor()))  # from 2024-04 its customers move to labone
    assert all(v["ok"] for v in res.metadata["invariants"].values())
    panel, april = res.enterprise_panel, pd.Timestamp("2024-04-01")
    assert (panel.loc[panel["month"] < april, "preferred"] == 2).sum() > 50
    assert not (panel.loc[panel["month"] >= april, "preferred"] == 2).any()
    models = res.models
    assert models.loc[(models["model"] == "third") & (models["month"] >= april), "calls"].sum() == 0
    # with labone's models gone too, labthree's customers without overseas access have nowhere to go
    with pytest.raises(ConfigError, match=r"end = 2024-08 .* in 2024-04 labone, labtwo, labthree have no everyday "
                                          r"model on offer to customers without overseas access.* "
                                          r"allowed: 2020-01 \.\. 2024-03"):
        to_config(with_third_vendor("++market.models.big.retire=2024-03", "++market.models.small.retire=2024-03"))


def test_scale_estimate_bounds_the_simulated_bill_and_refuses_the_absurd():
    for extra in ([], ["scenario=price_war", "demand.price_elasticity=1.1"]):  # reactive cuts, a strong rebound
        cfg = compose(["population.n_enterprises=300", *extra])
        est = scale_estimate(cfg)
        res = simulate(cfg)
        assert res.market["total_spend_usd"].max() <= 10 ** est["usd_worst"]  # an upper bound...
        assert res.market["calls"].max() <= 10 ** est["tasks_worst"]  # the estimate counts two calls a task
        assert res.market["total_spend_usd"].max() <= 10 ** est["usd"]  # ...and so is the expectation here
        assert est["usd"] < math.log10(MAX_USD_PER_MONTH) - 2  # far inside the limit at this size
    with pytest.raises(ConfigError, match=r"would (bill|demand) .*demand.price_elasticity"):
        check_scale(compose(["demand.price_elasticity=5", "population.n_enterprises=10000000"]))


def test_memory_estimate_refuses_with_estimate_and_limit():
    cfg = compose([*TINY, "population.n_enterprises=1000000"])
    need = estimate_peak_bytes(cfg)
    assert 1e9 < need < 3e9  # ~2.2 KB per enterprise at this horizon plus the interpreter
    check_memory(cfg, available=need * 1.1)
    with pytest.raises(ConfigError, match=r"needs an estimated \d\.\d+ GB .* than the 1 GB available"):
        check_memory(cfg, available=1e9)
    logit = compose([*TINY, "population.n_enterprises=1000000", "router=logit"])
    panel = compose([*TINY, "population.n_enterprises=1000000", "output.enterprise_panel=true"])
    assert estimate_peak_bytes(logit) > need and estimate_peak_bytes(panel) > need


def test_config_is_still_checked_when_replaced():
    cfg = compose(TINY)
    with pytest.raises(ConfigError, match="start = 1990-01"):
        dataclasses.replace(cfg, start="1990-01")
    assert isinstance(dataclasses.replace(cfg, seed=5), Config)


def test_tables_written_with_the_umask(tmp_path):
    import os

    from routesim.results import write_metadata, write_tables

    old = os.umask(0o022)
    try:
        res = simulate(compose([*TINY, "end=2024-02"]))
        write_tables(res, tmp_path)
        write_metadata({"status": "complete"}, tmp_path)
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes["run.json"] == 0o644 and modes["market.parquet"] == 0o644, modes
    assert not pd.Series(list(modes)).str.endswith(".tmp").any()


# The child's own peak: VmHWM belongs to the memory image the child exec'd into, while Linux
# carries ru_maxrss over from the forked parent (a large pytest process would set it). It
# prints the resident memory after the imports and the config, then the peak of the run.
PEAK = """
import re, sys
from routesim import compose, simulate
cfg = compose(sys.argv[1:])
def status(key):
    with open("/proc/self/status") as f:
        return int(re.search(key + r":\\s+(\\d+) kB", f.read()).group(1)) * 1024
imports = status("VmRSS")
simulate(cfg)
print(imports, status("VmHWM"))
"""


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [
    ["population.n_enterprises=100000", "end=2030-12"],  # the default horizon
    ["population.n_enterprises=50000", "workload.segments_per_family=8", "end=2025-12"],
    # every enterprise buying and routing from the start: the logit term counts every enterprise as a router
    ["population.n_enterprises=30000", "router=logit", "adoption.initial_share=1.0",
     "population.active_share_at_start=1", "end=2024-06"],
    ["population.n_enterprises=50000", "output.enterprise_panel=true", "end=2030-12"],
])
def test_memory_estimate_bounds_the_measured_peak(overrides):
    import subprocess
    import sys

    overrides = [*overrides, "output.plots=false"]
    out = subprocess.run([sys.executable, "-c", PEAK, *overrides], capture_output=True, text=True, check=True,
                         timeout=900)
    imports, peak = (float(x) for x in out.stdout.split()[-2:])
    added = peak - imports  # what the run adds to the interpreter and libraries
    estimate = estimate_peak_bytes(compose(overrides)) - BASE_BYTES
    assert imports <= BASE_BYTES, imports / 1e6  # the base bounds the environment's imports
    assert added <= estimate <= 2 * added, (added / 1e6, estimate / 1e6)
