"""A run's headline numbers as named scalars, for exploratory drivers and the dashboard.

EMA Workbench wants one number per outcome and experiment; the dashboard shows the same
numbers, so both read them from :func:`scalar_outcomes` rather than each from the tables.
"""

from __future__ import annotations

import pandas as pd

from routesim.results import Results


def outcome_names(providers: list[str], year: int) -> list[str]:
    """The names :func:`scalar_outcomes` returns for these providers and year, in order."""
    per_lab = [f"{p}_{what}_{year}" for p in providers for what in ("revenue_usd", "usage_share")]
    return [f"frontier_revenue_usd_{year}", *per_lab, "enterprise_savings_usd"]


def scalar_outcomes(results: Results, year: int | None = None) -> dict[str, float]:
    """Headline numbers of one run.

    Args:
        results: a run's tables.
        year: the calendar year of the yearly outcomes; default the year of the last month.

    Returns:
        ``frontier_revenue_usd_<year>`` (frontier-tier API revenue summed over the year),
        ``<provider>_revenue_usd_<year>`` (API revenue summed over the year),
        ``<provider>_usage_share_<year>`` (the provider's share of the year's model calls, the
        one definition of usage share) and
        ``enterprise_savings_usd`` (savings vs no routing, net of router fees and integration,
        summed over the whole run).
    """
    last = results.market["month"].max()
    year = last.year if year is None else year
    if not results.market["month"].dt.year.eq(year).any():
        raise ValueError(f"the run ({results.market['month'].min():%Y-%m}..{last:%Y-%m}) has no month in {year}.")
    in_year = results.providers[results.providers["month"].dt.year == year]
    by_lab = in_year.groupby("provider", sort=False)[["revenue_usd", "calls"]].sum()
    calls = by_lab["calls"].sum()
    market = results.market[results.market["month"].dt.year == year]
    out = {f"frontier_revenue_usd_{year}": float(market["frontier_revenue_usd"].sum())}
    for lab, row in by_lab.iterrows():
        out[f"{lab}_revenue_usd_{year}"] = float(row["revenue_usd"])
        out[f"{lab}_usage_share_{year}"] = float(row["calls"] / calls) if calls > 0 else 0.0
    out["enterprise_savings_usd"] = float(results.enterprises["savings_usd"].sum())
    return out


def providers_of(results: Results) -> list[str]:
    """The run's providers in table order."""
    return list(pd.unique(results.providers["provider"]))
