# %% [markdown]
# # H3: how much enterprise traffic do cheap overseas models take?
#
# Overseas parity at deep discounts (overseas_surge) and export controls against the baseline.
# Reads the newest sweep of `routesim +experiment=h3_overseas_share` (or `ROUTESIM_SWEEP`) through the
# public API; runs no simulation of its own.

# %%
# %matplotlib inline
from routesim.analysis.hypotheses import claims_table
from routesim.analysis.plots import sweep_overseas
from routesim.analysis.sweep import latest_sweep, load_sweep

sweep = load_sweep(latest_sweep("h3_overseas_share"))
print(f"{len(sweep.runs)} runs; broken: {len(sweep.broken)}")

# %% [markdown]
# ## The claims, tested (paired by seed, Holm-adjusted)

# %%
claims_table(sweep)

# %%
sweep_overseas(sweep.tables['tiers'])
