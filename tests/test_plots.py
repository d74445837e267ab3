"""Figures: one style, one colour per provider and scenario, honest ranges, and plain words
where there is nothing to draw."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest

from routesim import compose, simulate
from routesim.analysis import plots


@pytest.fixture(scope="module")
def runs():
    return {sc: simulate(compose(["population.n_enterprises=300", "end=2026-06", f"scenario={sc}"]))
            for sc in ("status_quo", "no_routing")}


def _line_colors(fig) -> dict[str, str]:
    return {line.get_label(): mcolors.to_hex(line.get_color()) for ax in fig.axes for line in ax.get_lines()}


def test_every_run_figure_has_the_style_the_caption_and_provider_colours(runs):
    res = runs["status_quo"]
    for name, plot in plots.RUN_PLOTS.items():
        fig = plot(res)
        assert "scenario status_quo, seed 0, 300 agents" in fig._suptitle.get_text(), name
        assert not fig.axes[0].spines["top"].get_visible(), name  # routesim.mplstyle
    colors = _line_colors(plots.RUN_PLOTS["revenue_by_provider"](res))
    for lab in ("openai", "anthropic", "google"):
        assert colors[lab] == plots.PROVIDER_COLORS[lab]


def test_small_providers_get_their_own_panel(runs):
    fig = plots.revenue_by_provider(runs["status_quo"].providers)
    big, small = ({line.get_label() for line in ax.get_lines()} for ax in fig.axes)
    assert {"openai", "anthropic", "google"} <= big and "mistral" in small and not big & small


def test_a_run_where_nobody_routes_says_so_instead_of_a_flat_savings_line(runs):
    fig = plots.enterprise_savings(runs["no_routing"].enterprises)
    assert any("nobody routes" in t.get_text() for t in fig.texts)
    assert not any(ax.get_lines() for ax in fig.axes)
    routed = plots.enterprise_savings(runs["status_quo"].enterprises)
    assert any("not the no_routing scenario" in ax.get_title() for ax in routed.axes)


def test_sweep_bands_stay_inside_the_quantity_and_scenarios_keep_their_colour():
    """A share near 0 with wide seed noise: the band must not go below 0 (or above 100)."""
    rng = np.random.default_rng(0)
    months = pd.date_range("2024-01-01", periods=12, freq="MS")
    rows = [{"scenario": sc, "seed": s, "month": m, "tier": "overseas", "usage_share": abs(rng.normal(0.0, 0.3)),
             "run": 0} for sc in ("status_quo", "no_routing") for s in range(3) for m in months]
    frame = pd.DataFrame(rows)
    by = frame.groupby(["scenario", "month"])["usage_share"]
    assert ((by.mean() - 4.3 * by.std() / np.sqrt(3)) < 0).any()  # an unclipped 95% band would cross 0
    fig = plots.sweep_overseas(frame)
    ax = fig.axes[0]
    for band in ax.collections:
        y = np.concatenate([path.vertices[:, 1] for path in band.get_paths()])
        assert y.min() >= 0.0 and y.max() <= 100.0
    colors = _line_colors(fig)
    assert colors["status_quo"] == plots.SCENARIO_COLORS["status_quo"].lower()
    assert colors["no_routing"] == plots.SCENARIO_COLORS["no_routing"].lower()
