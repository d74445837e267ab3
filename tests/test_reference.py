"""The vectorised monthly step equals the per-agent reference, table by table."""

from __future__ import annotations

import numpy as np
import pytest

from reference import reference_run
from routesim import compose
from routesim.metrics import build_tables
from routesim.model import MarketModel

RTOL = 1e-9
TINY = ["market=tiny", "population=tiny", "fitted=none", "end=2025-06", "adoption.initial_share=0.3"]
BUDGETS = ["budget.enabled=true", "budget.behaviour_shares={throttle: 1, overspend: 1, downgrade: 1}",
           "budget.log_budget_to_forecast_mean=-0.2", "budget.period_months=6",
           "demand.spike_probability=0.05", "demand.spike_pareto_alpha=1.2"]

CASES = {
    "tiny-cost_optimal": TINY,
    "tiny-threshold": [*TINY, "router=threshold", "router.threshold_difficulty=0.3"],
    "tiny-single": ["market=tiny", "population=tiny", "fitted=none", "end=2024-12", "router=single"],
    "tiny-no_routing": ["market=tiny", "population=tiny", "fitted=none", "end=2024-12", "scenario=no_routing"],
    "tiny-global-peers-elastic": [*TINY, "adoption.peer_group=global", "adoption.imitation_q=0.5",
                                  "demand.price_elasticity=0.8"],
    "tiny-cascade": [*TINY, "router.policy=cascade", "router.cascade_first_success=0.6"],
    "tiny-learned": [*TINY, "router.policy=learned", "router.learned_noise_sd=0.08"],
    "tiny-logit": [*TINY, "router.policy=logit", "router.logit_loyalty=0.7"],
    "tiny-mix-fees-rational": [*TINY, "router.policy=mix",
                               "+router.mix={cost_optimal: 1, cascade: 1, logit: 1, learned: 1,"
                               " threshold: 1}",
                               "router.learned_noise_sd=0.05", "router.fee_share_of_spend=0.05",
                               "router.fee_usd_per_1k_requests=0.2", "router.integration_cost_usd=5",
                               "adoption.require_net_savings=true", "adoption.innovation_p=0.1"],
    "tiny-budgets": [*TINY, *BUDGETS, "adoption.cap_hit_push=0.3"],
    "tiny-budgets-no_routing": [*TINY, *BUDGETS, "scenario=no_routing"],
    "tiny-budgets-at_round": [*TINY, *BUDGETS, "budget.forecast=at_round", "adoption.cap_hit_push=0.3"],
    "tiny-access": [*TINY, "access.overseas_risk_premium=0.5", "access.overseas_quality_discount=0.5",
                    "access.ban_start=2024-09", "access.ban_share=0.5"],
    "tiny-price-war": [*TINY, "scenario=price_war", "pricing.start=2024-06", "pricing.cooldown_months=3",
                       "pricing.share_drop=0.0"],
    "tiny-bundle-surge": [*TINY, "scenario=frontier_bundle", "scenario.in_house_routing_start=2024-09",
                          "+scenario.shocks=[{month: '2024-10', target: 'tier:overseas',"
                          " price_multiplier: 0.5, ability_shift: 0.5}]"],
    "tiny-drift-taper": [*TINY, *BUDGETS, "workload.difficulty_tracks_frontier=0.5",
                         "demand.long_run_growth_per_month=0.01", "demand.growth_half_life_months=6"],
    "default-price-war": ["population.n_enterprises=40", "start=2025-06", "end=2026-12",
                          "scenario=price_war", "adoption.initial_share=0.5"],
    "default-cost_optimal": ["population.n_enterprises=60", "start=2024-06", "end=2026-06",
                             "adoption.initial_share=0.4", "adoption.innovation_p=0.05"],
    "default-switching-budgets": ["population.n_enterprises=60", "start=2025-01", "end=2026-12",
                                  "router=threshold", "adoption.initial_share=0.5", "switching.enabled=true",
                                  "switching.reevaluation_months=3", *BUDGETS],
    # enterprises entering over the run: first vendor choice, first budget, peers among the active
    "tiny-entry-budgets": [*TINY, *BUDGETS, "population.active_share_at_start=0.3",
                           "population.entry_hazard=0.12", "budget.period_months=4",
                           "adoption.imitation_q=0.5", "adoption.cap_hit_push=0.3"],
    "default-entry-switching": ["population.n_enterprises=60", "start=2024-01", "end=2025-12",
                                "population.active_share_at_start=0.4", "population.entry_hazard=0.1",
                                "switching.switching_cost=3", "switching.reevaluation_months=4", *BUDGETS],
    "default-entry-constants": ["population.n_enterprises=60", "start=2024-01", "end=2024-12",
                                "population.active_share_at_start=0.4", "population.entry_hazard=0.15",
                                "switching.vendor_constants=inverted", "switching.reevaluation_months=3"],
    # vendor-aware routers: all in-house, all neutral with a contract markup, and the default mix
    "default-in-house": ["population.n_enterprises=50", "start=2025-01", "end=2025-12", "adoption.initial_share=0.6",
                         "router.in_house_share=1", "switching.reevaluation_months=2"],
    "default-neutral-premium": ["population.n_enterprises=50", "start=2025-01", "end=2025-12",
                                "adoption.initial_share=0.6", "router.in_house_share=0",
                                "router.neutral_other_vendor_premium=0.5", "router.policy=cascade"],
    # every tier competes for a lab's everyday model (switching.everyday_from)
    "default-any-tier": ["population.n_enterprises=60", "start=2024-01", "end=2024-12",
                         "switching.everyday_from=any_tier", "switching.reevaluation_months=2"],
    # a specialist lab for coding: its choice, the split bill, the month-0 primaries, the rebound's carry-over
    "tiny-specialist": [*TINY, "switching.specialist_family=coding", "switching.enabled=true",
                        "switching.specialist_switching_cost=0.5", "switching.reevaluation_months=2",
                        "demand.price_elasticity=0.6", "switching.vendor_constants=inverted",
                        "population.active_share_at_start=0.5", "population.entry_hazard=0.2"],
    # a ban moves primaries off the overseas labs: those forced review their coding lab too;
    # an industry without coding tasks has no specialist (its primary serves all its work)
    "default-specialist-ban": ["population.n_enterprises=300", "start=2024-06", "end=2025-03",
                               "access.ban_start=2025-01", "access.ban_share=1", "access.overseas_risk_premium=0",
                               "switching.reevaluation_months=12", "seed=1"],
    "tiny-specialist-no-coding": [*TINY, "switching.vendor_constants=inverted", "switching.reevaluation_months=2",
                                  "population.industries.easy.family_weights={routine: 0.9, coding: 0,"
                                  " reasoning: 0.1}"],
    "default-specialist-no-constants": ["population.n_enterprises=60", "start=2024-01", "end=2024-09",
                                        "switching.vendor_constants=none", "switching.reevaluation_months=2"],
    "default-specialist-none": ["population.n_enterprises=50", "start=2024-01", "end=2024-12",
                                "switching.specialist_family=null", "adoption.initial_share=0.3"],
    "tiny-rebound-switching": [*TINY, "demand.price_elasticity=0.6", "switching.enabled=true",
                               "switching.switching_cost=0.2", "switching.reevaluation_months=2",
                               "population.industries.easy.overseas_allowed_share=1"],
}

