# %% [markdown]
# # H4: does routing push back the labs' break-even?
#
# Cash at the end of 2030 and the first month of positive operating income, with and without routing.
# Reads the newest sweep of `routesim +experiment=h4_break_even` (or `ROUTESIM_SWEEP`) through the
# public API; runs no simulation of its own.

# %%
from routesim.analysis.hypotheses import claims_table
from routesim.analysis.plots import sweep_break_even, sweep_revenue
from routesim.analysis.sweep import latest_sweep, load_sweep

sweep = load_sweep(latest_sweep("h4_break_even"))
print(f"{len(sweep.runs)} runs; broken: {len(sweep.broken)}")

# %% [markdown]
# ## The claims, tested (paired by seed, Holm-adjusted)

# %%
claims_table(sweep)

# %%
sweep_break_even(sweep.runs)

# %%
sweep_revenue(sweep.tables['providers'])
