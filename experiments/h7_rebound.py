# %% [markdown]
# # H7: does cheaper routing raise demand (a rebound)?
#
# Task volume with and without routing, at the sourced price elasticity 0.3.
# Reads the newest sweep of `routesim +experiment=h7_rebound` (or `ROUTESIM_SWEEP`) through the
# public API; runs no simulation of its own.

# %%
# %matplotlib inline
from routesim.analysis.hypotheses import claims_table
from routesim.analysis.plots import sweep_adoption, sweep_savings
from routesim.analysis.sweep import latest_sweep, load_sweep

sweep = load_sweep(latest_sweep("h7_rebound"))
print(f"{len(sweep.runs)} runs; broken: {len(sweep.broken)}")

# %% [markdown]
# ## The claims, tested (paired by seed, Holm-adjusted)

# %%
claims_table(sweep)

# %%
sweep_adoption(sweep.tables['market'])

# %%
sweep_savings(sweep.tables['enterprises'])

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
# - The rebound uses one price elasticity (demand.price_elasticity); H7b also counts tasks no
#   longer throttled at budget caps.

# %%
Markdown(LIMITATIONS)
