# %% [markdown]
# # Exploring routesim with EMA Workbench
#
# 240 experiments (40 Latin-hypercube draws of the calibration's priors x 3 scenarios x 2
# routing policies) of the default market at 2,000 enterprises, 2024-01..2030-12, on both
# cores; then PRIM: under which conditions does frontier revenue in 2030 fall low?
# Needs the `explore` extra (`pip install -e '.[explore]'`). Run headless with
# `python experiments/run_notebooks.py ema_exploration` (about two minutes on two cores;
# the executed notebook goes to `results/notebooks/`).

# %%
import numpy as np
import pandas as pd
from ema_workbench import MultiprocessingEvaluator, Policy
from ema_workbench.analysis import prim

from routesim.ema import ROUTER_LEVER, SCENARIO_LEVER, ema_model, seeded_sampling

SCENARIOS, ROUTERS = ["status_quo", "price_war", "frontier_bundle"], ["learned", "cost_optimal"]
model = ema_model(n_enterprises=2000, scenarios=SCENARIOS, routers=ROUTERS)
print("uncertainties (the calibration's priors):")
for u in model.uncertainties:
    print(f"  {u.name:42s} [{u.lower_bound:g}, {u.upper_bound:g}]")
print("outcomes:", ", ".join(o.name for o in model.outcomes))

# %% [markdown]
# ## 240 experiments on both cores
# Every experiment is one seeded `routesim.run` (seed 0, so the same enterprises throughout);
# the Latin-hypercube design is seeded too (`seeded_sampling`), so this notebook gives the same
# table every time.

# %%
policies = [Policy(f"{s}__{r}", **{SCENARIO_LEVER: s, ROUTER_LEVER: r}) for s in SCENARIOS for r in ROUTERS]
with seeded_sampling(2024), MultiprocessingEvaluator(model, n_processes=2) as evaluator:
    experiments, outcomes = evaluator.perform_experiments(scenarios=40, policies=policies)
results = pd.concat([experiments, pd.DataFrame(outcomes)], axis=1)
print(f"{len(results)} experiments")

# %%
summary = results.groupby([SCENARIO_LEVER, ROUTER_LEVER], observed=True)[
    ["frontier_revenue_usd_2030", "openai_usage_share_2030", "anthropic_usage_share_2030", "enterprise_savings_usd"]
].median()
(summary / [1e9, 0.01, 0.01, 1e9]).round(2).rename(columns=lambda c: c + (" (B USD)" if "usd" in c else " (%)"))

# %% [markdown]
# ## PRIM: when is frontier revenue in 2030 in its lowest quarter?

# %%
x = experiments.drop(columns=["scenario", "policy", "model"])
y = outcomes["frontier_revenue_usd_2030"] < np.quantile(outcomes["frontier_revenue_usd_2030"], 0.25)
box = prim.Prim(x, y, threshold=0.7).find_box()
# the peeling trajectory trades coverage for density: take the widest box that is >= 80% dense
trajectory = box.peeling_trajectory
box.select(int(trajectory[trajectory["density"] >= 0.8]["coverage"].idxmax()))
box.inspect()

# %%
box.inspect(style="graph")

# %%
box.show_tradeoff()
