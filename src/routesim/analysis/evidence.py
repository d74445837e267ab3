"""Router evidence: the published router results, and what routers achieve in routesim's market.

RouteLLM (Ong et al. 2024, docs/sources.md [S18]) routes between GPT-4-1106 and
Mixtral-8x7B and reports 35-85% lower API cost than GPT-4 alone at 95% of its quality, with
GPT-4 taking 14-54% of the calls. :func:`router_years` puts every enterprise of the default
market on a router and measures, per year, the frontier tier's share of the routers' calls
and their savings, so that the world the hypotheses run in can be checked against those
ranges (``tests/test_router_evidence.py`` holds it; README "Router evidence" shows it).

``python -m routesim.analysis.evidence [--seeds 3] [--out docs/router_evidence.png]`` prints
the table (mean, min and max over seeds) and writes the plot.
"""

from __future__ import annotations

import argparse

import pandas as pd
from matplotlib.figure import Figure

STRONG_SHARE = (0.14, 0.54)  # RouteLLM: share of calls to GPT-4 at 95% of its quality
SAVINGS = (0.35, 0.85)  # RouteLLM: API-cost reduction vs GPT-4 alone at 95% of its quality
EVERYONE_ROUTES = ["end=2026-12", "adoption.initial_share=1", "adoption.innovation_p=1",
                   "adoption.require_net_savings=false"]


def router_years(n: int = 1500, seed: int = 0, overrides: list[str] | None = None) -> pd.DataFrame:
    """Per year 2024-2026, with every enterprise routing: the routers' frontier call share and savings.

    ``savings`` is RouteLLM's measure: 1 - what the routed calls cost / what the same tasks
    cost on the everyday model, API prices only. ``net_savings`` also counts the router's
    fee and the integration cost, which are the enterprise's, not the study's.
    """
    from routesim import compose, simulate

    res = simulate(compose([f"population.n_enterprises={n}", f"seed={seed}", "output.plots=false",
                            *EVERYONE_ROUTES, *(overrides or [])]))
    year = res.enterprises.assign(year=lambda d: d["month"].dt.year).groupby("year").sum(numeric_only=True)
    paid = year["router_spend_usd"] + year["router_fees_usd"] + year["integration_cost_usd"]
    return pd.DataFrame({"frontier_call_share": year["router_frontier_calls"] / year["router_calls"],
                         "savings": 1 - year["router_spend_usd"] / year["router_no_routing_spend_usd"],
                         "net_savings": 1 - paid / year["router_no_routing_spend_usd"]})


def router_table(seeds: int = 3, n: int = 1500) -> pd.DataFrame:
    """:func:`router_years` over ``seeds`` seeds: mean, min and max of each column per year."""
    runs = pd.concat([router_years(n, s).assign(seed=s) for s in range(seeds)]).rename_axis("year").reset_index()
    return runs.groupby("year")[["frontier_call_share", "savings", "net_savings"]].agg(["mean", "min", "max"])


def router_evidence_plot(table: pd.DataFrame) -> Figure:
    """The routers' frontier call share and savings per year against RouteLLM's ranges (shaded)."""
    fig = Figure(figsize=(9, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    years = table.index.to_numpy()
    for ax, column, band, title in ((axes[0], "frontier_call_share", STRONG_SHARE, "frontier share of routers' calls"),
                                    (axes[1], "savings", SAVINGS, "routers' savings (API cost)")):
        ax.axhspan(*band, color="#5aa469", alpha=0.2, label="RouteLLM at 95% quality")
        mean, low, high = (table[(column, k)].to_numpy() for k in ("mean", "min", "max"))
        ax.errorbar(years, mean, yerr=[mean - low, high - mean], fmt="o-", color="#1f4e79", capsize=4,
                    label="routesim, every enterprise routing")
        if column == "savings":
            ax.plot(years, table[("net_savings", "mean")], "s--", color="#d1495b",
                    label="net of router fee and integration")
        ax.set_ylim(0, 1)
        ax.set_xticks(years)
        ax.set_xlabel("year")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", loc="upper right")
    return fig


def main(argv: list[str] | None = None) -> None:
    """Print the router-evidence table and write its plot."""
    parser = argparse.ArgumentParser(prog="python -m routesim.analysis.evidence", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds to simulate (default 3)")
    parser.add_argument("--agents", type=int, default=1500, help="agents per run (default 1500)")
    parser.add_argument("--out", default="docs/router_evidence.png", help="where the plot goes")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.agents < 1:
        parser.error("--seeds and --agents must be >= 1")
    table = router_table(args.seeds, args.agents)
    print(table.round(3).to_string())
    router_evidence_plot(table).savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
