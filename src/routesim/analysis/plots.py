"""Plots of one run's tables. Each function returns a matplotlib Figure and never shows it.

No backend is chosen here: ``Figure.savefig`` needs none, and choosing one on import would
replace a notebook's inline backend (its figures would print as text).
"""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

STYLE = Path(__file__).with_name("routesim.mplstyle")
# one colour per tier, provider and scenario in every figure
TIER_COLORS = {"frontier": "#1f4e79", "budget": "#5aa469", "overseas": "#d1495b"}
PROVIDER_COLORS = {"openai": "#10a37f", "anthropic": "#cc785c", "google": "#4285f4", "deepseek": "#4d6bfe",
                   "alibaba": "#ff6a00", "moonshot": "#6b4fbb", "mistral": "#f2c94c"}
SCENARIO_COLORS = {"status_quo": "#0072B2", "no_routing": "#555555", "price_war": "#D55E00",
                   "overseas_surge": "#CC79A7", "export_controls": "#009E73", "budget_caps": "#E69F00",
                   "frontier_bundle": "#56B4E9", "router_mix": "#000000"}


def styled(plot):
    """Draw ``plot`` under routesim's style (``routesim.mplstyle``): every figure looks alike."""
    @functools.wraps(plot)
    def draw(*args, **kwargs) -> Figure:
        with mpl.rc_context(fname=STYLE):
            return plot(*args, **kwargs)
    return draw


def _month_axis(ax) -> None:
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.grid(True, alpha=0.3)


def _finish(ax, ylabel: str, title: str, legend_cols: int = 1) -> None:
    """The labelling every over-time run plot shares."""
    ax.set_ylabel(ylabel)
    ax.set_xlabel("month")
    ax.set_title(title)
    ax.legend(ncols=legend_cols, fontsize="small")
    _month_axis(ax)


@styled
def revenue_by_provider(providers: pd.DataFrame) -> Figure:
    """Monthly enterprise-API revenue of each provider over time (USD millions).

    Providers whose peak is under 5% of the largest get their own panel and scale, so they do
    not lie on top of each other at zero.
    """
    wide = providers.pivot(index="month", columns="provider", values="revenue_usd") / 1e6
    order = wide.max().sort_values(ascending=False).index
    small = [name for name in order if wide[name].max() < 0.05 * wide.max().max()]
    fig = Figure(figsize=(13 if small else 9, 5), layout="constrained")
    axes = fig.subplots(1, 2 if small else 1, squeeze=False)[0]
    for ax, names, title in ((axes[0], [n for n in order if n not in small], "Revenue by provider"),
                             *(((axes[1], small, "Smaller providers (own scale)"),) if small else ())):
        for name in names:
            ax.plot(wide.index, wide[name], label=name, color=PROVIDER_COLORS.get(str(name)))
        _finish(ax, "API revenue (USD millions per month)", title, legend_cols=2)
    return fig


@styled
def spend_vs_usage_share(tiers: pd.DataFrame) -> Figure:
    """Spend share (solid) against usage share (share of calls, dashed) of each tier over time."""
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    for tier, frame in tiers.groupby("tier", sort=False):
        color = TIER_COLORS.get(str(tier))
        ax.plot(frame["month"], 100 * frame["spend_share"], color=color, linewidth=2,
                label=f"{tier}: spend share")
        ax.plot(frame["month"], 100 * frame["usage_share"], color=color, linewidth=1.5,
                linestyle="--", label=f"{tier}: usage share (calls)")
    ax.set_ylim(0, 100)
    _finish(ax, "share of the API market (%)", "Spend share vs usage share by tier", legend_cols=3)
    # below the axes: the tiers' lines cross the middle of the plot as routing spreads
    ax.legend(ncols=3, fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)
    return fig


