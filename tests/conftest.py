from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

from routesim import compose  # noqa: E402

TINY = ["market=tiny", "population=tiny"]


@pytest.fixture
def tiny_cfg():
    """A three-model, 200-enterprise market over one year."""
    return compose([*TINY, "end=2024-12"])


@pytest.fixture
def small_default_cfg():
    """The default calibrated market with few enterprises over 2024-2026."""
    return compose(["population.n_enterprises=300", "end=2026-12"])
