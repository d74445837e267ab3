"""Each enterprise behaviour moves results in the direction it should (issue 4)."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from conftest import PLAIN
from routesim import compose, simulate
from routesim.compose import compose_dict
from routesim.config import to_config

TINY = ["market=tiny", "population=tiny", "fitted=none", "end=2025-12", *PLAIN]
ALL_ROUTE = [*TINY, "adoption.initial_share=1.0"]
THROTTLE_ONLY = "budget.behaviour_shares={throttle: 1, overspend: 0, downgrade: 0}"
OVERSPEND_ONLY = "budget.behaviour_shares={throttle: 0, overspend: 1, downgrade: 0}"
DOWNGRADE_ONLY = "budget.behaviour_shares={throttle: 0, overspend: 0, downgrade: 1}"


def ent(overrides):
    return simulate(compose(overrides)).enterprises


def test_tighter_cap_lowers_spend_and_raises_unmet():
    throttle = [*TINY, "budget.enabled=true", THROTTLE_ONLY,
                "demand.spike_probability=0.05"]
    loose = ent([*throttle, "budget.log_budget_to_forecast_mean=0.7"])
    tight = ent([*throttle, "budget.log_budget_to_forecast_mean=-0.2"])
    assert tight["spend_usd"].sum() < loose["spend_usd"].sum()
    assert tight["tasks_unmet"].sum() > loose["tasks_unmet"].sum()
    assert tight["cap_hits"].sum() > loose["cap_hits"].sum()
    assert (tight["overspend_usd"] == 0).all()  # throttlers never pay above budget


def test_overspenders_breach_and_heavy_tails_make_runaways():
    over = [*TINY, "budget.enabled=true", OVERSPEND_ONLY,
            "budget.log_budget_to_forecast_mean=0.18", "demand.spike_pareto_alpha=1.1"]
    calm = ent([*over, "demand.spike_probability=0"])
    spiky = ent([*over, "demand.spike_probability=0.05"])
    assert spiky["overspend_usd"].sum() > calm["overspend_usd"].sum()
    assert spiky["runaway_events"].sum() > 0
    assert spiky["max_bill_to_budget"].max() > 3.0
    assert (spiky["tasks_throttled"] == 0).all()


def test_downgrade_moves_spend_to_cheaper_models():
    # routers on the flagship-only "single" policy, so only the downgrade moves them
    base = [*TINY, "budget.enabled=true", "budget.log_budget_to_forecast_mean=-0.36", "adoption.initial_share=1",
            "router=single"]
    throttle = simulate(compose([*base, THROTTLE_ONLY]))
    downgrade = simulate(compose([*base, DOWNGRADE_ONLY]))
    assert downgrade.enterprises["downgraded"].sum() > 0
    # downgraders serve more of their tasks for the money, on cheaper (budget/overseas) models
    assert downgrade.enterprises["tasks_unmet"].sum() < throttle.enterprises["tasks_unmet"].sum()
    frontier = lambda r: r.tiers.query("tier == 'frontier'")["usage_share"].mean()  # noqa: E731
    assert frontier(downgrade) < frontier(throttle)


def test_only_routers_downgrade_the_rest_throttle():
    base = [*TINY, "budget.enabled=true", "budget.log_budget_to_forecast_mean=-0.36", DOWNGRADE_ONLY]
    off = simulate(compose([*base, "scenario=no_routing"])).enterprises
    assert off["downgraded"].sum() == 0 and off["tasks_throttled"].sum() > 0
    assert (off["savings_usd"] == 0).all()


def test_cap_hits_push_adoption():
    base = [*TINY, "budget.enabled=true", THROTTLE_ONLY,
            "budget.log_budget_to_forecast_mean=-0.1", "adoption.initial_share=0"]
    assert ent([*base, "adoption.cap_hit_push=0.5"])["adopters"].iloc[-1] > \
        ent([*base, "adoption.cap_hit_push=0"])["adopters"].iloc[-1]


def test_rational_check_blocks_adoption_that_does_not_pay():
    base = [*TINY, "adoption.initial_share=0", "adoption.innovation_p=0.2",
            "adoption.require_net_savings=true"]
    cheap = ent([*base, "router.integration_cost_usd=0"])
    dear = ent([*base, "router.integration_cost_usd=1e12"])
    assert cheap["adopters"].iloc[-1] > 0
    assert dear["adopters"].iloc[-1] == 0


def test_router_fees_and_integration_cost_reduce_savings_not_provider_revenue():
    free = simulate(compose([*ALL_ROUTE]))
    paid = simulate(compose([*ALL_ROUTE, "router.fee_share_of_spend=0.1"]))
    np.testing.assert_allclose(free.providers["revenue_usd"], paid.providers["revenue_usd"])
    np.testing.assert_allclose(paid.enterprises["router_fees_usd"], 0.1 * paid.enterprises["spend_usd"])
    assert paid.enterprises["savings_usd"].sum() < free.enterprises["savings_usd"].sum()


def test_learned_router_noise_costs_quality_or_money():
    oracle = ent([*ALL_ROUTE, "router.policy=learned", "router.learned_noise_sd=0"])
    cost_opt = ent([*ALL_ROUTE, "router=cost_optimal"])
    np.testing.assert_allclose(oracle["spend_usd"], cost_opt["spend_usd"])
    noisy = ent([*ALL_ROUTE, "router.policy=learned", "router.learned_noise_sd=0.15"])
    below = lambda e: e["tasks_below_requirement"].sum() / e["tasks_served"].sum()  # noqa: E731
    assert below(noisy) > below(oracle)


def test_cascade_pays_less_than_strong_only_when_cheap_model_often_succeeds():
    cascade = ent([*ALL_ROUTE, "router.policy=cascade", "router.cascade_first_success=0.6"])
    single = ent([*ALL_ROUTE, "router=single"])
    assert cascade["spend_usd"].sum() < single["spend_usd"].sum()


def test_logit_price_weight_moves_share_to_cheap_models():
    def cheap_share(weight):
        res = simulate(compose([*ALL_ROUTE, "router.policy=logit", f"router.logit_price_weight={weight}"]))
        return 1 - res.tiers.query("tier == 'frontier'")["usage_share"].mean()
    assert cheap_share(3.0) > cheap_share(0.5)


def test_overseas_risk_premium_and_ban_cut_overseas_share():
    def overseas(extra):
        res = simulate(compose([*ALL_ROUTE, *extra]))
        return res.tiers.query("tier == 'overseas'").set_index("month")["token_share"]
    base = overseas([])
    assert overseas(["access.overseas_risk_premium=3.0"]).mean() < base.mean()
    banned = overseas(["access.ban_start=2025-01", "access.ban_share=1.0"])
    assert (banned.loc["2025-01-01":] == 0).all() and (banned.loc[:"2024-12-01"] > 0).all()


def with_rival(overrides):
    """The tiny market plus a second US lab with an equally capable flagship at a fifth of the price."""
    cfg = OmegaConf.to_container(compose_dict(overrides))
    cfg["market"]["providers"]["rival"] = {"origin": "US", "serving_cost_fraction": 0.6}
    cfg["market"]["models"]["rival_big"] = {
        "provider": "rival", "tier": "frontier", "release": "2020-01", "price_in_usd_per_mtok": 0.6,
        "price_out_usd_per_mtok": 3.0, "ability": 2.0}
    return to_config(cfg)


def test_switching_moves_customers_to_better_value_flagships():
    share = lambda r: r.providers.query("provider == 'rival'")["token_share"].iloc[-1]  # noqa: E731
    domestic = [*TINY, "scenario=no_routing", "population.industries.easy.overseas_allowed_share=0",
                "switching.specialist_family=null"]  # two labs, one for all of a firm's work
    stay = simulate(with_rival(domestic))
    move = simulate(with_rival([*domestic, "switching.enabled=true", "switching.switching_cost=0.5"]))
    sticky = simulate(with_rival([*domestic, "switching.enabled=true", "switching.switching_cost=100"]))
    assert share(stay) == 0 and share(sticky) == 0
    # logit switching: P(leave) = 1 / (1 + e^(-(ln 5 - 0.5))) = 0.75 per review, P(come back) =
    # 1 / (1 + e^(ln 5 + 0.5)) = 0.11, so the rival's share tends to 0.75 / 0.86 = 0.87
    assert share(move) == pytest.approx(0.87, abs=0.08)
    assert move.enterprises["vendor_switches"].sum() > 0


def vendor_history(overrides):
    """(T, N) preferred provider index per month, and the model (for its population)."""
    from routesim.model import MarketModel

    model = MarketModel(compose([*overrides, "output.enterprise_panel=true"])).run()
    return np.array([month["preferred"] for month in model.record.panel]), model


OVERSEAS_VENDOR = [*TINY, "scenario=no_routing", "switching.enabled=true", "switching.switching_cost=0.5"]


def test_overseas_labs_are_vendors_only_where_overseas_models_are_allowed():
    history, model = vendor_history([*OVERSEAS_VENDOR, "access.ban_start=2025-01", "access.ban_share=1.0"])
    labtwo = model.catalog.provider_ids.index("labtwo")
    allowed = model.population.access == 1
    ban = 12  # 2025-01 is the 13th month
    assert (history[:ban][:, allowed] == labtwo).any()  # some allowed enterprises chose the CN lab ...
    assert not (history[:, ~allowed] == labtwo).any()  # ... no one without access ever did
    assert not (history[ban:] == labtwo).any()  # and the ban moved its customers in the ban month


def test_customers_of_a_lab_left_without_an_everyday_model_move_that_month():
    model_id = "cheap"  # labtwo's only model, retired from 2025-01 on
    history, model = vendor_history([*OVERSEAS_VENDOR, "switching.reevaluation_months=12",
                                     f"++market.models.{model_id}.retire=2024-12"])
    labtwo = model.catalog.provider_ids.index("labtwo")
    assert (history[:12] == labtwo).any() and not (history[12:] == labtwo).any()
    assert np.isfinite(model.spend).all()


def test_a_domestic_lab_that_also_sells_an_overseas_model_keeps_its_customers():
    """Access is about the everyday model: a lab whose flagship is domestic stays open to
    enterprises without overseas access even if it also sells an overseas-tier model."""
    from routesim.model import MarketModel

    cfg = with_rival([*TINY, "scenario=no_routing", "population.industries.easy.overseas_allowed_share=0",
                      "output.enterprise_panel=true",
                      "+market.models.side={provider: labone, tier: overseas, release: '2020-01', "
                      "price_in_usd_per_mtok: 0.1, price_out_usd_per_mtok: 0.1, ability: -2.0}"])
    model = MarketModel(cfg).run()
    labone = model.catalog.provider_ids.index("labone")
    assert all((month["preferred"] == labone).all() for month in model.record.panel)  # no forced move
    assert model.record.enterprise[-1]["vendor_switches"] == 0


def test_a_higher_overseas_risk_premium_keeps_fewer_enterprises_on_overseas_labs():
    def on_labtwo(premium):
        history, model = vendor_history([*OVERSEAS_VENDOR, f"access.overseas_risk_premium={premium}"])
        return (history[-1] == model.catalog.provider_ids.index("labtwo")).mean()

    assert on_labtwo(0.0) > on_labtwo(1.0) > on_labtwo(5.0)


@pytest.mark.parametrize("months", [1, 6])
def test_reevaluation_is_staggered(months):
    res = simulate(with_rival([*TINY, "switching.enabled=true", "switching.switching_cost=0.5",
                               f"switching.reevaluation_months={months}"]))
    switches = res.enterprises["vendor_switches"].to_numpy()
    # everyone re-evaluates within the first cycle, spread over `months` months
    assert (switches[1:months + 1] > 0).sum() == months


def test_with_every_tier_competing_price_sensitive_firms_take_a_labs_cheaper_model():
    """switching.everyday_from: frontier_first keeps a lab's everyday model on its frontier
    models; any_tier lets its cheaper models win where price weighs more than quality."""
    from routesim import compose, simulate

    base = ["population.n_enterprises=300", "end=2024-02", "adoption.initial_share=0", "output.plots=false",
            "switching.price_weight=8", "switching.quality_weight=5"]
    first = simulate(compose(base)).market.set_index("month")["frontier_usage_share"]
    any_tier = simulate(compose([*base, "switching.everyday_from=any_tier"])).market.set_index("month")[
        "frontier_usage_share"]
    assert first.iloc[0] > 0.5 > any_tier.iloc[0]


def test_everyday_from_names_its_choices():
    from routesim import ConfigError, compose

    with pytest.raises(ConfigError, match="switching.everyday_from.*any_tier, frontier_first"):
        compose(["switching.everyday_from=cheapest"])


@pytest.mark.parametrize(("override", "message"), [
    ("budget.forecast=yearly", "budget.forecast.*rolling, at_round"),
    ("switching.vendor_constants=fitted", "switching.vendor_constants.*none, inverted"),
])
def test_budget_and_vendor_rules_name_their_choices(override, message):
    from routesim import ConfigError

    with pytest.raises(ConfigError, match=message):
        compose([override])
