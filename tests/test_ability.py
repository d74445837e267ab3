"""The ability scale: stored benchmark parameters are the fit of the stored scores; estimates behave."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from routesim import compose
from routesim.ability import abilities, ability, fit_scale, to_logit
from routesim.config import BenchmarkSpec, ModelSpec


@pytest.fixture(scope="module")
def market():
    return compose([]).market


def test_the_stored_scale_is_the_fit_of_the_catalogues_scores(market):
    refit = fit_scale(market.models, market.benchmarks)
    for name, stored in market.benchmarks.items():
        for field in ("slope", "offset", "residual_sd"):
            assert getattr(refit[name], field) == pytest.approx(getattr(stored, field), abs=2e-3), (name, field)
    assert market.benchmarks["gpqa_diamond"].slope == 1.0 and market.benchmarks["gpqa_diamond"].offset == 0.0


def test_a_gpqa_only_model_sits_at_its_gpqa_logit(market):
    spec = ModelSpec(provider="openai", tier="frontier", release="2024-01", price_in_usd_per_mtok=1,
                     price_out_usd_per_mtok=1, benchmarks={"gpqa_diamond": 0.625})
    # (0.625 - 0.25) / 0.75 = 0.5: ability 0 by definition of the scale
    assert ability(spec, market.benchmarks) == pytest.approx(0.0, abs=1e-12)


def test_the_fit_recovers_a_scale_that_generated_the_scores():
    rng = np.random.default_rng(3)
    truth = {"gpqa_diamond": BenchmarkSpec(kind="accuracy", chance=0.25, items=0, slope=1.0, offset=0.0,
                                           residual_sd=0.1),
             "mmlu": BenchmarkSpec(kind="accuracy", chance=0.25, items=0, slope=0.45, offset=-3.5, residual_sd=0.1),
             "arena_elo": BenchmarkSpec(kind="elo", slope=0.25, offset=-9.0, residual_sd=0.1)}
    models = {}
    for j, theta in enumerate(rng.uniform(-3, 3, 40)):
        scores = {}
        for name, b in truth.items():
            y = b.slope * (theta - b.offset) + rng.normal(0, b.residual_sd)
            if b.kind == "elo":
                scores[name] = 1000 + y * 400 / np.log(10)
            else:
                scores[name] = b.chance + (1 - b.chance) / (1 + np.exp(-y))
            assert to_logit(scores[name], b) == pytest.approx(y)
        models[f"m{j}"] = ModelSpec(provider="p", tier="frontier", release="2024-01", price_in_usd_per_mtok=1,
                                    price_out_usd_per_mtok=1, benchmarks=scores)
    start = {k: dataclasses.replace(v, slope=1.0, offset=0.0, residual_sd=0.5) for k, v in truth.items()}
    fitted = fit_scale(models, start)
    for name in ("mmlu", "arena_elo"):
        assert fitted[name].slope == pytest.approx(truth[name].slope, rel=0.1)
        assert fitted[name].offset == pytest.approx(truth[name].offset, abs=0.3)


def test_more_able_by_every_benchmark_means_more_able(market):
    weak = ModelSpec(provider="p", tier="budget", release="2024-01", price_in_usd_per_mtok=1, price_out_usd_per_mtok=1,
                     benchmarks={"gpqa_diamond": 0.40, "mmlu": 0.75, "arena_elo": 1300})
    strong = dataclasses.replace(weak, benchmarks={"gpqa_diamond": 0.50, "mmlu": 0.80, "arena_elo": 1350})
    assert ability(strong, market.benchmarks) > ability(weak, market.benchmarks)


def test_frontier_models_are_ordered_as_their_generations(market):
    a = abilities(market.models, market.benchmarks)
    for older, newer in (("gpt_4_turbo", "gpt_4o"), ("gpt_4o", "gpt_4_1"), ("gpt_4_1", "gpt_5"),
                         ("claude_3_sonnet", "claude_3_5_sonnet"), ("claude_sonnet_4", "claude_sonnet_4_5"),
                         ("gemini_1_5_pro", "gemini_2_5_pro"), ("gpt_4o_mini", "gpt_5_mini")):
        assert a[newer] > a[older], (older, newer)
