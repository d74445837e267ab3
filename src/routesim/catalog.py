"""The catalogue of providers and models over time, as (month x model) arrays.

A model is on offer from its release month to its retire month. Its list prices follow the
dated price changes of the catalogue; its ability (``routesim.ability``: a logit scale that
does not saturate) comes from its benchmark scores. After ``trends.start`` every model of a
tier drifts by that tier's yearly price multiplier and additive ability gain (a stand-in for
the successors that the catalogue does not yet know); nothing is capped, so models never tie
at a ceiling. A scenario adds models and dated shocks (price multipliers, ability shifts) to
tiers, providers or models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routesim.ability import skill_ability, skill_names
from routesim.config import TIERS, Config, parse_month


@dataclass(frozen=True)
class Catalog:
    """Models and providers on the simulated months; arrays are indexed [month, model]."""

    months: np.ndarray  # (T,) absolute month numbers (year * 12 + month - 1)
    model_ids: tuple[str, ...]
    provider_ids: tuple[str, ...]
    provider_origin: tuple[str, ...]
    model_provider: np.ndarray  # (M,) index into provider_ids
    model_tier: np.ndarray  # (M,) index into TIERS
    model_overseas: np.ndarray  # (M,) bool: tier == overseas
    flagship_eligible: np.ndarray  # (M,) bool
    output_tokens_multiplier: np.ndarray  # (M,)
    available: np.ndarray  # (T, M) bool
    price_in: np.ndarray  # (T, M) USD per 1M input tokens
    price_out: np.ndarray  # (T, M) USD per 1M output tokens
    ability: np.ndarray  # (T, M) general ability on the common logit scale (routesim.ability)
    skills: tuple[str, ...]  # skill names; skill 0 is "general"
    skill_ability: np.ndarray  # (S, T, M) ability at each skill (skill_ability[0] is ``ability``)
    launch_price_in: np.ndarray  # (M,) list price at release, the basis of serving cost
    launch_price_out: np.ndarray  # (M,)

    @property
    def n_models(self) -> int:
        """Number of models in the catalogue."""
        return len(self.model_ids)

    @property
    def n_providers(self) -> int:
        """Number of providers."""
        return len(self.provider_ids)


def build_catalog(cfg: Config) -> Catalog:
    """Lay the catalogue of ``cfg.market`` out on the months ``cfg.start .. cfg.end``."""
    market = cfg.market
    first, last = parse_month(cfg.start, "start"), parse_month(cfg.end, "end")
    months = np.arange(first, last + 1)
    provider_ids = tuple(market.providers)
    all_models = {**market.models, **cfg.scenario.new_models}
    model_ids = tuple(all_models)
    n_t, n_m = len(months), len(model_ids)

    available = np.zeros((n_t, n_m), dtype=bool)
    price_in = np.zeros((n_t, n_m))
    price_out = np.zeros((n_t, n_m))
    skills = skill_names(market.benchmarks)
    ability = np.zeros((len(skills), n_t, n_m))
    trend_start = parse_month(market.trends.start, "market.trends.start")
    years_into_trend = np.maximum(months - trend_start + 1, 0) / 12.0

    for j, mid in enumerate(model_ids):
        spec = all_models[mid]
        release = parse_month(spec.release, f"market.models.{mid}.release")
        retire = parse_month(spec.retire, "retire") if spec.retire is not None else months[-1]
        available[:, j] = (months >= release) & (months <= retire)
        price_in[:, j] = spec.price_in_usd_per_mtok
        price_out[:, j] = spec.price_out_usd_per_mtok
        for change in sorted(spec.price_changes, key=lambda c: parse_month(c.month, "month")):
            since = months >= parse_month(change.month, "month")
            price_in[since, j] = change.price_in_usd_per_mtok
            price_out[since, j] = change.price_out_usd_per_mtok
        trend = getattr(market.trends, spec.tier)
        drift = trend.price_change_per_year**years_into_trend
        price_in[:, j] *= drift
        price_out[:, j] *= drift
        gain = trend.ability_gain_per_year * years_into_trend
        for s, skill in enumerate(skills):
            ability[s, :, j] = skill_ability(spec, market.benchmarks, skill) + gain

    specs = [all_models[mid] for mid in model_ids]
    model_provider = np.array([provider_ids.index(s.provider) for s in specs], dtype=np.int64)
    model_tier = np.array([TIERS.index(s.tier) for s in specs], dtype=np.int64)
    for shock in cfg.scenario.shocks:
        kind, _, name = shock.target.partition(":")
        hit = {"tier": model_tier == TIERS.index(name) if kind == "tier" else None,
               "provider": model_provider == provider_ids.index(name) if kind == "provider" else None,
               "model": np.array(model_ids) == name}[kind]
        since = (months >= parse_month(shock.month, "shock month"))[:, None] & hit[None, :]
        price_in = np.where(since, price_in * shock.price_multiplier, price_in)
        price_out = np.where(since, price_out * shock.price_multiplier, price_out)
        ability = np.where(since[None], ability + shock.ability_shift, ability)
    return Catalog(
        months=months,
        model_ids=model_ids,
        provider_ids=provider_ids,
        provider_origin=tuple(market.providers[p].origin for p in provider_ids),
        model_provider=model_provider,
        model_tier=model_tier,
        model_overseas=model_tier == TIERS.index("overseas"),
        flagship_eligible=np.array([s.flagship_eligible for s in specs]),
        output_tokens_multiplier=np.array([s.output_tokens_multiplier for s in specs], dtype=float),
        available=available,
        price_in=price_in,
        price_out=price_out,
        ability=ability[0],
        skills=skills,
        skill_ability=ability,
        launch_price_in=np.array([s.price_in_usd_per_mtok for s in specs], dtype=float),
        launch_price_out=np.array([s.price_out_usd_per_mtok for s in specs], dtype=float),
    )
