"""The dated catalogue: what is on offer when, at what price and ability, and its coverage."""

from __future__ import annotations

import re

import numpy as np
import pytest

from routesim import compose
from routesim.catalog import build_catalog
from routesim.compose import CONF_DIR
from routesim.config import TIERS, parse_month

FRONTIER, BUDGET = TIERS.index("frontier"), TIERS.index("budget")


@pytest.fixture(scope="module")
def default_catalog():
    return build_catalog(compose(["end=2030-12"]))


def months_of(cat, first: str, last: str) -> range:
    start = parse_month(first, "m") - int(cat.months[0])
    return range(start, parse_month(last, "m") - int(cat.months[0]) + 1)


def test_every_lab_selling_a_frontier_model_has_a_budget_model_every_month(default_catalog):
    cat = default_catalog
    for lab in ("openai", "anthropic", "google"):
        p = cat.provider_ids.index(lab)
        mine = cat.model_provider == p
        for t in months_of(cat, "2024-01", "2026-12"):
            on = cat.available[t] & mine
            assert (on & (cat.model_tier == BUDGET)).any(), (lab, t)
        assert (cat.available & (mine & (cat.model_tier == FRONTIER))[None, :]).any()
    origins = dict(zip(cat.provider_ids, cat.provider_origin, strict=True))
    assert {"deepseek", "alibaba", "moonshot"} <= {p for p, o in origins.items() if o == "CN"}


def test_the_cheap_end_is_complete_and_dated_from_the_labs_own_pages():
    text = (CONF_DIR / "market" / "default.yaml").read_text()
    cat = build_catalog(compose([]))
    cheap = {"gpt_4o_mini", "gpt_4_1_mini", "gpt_4_1_nano", "gpt_5_mini", "gpt_5_nano", "claude_3_haiku",
             "claude_3_5_haiku", "claude_haiku_4_5", "gemini_1_5_flash_002", "gemini_2_0_flash",
             "gemini_2_0_flash_lite", "gemini_2_5_flash", "gemini_2_5_flash_lite", "gemini_3_flash"}
    assert cheap <= set(cat.model_ids)
    for mid in cheap:
        block = text[text.index(f"\n  {mid}:"):]
        release = re.search(r'\n    release: .*#(.*)', block).group(1)
        retire = re.search(r'\n    retire: .*#(.*)', block).group(1)
        assert "[" in release, (mid, "release without a source")
        # a published shutdown ([OAI-dep], [ANT-dep], [VTX], [GAPI], ...) or the stated per-lab rule
        assert re.search(r"\[[A-Z][A-Za-z-]+\]|rule", retire), (mid, "retire without a source or rule")
    # the cheap models the old one-month rule retired early stay on offer as they did in reality
    for mid, last in (("gpt_4o_mini", "2026-12"), ("claude_3_haiku", "2026-04"), ("gpt_3_5_turbo", "2026-10")):
        t = parse_month(last, "m") - int(cat.months[0])
        assert cat.available[min(t, len(cat.months) - 1), cat.model_ids.index(mid)], mid


def test_abilities_do_not_saturate_or_tie(default_catalog):
    cat = default_catalog
    on = cat.available
    # the 2026 frontier stays well clear of any ceiling, and the gap between the best frontier
    # and the best budget model does not close to zero as the trend runs on
    def best(tier):
        return np.where(on & (cat.model_tier == tier), cat.ability, -np.inf).max(axis=1)
    gap = best(FRONTIER) - best(BUDGET)
    trend = months_of(cat, "2026-11", "2030-12")
    assert np.all(gap[list(trend)] > 0.1)
    np.testing.assert_allclose(gap[list(trend)], gap[trend.start])  # tiers keep pace: the gap stays
    # no two models on offer end up tied by the trend: the order of abilities never changes after it starts
    start = trend.start
    for t in trend:
        live = np.flatnonzero(on[t] & on[start])
        assert (np.argsort(cat.ability[t, live], kind="stable") == np.argsort(cat.ability[start, live],
                                                                                kind="stable")).all()
    assert np.isfinite(cat.ability).all() and cat.ability.max() > 8  # 2030: far past GPQA's ceiling, unclipped


def test_price_change_applies_from_its_month():
    cfg = compose(["start=2024-06", "end=2025-01"])
    cat = build_catalog(cfg)
    m = cat.model_ids.index("gpt_4o")
    change = cfg.market.models["gpt_4o"].price_changes[0]
    t_change = parse_month(change.month, "m") - parse_month("2024-06", "m")
    assert cat.price_in[t_change - 1, m] == cfg.market.models["gpt_4o"].price_in_usd_per_mtok
    assert cat.price_in[t_change, m] == change.price_in_usd_per_mtok
    assert cat.price_out[t_change, m] == change.price_out_usd_per_mtok


def test_release_and_retire_bound_availability():
    cfg = compose(["market=tiny", "population=tiny", "fitted=none", "start=2024-01", "end=2024-12",
                   "market.models.small.release=2024-03", "++market.models.small.retire=2024-08"])
    cat = build_catalog(cfg)
    on = cat.available[:, cat.model_ids.index("small")]
    assert on.tolist() == [False] * 2 + [True] * 6 + [False] * 4


def test_tier_trend_compounds_after_its_start():
    cfg = compose(["market=tiny", "population=tiny", "fitted=none", "start=2024-01", "end=2026-12",
                   "market.trends.start=2025-01", "market.trends.budget.price_change_per_year=0.5",
                   "market.trends.budget.ability_gain_per_year=0.7"])
    cat = build_catalog(cfg)
    small, big = cat.model_ids.index("small"), cat.model_ids.index("big")
    assert cat.price_in[11, small] == 0.25  # 2024-12: before the trend
    np.testing.assert_allclose(cat.price_in[23, small], 0.25 * 0.5)  # 2025-12: one year in
    np.testing.assert_allclose(cat.ability[35, small], -0.5 + 2 * 0.7)  # 2026-12: two years in, additive
    assert (cat.price_in[:, big] == 3.0).all()  # frontier trend is flat
