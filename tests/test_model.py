"""Whole-run behaviour: reproducibility, invariants, common random numbers, directions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import PLAIN
from routesim import compose, simulate
from routesim.metrics import InvariantError, check_invariants, raise_on_failures
from routesim.model import MarketModel
from routesim.results import TABLES


def assert_same_tables(a, b):
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def test_same_seed_same_tables_different_seed_different(tiny_cfg):
    first, again = simulate(tiny_cfg), simulate(tiny_cfg)
    assert_same_tables(first, again)
    other = simulate(compose(["market=tiny", "population=tiny", "fitted=none", "end=2024-12", "seed=1"]))
    assert not np.allclose(first.market["total_spend_usd"], other.market["total_spend_usd"])


def test_every_invariant_holds_and_is_recorded(tiny_cfg):
    res = simulate(tiny_cfg)
    inv = res.metadata["invariants"]
    assert set(inv) == {"spend_equals_revenue", "tasks_conserved", "shares_sum_to_one",
                        "no_nan_or_negative_money"}
    assert all(v["ok"] for v in inv.values())


def _edit(table: str, column: str, change):
    """A tamper that replaces one column of one table by change(column)."""
    def tamper(tables):
        frame = tables[table]
        frame[column] = change(frame[column])
    return tamper


@pytest.mark.parametrize("tamper, broken", [
    (lambda t: None, None),
    (_edit("providers", "revenue_usd", lambda c: c * 1.01), "spend_equals_revenue"),
    (_edit("enterprises", "tasks_unmet", lambda c: c + 5.0), "tasks_conserved"),
    (_edit("tiers", "token_share", lambda c: c * 0.9), "shares_sum_to_one"),
    (_edit("models", "revenue_usd", lambda c: -c), "no_nan_or_negative_money"),
    (_edit("market", "hhi_spend", lambda c: c * np.nan), "no_nan_or_negative_money"),
])
def test_broken_invariants_are_caught(tiny_cfg, tamper, broken):
    res = simulate(tiny_cfg)
    tables = {k: v.copy() for k, v in res.tables().items()}
    tamper(tables)
    inv = check_invariants(tables)
    failed = {k for k, v in inv.items() if not v["ok"]}
    if broken is None:
        assert not failed
        return
    assert broken in failed
    with pytest.raises(InvariantError, match=broken):
        raise_on_failures(inv)


def test_scenarios_share_enterprises_and_draws(tiny_cfg):
    a = MarketModel(tiny_cfg)
    b = MarketModel(compose(["market=tiny", "population=tiny", "fitted=none", "end=2024-12", "scenario=no_routing"]))
    for field in ("industry", "access", "requirement", "preferred", "base_tasks"):
        np.testing.assert_array_equal(getattr(a.population, field), getattr(b.population, field))
    np.testing.assert_array_equal(a.run().adopted, b.run().adopted)  # same adoption draws


def test_no_routing_has_zero_savings_and_routing_positive():
    base = ["market=tiny", "population=tiny", "fitted=none", "end=2025-12", "adoption.initial_share=0.5", *PLAIN]
    off = simulate(compose([*base, "scenario=no_routing"]))
    on = simulate(compose(base))
    assert (off.enterprises["savings_usd"] == 0).all()
    assert (off.enterprises["adopters"] == 0).all()
    assert (on.enterprises["savings_usd"] > 0).all()
    # same demand (no elasticity), less frontier revenue, lower frontier revenue per task
    np.testing.assert_allclose(on.enterprises["tasks_demanded"], off.enterprises["tasks_demanded"])
    assert (on.market["frontier_revenue_usd"] < off.market["frontier_revenue_usd"]).all()
    assert (on.market["frontier_revenue_per_call_usd"] < off.market["frontier_revenue_per_call_usd"]).all()


def test_adoption_with_innovation_only_follows_closed_form():
    n, p, f0 = 50_000, 0.05, 0.1
    res = simulate(compose(["market=tiny", "population=tiny", "fitted=none", "end=2026-12", *PLAIN,
                            f"population.n_enterprises={n}", f"adoption.initial_share={f0}",
                            f"adoption.innovation_p={p}", "adoption.imitation_q=0"]))
    months = np.arange(len(res.enterprises))
    expected = 1 - (1 - f0) * np.exp(-p * months)  # adopters routing in month t
    # binomial sd <= 0.5 / sqrt(n) = 0.0022: 4 sd
    assert np.max(np.abs(res.enterprises["adopter_share"].to_numpy() - expected)) < 0.009


def test_imitation_speeds_adoption(tiny_cfg):
    base = ["market=tiny", "population=tiny", "fitted=none", *PLAIN]
    slow = MarketModel(compose([*base, "adoption.imitation_q=0"])).run()
    fast = MarketModel(compose([*base, "adoption.imitation_q=0.3"])).run()
    assert fast.adopted.mean() > slow.adopted.mean()


def test_elasticity_zero_ignores_prices_and_positive_rebounds():
    base = ["market=tiny", "population=tiny", "fitted=none", "end=2025-12", "adoption.initial_share=0.5",
            "adoption.innovation_p=0.1", "adoption.require_net_savings=false"]
    flat = simulate(compose([*base, "demand.price_elasticity=0"]))
    flat_off = simulate(compose([*base, "demand.price_elasticity=0", "scenario=no_routing"]))
    np.testing.assert_allclose(flat.enterprises["tasks_demanded"], flat_off.enterprises["tasks_demanded"])
    elastic = simulate(compose([*base, "demand.price_elasticity=1.0"]))
    elastic_off = simulate(compose([*base, "demand.price_elasticity=1.0", "scenario=no_routing"]))
    # prices never change in the tiny market: without routing, elasticity changes nothing ...
    np.testing.assert_allclose(elastic_off.enterprises["tasks_demanded"], flat.enterprises["tasks_demanded"])
    # ... with it, an enterprise that starts routing after its first month pays less per
    # successful task than its reference and runs more tasks (a rebound)
    gain = elastic.enterprises["tasks_demanded"] - elastic_off.enterprises["tasks_demanded"]
    assert gain.iloc[0] == 0 and (gain.iloc[1:] >= 0).all() and gain.iloc[-1] > 0


def test_mesa_agents_read_model_rows(tiny_cfg):
    model = MarketModel(tiny_cfg).run()
    ents = model.enterprises
    assert len(ents) == model.population.size
    assert np.isclose(sum(ents.get("spend_usd")), model.spend.sum())
    assert ents.agg("tasks", np.sum) == pytest.approx(model.tasks.sum())
    # an agent's values are one real enterprise's; it stands for `weight` of them
    weighted = sum(a.weight * a.spend_usd for a in ents)
    providers = {a.name: a for a in model.providers}
    assert set(providers) == {"labone", "labtwo"}
    assert sum(a.api_revenue_usd for a in providers.values()) == pytest.approx(weighted)
    assert sum(ents.get("weight")) == pytest.approx(model.cfg.population.market_enterprises, rel=0.2)


def test_default_market_routing_lowers_frontier_revenue_and_saves(small_default_cfg):
    on = simulate(small_default_cfg)
    off = simulate(compose(["population.n_enterprises=300", "end=2026-12", "scenario=no_routing"]))
    assert (off.enterprises["savings_usd"] == 0).all()
    assert on.enterprises["savings_usd"].sum() > 0
    late = on.enterprises["month"] >= "2026-01-01"
    assert (on.enterprises.loc[late, "savings_usd"] > 0).all()
    assert on.market["frontier_revenue_usd"].sum() < off.market["frontier_revenue_usd"].sum()
    assert (on.market["frontier_revenue_per_call_usd"].iloc[-12:]
            < off.market["frontier_revenue_per_call_usd"].iloc[-12:]).all()


def test_finished_models_are_released(tiny_cfg):
    import mesa

    simulate(tiny_cfg)
    before = len(mesa.Agent._ids)
    for _ in range(3):
        simulate(tiny_cfg)
    assert len(mesa.Agent._ids) == before


def test_break_even_is_the_first_month_ending_twelve_months_in_profit():
    import mesa

    from routesim.agents import ProviderAgent

    def first_break_even(incomes: list[float]) -> int | None:
        model = mesa.Model(rng=0)
        lab = ProviderAgent(model, 0, "lab", "US", "company", None)
        for t, income in enumerate(incomes):
            model.t = t
            lab.account(max(income, 0.0), 0.0, max(-income, 0.0), 0.0, 0.0)
        return lab.first_profitable_month

    assert first_break_even([-5.0, -5.0, 20.0]) == 2  # early in a run: the months so far
    assert first_break_even([-5.0, 1.0, -5.0, -5.0]) is None  # one good month is not a profitable year
    # a year of -1 a month, then +2 a month: the 12 months ending in month 16 sum to 7 x -1 + 5 x 2 > 0 (month 15: 0)
    assert first_break_even([-1.0] * 12 + [2.0] * 12) == 16


def test_share_below_counts_the_segments_below_the_requirement():
    """billing.share_below: the cumulated weight of the segments with model + success < model + requirement.

    Successes of exactly 0 and 1, requirements of exactly 0, 1 and equal to a success: with
    75 models, model + success rounds to the next model's index when success is ~1.
    """
    from routesim.billing import share_below

    rng = np.random.default_rng(3)
    n_seg, n_mod, n_ind, n = 5, 75, 3, 2000
    success = rng.choice([0.0, 0.3, 0.5, 0.9, 1.0, np.nextafter(1.0, 0.0)], size=(n_seg, n_mod))
    success[:, ::2] = rng.random((n_seg, (n_mod + 1) // 2))
    weight = rng.dirichlet(np.ones(n_seg), n_ind)
    industry, model = rng.integers(0, n_ind, n), rng.integers(0, n_mod, n)
    requirement = rng.choice([0.0, 1.0, 0.5, 0.9, 1e-17], n)
    requirement[::3] = rng.random(len(requirement[::3]))
    requirement[1::7] = success[0].take(model[1::7])
    top = np.nextafter(1.0, 0.0)
    got = share_below(success, weight, industry, model, requirement)
    for e in range(n):
        m = int(model[e])
        segments = sorted(range(n_seg), key=lambda k: success[k, m])  # stable, as the cumulated weights
        query = m + min(max(float(requirement[e]), 0.0), top)
        below = [k for k in segments if m + min(float(success[k, m]), top) < query]
        expected = 0.0
        for k in segments[:len(below)]:
            expected += weight[industry[e], k]
        assert got[e] == expected
