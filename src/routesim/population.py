"""Draw the enterprises as a struct of arrays, one row per enterprise.

Sizes are log-normal (a heavy right tail: a few giants, many small firms); industry,
overseas access, quality requirement and preferred vendor are drawn independently from
the population config. All draws come from the generator passed in, so the same seed gives
the same enterprises in every scenario (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routesim.config import Config


@dataclass(frozen=True)
class Population:
    """Fixed traits of the enterprises; index = enterprise row."""

    industry: np.ndarray  # (N,) index into workload.industry_ids
    access: np.ndarray  # (N,) 1 if overseas models are allowed, else 0
    requirement: np.ndarray  # (N,) required success probability per task
    preferred: np.ndarray  # (N,) index into catalog.provider_ids
    base_tasks: np.ndarray  # (N,) tasks per month at the start month

    @property
    def size(self) -> int:
        """Number of enterprises."""
        return len(self.industry)


def draw_population(cfg: Config, provider_ids: tuple[str, ...], rng: np.random.Generator) -> Population:
    """Draw ``cfg.population.n_enterprises`` enterprises."""
    pop = cfg.population
    n = pop.n_enterprises
    industries = list(pop.industries.values())
    ind_w = np.array([ind.weight for ind in industries], dtype=float)
    industry = rng.choice(len(industries), size=n, p=ind_w / ind_w.sum())
    allowed_share = np.array([ind.overseas_allowed_share for ind in industries])
    access = (rng.random(n) < allowed_share[industry]).astype(np.int64)
    requirement = rng.uniform(pop.requirement_low, pop.requirement_high, size=n)
    vendors = list(pop.preferred_vendor_weights)
    vend_w = np.array([pop.preferred_vendor_weights[v] for v in vendors], dtype=float)
    vendor_index = np.array([provider_ids.index(v) for v in vendors], dtype=np.int64)
    preferred = vendor_index[rng.choice(len(vendors), size=n, p=vend_w / vend_w.sum())]
    base_tasks = pop.size_median_tasks_per_month * rng.lognormal(0.0, pop.size_sigma, size=n)
    return Population(industry=industry.astype(np.int64), access=access, requirement=requirement,
                      preferred=preferred, base_tasks=base_tasks)