ENTERPRISE_COLUMNS = (
    "spend_usd", "no_routing_spend_usd", "router_fees_usd", "integration_cost_usd", "router_spend_usd",
    "router_no_routing_spend_usd", "router_calls", "router_frontier_calls", "tasks_demanded",
    "tasks_served", "tasks_unmet", "tasks_throttled", "tasks_below_requirement", "expected_successes",
    "adopters", "active_enterprises", "cap_hits", "at_cap", "overspend_usd", "runaway_events", "downgraded",
    "max_bill_to_budget", "vendor_switches", "switched_past_year", "budget_periods_closed", "budget_periods_overrun",
    "overrun_demanded_usd", "overrun_budget_usd", "overrun_excess_sum",
)


@pytest.mark.parametrize("overrides", CASES.values(), ids=CASES.keys())
def test_vectorised_equals_reference(overrides):
    cfg = compose(overrides)
    model = MarketModel(cfg).run()
    tables = build_tables(model)
    ref = reference_run(cfg)

    n_t, n_m = len(model.catalog.months), model.catalog.n_models
    models = tables["models"]
    t = models["month"].rank(method="dense").astype(int).to_numpy() - 1
    m = models["model"].map({mid: j for j, mid in enumerate(model.catalog.model_ids)}).to_numpy()
    for column, key in (("revenue_usd", "model_revenue"), ("tokens", "model_tokens"),
                        ("calls", "model_calls")):
        wide = np.zeros((n_t, n_m))
        wide[t, m] = models[column].to_numpy()
        np.testing.assert_allclose(wide, ref[key], rtol=RTOL, atol=1e-9, err_msg=column)

    result = tables["providers"]["cumulative_operating_income_usd"].to_numpy().reshape(n_t, -1)
    np.testing.assert_allclose(result, ref["provider_result"], rtol=RTOL, atol=1e-6)

    ent = tables["enterprises"]
    for column in ENTERPRISE_COLUMNS:
        np.testing.assert_allclose(ent[column].to_numpy(), ref[column], rtol=RTOL, atol=1e-9,
                                   err_msg=column)


