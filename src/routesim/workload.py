"""Task families and their segments, tokens per task, success probabilities and demand.

Enterprise work comes in task families (``workload.families``: routine work, coding,
reasoning and agentic work, ...), each with its own distribution of difficulty on the ability
scale (normal, mean and sd at the start month) and its own tokens per task. Each family is
split into ``segments_per_family`` equally likely difficulty segments (the quantiles
(j + 0.5) / K of its distribution), so a segment is a (family, difficulty) cell shared by
every industry; an industry weighs the segments by its mix of families. A model of ability a
solves a task of difficulty d with probability sigmoid(s_f (a - d)), an item-response model
with the family's discrimination s_f. Harder tasks use more tokens.

Month by month every segment's difficulty rises by a share of the rise of the best frontier
ability on offer (enterprises hand models harder work as models improve).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import special

from routesim.catalog import Catalog
from routesim.config import SKILLS, TIERS, Config


@dataclass(frozen=True)
class Workload:
    """The task segments: (K,) per segment, (I, K) per industry and segment."""

    industry_ids: tuple[str, ...]
    family_ids: tuple[str, ...]
    segment_family: np.ndarray  # (K,) index into family_ids
    segment_skill: np.ndarray  # (K,) index into the catalogue's skills: the ability its tasks call on
    segment_weight: np.ndarray  # (I, K) share of an industry's tasks in each segment; rows sum to 1
    success_slope: np.ndarray  # (K,) discrimination of the segment's family
    base_difficulty: np.ndarray  # (K,) at the start month, ability scale
    difficulty: np.ndarray  # (K,) this month's
    tokens_in: np.ndarray  # (K,) input tokens per task this month
    tokens_out: np.ndarray  # (K,) output tokens per task before the model's multiplier
    base_tokens_in: np.ndarray  # (K,) at the family's mean difficulty
    base_tokens_out: np.ndarray  # (K,)
    family_mean: np.ndarray  # (K,) the segment's family's mean difficulty at the start month
    tokens_difficulty_slope: float = 0.0
    difficulty_shift: np.ndarray | None = None  # (T,) added to every difficulty in month t

    @property
    def n_segments(self) -> int:
        """Segments (K), shared by every industry."""
        return len(self.base_difficulty)

    def specialist_split(self, family: str | None) -> np.ndarray | None:
        """(2, I, K) each industry's segment weights without ``family`` and of ``family`` alone; None for none.

        What a specialist lab (``switching.specialist_family``) serves: the second row; the
        primary serves the first. The two add up to ``segment_weight``.
        """
        if family is None:
            return None
        of_family = (self.segment_family == self.family_ids.index(family))[None, :]
        return np.stack([np.where(of_family, 0.0, self.segment_weight), np.where(of_family, self.segment_weight, 0.0)])

    def at(self, t: int) -> Workload:
        """The workload in month ``t``: difficulties shifted, tokens following them."""
        if self.difficulty_shift is None or self.difficulty_shift[t] == 0.0:
            return self
        difficulty = self.base_difficulty + self.difficulty_shift[t]
        return dataclasses.replace(self, difficulty=difficulty, **_tokens(self, difficulty))


def _tokens(w: Workload, difficulty: np.ndarray) -> dict[str, np.ndarray]:
    scale = np.exp(w.tokens_difficulty_slope * (difficulty - w.family_mean))
    return {"tokens_in": w.base_tokens_in * scale, "tokens_out": w.base_tokens_out * scale}


def build_workload(cfg: Config, catalog: Catalog | None = None) -> Workload:
    """Segment the task families and weigh the segments by each industry's family mix.

    With a catalogue, difficulties rise by ``workload.difficulty_tracks_frontier`` times the
    rise of the best frontier ability on offer since the start month.
    """
    w = cfg.workload
    families = list(w.families)
    per = w.segments_per_family
    z = special.ndtri((np.arange(per) + 0.5) / per)  # standard-normal quantiles of the segments
    specs = [w.families[f] for f in families]
    segment_family = np.repeat(np.arange(len(families)), per)
    segment_skill = np.array([SKILLS.index(s.skill) for s in specs])[segment_family]
    mean = np.array([s.difficulty_mean for s in specs])[segment_family]
    sd = np.array([s.difficulty_sd for s in specs])[segment_family]
    difficulty = mean + sd * np.tile(z, len(families))
    industries = cfg.population.industries
    mix = np.array([[ind.family_weights.get(f, 0.0) for f in families] for ind in industries.values()])
    mix = mix / mix.sum(axis=1, keepdims=True)
    segment_weight = mix[:, segment_family] / per  # (I, K)
    shift = None
    if catalog is not None and w.difficulty_tracks_frontier:
        frontier = np.where(catalog.available & (catalog.model_tier == TIERS.index("frontier")),
                            catalog.ability, -np.inf)
        best = np.maximum.accumulate(frontier.max(axis=1))  # never falls when a model retires
        if np.isfinite(best[0]):
            shift = w.difficulty_tracks_frontier * (best - best[0])
            shift[~np.isfinite(shift)] = 0.0
    base = Workload(
        industry_ids=tuple(industries),
        family_ids=tuple(families),
        segment_family=segment_family,
        segment_skill=segment_skill,
        segment_weight=segment_weight,
        success_slope=np.array([s.success_slope for s in specs])[segment_family],
        base_difficulty=difficulty,
        difficulty=difficulty,
        tokens_in=np.zeros(0),
        tokens_out=np.zeros(0),
        base_tokens_in=np.array([s.tokens_in_per_task for s in specs], dtype=float)[segment_family],
        base_tokens_out=np.array([s.tokens_out_per_task for s in specs], dtype=float)[segment_family],
        family_mean=mean,
        tokens_difficulty_slope=w.tokens_difficulty_slope,
        difficulty_shift=shift,
    )
    return dataclasses.replace(base, **_tokens(base, difficulty))


def log_tokens_trend(workload: Workload, n_months: int) -> np.ndarray:
    """(n_months,) log of the growth of tokens per task since the start month (difficulty tracking).

    Tokens per task scale with exp(``tokens_difficulty_slope`` x the difficulty shift); months
    past the simulated ones continue the last year's pace (a budget forecast looks a year ahead).
    """
    shift = np.zeros(1) if workload.difficulty_shift is None else np.asarray(workload.difficulty_shift, float)
    last = len(shift) - 1
    span = min(12, last)
    pace = (shift[last] - shift[last - span]) / span if span > 0 else 0.0
    months = np.arange(n_months)
    extended = np.where(months <= last, shift[np.minimum(months, last)], shift[last] + pace * (months - last))
    return workload.tokens_difficulty_slope * extended


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
    """What every model offers on every segment in one month; shapes (K, M)."""

    cost_per_task: np.ndarray  # USD, at the month's prices
    tokens_per_task: np.ndarray
    success: np.ndarray  # probability in (0, 1)
    serving_cost_per_task: np.ndarray  # USD the provider spends to serve one task
    available: np.ndarray  # (M,) bool


def segment_ability(catalog: Catalog, workload: Workload, t: int) -> np.ndarray:
    """(K, M) each model's ability at what each segment's tasks call on (its family's skill), month t."""
    return catalog.skill_ability[workload.segment_skill, t, :]


def success_probability(ability: np.ndarray, difficulty: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """(K, M) probability that a model of ability (K, M) (per segment) solves a task of each segment (K,)."""
    return special.expit(slope[:, None] * (ability - difficulty[:, None]))


def month_menu(workload: Workload, catalog: Catalog, t: int, price_factor: np.ndarray | None = None,
               serving_fraction: np.ndarray | None = None) -> MonthMenu:
    """Cost, tokens, success probability and serving cost of each model on each segment.

    ``price_factor`` (M,) multiplies the catalogue's list prices (a provider's pricing
    strategy); ``serving_fraction`` (M,) is each model's serving cost per token as a share
    of its launch list price (0 if not given).
    """
    workload = workload.at(t)  # a no-op copy when the caller already passed month t's workload
    tin = workload.tokens_in[:, None]
    tout = workload.tokens_out[:, None] * catalog.output_tokens_multiplier[None, :]
    price_in, price_out = catalog.price_in[t], catalog.price_out[t]
    if price_factor is not None:
        price_in, price_out = price_in * price_factor, price_out * price_factor
    cost = (tin * price_in + tout * price_out) / 1e6
    fraction = np.zeros(catalog.n_models) if serving_fraction is None else serving_fraction
    serving_in, serving_out = fraction * catalog.launch_price_in, fraction * catalog.launch_price_out
    serving = (tin * serving_in + tout * serving_out) / 1e6
    success = success_probability(segment_ability(catalog, workload, t), workload.difficulty, workload.success_slope)
    return MonthMenu(cost_per_task=cost, tokens_per_task=tin + tout, success=success,
                     serving_cost_per_task=serving, available=catalog.available[t])


def demand_multiplier(growth: float, cost_per_success: np.ndarray, reference: np.ndarray,
                      elasticity: float) -> np.ndarray:
    """Task volume relative to the enterprise's size: trend ``growth`` x (cost / reference) ** -elasticity.

    ``cost_per_success`` is what a successful task costs the enterprise this month and
    ``reference`` what it cost at its reference point (entry, carried through vendor
    switches): a rebound when AI gets cheaper for it. With elasticity 0 the price term is 1.
    """
    if elasticity == 0.0:
        return np.full(cost_per_success.shape, growth)
    ratio = np.divide(cost_per_success, reference, out=np.ones_like(cost_per_success),
                      where=(reference > 0) & (cost_per_success > 0))
    return growth * ratio ** (-elasticity)
