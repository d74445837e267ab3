"""Composition of every preset, and a clear error for each kind of bad input."""

from __future__ import annotations

import pytest

from routesim import ConfigError, compose
from routesim.compose import CONF_DIR

GROUPS = ("market", "population", "router", "scenario")


@pytest.mark.parametrize("group, option", [
    (g, p.stem) for g in GROUPS for p in sorted((CONF_DIR / g).glob("*.yaml"))
])
def test_every_preset_composes_and_validates(group, option):
    extra = [] if group in ("market", "population") else ["market=tiny", "population=tiny", "fitted=none"]
    if group == "market" and option == "tiny":
        extra = ["population=tiny"]
    if group == "population" and option == "tiny":
        extra = ["market=tiny"]
    cfg = compose([f"{group}={option}", *extra])
    assert getattr(cfg, group) is not None


BAD = {
    "unknown top-level key": (["+foo=1"], "foo"),
    "unknown nested key": (["+workload.bar=2"], "workload.bar"),
    "unknown model field": (["+market.models.big.colour=red"], "market.models.big.colour"),
    "vendor not in market": (["+population.preferred_vendor_weights.nobody=1"], "nobody"),
    "model of unknown provider": (["market.models.small.provider=ghost"], "market.models.small.provider"),
    "bad tier": (["market.models.big.tier=mid"], "frontier, budget, overseas"),
    "negative price": (["market.models.big.price_in_usd_per_mtok=-1"],
                       "market.models.big.price_in_usd_per_mtok"),
    "ability out of range": (["market.models.big.ability=99"], "market.models.big.ability"),
    "negative size": (["population.size_median_tasks_per_month=-3"],
                      "population.size_median_tasks_per_month"),
    "zero enterprises": (["population.n_enterprises=0"], "population.n_enterprises"),
    "probability above 1": (["adoption.innovation_p=2"], "adoption.innovation_p"),
    "share outside [0, 1]": (["population.industries.easy.overseas_allowed_share=-0.1"],
                             "overseas_allowed_share"),
    "requirement range reversed": (["population.requirement_low=0.9", "population.requirement_high=0.5"],
                                   "population.requirement_high"),
    "unknown policy": (["router.policy=magic"], "single, threshold, cost_optimal"),
    "bad peer group": (["adoption.peer_group=city"], "industry, global"),
    "bad month": (["start=2024-13"], "YYYY-MM"),
    "end before start": (["end=2023-01"], "end"),
    "retire before release": (["++market.models.big.retire=2019-01"], "market.models.big.retire"),
    "catalogue value of the wrong type": (["market.models.big.ability=high"], "market.models.big.ability"),
    "catalogue field misspelt on the command line": (["+market.models.big.abilty=0.5"],
                                                     "market.models.big.abilty"),
    "neither scores nor an ability": (["market.models.big.ability=null"], "market.models.big: give either"),
    "both scores and an ability": (["++market.models.big.benchmarks={gpqa_diamond: 0.5}"], "not both"),
    "family weight negative": (["population.industries.easy.family_weights.routine=-1"],
                               "population.industries.easy.family_weights.routine"),
    "family weights all zero": (["population.industries.easy.family_weights={routine: 0, coding: 0, reasoning: 0}"],
                                "population.industries.easy.family_weights"),
    "unknown task family": (["+population.industries.easy.family_weights.poetry=1"],
                            "population.industries.easy.family_weights (poetry)"),
    "family difficulty sd negative": (["workload.families.coding.difficulty_sd=-1"],
                                      "workload.families.coding.difficulty_sd"),
    "price change before its release": (["++market.models.big.release=2024-06", "++market.models.big.price_changes="
                                         "[{month: '2024-03', price_in_usd_per_mtok: 1, price_out_usd_per_mtok: 2}]"],
                                        "market.models.big.price_changes[0].month"),
    "price change without a price": (["+market.models.big.price_changes=[{month: '2024-05', "
                                      "price_in_usd_per_mtok: 1}]"], "price_out_usd_per_mtok"),
    "catalogue flag not a bool": (["++market.models.big.flagship_eligible=maybe"],
                                  "market.models.big.flagship_eligible"),
    "vendor without an everyday model": (["+population.preferred_vendor_weights.labtwo=1",
                                          "++market.models.cheap.flagship_eligible=false"], "labtwo"),
    "unknown cap behaviour": (["+budget.behaviour_shares.panic=1"], "throttle, overspend, downgrade"),
    "mix without weights": (["router.policy=mix"], "router.mix"),
    "unknown policy in mix": (["router.policy=mix", "+router.mix.magic=1"], "router.mix"),
    "bad ban month": (["access.ban_start=2025-1"], "access.ban_start"),
    "nobody buying at the start": (["population.active_share_at_start=0"], "population.active_share_at_start"),
    "entry hazard above 1": (["population.entry_hazard=1.5"], "population.entry_hazard"),
    "late enterprises that never enter": (["population.active_share_at_start=0.5"], "population.entry_hazard"),
    "zero re-evaluation period": (["switching.reevaluation_months=0"], "switching.reevaluation_months"),
    "negative fee": (["router.fee_share_of_spend=-0.1"], "router.fee_share_of_spend"),
    "spike probability above 1": (["demand.spike_probability=1.5"], "demand.spike_probability"),
    "negative band penalty": (["calibration.band_penalty=-1"], "calibration.band_penalty"),
}


