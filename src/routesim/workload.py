"""Task segments, tokens per task, success probabilities and demand.

Each industry's workload is split into K equally weighted difficulty segments: the
difficulty of segment k is the (k + 0.5) / K quantile of the industry's Beta distribution.
A model with capability c solves a task of difficulty d with probability
sigmoid(s * (c - d)), an item-response model. Harder tasks use more tokens.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import special

from routesim.catalog import Catalog
from routesim.config import Config


@dataclass(frozen=True)
class Workload:
    """Per-industry segment difficulties and token counts in one month; shapes (I, K)."""

    industry_ids: tuple[str, ...]
    difficulty: np.ndarray  # (I, K) in [0, 1]
    segment_weight: np.ndarray  # (K,) sums to 1
    tokens_in: np.ndarray  # (I, K) input tokens per task
    tokens_out: np.ndarray  # (I, K) output tokens per task before the model's multiplier
    success_slope: float
    base_difficulty: np.ndarray  # (I, K) at the start month
    difficulty_shift: np.ndarray | None = None  # (T,) added to every difficulty in month t
    tokens_in_per_task: float = 0.0
    tokens_out_per_task: float = 0.0
    tokens_difficulty_slope: float = 0.0

    @property
    def n_segments(self) -> int:
        """Segments per industry (K)."""
        return self.difficulty.shape[1]

    def at(self, t: int) -> Workload:
        """The workload in month ``t``: difficulties shifted, tokens following them."""
        if self.difficulty_shift is None or self.difficulty_shift[t] == 0.0:
            return self
        difficulty = np.clip(self.base_difficulty + self.difficulty_shift[t], 0.0, 1.0)
        return dataclasses.replace(self, difficulty=difficulty, **_tokens(self, difficulty))


def _tokens(w: Workload | object, difficulty: np.ndarray) -> dict[str, np.ndarray]:
    scale = 1.0 + w.tokens_difficulty_slope * difficulty
    return {"tokens_in": w.tokens_in_per_task * scale, "tokens_out": w.tokens_out_per_task * scale}


def build_workload(cfg: Config, catalog: Catalog | None = None) -> Workload:
    """Segment the industries' task-difficulty distributions and give each segment its tokens.

    With a catalogue, difficulties rise by ``workload.difficulty_tracks_frontier`` times the
    rise of the best frontier capability on offer since the start month.
    """
    k = cfg.population.n_segments
    quantiles = (np.arange(k) + 0.5) / k
    industries = cfg.population.industries
    # the Beta quantile function; scipy.special's, not scipy.stats' (0.15 s to import)
    difficulty = np.array([
        special.betaincinv(ind.difficulty_alpha, ind.difficulty_beta, quantiles)
        for ind in industries.values()
    ])
    w = cfg.workload
    shift = None
    if catalog is not None and w.difficulty_tracks_frontier:
        frontier = np.where(catalog.available & (catalog.model_tier == 0), catalog.capability, -np.inf)
        best = np.maximum.accumulate(frontier.max(axis=1))  # never falls when a model retires
        shift = w.difficulty_tracks_frontier * (best - best[0])
    return Workload(
        industry_ids=tuple(industries),
        difficulty=difficulty,
        segment_weight=np.full(k, 1.0 / k),
        success_slope=w.success_slope,
        base_difficulty=difficulty,
        difficulty_shift=shift,
        tokens_in_per_task=w.tokens_in_per_task,
        tokens_out_per_task=w.tokens_out_per_task,
        tokens_difficulty_slope=w.tokens_difficulty_slope,
        **_tokens(w, difficulty),
    )


def growth_path(demand: object, n_months: int) -> np.ndarray:
    """(T,) cumulative trend growth of task volume since the start month.

    The monthly rate tapers from ``growth_per_month`` towards ``long_run_growth_per_month``
    with half-life ``growth_half_life_months`` (constant if no long-run rate is set).
    """
    months = np.arange(n_months)
    rate = np.full(n_months, demand.growth_per_month, dtype=float)
    if demand.long_run_growth_per_month is not None:
        lr = demand.long_run_growth_per_month
        rate = lr + (demand.growth_per_month - lr) * 0.5 ** (months / demand.growth_half_life_months)
    return np.concatenate([[1.0], np.cumprod(1.0 + rate[:-1])])


@dataclass(frozen=True)
class MonthMenu:
    """What every model offers on every (industry, segment) in one month; shapes (I, K, M)."""

    cost_per_task: np.ndarray  # USD, at the month's prices
    tokens_per_task: np.ndarray
    success: np.ndarray  # probability in (0, 1)
    serving_cost_per_task: np.ndarray  # USD the provider spends to serve one task
    available: np.ndarray  # (M,) bool


def month_menu(workload: Workload, catalog: Catalog, t: int, price_factor: np.ndarray | None = None,
               serving_fraction: np.ndarray | None = None) -> MonthMenu:
    """Cost, tokens, success probability and serving cost of each model on each segment.

    ``price_factor`` (M,) multiplies the catalogue's list prices (a provider's pricing
    strategy); ``serving_fraction`` (M,) is each model's serving cost per token as a share
    of its launch list price (0 if not given).
    """
    workload = workload.at(t)  # a no-op copy when the caller already passed month t's workload
    tin = workload.tokens_in[:, :, None]
    tout = workload.tokens_out[:, :, None] * catalog.output_tokens_multiplier[None, None, :]
    price_in, price_out = catalog.price_in[t], catalog.price_out[t]
    if price_factor is not None:
        price_in, price_out = price_in * price_factor, price_out * price_factor
    cost = (tin * price_in + tout * price_out) / 1e6
    fraction = np.zeros(catalog.n_models) if serving_fraction is None else serving_fraction
    serving_in, serving_out = fraction * catalog.launch_price_in, fraction * catalog.launch_price_out
    serving = (tin * serving_in + tout * serving_out) / 1e6
    success = special.expit(
        workload.success_slope * (catalog.capability[t][None, None, :] - workload.difficulty[:, :, None])
    )
    return MonthMenu(cost_per_task=cost, tokens_per_task=tin + tout, success=success,
                     serving_cost_per_task=serving, available=catalog.available[t])


def demand_multiplier(growth: float, cost_per_task: np.ndarray, reference_cost_per_task: np.ndarray,
                      elasticity: float) -> np.ndarray:
    """Task volume relative to month 0: trend ``growth`` times (cost / reference) ** -elasticity.

    With elasticity 0 the price term is exactly 1, so volume ignores prices.
    """
    if elasticity == 0.0:
        return np.full(cost_per_task.shape, growth)
    ratio = np.divide(cost_per_task, reference_cost_per_task,
                      out=np.ones_like(cost_per_task), where=reference_cost_per_task > 0)
    return growth * ratio ** (-elasticity)
