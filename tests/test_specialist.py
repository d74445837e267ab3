"""The specialist lab (``switching.specialist_family``): one task family bought from a lab of its own."""

from __future__ import annotations

import numpy as np
import pytest

from routesim import compose
from routesim.config import ConfigError
from routesim.metrics import build_tables
from routesim.model import MarketModel

BASE = ["population.n_enterprises=20000", "end=2024-03", "adoption.initial_share=0", "adoption.innovation_p=0",
        "output.enterprise_panel=true"]


def first_month_shares(extra: list[str]) -> dict[str, float]:
    providers = build_tables(MarketModel(compose([*BASE, *extra])).run())["providers"]
    first = providers[providers["month"] == providers["month"].min()].set_index("provider")["usage_share"]
    return first.to_dict()


@pytest.mark.parametrize("family", ["coding", "null"])
def test_initial_task_shares_are_the_observed_ones(family):
    """The constants are inverted on tasks, primaries' and specialists' together: month 0 gives the 2023 shares."""
    cfg = compose(BASE)
    weights = cfg.population.preferred_vendor_weights
    shares = first_month_shares([f"switching.specialist_family={family}"])
    total = sum(weights.values())
    for lab, w in weights.items():
        assert shares[lab] == pytest.approx(w / total, abs=0.015), lab


def test_specialists_follow_the_coding_offer():
    """Where a lab is better at coding than overall, its share of coding tasks exceeds its share of primaries."""
    model = MarketModel(compose([*BASE, "end=2024-12"])).run()
    panel = build_tables(model)["enterprise_panel"]
    last = panel[(panel["month"] == panel["month"].max()) & panel["active"]]
    ids = model.catalog.provider_ids
    anthropic = ids.index("anthropic")
    w = last["weight"].to_numpy()
    primary = (w * (last["preferred"].to_numpy() == anthropic)).sum() / w.sum()
    special = (w * (last["specialist"].to_numpy() == anthropic)).sum() / w.sum()
    assert special > primary + 0.05  # Claude 3.5 Sonnet's SWE-bench lead in 2024


def test_specialist_switching_cost_holds_the_lab():
    """A higher switching cost on the coding lab means fewer enterprises change it."""
    def moved(cost: float) -> float:
        model = MarketModel(compose([*BASE, "population.n_enterprises=4000", "end=2025-06",
                                     f"switching.specialist_switching_cost={cost}"]))
        changes = 0.0
        while model.t < model.n_months:
            model.step()
            changes += model.weight[model.specialist_moved].sum()
        return changes
    assert moved(30.0) < 0.5 * moved(0.0)


def test_without_a_specialist_family_nobody_has_one():
    model = MarketModel(compose([*BASE, "switching.specialist_family=null"])).run()
    assert (model.specialist == -1).all()


def test_unknown_specialist_family_is_refused():
    with pytest.raises(ConfigError, match=r"switching.specialist_family.*choose one of: coding, reasoning, routine"):
        compose(["switching.specialist_family=legal"])
    with pytest.raises(ConfigError, match="switching.specialist_switching_cost"):
        compose(["switching.specialist_switching_cost=-1"])


def test_the_split_adds_up_to_the_mix():
    model = MarketModel(compose(["population.n_enterprises=100", "end=2024-01"]))
    split = model.split
    np.testing.assert_allclose(split.sum(axis=0), model.workload.segment_weight)
    coding = model.workload.segment_family == model.workload.family_ids.index("coding")
    assert (split[1][:, ~coding] == 0).all() and (split[0][:, coding] == 0).all()