def tables_of(name):
    return build_tables(MarketModel(compose(CASES[name])).run())


@pytest.mark.parametrize("name, column", [
    ("tiny-budgets", "cap_hits"), ("tiny-budgets", "downgraded"), ("tiny-budgets", "tasks_throttled"),
    ("tiny-budgets", "overspend_usd"), ("tiny-budgets", "runaway_events"),
    ("tiny-mix-fees-rational", "router_fees_usd"), ("tiny-mix-fees-rational", "integration_cost_usd"),
    ("default-switching-budgets", "vendor_switches"),
    ("tiny-entry-budgets", "cap_hits"), ("default-entry-switching", "vendor_switches"),
    ("tiny-budgets", "at_cap"), ("tiny-budgets", "budget_periods_overrun"),
    ("default-in-house", "router_calls"), ("default-neutral-premium", "router_frontier_calls"),
    ("tiny-rebound-switching", "vendor_switches"), ("tiny-specialist", "vendor_switches"),
])
def test_reference_cases_exercise_their_behaviour(name, column):
    """The comparisons above are not vacuous: each behaviour actually happens in its case."""
    assert tables_of(name)["enterprises"][column].sum() > 0


@pytest.mark.parametrize("name", ["tiny-specialist", "default-specialist-ban", "default-entry-switching"])
def test_reference_cases_move_coding_labs(name):
    """The specialist cases do change coding labs after the first month (so the twin compares that)."""
    model = MarketModel(compose(CASES[name]))
    moved = 0.0
    while model.t < model.n_months:
        model.step()
        moved += model.weight[model.specialist_moved].sum()
    assert moved > 0


def test_reference_cases_exercise_pricing():
    models = tables_of("tiny-price-war")["models"]
    assert models.groupby("month")["price_in_usd_per_mtok"].min().diff().lt(0).sum() >= 2  # repeated cuts
    # with built-in routers everyone uses only its vendor's models: the overseas lab keeps
    # selling after 2024-09 only because enterprises allowed overseas models chose it as vendor
    bundle = tables_of("tiny-bundle-surge")["providers"].set_index("month")
    assert bundle.query("provider == 'labtwo'").loc["2024-09-01":, "tokens"].sum() > 0
    no_switching = build_tables(MarketModel(compose([*CASES["tiny-bundle-surge"], "switching.enabled=false",
                                                              "switching.specialist_family=null"])).run())
    labtwo = no_switching["providers"].set_index("month").query("provider == 'labtwo'")["tokens"]
    assert labtwo.loc[:"2024-08-01"].sum() > 0 and labtwo.loc["2024-09-01":].sum() == 0  # nobody's vendor


def test_reference_cases_exercise_policies():
    ent = tables_of("tiny-cascade")["enterprises"]
    calls = tables_of("tiny-cascade")["models"].groupby("month")["calls"].sum().to_numpy()
    assert (calls > ent["tasks_served"].to_numpy() * (1 + 1e-6)).any()  # escalations happened
    base = tables_of("tiny-cost_optimal")["enterprises"]["spend_usd"].to_numpy()
    assert not np.allclose(tables_of("tiny-learned")["enterprises"]["spend_usd"], base)
    logit_models = tables_of("tiny-logit")["models"]
    assert (logit_models.groupby("month")["revenue_usd"].apply(lambda r: (r > 0).sum()) == 3).all()
    def overseas_tasks(extra=()):
        tiers = build_tables(MarketModel(compose([*CASES["tiny-access"], *extra])).run())["tiers"]
        return tiers.query("tier == 'overseas'").set_index("month")["calls"]

    banned, unbanned = overseas_tasks(), overseas_tasks(["access.ban_share=0"])  # same draws, no ban
    assert banned.loc[:"2024-08-01"].equals(unbanned.loc[:"2024-08-01"])
    assert banned.loc["2024-09-01":].sum() < unbanned.loc["2024-09-01":].sum()