@styled
def enterprise_savings(enterprises: pd.DataFrame) -> Figure:
    """What routing saves the enterprises that route, against the same enterprises without routing.

    The counterfactual is inside the run (each router's bill at its everyday model), not the
    ``no_routing`` scenario. Left: savings in USD; right: savings as % of that counterfactual
    spend, and the share of enterprises routing. A run where nobody routes says so.
    """
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    if not (enterprises["adopter_share"] > 0).any():
        for ax in (left, right):
            ax.set_axis_off()
        fig.text(0.5, 0.5, "nobody routes in this run: no savings to show", ha="center", va="center")
        return fig
    left.plot(enterprises["month"], enterprises["savings_usd"] / 1e9, color=TIER_COLORS["budget"])
    left.set_ylabel("USD billions per month")
    left.set_title("Savings of the routing enterprises\n(against their own bill without routing, in this run;\n"
                   "not the no_routing scenario)", fontsize="small")
    right.plot(enterprises["month"], 100 * enterprises["savings_share"], color=TIER_COLORS["budget"],
               label="savings (% of their spend without routing)")
    right.plot(enterprises["month"], 100 * enterprises["adopter_share"], color=TIER_COLORS["frontier"],
               linestyle="--", label="enterprises routing (% of active)")
    right.set_ylim(0, 100)
    right.set_ylabel("%")
    right.set_title("Savings share and adoption")
    right.legend(loc="upper left")
    for ax in (left, right):
        ax.set_xlabel("month")
        _month_axis(ax)
    return fig


@styled
def cumulative_result(providers: pd.DataFrame, break_even: dict | None = None) -> Figure:
    """Cumulative operating income of each provider's API business (USD billions), break-even marked.

    ``break_even`` is run.json's ``break_even`` mapping (a month, or None: not within the horizon).
    """
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    for name, frame in providers.groupby("provider", sort=False):
        month = (break_even or {}).get(name, {}).get("month")
        label = f"{name} (break-even {month})" if month else f"{name} (no break-even by {frame['month'].max():%Y-%m})"
        line, = ax.plot(frame["month"], frame["cumulative_operating_income_usd"] / 1e9, label=label,
                        color=PROVIDER_COLORS.get(str(name)))
        if month:
            when = pd.Timestamp(f"{month}-01")
            value = frame.set_index("month").loc[when, "cumulative_operating_income_usd"] / 1e9
            ax.plot([when], [value], marker="o", color=line.get_color())
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("cumulative operating income of the API business (USD billions)")
    ax.set_xlabel("month")
    ax.set_title("API business result by provider (dot: break-even, the first month ending 12 months in profit)")
    ax.legend(ncols=2, fontsize="small")
    _month_axis(ax)
    return fig


