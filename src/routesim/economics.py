"""Provider economics over time, as (month x provider) arrays.

One scope for every provider's books: its model-API business. The fixed cost is the dated
series of the config, as sourced (a company's, or an API segment's), times the share
allocated to the API business; serving cost per token follows its own path.
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
    """Per (month, provider): the exogenous parts of each provider's API-business books."""

    fixed_cost: np.ndarray  # (T, P) USD per month allocated to the API business
    serving_fraction: np.ndarray  # (T, P) serving cost per token / launch list price
    scope: tuple[str, ...]  # what the sourced fixed-cost series covered (company, api_segment)


def build_books(cfg: Config, months: np.ndarray, provider_ids: tuple[str, ...]) -> ProviderBooks:
    """Lay out every provider's exogenous finances on the simulated months."""
    start = months[0]
    fixed, serving = [], []
    for pid in provider_ids:
        spec = cfg.market.providers[pid]
        key = f"market.providers.{pid}"
        company = series_values(spec.fixed_cost_usd_per_month, months, f"{key}.fixed_cost")
        fixed.append(spec.api_share_of_fixed_cost * company)
        decline = spec.serving_cost_fraction * spec.serving_cost_change_per_year ** ((months - start) / 12.0)
        serving.append(np.maximum(decline, spec.serving_cost_fraction_floor))
    return ProviderBooks(fixed_cost=np.stack(fixed, axis=1), serving_fraction=np.stack(serving, axis=1),
                         scope=tuple(cfg.market.providers[p].scope for p in provider_ids))
