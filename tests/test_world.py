"""The world behaves like a market, not like its artefacts (issue 13).

* agents are a weighted sample: totals estimate the real market whatever their number;
* no provider's usage share jumps by more than 10 points in a month unless a dated catalogue
  event that month explains it;
* budgets are yearly episodes: at most one cap hit per enterprise and budget year.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from routesim import compose, simulate
from routesim.catalog import build_catalog
from routesim.model import MarketModel


def totals(n: int, seeds: range, end: str = "2025-12") -> tuple[pd.Series, pd.DataFrame]:
    """Mean over seeds of 2025 total spend and each lab's 2025 revenue, and of 2025 usage shares."""
    cfg = compose([f"population.n_enterprises={n}", f"end={end}", "output.plots=false"])
    money, shares = [], []
    for seed in seeds:
        res = simulate(dataclasses.replace(cfg, seed=seed))
        p = res.providers[res.providers["month"].dt.year == 2025]
        money.append(pd.concat([pd.Series({"total": p["revenue_usd"].sum(),
                                           "tasks": res.enterprises.loc[res.enterprises["month"].dt.year == 2025,
                                                                        "tasks_demanded"].sum()}),
                                p.groupby("provider")["revenue_usd"].sum()]))
        shares.append(p.groupby("provider")["usage_share"].mean())
    return pd.concat(money, axis=1).mean(axis=1), pd.concat(shares, axis=1).mean(axis=1)


def test_totals_do_not_depend_on_the_number_of_agents_quick():
    small, small_shares = totals(600, range(2))
    large, large_shares = totals(6000, range(2))
    big = ["total", "tasks", "openai", "anthropic", "google"]
    np.testing.assert_allclose(small[big], large[big], rtol=0.15)
    assert (small_shares - large_shares).abs().max() < 0.05


@pytest.mark.slow
def test_totals_at_2000_and_50000_agents_agree_within_5_percent_and_shares_within_2_points():
    """20 seeds at 2,000 agents against 5 at 50,000: the mean of 5 seeds at 2,000 agents has a
    relative sd of ~3% for Anthropic's and ~4% for Google's 2025 revenue, so 5 seeds there
    cannot resolve a 5% tolerance (changed from 5 seeds after the 2026-11-30 refit failed it at
    5.2% and 5.6% with seeds 0-4, a choice made with the result in view). Open: over 30 seeds at
    2,000 agents Google's revenue came out 4% under 10 seeds at 50,000, but within 0.4% of 5
    seeds at 10,000 (a review's check), so a small-sample bias is neither shown nor ruled out."""
    small, small_shares = totals(2000, range(20))
    large, large_shares = totals(50_000, range(5))
    big = ["total", "tasks", "openai", "anthropic", "google"]
    np.testing.assert_allclose(small[big], large[big], rtol=0.05)
    assert (small_shares - large_shares).abs().max() < 0.02


def catalogue_events(cfg) -> dict[str, set[str]]:
    """Month ("YYYY-MM") -> the dated catalogue events of that month (releases, retirements, price changes)."""
    cat = build_catalog(cfg)
    events: dict[str, set[str]] = {}
    months = [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in cat.months]
    for j, mid in enumerate(cat.model_ids):
        on = cat.available[:, j]
        for t in range(1, len(months)):
            if on[t] != on[t - 1]:
                events.setdefault(months[t], set()).add(("release " if on[t] else "retire ") + mid)
            moved = cat.price_in[t, j] != cat.price_in[t - 1, j] or cat.price_out[t, j] != cat.price_out[t - 1, j]
            if on[t] and moved:
                events.setdefault(months[t], set()).add("price " + mid)
    return events


# Months where a provider's usage share moves by more than 10 points in the default run, and the
# dated catalogue event behind each (checked by the test: the event is in the catalogue that month).
# On the fit of 2026-12-01 (the coding specialist): 2024-10, OpenAI -11 to -14 points in every
# seed. Claude 3.5 Sonnet (new) scores 49% on SWE-bench Verified (the first 3.5 Sonnet 33%, GPT-4o
# 39%, the catalogue's scores): the third
# of enterprises that review their labs that month move their coding tasks to it (OpenAI's share
# of specialists 0.97 -> 0.66, then 0.39 in 2024-11), while Gemini 1.5 Pro/Flash 002 at their
# cut prices replace the 001 models. None on the fit of 2026-11-30 (largest monthly move 0.086,
# Anthropic at claude_3_7_sonnet, 2025-03). The fit before it had five, each at a release:
# 2024-03 claude_3_sonnet, 2024-05 gpt_4o, 2024-07 gemini_1_5_pro (then catalogued at its
# tracker month; Google's everyday model became the dearer 1.5 Pro), 2024-10 gemini_1_5_pro_002
# and 2025-02 gemini_2_0_flash.
# 2025-02, Google +12 points in seed 0 only: a routing enterprise in a usage spike (99x its base
# tasks, 4.7% of the month's tasks) routes them to Gemini 2.0 Flash-Lite, released that month;
# the spike is over in 2025-03.
EXPLAINED: dict[str, str] = {"2024-10": "release claude_3_5_sonnet_v2", "2025-02": "release gemini_2_0_flash_lite"}
# Jumps with no catalogue event, still open: none. The last one, 2024-02 (entrants choosing by
# quality and price alone took Google from 10% to ~20% of usage in one month), went with the
# labs' logit constants inverted from the 2023 shares (switching.vendor_constants).
OPEN: dict[str, str] = {}


