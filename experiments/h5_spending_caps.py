# %% [markdown]
# # H5: do spending caps plus routing prevent runaway spend?
#
# Runaway episodes (a bill above 3x budget) and spend above budget, hard caps against the baseline.
# Reads the newest sweep of `routesim +experiment=h5_spending_caps` (or `ROUTESIM_SWEEP`) through the
# public API; runs no simulation of its own.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt

from routesim.analysis.hypotheses import claims_table
from routesim.analysis.sweep import latest_sweep, load_sweep


def runaway_chart(enterprises):
    fig, ax = plt.subplots(figsize=(8, 3.5))
    by_month = enterprises.groupby(['scenario', 'month'])['runaway_events'].mean().unstack(0)
    by_month.plot(ax=ax)
    ax.set_ylabel('runaway episodes per month (mean over seeds)')
    return fig

sweep = load_sweep(latest_sweep("h5_spending_caps"))
print(f"{len(sweep.runs)} runs; broken: {len(sweep.broken)}")

# %% [markdown]
# ## The claims, tested (paired by seed, Holm-adjusted)

# %%
claims_table(sweep)

# %%
runaway_chart(sweep.tables['enterprises'])

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
# - H5b's -100% holds by construction: under budget_caps nobody overspends.

# %%
Markdown(LIMITATIONS)
