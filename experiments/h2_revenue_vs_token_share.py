# %% [markdown]
# # H2: does routing cut a lab's revenue by more than its share of calls?
#
# The article says routing affects revenue rather than market share: a lab can keep its
# customers and its usage share while its revenue falls. Per lab (OpenAI, Anthropic, the two
# together), the claim is Delta ln revenue < Delta ln usage share in 2029-2030: the paired
# difference of ln(revenue) - ln(share of calls) is negative.
# Reads the newest sweep of `routesim +experiment=h2_revenue_vs_token_share` (or `ROUTESIM_SWEEP`) through the
# public API; runs no simulation of its own.

# %%
# %matplotlib inline
from routesim.analysis.hypotheses import claims_table
from routesim.analysis.plots import sweep_tier_shares
from routesim.analysis.sweep import latest_sweep, load_sweep

sweep = load_sweep(latest_sweep("h2_revenue_vs_token_share"))
print(f"{len(sweep.runs)} runs; broken: {len(sweep.broken)}")

# %% [markdown]
# ## The claims, tested (paired by seed, Holm-adjusted)

# %%
claims_table(sweep)

# %% [markdown]
# The two parts of each lab's metric, routing minus no routing (mean over seeds, ln points):
# revenue and usage share separately.

# %%
from routesim.analysis.hypotheses import run_metric  # noqa: E402

parts = {}
for lab in ("openai", "anthropic"):
    for part in ("revenue_usd", "usage_share"):
        spec = {"table": "providers", "column": f"log({part})", "filter": {"provider": lab},
                "start": "2029-01", "end": "2030-12"}
        metric = sweep.runs.set_index("run").join(run_metric(sweep, spec).rename("m"))
        by = metric.groupby("scenario")["m"].mean()
        parts[(lab, f"Delta ln {part}")] = by["status_quo"] - by["no_routing"]
{k: round(float(v), 4) for k, v in parts.items()}

# %%
sweep_tier_shares(sweep.tables['tiers'])

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
# - H2 is in log points averaged over 2029-2030 months; a lab with no revenue in a month (some
#   prior draws) has no defined metric.

# %%
Markdown(LIMITATIONS)
