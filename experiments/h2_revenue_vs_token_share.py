# %% [markdown]
# # H2: does routing hit frontier revenue share harder than token share?
#
# The article says routing affects revenue rather than market share. The metric is the
# frontier tier's revenue share minus its token share; the claim is that routing lowers it.
# Reads the newest sweep of `routesim +experiment=h2_revenue_vs_token_share` (or `ROUTESIM_SWEEP`) through the
# public API; runs no simulation of its own.

# %%
from routesim.analysis.hypotheses import claims_table
from routesim.analysis.plots import sweep_tier_shares
from routesim.analysis.sweep import latest_sweep, load_sweep

sweep = load_sweep(latest_sweep("h2_revenue_vs_token_share"))
print(f"{len(sweep.runs)} runs; broken: {len(sweep.broken)}")

# %% [markdown]
# ## The claims, tested (paired by seed, Holm-adjusted)

# %%
claims_table(sweep)

# %%
sweep_tier_shares(sweep.tables['tiers'])
