# %% [markdown]
# # H4: does routing push back the labs' break-even?
#
# The break-even month (the first month whose trailing 12 months are in profit) with and
# without routing. It may not come by 2030-12: such runs are censored, never coded as a year;
# the claims compare scenarios by the log-rank test, and the table gives the share of runs
# breaking even by the end of each year.
# Reads the newest sweep of `routesim +experiment=h4_break_even` (or `ROUTESIM_SWEEP`) through the
# public API; runs no simulation of its own.

# %%
# %matplotlib inline
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
from routesim.analysis.hypotheses import by_year  # noqa: E402

{h["id"]: by_year(sweep, h) for h in sweep.experiment["hypotheses"]}

# %%
sweep_break_even(sweep.runs)

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
# - Break-even is the API business's, with company-wide fixed costs allocated to it; most runs do
#   not break even by 2030-12, so the comparison rests on few events.

# %%
Markdown(LIMITATIONS)
