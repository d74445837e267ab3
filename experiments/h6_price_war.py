# %% [markdown]
# # H6: does a frontier price war win back share but not revenue?
#
# Frontier list prices halved from 2026-01 and reactive pricing by every lab, against the baseline.
# Reads the newest sweep of `routesim +experiment=h6_price_war` (or `ROUTESIM_SWEEP`) through the
# public API; runs no simulation of its own.

# %%
# %matplotlib inline
from routesim.analysis.hypotheses import claims_table
from routesim.analysis.plots import sweep_revenue, sweep_tier_shares
from routesim.analysis.sweep import latest_sweep, load_sweep

sweep = load_sweep(latest_sweep("h6_price_war"))
print(f"{len(sweep.runs)} runs; broken: {len(sweep.broken)}")

# %% [markdown]
# ## The claims, tested (paired by seed, Holm-adjusted)

# %%
claims_table(sweep)

# %%
sweep_tier_shares(sweep.tables['tiers'])

# %%
sweep_revenue(sweep.tables['providers'])

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
# - The price war's size (frontier list prices x0.5 from 2026) is a scenario choice, not a
#   forecast.

# %%
Markdown(LIMITATIONS)
