"""Draw the enterprises as a struct of arrays, one row per enterprise (agent).

The agents are a weighted sample of the real market: agent e stands for ``weight[e]`` real
enterprises, so a total over agents (weight x value) estimates the market's total whatever
the number of agents. Real firm sizes are log-normal (a heavy right tail: a few giants, many
small firms), so a plain random sample of a few thousand firms would carry most of the
market's volume on a handful of agents. Sizes are therefore drawn by stratified sampling from
an equal mixture of the size distribution f and its size-weighted twin g (x f(x) / E[X]: a
log-normal shifted by sigma^2), each agent weighted by f / (f/2 + g/2) (the balance heuristic
of multiple importance sampling): counts of enterprises and totals of volume both come out
with small variance, and the giants are present at any n. Industry, overseas access,
quality requirement and preferred vendor are drawn independently of size. All draws come
from the generator passed in, so the same seed gives the same enterprises in every scenario
(common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from routesim.config import CAP_BEHAVIOURS, Config

NEVER = 10**6  # entry month of an enterprise that never enters within any run


@dataclass(frozen=True)
class Population:
    """Fixed traits of the enterprises; index = enterprise row."""

    industry: np.ndarray  # (N,) index into workload.industry_ids
    access: np.ndarray  # (N,) 1 if overseas models are allowed, else 0
    requirement: np.ndarray  # (N,) required success probability per task
    preferred: np.ndarray  # (N,) index into catalog.provider_ids
    base_tasks: np.ndarray  # (N,) tasks per month at the start month, of one real enterprise
    weight: np.ndarray  # (N,) real enterprises each agent stands for

    @property
    def size(self) -> int:
        """Number of enterprises."""
        return len(self.industry)


def draw_sizes(n: int, median: float, sigma: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(sizes, relative weights) of n agents drawn for a log-normal(ln median, sigma) size.

    Half the agents (rounded up) are stratified quantiles of f, the others of g = x f(x) / E[X];
    order shuffled. The relative weight f / (f/2 + g/2) = 1 / (1/2 + x / (2 E[X])) averages 1.
    """
    n_f = (n + 1) // 2
    n_g = n - n_f
    z = [special.ndtri((np.arange(k) + rng.random(k)) / k) for k in (n_f, n_g)]
    log_size = np.concatenate([np.log(median) + sigma * z[0], np.log(median) + sigma**2 + sigma * z[1]])
    size = np.exp(log_size[rng.permutation(n)])
    mean = median * np.exp(sigma**2 / 2)
    weight = 1.0 / (0.5 + 0.5 * size / mean) if n_g else np.ones(n)
    return size, weight


def draw_population(cfg: Config, provider_ids: tuple[str, ...], rng: np.random.Generator) -> Population:
    """Draw ``cfg.population.n_enterprises`` agents standing for ``market_enterprises`` real ones."""
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
    base_tasks, relative = draw_sizes(n, pop.size_median_tasks_per_month, pop.size_sigma, rng)
    return Population(industry=industry.astype(np.int64), access=access, requirement=requirement,
                      preferred=preferred, base_tasks=base_tasks, weight=relative * pop.market_enterprises / n)


@dataclass(frozen=True)
class Traits:
    """Behavioural traits of the enterprises, drawn from their own stream.

    Drawn for every enterprise whether or not a behaviour is switched on, so that switching
    one on never changes the draws of another (common random numbers).
    """

    cap_behaviour: np.ndarray  # (N,) index into CAP_BEHAVIOURS
    reevaluation_offset: np.ndarray  # (N,) month offset of vendor re-evaluations
    policy: np.ndarray  # (N,) index into policy_names
    policy_names: tuple[str, ...]
    ban_draw: np.ndarray  # (N,) U(0, 1): banned from overseas models if < access.ban_share
    difficulty_noise: np.ndarray  # (N, K) N(0, 1) error of a learned router's estimate
    in_house_draw: np.ndarray  # (N,) U(0, 1): its router is in-house if < router.in_house_share
    budget_offset: np.ndarray  # (N,) month (0..period-1) of an initial enterprise's budget rounds


def draw_traits(cfg: Config, n_segments: int, rng: np.random.Generator) -> Traits:
    """Draw cap behaviour, re-evaluation timing, policy, router noise and kind, budget timing."""
    n, k = cfg.population.n_enterprises, n_segments
    b = cfg.budget
    shares = np.array([b.behaviour_shares.get(name, 0.0) for name in CAP_BEHAVIOURS])
    shares = shares / shares.sum() if shares.sum() > 0 else np.array([0.0, 1.0, 0.0])
    cap_behaviour = np.searchsorted(np.cumsum(shares), rng.random(n), side="right")
    offset = rng.integers(0, cfg.switching.reevaluation_months, size=n)
    weights = cfg.router.policy_weights()
    names = tuple(weights)
    w = np.array([weights[p] for p in names], dtype=float)
    policy = np.searchsorted(np.cumsum(w / w.sum()), rng.random(n), side="right")
    ban_draw = rng.random(n)
    noise = rng.standard_normal((n, k))
    in_house = rng.random(n)
    budget_offset = np.floor(rng.random(n) * b.period_months).astype(np.int64)
    return Traits(cap_behaviour=np.minimum(cap_behaviour, len(shares) - 1),
                  reevaluation_offset=offset, policy=np.minimum(policy, len(names) - 1),
                  policy_names=names, ban_draw=ban_draw, difficulty_noise=noise, in_house_draw=in_house,
                  budget_offset=budget_offset)


def draw_entry(cfg: Config, rng: np.random.Generator) -> np.ndarray:
    """(N,) month index at which each enterprise starts buying; 0 = already buying at the start.

    A share ``population.active_share_at_start`` buys from the first month; each of the others
    enters in month t >= 1 with probability h (1 - h)^(t - 1), h = ``population.entry_hazard``,
    so the expected active share after t months is s0 + (1 - s0)(1 - (1 - h)^t). Entry months
    come from two uniforms per enterprise by inverse CDF, drawn whatever s0 and h are: two
    configurations differing only in s0 or h keep the same enterprises' draws (common random
    numbers across calibration trials). An enterprise that never enters gets ``NEVER``.
    """
    pop = cfg.population
    n = pop.n_enterprises
    late, when = rng.random(n), rng.random(n)
    h = pop.entry_hazard
    if h >= 1.0:
        months = np.ones(n)
    elif h <= 0.0:
        months = np.full(n, float(NEVER))
    else:  # geometric on {1, 2, ...}: the smallest t with 1 - (1 - h)^t > when
        months = np.maximum(1.0, np.ceil(np.log1p(-when) / np.log1p(-h)))
    return np.where(late < pop.active_share_at_start, 0, np.minimum(months, NEVER)).astype(np.int64)
