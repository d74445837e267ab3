"""The parameter API: a mapping of parameters gives the config (and run) the CLI's overrides give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import TINY
from routesim import ConfigError, compose, run, simulate
from routesim.params import configure
from routesim.results import TABLES

SAME_AS_COMPOSE = [
    {"scenario": "price_war", "seed": 3, "adoption.imitation_q": 0.05, "population.n_enterprises": 500,
     "population.preferred_vendor_weights.openai": 2, "access.overseas_risk_premium": "3.5", "end": "2026-12"},
    # a cross-field rule checked on the final values, whatever the order (as Hydra does)
    {"market": "tiny", "population": "tiny", "fitted": "none", "population.active_share_at_start": 0.5,
     "population.entry_hazard": 0.1, "budget.behaviour_shares.overspend": 0.7,
     "budget.behaviour_shares.throttle": 0.15, "switching.enabled": "false"},
]


@pytest.mark.parametrize("overrides", SAME_AS_COMPOSE, ids=lambda o: ",".join(o))
def test_configure_gives_the_config_compose_gives(overrides):
    assert configure(overrides) == compose([f"{k}={v}" for k, v in overrides.items()])


def test_a_list_of_shocks_is_typed_like_the_command_line():
    shocks = [{"month": "2026-01", "target": "tier:frontier", "price_multiplier": 0.5}]
    assert configure({"scenario.shocks": shocks}) == compose(
        ["scenario.shocks=[{month:'2026-01',target:'tier:frontier',price_multiplier:0.5}]"])


@pytest.mark.parametrize("overrides, message", [
    ({"adoption.innovation_p": 2.0}, r"adoption.innovation_p = 2.0 is out of range; allowed: \[0, 1\]"),
    ({"adoption.innovation_q": 0.1}, r"adoption.innovation_q: unknown key; allowed: initial_share"),
    ({"seed": 1.5}, "seed = 1.5 is not of type int"),
    ({"adoption.imitation_q": "fast"}, "adoption.imitation_q = 'fast' is not of type float"),
    ({"scenario": "utopia"}, "scenario = 'utopia' is not a preset; choose one of: budget_caps"),
    ({"end": "2023-01"}, r"end \(2023-01\) is before start"),
    ({"market.models.gpt_9.ability": 0.9}, "market.models.gpt_9: unknown key"),
    ({"population.active_share_at_start": 0.5, "population.entry_hazard": 0.0}, "would never enter"),
])
def test_a_bad_parameter_fails_naming_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        configure(overrides)


def test_configure_never_changes_its_base():
    base = compose([*TINY, "end=2024-12"])
    changed = configure({"seed": 5, "adoption.imitation_q": 0.2}, base=base)
    assert (changed.seed, changed.adoption.imitation_q) == (5, 0.2)
    assert base == compose([*TINY, "end=2024-12"])
    assert configure({}).seed == 0  # the cached composition was not changed either
    with pytest.raises(ConfigError, match="a config group is chosen by composing"):
        configure({"scenario": "no_routing"}, base=base)


def test_run_gives_the_tables_of_simulate_on_the_composed_config():
    overrides = {"scenario": "no_routing", "seed": 4, "population.n_enterprises": 300, "end": "2025-06",
                 "demand.price_elasticity": np.float64(0.5)}  # NumPy scalars, as drivers pass them
    fast = run(overrides)
    slow = simulate(compose(["scenario=no_routing", "seed=4", "population.n_enterprises=300", "end=2025-06",
                             "demand.price_elasticity=0.5"]))
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(slow, name), check_exact=True)