@styled
def calibration_report(runs: list, targets: list) -> Figure:
    """Each target against the simulated series around its date.

    The mean over runs (line), the runs' range (band), and the fact with its tolerance (red
    error bar at the middle of its month or period); 18 months either side of the fact.
    """
    shown = [t for t in targets if t.column != "break_even_year"]
    n_cols = 4
    n_rows = -(-len(shown) // n_cols)
    fig = Figure(figsize=(4.2 * n_cols, 3.0 * n_rows), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax, target in zip(axes, shown, strict=False):
        series = []
        for res in runs:
            frame = getattr(res, target.table)
            for key, value in target.filter.items():
                frame = frame[frame[key] == value]
            factor = 12 if target.transform == "annualise" else 1
            series.append(frame.set_index("month")[target.column] * factor)
        start, end = pd.Timestamp(f"{target.start}-01"), pd.Timestamp(f"{target.end}-01")
        wide = pd.concat(series, axis=1)
        wide = wide.loc[start - pd.DateOffset(months=18):end + pd.DateOffset(months=18)]
        scale = 1e9 if target.column.endswith("_usd") else 1.0
        color = "#1f4e79" if target.kind == "fit" else "#888888"
        ax.plot(wide.index, wide.mean(axis=1) / scale, color=color, linewidth=1.5)
        low, high = wide.min(axis=1) / scale, wide.max(axis=1) / scale
        ax.fill_between(wide.index, low, high, color=color, alpha=0.2)
        mid = start + (end - start) / 2
        ax.errorbar([mid], [target.value / scale], yerr=[[target.tolerance / scale]], fmt="o",
                    color="#d1495b", capsize=3)
        ax.set_title(f"{target.id} ({target.kind})", fontsize="small")
        ax.set_ylabel("USD billions / yr" if scale > 1 else target.column, fontsize="x-small")
        ax.tick_params(labelsize="x-small")
        _month_axis(ax)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    fig.suptitle("Calibration: simulated (blue: fit, grey: validate) vs facts (red); break-even "
                 "targets are in the fit table (censored at the horizon)", fontsize="small")
    return fig


def run_caption(results) -> str:
    """What a run figure shows: scenario, seed and agents (from the run's metadata)."""
    meta = results.metadata
    agents = int(results.enterprises["n_agents"].max()) if "n_agents" in results.enterprises else 0
    return (f"scenario {meta.get('scenario')}, seed {meta.get('seed')}, {agents:,} agents "
            "(weighted to the real market)")


def _run_captioned(plot):
    def draw(results) -> Figure:
        fig = plot(results)
        fig.suptitle(run_caption(results), fontsize="small")
        return fig
    return draw


RUN_PLOTS = {name: _run_captioned(plot) for name, plot in {
    "revenue_by_provider": lambda r: revenue_by_provider(r.providers),
    "spend_vs_usage_share": lambda r: spend_vs_usage_share(r.tiers),
    "enterprise_savings": lambda r: enterprise_savings(r.enterprises),
    "cumulative_result": lambda r: cumulative_result(r.providers, r.metadata.get("break_even")),
}.items()}


# ------------------------------------------------------------------------- sweep figures


def _bands(ax, frame: pd.DataFrame, value: str, by: str = "scenario", scale: float = 1.0,
           limits: tuple[float, float] = (0.0, np.inf)) -> None:
    """Mean over seeds per ``by`` group, with a 95% band (mean +- t * standard error).

    The band is kept inside the quantity's ``limits`` (revenue and shares are never negative,
    a percentage never above 100).
    """
    from scipy import stats

    for name, group in frame.groupby(by, sort=True):
        wide = group.pivot_table(index="month", columns="seed", values=value) / scale
        mean = wide.mean(axis=1)
        n = wide.notna().sum(axis=1).clip(lower=1)
        half = stats.t.ppf(0.975, (n - 1).clip(lower=1)) * wide.std(axis=1, ddof=1).fillna(0) / np.sqrt(n)
        line, = ax.plot(mean.index, mean, label=str(name), color=SCENARIO_COLORS.get(str(name)))
        low, high = (mean - half).clip(lower=limits[0]), (mean + half).clip(upper=limits[1])
        ax.fill_between(mean.index, low, high, color=line.get_color(), alpha=0.2)
    _month_axis(ax)


@styled
def sweep_revenue(providers: pd.DataFrame, names: tuple[str, ...] = ("openai", "anthropic", "google")) -> Figure:
    """API revenue of the main providers over time per scenario, with 95% bands across seeds."""
    fig = Figure(figsize=(13, 4), layout="constrained")
    axes = fig.subplots(1, len(names), sharey=True)
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        _bands(ax, providers[providers["provider"] == name], "revenue_usd", scale=1e9)
        ax.set_title(name)
        ax.set_xlabel("month")
    np.atleast_1d(axes)[0].set_ylabel("API revenue (USD billions per month)")
    np.atleast_1d(axes)[0].legend(fontsize="small")
    return fig


@styled
def sweep_tier_shares(tiers: pd.DataFrame, tier: str = "frontier") -> Figure:
    """A tier's spend share and usage share (calls) over time per scenario."""
    fig = Figure(figsize=(12, 4), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    part = tiers[tiers["tier"] == tier].assign(spend_pct=lambda d: 100 * d["spend_share"],
                                              usage_pct=lambda d: 100 * d["usage_share"])
    _bands(left, part, "spend_pct", limits=(0.0, 100.0))
    _bands(right, part, "usage_pct", limits=(0.0, 100.0))
    left.set_title(f"{tier} spend share (% of API dollars)")
    right.set_title(f"{tier} usage share (% of calls)")
    left.set_ylim(0, 101)
    for ax in (left, right):
        ax.set_xlabel("month")
    left.set_ylabel("share (%)")
    left.legend(fontsize="small", loc="lower left")
    return fig


@styled
def sweep_adoption(market: pd.DataFrame) -> Figure:
    """Share of enterprises routing over time per scenario."""
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    _bands(ax, market.assign(pct=100 * market["adoption_share"]), "pct", limits=(0.0, 100.0))
    ax.set_ylabel("enterprises routing (%)")
    ax.set_title("Adoption of routing")
    ax.legend(fontsize="small")
    return fig


@styled
def sweep_overseas(tiers: pd.DataFrame) -> Figure:
    """Overseas (CN) models' usage share (calls) over time per scenario (H3)."""
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    part = tiers[tiers["tier"] == "overseas"]
    _bands(ax, part.assign(pct=100 * part["usage_share"]), "pct", limits=(0.0, 100.0))
    ax.set_ylabel("overseas usage share, calls (%)")
    ax.set_title("Overseas models' share of enterprise model calls")
    ax.legend(fontsize="small")
    return fig


@styled
def sweep_savings(enterprises: pd.DataFrame, last_months: int = 12) -> Figure:
    """Distribution over runs of the enterprise savings share in the last months, per scenario."""
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    cutoff = enterprises["month"].max() - pd.DateOffset(months=last_months - 1)
    recent = enterprises[enterprises["month"] >= cutoff]
    per_run = recent.groupby(["scenario", "run"]).apply(
        lambda g: 100 * g["savings_usd"].sum() / max(g["no_routing_spend_usd"].sum(), 1e-12), include_groups=False)
    names = sorted(per_run.index.get_level_values(0).unique())
    ax.boxplot([per_run.loc[n].to_numpy() for n in names], tick_labels=names)
    ax.set_ylabel(f"savings, last {last_months} months (% of no-routing spend)")
    ax.set_title("Enterprise savings across seeds")
    ax.grid(True, alpha=0.3)
    return fig


@styled
def sweep_break_even(runs: pd.DataFrame, names: tuple[str, ...] = ("openai", "anthropic", "google")) -> Figure:
    """Share of runs whose provider has broken even by each year, per scenario (censored at the horizon).

    A run whose provider does not break even within the horizon counts as not broken even by
    every year shown; it is never given a made-up year.
    """
    cols = [f"break_even_{n}" for n in names if f"break_even_{n}" in runs.columns]
    providers = [c.removeprefix("break_even_") for c in cols]
    fig = Figure(figsize=(4.5 * max(len(cols), 1), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(len(cols), 1), sharey=True))
    years = np.arange(2024, 2031)
    for ax, col, name in zip(axes, cols, providers, strict=False):
        when = runs[col].map(lambda m: int(str(m)[:4]) if isinstance(m, str) else np.inf)
        for scenario, group in when.groupby(runs["scenario"]):
            shares = [100 * (group <= y).mean() for y in years]
            # a step per year's end, drawn over the year so the last one shows too
            ax.step([*years, years[-1] + 1], [*shares, shares[-1]], where="post", label=str(scenario),
                    color=SCENARIO_COLORS.get(str(scenario)))
        ax.set_title(name)
        ax.set_xlabel("broken even by the end of year")
        ax.set_ylim(-2, 102)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("runs broken even by that year (%)")
    axes[0].legend(fontsize="small")
    fig.suptitle("Break-even (first month ending 12 months in profit), censored at the horizon:\n"
                 "a run not breaking even by 2030-12 counts as not broken even", fontsize="medium")
    return fig


def sweep_caption(sweep, bands: bool = True) -> str:
    """What a sweep figure shows: experiment, scenarios, seeds, agents, and what lines and bands are."""
    runs = sweep.runs
    seeds = runs.groupby("scenario")["seed"].nunique().max()
    agents = int(sweep.tables["enterprises"]["n_agents"].max()) if "enterprises" in sweep.tables else 0
    name = sweep.experiment.get("name") or "sweep"
    return (f"{name}: {', '.join(sorted(runs['scenario'].unique()))}; {seeds} seeds, {agents:,} agents "
            "(weighted to the real market)" + ("; lines are means over seeds, bands 95% intervals" if bands else ""))


def _captioned(plot, bands: bool = True):
    def draw(sweep) -> Figure:
        fig = plot(sweep)
        if not fig._suptitle:  # wrapped to the figure's width
            width = int(fig.get_figwidth() * 15)
            fig.suptitle(textwrap.fill(sweep_caption(sweep, bands), width), fontsize="small")
        return fig
    return draw


SWEEP_PLOTS = {name: _captioned(plot, bands=name not in ("sweep_savings", "sweep_break_even")) for name, plot in {
    "sweep_revenue": lambda s: sweep_revenue(s.tables["providers"]),
    "sweep_tier_shares": lambda s: sweep_tier_shares(s.tables["tiers"]),
    "sweep_adoption": lambda s: sweep_adoption(s.tables["market"]),
    "sweep_overseas": lambda s: sweep_overseas(s.tables["tiers"]),
    "sweep_savings": lambda s: sweep_savings(s.tables["enterprises"]),
    "sweep_break_even": lambda s: sweep_break_even(s.runs),
}.items()}
