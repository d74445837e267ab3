"""Property-based checks on randomly generated small markets and populations (hypothesis).

The default suite is deterministic: a fixed, derandomised set of examples (the same on
every machine and every run, no example database) plus every market stored in
``tests/data/property_examples/`` (failures found earlier, kept as regression cases). The
slow suite explores widely (>= 1,000 random markets against the per-agent reference) and
writes the shrunk failing market of a new disagreement to that folder, so that once
committed it runs in the default suite for good.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from reference import reference_run
from routesim import simulate
from routesim.compose import compose_dict
from routesim.config import to_config
from routesim.metrics import build_tables
from routesim.model import MarketModel
from routesim.results import TABLES, load_run, write_metadata, write_tables

EXAMPLES_DIR = Path(__file__).parent / "data" / "property_examples"
NEW_FAILURE = EXAMPLES_DIR / "new_failure.json"  # written by the slow suite; rename and commit it
FAST = settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow])  # deterministic: conftest
WIDE = settings(max_examples=1000, derandomize=False, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))
REFERENCE_COLUMNS = ("spend_usd", "tasks_served", "tasks_unmet", "adopters", "router_fees_usd",
                     "active_enterprises", "vendor_switches", "cap_hits")


@st.composite
def markets(draw, plain: bool = False):
    """A random small market and population on the default config's behaviours."""
    cfg = OmegaConf.to_container(compose_dict(["market=tiny", "population=tiny", "fitted=none"]))
    n_prov = draw(st.integers(1, 3))
    providers = {f"p{j}": {"origin": draw(st.sampled_from(["US", "CN", "EU"])) if j else "US",
                           "serving_cost_fraction": draw(st.floats(0.1, 0.9))} for j in range(n_prov)}
    models = {}
    for j in range(draw(st.integers(1, 5))):
        models[f"m{j}"] = {"provider": f"p{draw(st.integers(0, n_prov - 1))}",
                           "tier": draw(st.sampled_from(["frontier", "budget", "overseas"])),
                           "release": draw(st.sampled_from(["2020-01", "2024-02", "2024-04"])),
                           "price_in_usd_per_mtok": draw(st.floats(0.05, 20)),
                           "price_out_usd_per_mtok": draw(st.floats(0.1, 60)),
                           "ability": draw(st.floats(-4.0, 3.0)),
                           "output_tokens_multiplier": draw(st.sampled_from([1.0, 2.5])),
                           "flagship_eligible": draw(st.booleans())}
    models["flag"] = {"provider": "p0", "tier": "frontier", "release": "2020-01", "price_in_usd_per_mtok": 3.0,
                      "price_out_usd_per_mtok": 15.0, "ability": draw(st.floats(0.0, 3.0))}
    cfg["market"] = {"name": "random", "providers": providers, "models": models, "trends": {"start": "2099-01"},
                     "benchmarks": {}}
    pop = cfg["population"]
    pop["n_enterprises"] = draw(st.integers(5, 40))
    pop["market_enterprises"] = draw(st.sampled_from([5.0, 1000.0, 1e6]))
    cfg["workload"]["segments_per_family"] = draw(st.integers(1, 3))
    pop["preferred_vendor_weights"] = {"p0": 1.0}
    pop["requirement_low"] = draw(st.floats(0.0, 0.9))
    pop["requirement_high"] = draw(st.floats(pop["requirement_low"], 0.99))
    cfg["end"] = "2024-06"
    cfg["seed"] = draw(st.integers(0, 1000))
    cfg["router"]["policy"] = draw(st.sampled_from(["single", "threshold", "cost_optimal", "cascade", "learned",
                                                    "logit"]))
    cfg["adoption"]["initial_share"] = draw(st.floats(0.0, 1.0))
    cfg["demand"]["price_elasticity"] = draw(st.sampled_from([0.0, 0.3, 1.0]))
    cfg["budget"]["enabled"] = draw(st.booleans())
    cfg["budget"]["period_months"] = draw(st.sampled_from([3, 12]))
    cfg["budget"]["log_budget_to_forecast_mean"] = draw(st.floats(-0.5, 0.3))
    cfg["router"]["in_house_share"] = draw(st.floats(0.0, 1.0))
    cfg["router"]["neutral_other_vendor_premium"] = draw(st.sampled_from([0.0, 0.3]))
    cfg["switching"]["enabled"] = draw(st.booleans())
    if draw(st.booleans()):  # enterprises entering over the run
        pop["active_share_at_start"] = draw(st.floats(0.05, 1.0))
        pop["entry_hazard"] = draw(st.floats(0.01, 1.0))
    return cfg


