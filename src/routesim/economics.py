"""Provider economics over time, as (month x provider) arrays.

Dated series of fixed cost, revenue outside the simulated API market and its margin, and
the serving-cost path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routesim.config import Config, DatedSeries, parse_month


def series_values(series: DatedSeries, months: np.ndarray, key: str = "series") -> np.ndarray:
    """Evaluate a :class:`DatedSeries` on absolute month numbers."""
    if not series.anchors:
        return np.zeros(len(months))
    points = sorted((parse_month(a.month, key), float(a.value)) for a in series.anchors)
    at = np.array([p[0] for p in points], dtype=float)
    values = np.array([p[1] for p in points])
    out = np.empty(len(months))
    inside = months <= at[-1]
    m = months[inside].astype(float)
    if series.linear or (values <= 0).any():
        out[inside] = np.interp(m, at, values)
    else:
        out[inside] = np.exp(np.interp(m, at, np.log(values)))
    after = ~inside
    out[after] = values[-1] * series.growth_per_year ** ((months[after] - at[-1]) / 12.0)
    return out


@dataclass(frozen=True)
class ProviderBooks:
    """Per (month, provider): the exogenous parts of each provider's finances."""

    fixed_cost: np.ndarray  # (T, P) USD per month
    other_revenue: np.ndarray  # (T, P) USD per month, outside the simulated API market
    other_gross_margin: np.ndarray  # (T, P) fraction of other revenue left after its costs
    serving_fraction: np.ndarray  # (T, P) serving cost per token / launch list price
    initial_cash: np.ndarray  # (P,)
    scope: tuple[str, ...]


def build_books(cfg: Config, months: np.ndarray, provider_ids: tuple[str, ...]) -> ProviderBooks:
    """Lay out every provider's exogenous finances on the simulated months."""
    start = months[0]
    cols: dict[str, list[np.ndarray]] = {"fixed": [], "other": [], "margin": [], "serving": []}
    for pid in provider_ids:
        spec = cfg.market.providers[pid]
        key = f"market.providers.{pid}"
        cols["fixed"].append(series_values(spec.fixed_cost_usd_per_month, months, f"{key}.fixed_cost"))
        cols["other"].append(series_values(spec.other_revenue_usd_per_month, months, f"{key}.other_revenue"))
        cols["margin"].append(series_values(spec.other_gross_margin, months, f"{key}.other_gross_margin"))
        decline = spec.serving_cost_fraction * spec.serving_cost_change_per_year ** ((months - start) / 12.0)
        cols["serving"].append(np.maximum(decline, spec.serving_cost_fraction_floor))
    providers = [cfg.market.providers[p] for p in provider_ids]
    return ProviderBooks(
        fixed_cost=np.stack(cols["fixed"], axis=1), other_revenue=np.stack(cols["other"], axis=1),
        other_gross_margin=np.stack(cols["margin"], axis=1),
        serving_fraction=np.stack(cols["serving"], axis=1),
        initial_cash=np.array([p.initial_cash_usd for p in providers]),
        scope=tuple(p.scope for p in providers))
