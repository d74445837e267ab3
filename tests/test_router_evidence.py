"""Router evidence as a standing check: the published router results hold in routesim's world.

RouteLLM (Ong et al. 2024, docs/sources.md [S18]) routes between GPT-4-1106 ($10/$30 per 1M
tokens) and Mixtral-8x7B (~$0.24/$0.24) and reports 35-85% lower cost than GPT-4 alone at 95%
of GPT-4's quality, with GPT-4 taking 14-54% of the calls. These tests build that two-model
market through the public API and the default market with every enterprise routing, and
check both against the published ranges.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
from omegaconf import OmegaConf

from routesim import simulate
from routesim.analysis.evidence import SAVINGS, STRONG_SHARE, router_evidence_plot, router_table, router_years
from routesim.compose import compose_dict
from routesim.config import to_config

QUIET = ["budget.enabled=false", "switching.enabled=false", "demand.price_elasticity=0", "demand.spike_probability=0",
         "router.fee_share_of_spend=0", "router.integration_cost_usd=0", "router.in_house_share=0",
         "router.neutral_other_vendor_premium=0", "adoption.require_net_savings=false"]


@functools.cache
def routellm_market(routing: bool = True):
    """The default population routing (cost_optimal) between GPT-4-1106 and Mixtral-8x7B, 2024-01..06."""
    base = OmegaConf.to_container(compose_dict(["end=2024-06", "population.n_enterprises=200", "router=cost_optimal",
                                                "adoption.initial_share=1", "population.active_share_at_start=1",
                                                *QUIET, *([] if routing else ["scenario=no_routing"])]))
    default = base["market"]
    base["market"] = {
        "name": "routellm", "benchmarks": default["benchmarks"], "trends": {"start": "2099-01"},
        "providers": {"openai": default["providers"]["openai"], "mistral": default["providers"]["mistral"]},
        "models": {
            # GPT-4-1106 is the catalogue's gpt_4_turbo (same snapshot, same scores)
            "gpt_4_1106": {**default["models"]["gpt_4_turbo"], "release": "2023-11", "retire": None},
            # Mixtral-8x7B: MMLU 70.6 [LLB]; $0.24 per 1M tokens in and out, RouteLLM's price
            "mixtral_8x7b": {"provider": "mistral", "tier": "budget", "release": "2023-12", "retire": None,
                             "price_in_usd_per_mtok": 0.24, "price_out_usd_per_mtok": 0.24,
                             "benchmarks": {"mmlu": 0.706}},
        },
    }
    base["population"]["preferred_vendor_weights"] = {"openai": 1.0}
    return to_config(base)


def routellm_config(requirement: float, routing: bool = True):
    """The RouteLLM market with requirements spread +-0.05 around ``requirement``.

    Enterprises differ, so the share of work the weak model takes varies smoothly with it.
    """
    cfg = routellm_market(routing)
    population = dataclasses.replace(cfg.population, requirement_low=max(requirement - 0.05, 0.0),
                                     requirement_high=min(requirement + 0.05, 1.0))
    return dataclasses.replace(cfg, population=population)


def quality_and_savings(requirement: float, strong) -> tuple[float, float, float]:
    """(routed success / GPT-4-only success, cost saved vs GPT-4 only, GPT-4's share of calls)."""
    routed = simulate(routellm_config(requirement))
    ent, strong_ent = routed.enterprises, strong.enterprises
    quality = ent["expected_successes"].sum() / strong_ent["expected_successes"].sum()
    savings = 1 - ent["spend_usd"].sum() / strong_ent["spend_usd"].sum()
    models = routed.models.groupby("model")["calls"].sum()
    return quality, savings, models["gpt_4_1106"] / models.sum()


def test_routellm_two_model_market_saves_what_routellm_found_at_95_percent_quality():
    strong = simulate(routellm_config(0.9, routing=False))  # GPT-4 alone: no requirement matters
    # the requirement at which the routed market keeps 95% of GPT-4's successes (bisection)
    low, high = 0.0, 1.0
    for _ in range(10):
        mid = (low + high) / 2
        quality, _, _ = quality_and_savings(mid, strong)
        low, high = (mid, high) if quality < 0.95 else (low, mid)
    quality, savings, strong_share = quality_and_savings(high, strong)
    assert quality == pytest.approx(0.95, abs=0.01)
    assert SAVINGS[0] <= savings <= SAVINGS[1], savings
    assert STRONG_SHARE[0] <= strong_share <= STRONG_SHARE[1], strong_share


def test_default_market_with_every_enterprise_routing_stays_inside_the_published_router_ranges():
    years = router_years()
    share, savings = years["frontier_call_share"], years["savings"]
    assert list(years.index) == [2024, 2025, 2026]
    assert np.all((share >= STRONG_SHARE[0]) & (share <= STRONG_SHARE[1])), share.round(3).to_dict()
    assert np.all((savings >= SAVINGS[0]) & (savings <= SAVINGS[1])), savings.round(3).to_dict()
    assert np.all(years["net_savings"] < savings)  # the router's own costs come out of the savings


def test_router_table_spans_its_seeds_and_the_plot_shows_both_measures():
    table = router_table(seeds=2, n=300)
    assert list(table.index) == [2024, 2025, 2026]
    for column in ("frontier_call_share", "savings", "net_savings"):
        assert (table[(column, "min")] <= table[(column, "mean")]).all()
        assert (table[(column, "mean")] <= table[(column, "max")]).all()
    fig = router_evidence_plot(table)
    assert [ax.get_title() for ax in fig.axes] == ["frontier share of routers' calls", "routers' savings (API cost)"]
