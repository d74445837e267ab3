"""Plots of one run's tables. Each function returns a matplotlib Figure and never shows it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.dates as mdates  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

TIER_COLORS = {"frontier": "#1f4e79", "budget": "#5aa469", "overseas": "#d1495b"}


def _month_axis(ax) -> None:
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.grid(True, alpha=0.3)


def revenue_by_provider(providers: pd.DataFrame) -> Figure:
    """Monthly enterprise-API revenue of each provider over time (USD millions)."""
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    wide = providers.pivot(index="month", columns="provider", values="revenue_usd") / 1e6
    order = wide.sum().sort_values(ascending=False).index
    for name in order:
        ax.plot(wide.index, wide[name], label=name, linewidth=1.8)
    ax.set_ylabel("API revenue (USD millions per month)")
    ax.set_xlabel("month")
    ax.set_title("Revenue by provider")
    ax.legend(ncols=2, fontsize="small")
    _month_axis(ax)
    return fig


def revenue_vs_token_share(tiers: pd.DataFrame) -> Figure:
    """Revenue share (solid) against token share (dashed) of each tier over time."""
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    for tier, frame in tiers.groupby("tier", sort=False):
        color = TIER_COLORS.get(str(tier))
        ax.plot(frame["month"], 100 * frame["revenue_share"], color=color, linewidth=2,
                label=f"{tier}: revenue share")
        ax.plot(frame["month"], 100 * frame["token_share"], color=color, linewidth=1.5,
                linestyle="--", label=f"{tier}: token share")
    ax.set_ylabel("share of market (%)")
    ax.set_xlabel("month")
    ax.set_ylim(0, 100)
    ax.set_title("Revenue share vs token share by tier")
    ax.legend(ncols=3, fontsize="small")
    _month_axis(ax)
    return fig


def enterprise_savings(enterprises: pd.DataFrame) -> Figure:
    """Enterprise savings from routing (vs no routing at the same prices) and adoption."""
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    ax.plot(enterprises["month"], enterprises["savings_usd"] / 1e6, color="#1f4e79", linewidth=2,
            label="savings (USD millions per month)")
    ax.set_ylabel("savings vs no routing (USD millions per month)")
    ax.set_xlabel("month")
    _month_axis(ax)
    right = ax.twinx()
    right.plot(enterprises["month"], 100 * enterprises["savings_share"], color="#5aa469",
               linestyle="--", label="savings (% of no-routing spend)")
    right.plot(enterprises["month"], 100 * enterprises["adopter_share"], color="#d1495b",
               linestyle=":", label="enterprises routing (%)")
    right.set_ylabel("percent")
    right.set_ylim(min(0.0, 100 * float(enterprises["savings_share"].min()) - 5), 100)
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", fontsize="small")
    ax.set_title("Enterprise savings from routing")
    return fig


def cumulative_cash(providers: pd.DataFrame, break_even: dict | None = None) -> Figure:
    """Cumulative cash of each provider over time (USD billions), break-even months marked.

    ``break_even`` is run.json's ``break_even`` mapping; a provider whose books are an API
    segment of a larger group is drawn dashed.
    """
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    for name, frame in providers.groupby("provider", sort=False):
        segment = frame["scope"].iloc[0] == "api_segment" if "scope" in frame else False
        label = f"{name} (API segment)" if segment else str(name)
        line, = ax.plot(frame["month"], frame["cumulative_cash_usd"] / 1e9, linewidth=1.8,
                        linestyle="--" if segment else "-", label=label)
        month = (break_even or {}).get(name, {}).get("month")
        if month:
            when = pd.Timestamp(f"{month}-01")
            cash = frame.set_index("month").loc[when, "cumulative_cash_usd"] / 1e9
            ax.plot([when], [cash], marker="o", color=line.get_color())
            ax.annotate(f"break-even {month}", (when, cash), textcoords="offset points", xytext=(4, 6),
                        fontsize="x-small", color=line.get_color())
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("cumulative cash (USD billions)")
    ax.set_xlabel("month")
    ax.set_title("Cumulative cash by provider (dot: first month of positive operating income)")
    ax.legend(ncols=2, fontsize="small")
    _month_axis(ax)
    return fig


def calibration_report(runs: list, targets: list) -> Figure:
    """Each target against the simulated series around its date.

    The mean over runs (line), the runs' range (band), and the fact with its tolerance (red
    error bar at the middle of its month or period); 18 months either side of the fact.
    """
    from routesim.calibration import NEVER_YEAR

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
    years = [t for t in targets if t.column == "break_even_year"]
    if years:
        fig.suptitle("Calibration: simulated (blue: fit, grey: validate) vs facts (red); break-even "
                     f"targets in the fit table ({NEVER_YEAR} = never)", fontsize="small")
    return fig


RUN_PLOTS = {
    "revenue_by_provider": lambda r: revenue_by_provider(r.providers),
    "revenue_vs_token_share": lambda r: revenue_vs_token_share(r.tiers),
    "enterprise_savings": lambda r: enterprise_savings(r.enterprises),
    "cumulative_cash": lambda r: cumulative_cash(r.providers, r.metadata.get("break_even")),
}
