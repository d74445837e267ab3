"""Enterprises entering the market over the run (population.active_share_at_start, entry_hazard).

The entry months follow the geometric law they are drawn from; an enterprise buys nothing
before its entry month; an entrant's first vendor choice is free of switching cost and is
not a switch; its first budget matches its demand; peers and shares count only the buyers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import PLAIN
from routesim import compose, simulate
from routesim.model import MarketModel
from routesim.population import NEVER, draw_entry

TINY = ["market=tiny", "population=tiny", "fitted=none", "end=2025-12"]
ENTRY = ["population.active_share_at_start=0.3", "population.entry_hazard=0.1"]


def entry_months(s0: float, h: float, n: int, seed: int = 5) -> np.ndarray:
    cfg = compose([*TINY, f"population.n_enterprises={n}", f"population.active_share_at_start={s0}",
                   f"population.entry_hazard={h}"])
    return draw_entry(cfg, np.random.default_rng(seed))


def test_entry_months_follow_the_geometric_law():
    s0, h, n = 0.3, 0.07, 100_000
    months = entry_months(s0, h, n)
    assert stats.binomtest(int((months == 0).sum()), n, s0).pvalue > 1e-3
    late = months[months > 0]
    assert late.min() >= 1
    horizon = 40  # months 1..40 and a tail bin, against h (1 - h)^(t - 1)
    t = np.arange(1, horizon + 1)
    expected = np.append(h * (1 - h) ** (t - 1), (1 - h) ** horizon) * len(late)
    observed = np.append(np.bincount(late, minlength=horizon + 1)[1:horizon + 1], (late > horizon).sum())
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    # the closed form of the active share: s0 + (1 - s0)(1 - (1 - h)^t)
    for month in (1, 6, 24):
        share = s0 + (1 - s0) * (1 - (1 - h) ** month)
        assert abs((months <= month).mean() - share) < 4 * np.sqrt(share * (1 - share) / n)


def test_entry_draws_are_common_random_numbers():
    slow, fast = entry_months(0.3, 0.05, 5000), entry_months(0.3, 0.2, 5000)
    assert np.array_equal(slow == 0, fast == 0)  # the same firms buy from the start
    assert (fast <= slow).all() and (fast < slow).any()  # a higher hazard: everyone enters no later
    assert (entry_months(1.0, 0.0, 5000) == 0).all()
    assert (entry_months(0.3, 1.0, 5000)[slow > 0] == 1).all()
    assert NEVER > 10**5


def test_without_late_enterprises_the_hazard_changes_nothing():
    base = simulate(compose([*TINY, "population.entry_hazard=0"]))
    other = simulate(compose([*TINY, "population.entry_hazard=0.3"]))
    pd.testing.assert_frame_equal(base.enterprises, other.enterprises)
    pd.testing.assert_frame_equal(base.providers, other.providers)


def test_an_enterprise_buys_nothing_before_it_enters():
    cfg = compose([*TINY, *ENTRY, "output.enterprise_panel=true", "adoption.innovation_p=0.2"])
    model = MarketModel(cfg).run()
    panel = simulate(cfg).enterprise_panel
    t = panel["month"].rank(method="dense").astype(int).to_numpy() - 1
    entry = model.entry_month[panel["enterprise"].to_numpy()]
    before = t < entry
    assert before.any() and (~before).any()
    assert (panel.loc[before, ["tasks", "spend_usd"]] == 0).all().all()
    assert not panel.loc[before, "routes"].any()  # nobody routes a workload it does not have yet
    assert (panel.loc[~before, "tasks"] > 0).all()
    assert panel["active"].to_numpy().tolist() == (~before).tolist()
    ent = simulate(cfg).enterprises
    assert (ent["adopters"] <= ent["active_enterprises"]).all()
    assert np.allclose(ent["adopter_share"], ent["adopters"] / ent["active_enterprises"])
    assert ent["active_enterprises"].is_monotonic_increasing
    assert ent["active_enterprises"].iloc[0] < ent["active_enterprises"].iloc[-1] <= cfg.population.n_enterprises


def test_entrants_choose_a_vendor_without_it_counting_as_a_switch():
    # a prohibitive switching cost: incumbents never move, so every vendor change is an entrant's
    base = [*TINY, *PLAIN, "switching.enabled=true", "switching.switching_cost=100",
            "switching.quality_weight=0", "switching.price_weight=2", "output.enterprise_panel=true"]
    res = simulate(compose([*base, *ENTRY]))
    assert res.enterprises["vendor_switches"].sum() == 0
    labtwo = res.enterprise_panel.query("month == month.max()")["preferred"].eq(1)  # labtwo is index 1
    assert labtwo.any()  # entrants allowed overseas models picked the cheap overseas lab
    no_entry = simulate(compose(base))
    assert not no_entry.enterprise_panel.query("month == month.max()")["preferred"].eq(1).any()


def test_an_entrants_first_budget_matches_its_demand():
    # steady prices and demand, budgets 5% above the forecast: a first budget planned from the
    # entrant's own first month is never exceeded; one 5% below it always is
    calm = [*TINY, *PLAIN, "scenario=no_routing", "budget.enabled=true", "budget.log_budget_to_forecast_mean=0.0488",
            "budget.log_budget_to_forecast_sd=0", "budget.period_months=6", "demand.growth_per_month=0"]
    ent = simulate(compose([*calm, *ENTRY])).enterprises
    assert ent["tasks_demanded"].iloc[-1] > ent["tasks_demanded"].iloc[0]  # entrants arrived
    assert ent["cap_hits"].sum() == 0
    tight = simulate(compose([*calm, *ENTRY, "budget.log_budget_to_forecast_mean=-0.0513"])).enterprises
    assert tight["cap_hits"].sum() > 0  # the check above could fail


@pytest.mark.parametrize("h", [0.05, 0.2])
def test_faster_entry_means_more_buyers_and_demand(h):
    slow = simulate(compose([*TINY, *PLAIN, "population.active_share_at_start=0.3",
                             "population.entry_hazard=0.02"])).enterprises
    fast = simulate(compose([*TINY, *PLAIN, "population.active_share_at_start=0.3",
                             f"population.entry_hazard={h}"])).enterprises
    assert (fast["active_enterprises"] >= slow["active_enterprises"]).all()
    assert fast["tasks_demanded"].sum() > slow["tasks_demanded"].sum()