def test_no_usage_share_jumps_more_than_10_points_in_a_month_without_a_catalogue_event():
    cfg = compose(["population.n_enterprises=4000", "output.plots=false"])
    events = catalogue_events(cfg)
    jumps = {}
    for seed in range(5):
        p = simulate(dataclasses.replace(cfg, seed=seed)).providers
        wide = p.pivot(index="month", columns="provider", values="usage_share")
        moved = wide.diff().abs()
        for month, row in moved.iterrows():
            for provider, change in row.items():
                if change > 0.10:
                    jumps.setdefault(f"{month:%Y-%m}", set()).add(provider)
    unexplained = {m: sorted(p) for m, p in jumps.items() if m not in EXPLAINED and m not in OPEN}
    assert not unexplained, f"share jumps > 10 points with no listed catalogue event: {unexplained}"
    for month, event in EXPLAINED.items():
        assert event in events.get(month, set()), (month, event)
    assert set(OPEN) <= set(jumps), f"fixed: remove {sorted(set(OPEN) - set(jumps))} from OPEN"


def test_budget_overruns_are_yearly_episodes():
    model = MarketModel(compose(["population.n_enterprises=800", "end=2026-12", "output.enterprise_panel=true"]))
    hits = np.zeros(model.population.size)
    last_round = model.budgets.next_round.copy()
    while model.t < model.n_months:
        before = model.budgets.at_cap.copy()
        rounds = model.budgets.next_round.copy()
        model.step()
        new_period = model.budgets.next_round != rounds
        hits = np.where(new_period & (rounds >= 0), 0, hits)  # a new budget year starts the count again
        hits += model.at_cap & ~(before & ~new_period)
        assert hits.max() <= 1, "an enterprise hit its cap twice in one budget year"
    assert (last_round < 0).all()
    res_enterprises = pd.DataFrame(model.record.enterprise)
    assert res_enterprises["cap_hits"].sum() > 0


def test_the_monthly_at_cap_share_follows_from_the_yearly_overruns():
    """2025 in the default market: the at-cap share of enterprise-months against the yearly figures.

    An overrun by x, spent evenly, is at its cap for the last x / (1 + x) of its year, so the
    at-cap share is about overrun share x x / (1 + x) (x the mean overspend; less by Jensen's
    inequality and because bills that grow within the year reach the cap later). The old
    at_round rule overran by more.
    """
    base = ["population.n_enterprises=3000", "output.plots=false", "end=2026-01"]
    run = simulate(compose(base)).enterprises.set_index("month")
    year = run.loc["2025-02":"2026-01"]
    share, x = year["budget_overrun_share"].mean(), year["budget_overspend_mean"].mean()
    implied = share * x / (1 + x)
    # (a band, not an equality: the years closing in the window and the months at the cap in it
    # are not the same enterprise-years while the market grows)
    assert 0.5 * implied <= year["at_cap_share"].mean() <= 1.5 * implied
    # and against the source: DoiT's 79% overrunning by 23.5% on average implies 0.79 x 0.235 /
    # 1.235 = 0.15 of enterprise-months at the cap. The band (within a third) was set with the
    # 2026-11-30 refit's 0.12 in view; the posterior before it (0.235, overruns of ~47%) fails it.
    # The shipped fit gives 0.112 here (3,000 agents, seed 0) against the floor 0.100: a thin
    # margin, and the README's 0.112 (10,000 agents, seeds 0-4) says the same.
    doit = 0.79 * 0.235 / 1.235
    assert 2 / 3 * doit <= run.loc["2025", "at_cap_share"].mean() <= 4 / 3 * doit
    old = simulate(compose([*base, "budget.forecast=at_round", "budget.log_budget_to_forecast_mean=-0.48",
                            "budget.log_budget_to_forecast_sd=0.1"])).enterprises.set_index("month")
    # the old rule overran by more (the shipped 2026-11-30 fit, seed 0: 1.06 against 0.33)
    assert old.loc["2025-02":"2026-01", "budget_overspend_mean"].mean() > x


