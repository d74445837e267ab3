"""Scenario discovery (PRIM over prior draws and scenarios) and Sobol indices: the project's wiring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ema_workbench")


def test_prim_finds_the_planted_box_and_reports_coverage_and_density():
    """Cases: x > 0.7 in scenario a. The box must restrict x near 0.7 (and the scenario), with
    coverage and density as counted by hand."""
    from routesim.analysis.discovery import box_table, find_box

    rng = np.random.default_rng(0)
    n = 400
    table = pd.DataFrame({"demand.x": rng.uniform(0, 1, n), "demand.noise": rng.uniform(0, 1, n),
                          "scenario": rng.choice(["a", "b"], n)})
    table["openai_cut"] = np.where((table["demand.x"] > 0.7) & (table["scenario"] == "a"), 0.8, 0.1)
    box, _ = find_box(table, "openai", threshold=0.5, min_density=0.8)
    rows = box_table(box, "openai", 0.5).set_index("dimension")
    assert set(rows.index) == {"demand.x", "scenario"}  # not the noise
    low = float(rows.loc["demand.x", "box"].split(" to ")[0])
    # the widest box still 80% dense: it may reach below 0.7 (cases 30% of x, 20% of the rest)
    assert 0.5 < low < 0.75 and rows.loc["scenario", "box"] in ("is a", "is not b")
    inside = (table["demand.x"] >= low) & (table["scenario"] == "a")
    cases = table["openai_cut"] > 0.5
    assert rows["density"].iloc[0] == pytest.approx((cases & inside).sum() / inside.sum())
    assert rows["coverage"].iloc[0] == pytest.approx((cases & inside).sum() / cases.sum())
    assert rows["density"].iloc[0] >= 0.8 and rows["coverage"].iloc[0] >= 0.8
    assert find_box(table.assign(openai_cut=0.0), "openai")[0] is None  # no case: no box


def test_the_cut_pairs_routing_allowed_and_barred_in_the_same_world():
    """no_routing differs from status_quo only in barring routing, which both sides of a pair
    set themselves: the same cut. A price war changes the world: another cut."""
    from routesim.analysis.discovery import cuts

    base = ("population.n_enterprises=100",)
    status_quo = cuts({}, "status_quo", 0, base)
    assert cuts({}, "no_routing", 0, base) == status_quo
    assert status_quo["openai_cut"] != 0.0 and np.isfinite(list(status_quo.values())).all()
    assert cuts({}, "price_war", 0, base) != status_quo


def test_sobol_runs_saltelli_design_and_gives_indices_per_outcome_and_parameter():
    from routesim.analysis.sensitivity import OUTCOMES, UNCERTAIN, plot_sobol, sobol_analysis

    indices, points = sobol_analysis(samples=2, seed=0, n_jobs=1, extra=["population.n_enterprises=100"])
    assert len(points) == 2 * (len(UNCERTAIN) + 2)  # N (k + 2) without second-order terms
    assert set(indices["outcome"]) == set(OUTCOMES) and set(indices["parameter"]) == set(UNCERTAIN)
    assert np.isfinite(indices[["S1", "ST"]].to_numpy()).all()
    assert plot_sobol(indices).axes
