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
# - Spend shares are of the simulated API market, which the calibration fits to Menlo's survey
#   shares up to mid-2025 only.

# %%
Markdown(LIMITATIONS)
