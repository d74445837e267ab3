"""Mesa conventions: keyword parameters, the DataCollector, and mesa.batch_run."""

from __future__ import annotations

import mesa
import pandas as pd

from conftest import TINY
from routesim import compose, simulate
from routesim.model import MarketModel

SMALL = {"n_enterprises": 300, "end": "2025-06"}  # the default market, few enterprises


def market_as_reported(results) -> pd.DataFrame:
    """simulate()'s market table with months as the DataCollector reports them ("YYYY-MM")."""
    return results.market.assign(month=results.market["month"].dt.strftime("%Y-%m"))


def test_batch_run_reports_the_market_table_of_simulate():
    # a string is one value (not iterated over); a list is one value per run
    rows = mesa.batch_run(MarketModel, parameters={"seed": [0, 1], "scenario": "price_war", **SMALL},
                          iterations=1, max_steps=1000, number_processes=2, data_collection_period=1,
                          display_progress=False)
    frame = pd.DataFrame(rows)
    assert len(frame) == 2 * 18  # 2 seeds x 18 months
    for (seed, scenario), got in frame.groupby(["seed", "scenario"]):
        expected = market_as_reported(simulate(compose([f"seed={seed}", f"scenario={scenario}",
                                                        "population.n_enterprises=300", "end=2025-06"])))
        assert got["Step"].tolist() == list(range(18))  # Step t is month t
        pd.testing.assert_frame_equal(got[expected.columns].reset_index(drop=True), expected, check_exact=True)


def test_batch_run_quirks_of_mesa_3_3():
    params = {"overrides": [{**dict(o.split("=") for o in TINY), "end": "2024-12"}]}
    rows = pd.DataFrame(mesa.batch_run(MarketModel, parameters=params, iterations=2, max_steps=3,
                                       number_processes=1, data_collection_period=1, display_progress=False))
    # max_steps=3 runs 4 steps (months 0..3), and without a seed parameter both iterations
    # are the same run (the config's seed)
    assert rows.groupby("iteration")["Step"].max().tolist() == [3, 3]
    first, second = (g.drop(columns=["RunId", "iteration"]).reset_index(drop=True)
                     for _, g in rows.groupby("iteration"))
    pd.testing.assert_frame_equal(first, second)


def test_keyword_parameters_build_the_composed_config():
    model = MarketModel(seed=2, n_enterprises=300, scenario="no_routing", router="threshold", end="2025-06",
                        overrides={**dict(o.split("=") for o in TINY), "adoption.imitation_q": 0.05})
    assert model.cfg == compose([*TINY, "seed=2", "population.n_enterprises=300", "scenario=no_routing",
                                 "router=threshold", "end=2025-06", "adoption.imitation_q=0.05"])
    assert model._seed == 2  # Mesa's own seed is the run's
    base = compose([*TINY, "end=2024-12"])
    assert MarketModel(base).cfg is base
    assert MarketModel(base, seed=7).cfg.seed == 7


def test_datacollector_holds_plain_values_equal_to_the_market_table(tiny_cfg):
    model = MarketModel(tiny_cfg).run()
    collected = model.datacollector.get_model_vars_dataframe()
    assert all(type(v) in (float, str) for values in model.datacollector.model_vars.values() for v in values)
    pd.testing.assert_frame_equal(collected, market_as_reported(simulate(tiny_cfg)), check_exact=True)
