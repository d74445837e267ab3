"""The vectorised monthly step equals the per-agent reference, table by table."""

from __future__ import annotations

import numpy as np
import pytest

from reference import reference_run
from routesim import compose
from routesim.metrics import build_tables
from routesim.model import MarketModel

RTOL = 1e-9

CASES = {
    "tiny-cost_optimal": ["market=tiny", "population=tiny", "end=2025-06", "adoption.initial_share=0.3"],
    "tiny-threshold": ["market=tiny", "population=tiny", "end=2025-06", "router=threshold",
                       "adoption.initial_share=0.3", "router.threshold_difficulty=0.3"],
    "tiny-single": ["market=tiny", "population=tiny", "end=2024-12", "router=single"],
    "tiny-no_routing": ["market=tiny", "population=tiny", "end=2024-12", "scenario=no_routing"],
    "tiny-global-peers-elastic": ["market=tiny", "population=tiny", "end=2025-06",
                                  "adoption.peer_group=global", "adoption.imitation_q=0.5",
                                  "demand.price_elasticity=0.8"],
    "default-cost_optimal": ["population.n_enterprises=60", "start=2024-06", "end=2026-06",
                             "adoption.initial_share=0.4", "adoption.innovation_p=0.05"],
    "default-threshold": ["population.n_enterprises=60", "start=2025-01", "end=2026-12",
                          "router=threshold", "adoption.initial_share=0.5"],
}


@pytest.mark.parametrize("overrides", CASES.values(), ids=CASES.keys())
def test_vectorised_equals_reference(overrides):
    cfg = compose(overrides)
    model = MarketModel(cfg).run()
    tables = build_tables(model)
    ref = reference_run(cfg)

    n_t, n_m = len(model.catalog.months), model.catalog.n_models
    models = tables["models"]
    for column, key in (("revenue_usd", "model_revenue"), ("tokens", "model_tokens"),
                        ("tasks", "model_tasks")):
        wide = np.zeros((n_t, n_m))
        t = models["month"].rank(method="dense").astype(int).to_numpy() - 1
        m = models["model"].map({mid: j for j, mid in enumerate(model.catalog.model_ids)}).to_numpy()
        wide[t, m] = models[column].to_numpy()
        np.testing.assert_allclose(wide, ref[key], rtol=RTOL, atol=1e-9, err_msg=column)

    cash = tables["providers"]["cumulative_cash_usd"].to_numpy().reshape(n_t, -1)
    np.testing.assert_allclose(cash, ref["provider_cash"], rtol=RTOL, atol=1e-9)

    ent = tables["enterprises"]
    for column in ("spend_usd", "no_routing_spend_usd", "tasks_demanded", "tasks_served",
                   "tasks_unmet", "tasks_below_requirement", "expected_successes", "adopters"):
        np.testing.assert_allclose(ent[column].to_numpy(), ref[column], rtol=RTOL, atol=1e-9,
                                   err_msg=column)
    # the comparison is not vacuous: routing moved traffic off the flagship in routing cases
    if "scenario=no_routing" not in overrides and "router=single" not in overrides:
        assert ent["savings_usd"].iloc[-1] > 0
