# %% [markdown]
# # H1: does routing lower frontier providers' revenue per task?
#
# Reads a finished sweep of `routesim +experiment=h1_frontier_revenue` (the newest under
# `results/sweeps/h1_frontier_revenue/`, or the folder in `ROUTESIM_SWEEP`) through the public
# API, tests the experiment's claims on paired seeds and draws the main pictures. It runs no
# simulation of its own.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt

from routesim.analysis.hypotheses import claims_table, pairs
from routesim.analysis.plots import sweep_revenue, sweep_tier_shares
from routesim.analysis.sweep import latest_sweep, load_sweep

root = latest_sweep("h1_frontier_revenue")
sweep = load_sweep(root)
print(f"{len(sweep.runs)} runs from {root}; broken: {len(sweep.broken)}")

# %% [markdown]
# ## The claims, tested
# Each claim compares status_quo with no_routing on the same seeds (common random numbers);
# the table gives the mean paired difference, its bootstrap 95% interval, the test used and
# the Holm-adjusted p-value.

# %%
claims_table(sweep)

# %% [markdown]
# ## Paired differences, seed by seed

# %%
spec = sweep.experiment["hypotheses"][0]
paired = pairs(sweep, spec)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(paired["treatment"] - paired["control"], bins=10, color="#1f4e79")
ax.axvline(0, color="black", linewidth=0.8)
ax.set_xlabel(f"{spec['column']}: status_quo - no_routing (USD per task)")
ax.set_ylabel("seeds")

# %% [markdown]
# ## Revenue of the frontier labs, and the frontier tier's revenue vs token share

# %%
sweep_revenue(sweep.tables["providers"])

# %%
sweep_tier_shares(sweep.tables["tiers"])

# %% [markdown]
# ## Conclusion (every number computed from this sweep)

# %%
from IPython.display import Markdown  # noqa: E402

from routesim.analysis.hypotheses import evaluate  # noqa: E402
from routesim.analysis.report import LIMITATIONS, conclusion  # noqa: E402

Markdown(conclusion(evaluate(sweep, sweep.experiment["hypotheses"], sweep.experiment.get("alpha", 0.05))))

# %% [markdown]
# ## Limitations
#
# - H1a compares revenue per frontier call, not per call of the whole market: over all calls it
#   would fall by arithmetic alone.

# %%
Markdown(LIMITATIONS)
