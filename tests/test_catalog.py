"""The dated catalogue: what is on offer when, at what price, and the default market's coverage."""

from __future__ import annotations

import numpy as np

from routesim import compose
from routesim.catalog import build_catalog
from routesim.config import parse_month


def test_default_market_has_every_us_lab_flagship_every_month():
    cat = build_catalog(compose(["end=2026-10"]))
    for t in range(len(cat.months)):
        flags = cat.flagships(t)
        for lab in ("openai", "anthropic", "google"):
            assert flags[cat.provider_ids.index(lab)] >= 0, (lab, t)
        assert 8 <= cat.available[t].sum() <= 20
    origins = dict(zip(cat.provider_ids, cat.provider_origin, strict=True))
    assert {"deepseek", "alibaba", "moonshot"} <= {p for p, o in origins.items() if o == "CN"}
    overseas = cat.model_overseas & cat.available.any(axis=0)
    assert {cat.model_ids[m] for m in np.flatnonzero(overseas)} >= {"deepseek_v3", "deepseek_r1"}


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
                   "market.trends.budget.capability_gain_per_year=0.1"])
    cat = build_catalog(cfg)
    small, big = cat.model_ids.index("small"), cat.model_ids.index("big")
    assert cat.price_in[11, small] == 0.25  # 2024-12: before the trend
    np.testing.assert_allclose(cat.price_in[23, small], 0.25 * 0.5)  # 2025-12: one year in
    np.testing.assert_allclose(cat.capability[35, small], 0.6 + 0.2)  # 2026-12: two years in
    assert (cat.price_in[:, big] == 3.0).all()  # frontier trend is flat