def _budgets(n: int = 1):
    from routesim.billing import Budgets

    b = Budgets.empty(n)
    b.next_round[:] = 12
    b.length[:] = 12
    b.log_ratio[:] = np.log(0.8)
    return b


def test_a_rolling_budget_is_set_in_the_first_month_then_only_revised_up_and_frozen_at_the_cap():
    """A bill that halves leaves headroom (routing relieves the budget); one that grows is budgeted.

    The cap freezes it.
    """
    from routesim.billing import apply_caps, reforecast

    flat = np.zeros(40)  # no trend: the projection is the run-rate x the months left
    throttle = np.array([0])  # 0 = throttle (CAP_BEHAVIOURS order)

    def year(bills):
        b, on, one = _budgets(), np.array([True]), np.ones(1)
        budgets, hit = [], None
        for t, bill in enumerate(bills):
            reforecast(b, np.array([bill]), one, t, on, flat)
            budgets.append(b.budget[0])
            out = apply_caps(b, np.array([bill]), np.array([bill]), throttle, 3.0, on, one)
            if out.cap_hit[0] and hit is None:
                hit = t
        return np.array(budgets), hit

    steady, hit_steady = year([1.0] * 12)
    np.testing.assert_allclose(steady, 9.6)  # 0.8 x 12, set in month 0 and never moved
    assert hit_steady == 9  # paid 10 > 9.6 in the tenth month
    halved, hit_halved = year([1.0] * 6 + [0.5] * 6)
    np.testing.assert_allclose(halved, 9.6)  # not revised down: the saving is headroom
    assert hit_halved is None  # 9.0 paid against 9.6
    grown, _ = year([1.0] * 6 + [2.0] * 6)
    assert grown[6] == pytest.approx(0.8 * (6 + 2 * 6)) and (np.diff(grown) >= 0).all()
    capped, hit_capped = year([1.0] * 10 + [5.0] * 2)  # a spike after the cap: not budgeted
    assert hit_capped == 9 and capped[10] == capped[9] == pytest.approx(9.6)


def test_vendor_constants_reproduce_the_shares_they_are_inverted_from():
    from routesim.vendors import vendor_constants

    rng = np.random.default_rng(3)
    utility = rng.normal(0, 3, size=(6, 4))
    utility[0, 2] = -np.inf  # a lab with nothing on offer to one group
    weight = rng.random(6)
    shares = np.array([0.5, 0.3, 0.2, 0.0])
    xi = vendor_constants(utility, weight, shares)
    v = (utility + xi)[:, :3]
    prob = np.exp(v - v.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(weight @ prob / weight.sum(), shares[:3], atol=1e-9)
    assert xi[:3].min() == 0.0 and xi[3] == 0.0  # the smallest anchored constant and the unanchored lab level
    # a group with no anchored lab on offer, or with no weight, is left out rather than poisoning the result
    empty = np.vstack([utility, [-np.inf, -np.inf, -np.inf, 1.0]])
    np.testing.assert_allclose(vendor_constants(empty, np.append(weight, 5.0), shares), xi, atol=1e-9)
    from routesim import ConfigError
    with pytest.raises(ConfigError, match="no everyday model on offer"):
        vendor_constants(np.where(np.arange(4) == 1, -np.inf, utility), weight, shares)


def test_entrants_choose_like_the_incumbents_in_the_first_months():
    """With the constants, the first month's entrants pick labs near the 2023 shares (Google ~10%, not ~60%).

    At the weights of the first posterior (quality 49, price 3.6), where the 2024-02 jump was seen.
    """
    weights = ["switching.quality_weight=49", "switching.price_weight=3.6"]
    model = MarketModel(compose(["population.n_enterprises=6000", "end=2024-03", "population.entry_hazard=0.3",
                                 *weights]))
    model.step()
    before = model.active.copy()
    model.step()  # 2024-02: no release that month
    entrants = model.active & ~before
    google = model.catalog.provider_ids.index("google")
    share = model.weight[entrants & (model.preferred == google)].sum() / model.weight[entrants].sum()
    assert share < 0.2
    none = MarketModel(compose(["population.n_enterprises=6000", "end=2024-03", "population.entry_hazard=0.3",
                                *weights, "switching.vendor_constants=none"]))
    none.step()
    before = none.active.copy()
    none.step()
    entrants = none.active & ~before
    assert none.weight[entrants & (none.preferred == google)].sum() / none.weight[entrants].sum() > share + 0.2
