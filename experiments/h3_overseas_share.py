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
# - The overseas tier's baseline share is small (about 1.4% of calls), so relative changes are
#   large; the surge's ability and price shift are derived from 2026 gaps (README "Scenarios").

# %%
Markdown(LIMITATIONS)
