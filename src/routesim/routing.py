"""Routing policies: pure functions from one month's menu to a model per (enterprise, segment).

Every policy takes a :class:`RouteRequest` (the month's cost and success arrays of shape
(I, K, M) plus the routing enterprises' rows) and returns an (n, K) array of model indices,
-1 where no model may serve the segment. Policies are looked up by name in ``POLICIES``.

The cheapest-acceptable rule avoids an (n, K, M) array: for every (access class, industry,
segment) group the models are sorted by cost, and the running maximum of their success
probability is non-decreasing, so the cheapest model meeting a requirement r is the first
position where that running maximum reaches r: one ``np.searchsorted`` over all groups at
once. Groups and values are packed as complex numbers (real part = group, imaginary part =
value), which NumPy orders lexicographically, so the search is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

NO_MODEL = -1
N_ACCESS_CLASSES = 2  # 0: domestic models only; 1: overseas models allowed too


@dataclass(frozen=True)
class RouteRequest:
    """One month's routing problem for n enterprises."""

    cost: np.ndarray  # (I, K, M) USD per task
    success: np.ndarray  # (I, K, M) probability
    difficulty: np.ndarray  # (I, K)
    eligible: np.ndarray  # (C, M) bool: model on offer and allowed for the access class
    industry: np.ndarray  # (n,) int
    access: np.ndarray  # (n,) int in [0, C)
    requirement: np.ndarray  # (n,) required success probability per task
    flagship: np.ndarray  # (n,) the enterprise's everyday (preferred-vendor) model, -1 if none
    threshold_difficulty: float = 0.5


def eligibility(available: np.ndarray, overseas: np.ndarray) -> np.ndarray:
    """(C, M) mask: class 0 may use on-offer domestic models, class 1 any on-offer model."""
    return np.stack([available & ~overseas, available])


def single(req: RouteRequest) -> np.ndarray:
    """No routing: every segment goes to the enterprise's everyday flagship model."""
    n_segments = req.cost.shape[1]
    return np.repeat(req.flagship[:, None], n_segments, axis=1)


def cost_optimal(req: RouteRequest) -> np.ndarray:
    """Per segment, the cheapest eligible model whose success meets the requirement.

    Where no eligible model meets it, the cheapest of the most successful ones.
    """
    n_ind, n_seg, n_mod = req.cost.shape
    n_cls = req.eligible.shape[0]
    # (C, I, K, M) cost and success, ineligible models last and never acceptable
    eligible = req.eligible[:, None, None, :]
    cost = np.where(eligible, req.cost[None], np.inf)
    success = np.where(eligible, req.success[None], -1.0)
    order = np.argsort(cost.reshape(-1, n_mod), axis=1, kind="stable")  # (G, M)
    running_max = np.maximum.accumulate(np.take_along_axis(success.reshape(-1, n_mod), order, 1), 1)
    n_groups = n_cls * n_ind * n_seg
    group_ids = np.arange(n_groups, dtype=float)[:, None]
    keys = (group_ids + 1j * running_max).ravel()
    best = running_max[:, -1]

    seg = np.arange(n_seg)[None, :]
    group = (req.access[:, None] * n_ind + req.industry[:, None]) * n_seg + seg  # (n, K)
    target = np.minimum(req.requirement[:, None], best[group])
    pos = np.searchsorted(keys, group + 1j * target, side="left")
    choice = order.ravel()[pos]
    return np.where(best[group] >= 0.0, choice, NO_MODEL)


def threshold(req: RouteRequest) -> np.ndarray:
    """Easy segments (difficulty <= threshold) by ``cost_optimal``, the rest to the flagship."""
    easy = req.difficulty[req.industry] <= req.threshold_difficulty  # (n, K)
    return np.where(easy, cost_optimal(req), single(req))


Policy = Callable[[RouteRequest], np.ndarray]

POLICIES: dict[str, Policy] = {
    "single": single,
    "threshold": threshold,
    "cost_optimal": cost_optimal,
}
