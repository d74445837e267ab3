# %% [markdown]
# # H8: Anthropic vs OpenAI, and how routing moves them
#
# Revenue shares of the two labs with and without routing.
# Reads the newest sweep of `routesim +experiment=h8_lab_ordering` (or `ROUTESIM_SWEEP`) through the
# public API; runs no simulation of its own.

# %%
# %matplotlib inline
from routesim.analysis.hypotheses import claims_table
from routesim.analysis.plots import sweep_revenue
from routesim.analysis.sweep import latest_sweep, load_sweep

sweep = load_sweep(latest_sweep("h8_lab_ordering"))
print(f"{len(sweep.runs)} runs; broken: {len(sweep.broken)}")

# %% [markdown]
# ## The claims, tested (paired by seed, Holm-adjusted)

# %%
claims_table(sweep)

# %%
sweep_revenue(sweep.tables['providers'])
