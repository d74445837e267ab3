"""Where a lab's revenue went: a closed-form case by hand, and the parts adding up on a real sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from routesim.analysis.attribution import PARTS, attribution
from routesim.analysis.sweep import Sweep

# (model, provider, tier): calls and revenue per call, control (no_routing) and treatment
MARKET = {("fA", "a", "frontier"): ((60, 1.0), (40, 1.2)),
          ("bA", "a", "budget"): ((10, 0.1), (20, 0.1)),
          ("bB", "b", "budget"): ((30, 0.1), (50, 0.1)),
          ("oC", "c", "overseas"): ((0, 0.0), (10, 0.05))}


def hand_sweep(seeds: int = 2) -> Sweep:
    rows, runs = [], []
    for seed in range(seeds):
        for j, scenario in enumerate(("status_quo", "no_routing")):
            run = 2 * seed + j
            runs.append({"run": run, "scenario": scenario, "seed": seed, "overrides": "", "path": ""})
            for (model, provider, tier), sides in MARKET.items():
                calls, price = sides[0] if scenario == "no_routing" else sides[1]
                rows.append({"run": run, "scenario": scenario, "seed": seed, "overrides": "",
                             "month": pd.Timestamp("2026-03-01"), "model": model, "provider": provider, "tier": tier,
                             "calls": float(calls), "revenue_usd": calls * price})
    return Sweep(runs=pd.DataFrame(runs), tables={"models": pd.DataFrame(rows)})


def test_a_market_worked_by_hand():
    """Lab a: revenue 61 -> 50. N 100 -> 120: rebound 20 x 0.61 = 12.2; its frontier's share
    falls 0.6 -> 1/3 (-32 at $1 a call), going to its own budget model (+1/15 of the market),
    lab b's (+7/60) and overseas (+1/12): -8, -14, -10; its budget model gains 0.8; the
    frontier earns $0.2 more a call on 40 calls: +8."""
    row = attribution(hand_sweep(), "a").loc[2026]
    expected = {"rebound volume": 12.2, "kept on own cheaper models": -8 + 0.8,
                "lost to other labs' budget models": -14.0, "lost to overseas models": -10.0,
                "lost to other labs' frontier models": 0.0, "revenue per call": 8.0}
    for part, value in expected.items():
        assert row[part] == pytest.approx(value, abs=1e-9), part
    assert row["total"] == pytest.approx(-11.0) and row["control revenue"] == pytest.approx(61.0)


def test_a_lab_without_a_model_is_refused():
    with pytest.raises(ValueError, match="no model of 'z'"):
        attribution(hand_sweep(), "z")


def test_parts_add_up_to_the_paired_total_on_a_real_sweep():
    from routesim import compose, simulate
    from routesim.params import configure

    base = compose(["market=tiny", "population=tiny", "fitted=none", "end=2025-12", "adoption.initial_share=0.5"])
    runs, models = [], []
    for seed in range(3):
        for scenario in ("status_quo", "no_routing"):
            cfg = configure({"seed": seed, "scenario.routing_allowed": scenario == "status_quo",
                             "scenario.name": scenario}, base)
            frame = simulate(cfg).models.assign(run=len(runs), scenario=scenario, seed=seed, overrides="")
            runs.append({"run": len(runs), "scenario": scenario, "seed": seed, "overrides": ""})
            models.append(frame)
    sweep = Sweep(runs=pd.DataFrame(runs), tables={"models": pd.concat(models, ignore_index=True)})
    for lab in ("labone", "labtwo"):
        table = attribution(sweep, lab)
        assert list(table.index) == [2024, 2025]
        np.testing.assert_allclose(table[list(PARTS)].sum(axis=1), table["total"], rtol=1e-9, atol=1e-6)
        direct = sweep.tables["models"].query("provider == @lab").assign(year=lambda f: f["month"].dt.year)
        by = direct.groupby(["scenario", "year"])["revenue_usd"].sum() / 3
        np.testing.assert_allclose(table["total"], by["status_quo"] - by["no_routing"], rtol=1e-9)
    assert (table["total"] != 0).any()  # routing moved something