@pytest.mark.parametrize("overrides, names", BAD.values(), ids=BAD.keys())
def test_bad_input_names_the_key(overrides, names):
    with pytest.raises(ConfigError) as err:
        compose(["market=tiny", "population=tiny", "fitted=none", *overrides])
    assert names in str(err.value)


def test_wrong_type_is_refused_at_compose_time():
    with pytest.raises(Exception, match="population.n_enterprises"):
        compose(["market=tiny", "population=tiny", "fitted=none", "population.n_enterprises=many"])


def test_seed_zero_is_a_seed():
    assert compose(["market=tiny", "population=tiny", "fitted=none", "seed=0"]).seed == 0


def test_catalogue_with_a_missing_field_or_a_misspelt_one_names_it():
    from omegaconf import OmegaConf

    from routesim.compose import compose_dict
    from routesim.config import to_config

    base = OmegaConf.to_container(compose_dict(["market=tiny", "population=tiny", "fitted=none"]))
    missing = {**base, "market": {**base["market"], "models": {**base["market"]["models"]}}}
    missing["market"]["models"]["small"] = {k: v for k, v in base["market"]["models"]["small"].items()
                                            if k != "provider"}
    with pytest.raises(ConfigError, match="market.models.small.provider"):
        to_config(missing)
    typo = OmegaConf.to_container(compose_dict(["market=tiny", "population=tiny", "fitted=none"]))
    typo["market"]["models"]["small"]["abilty"] = 0.5
    with pytest.raises(ConfigError, match="market.models.small.abilty"):
        to_config(typo)
    with pytest.raises(ConfigError, match=r"scenario.shocks\[0\].target \(model\).*'ghost'.*big, cheap, small"):
        to_config({**base, "scenario": {"shocks": [{"month": "2024-01", "target": "model:ghost"}]}})


@pytest.mark.parametrize("override, names", [
    ("market.models.gpt_4o.benchmarks.gpqa_diamond=-0.1", "market.models.gpt_4o.benchmarks.gpqa_diamond"),
    # below chance
    ("market.models.gpt_4o.benchmarks.gpqa_diamond=0.2", "market.models.gpt_4o.benchmarks.gpqa_diamond"),
    ("market.models.gpt_4o.benchmarks.mmlu=1.0", "market.models.gpt_4o.benchmarks.mmlu"),  # a perfect score
    ("+market.models.gpt_4o.benchmarks.mystery=0.5", "market.models.gpt_4o.benchmarks (mystery)"),
    ("market.models.gpt_4o.benchmarks.gpqa_diamond=high", "market.models.gpt_4o.benchmarks.gpqa_diamond"),
    ("~market.models.gpt_4o.benchmarks", "market.models.gpt_4o: give either"),
    ("market.benchmarks.mmlu.slope=0", "market.benchmarks.mmlu.slope"),
    ("market.benchmarks.arena_elo.kind=votes", "accuracy, index, elo"),
])
def test_a_catalogue_entry_with_bad_benchmark_scores_names_the_model_and_field(override, names):
    with pytest.raises(ConfigError) as err:
        compose([override])
    assert names in str(err.value)