def assert_matches_reference(cfg: dict) -> None:
    """The run keeps its invariants, and the vectorised model equals the per-agent reference."""
    config = to_config(cfg)
    res = simulate(config)  # raises if an invariant breaks
    for name, key in (("providers", "revenue_usd"), ("tiers", "revenue_usd")):
        frame = getattr(res, name)
        totals = frame.groupby("month")[key].sum()
        shares = frame.groupby("month")["spend_share"].sum()
        assert np.allclose(shares[totals > 0], 1.0)
    ent = build_tables(MarketModel(config).run())["enterprises"]
    ref = reference_run(config)
    for column in REFERENCE_COLUMNS:
        np.testing.assert_allclose(ent[column].to_numpy(), ref[column], rtol=1e-9, atol=1e-9, err_msg=column)


@FAST
@given(cfg=markets())
def test_random_markets_keep_their_invariants_and_match_the_reference(cfg):
    assert_matches_reference(cfg)


def stored_examples() -> list[Path]:
    return sorted(p for p in EXAMPLES_DIR.glob("*.json"))


@pytest.mark.parametrize("path", stored_examples(), ids=lambda p: p.stem)
def test_stored_examples_match_the_reference(path):
    assert_matches_reference(json.loads(path.read_text())["config"])


def test_the_regression_examples_are_there():
    # the market a fresh clone once drew (issue 18): entrants forced off an overseas-tier flagship
    assert "entrant_forced_off_overseas_flagship" in [p.stem for p in stored_examples()]


@FAST
@given(cfg=markets(), data=st.data())
def test_cost_optimal_never_costs_more_when_the_flagship_meets_the_requirement(cfg, data):
    # an oracle router, no fees, requirements the flagship meets on every segment
    cfg["router"].update(policy="cost_optimal", fee_share_of_spend=0.0, fee_usd_per_1k_requests=0.0,
                         integration_cost_usd=0.0)
    cfg["population"].update(requirement_low=0.0, requirement_high=data.draw(st.floats(0.0, 0.05)))
    cfg["market"]["models"]["flag"]["ability"] = 20.0
    cfg["access"].update(overseas_risk_premium=0.0, overseas_quality_discount=0.0)
    cfg["budget"]["enabled"] = False
    res = simulate(to_config(cfg))
    ent = res.enterprises
    assert (ent["savings_usd"] >= -1e-9 * ent["no_routing_spend_usd"].max()).all()


@FAST
@given(cfg=markets())
def test_tables_round_trip_through_parquet_exactly(cfg, tmp_path_factory):
    res = simulate(to_config(cfg))
    out = tmp_path_factory.mktemp("run")
    write_tables(res, out)
    write_metadata(res.metadata, out)
    back = load_run(out)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(back, name), getattr(res, name), check_exact=True)


@pytest.mark.slow
@WIDE
@given(cfg=markets())
def test_many_random_markets_match_the_reference(cfg):
    try:
        assert_matches_reference(cfg)
    except Exception:
        # Hypothesis replays the shrunk failing example last, so the file ends up holding it
        NEW_FAILURE.write_text(json.dumps({"found": "slow suite (rename me, say what broke)", "config": cfg},
                                          indent=1, sort_keys=True, default=str))
        raise
