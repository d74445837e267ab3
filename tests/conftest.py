from __future__ import annotations

import matplotlib
import pytest
from hypothesis import settings

matplotlib.use("Agg")

# Every property test of the default suite draws the same examples on every run and machine
# (no random seed, no example database); the slow suite's wide search sets derandomize=False.
settings.register_profile("deterministic", derandomize=True, database=None, deadline=None)
settings.load_profile("deterministic")

from routesim import compose  # noqa: E402

TINY = ["market=tiny", "population=tiny", "fitted=none"]
# every optional behaviour off, so a test can switch on just the one it is about
PLAIN = ["budget.enabled=false", "switching.enabled=false", "demand.price_elasticity=0",
         "demand.spike_probability=0", "adoption.require_net_savings=false", "adoption.cap_hit_push=0",
         "router.fee_share_of_spend=0", "router.integration_cost_usd=0", "access.overseas_risk_premium=0",
         "access.overseas_quality_discount=0"]


@pytest.fixture
def tiny_cfg():
    """A three-model, 200-enterprise market over one year."""
    return compose([*TINY, "end=2024-12"])


@pytest.fixture
def small_default_cfg():
    """The default calibrated market with few enterprises over 2024-2026."""
    return compose(["population.n_enterprises=300", "end=2026-12"])
