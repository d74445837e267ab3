"""From a month's plan of model calls and the enterprises' demand to money, tokens and tasks.

Pure functions on arrays. A plan row is (enterprise, segment); its price per task is the sum
over its calls of calls-per-task x the model's cost on that segment. Budgets act on the
enterprise's whole bill (model spend plus router fees).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routesim.routing import Plan

THROTTLE, OVERSPEND, DOWNGRADE = 0, 1, 2  # indices into config.CAP_BEHAVIOURS


@dataclass
class RowPrices:
    """Per (enterprise, segment) row: expected cost, success and calls per task, and service."""

    cost: np.ndarray  # (N, K) USD per task
    success: np.ndarray  # (N, K) probability a task succeeds
    calls: np.ndarray  # (N, K) model calls per task (> 1 for a cascade)
    served: np.ndarray  # (N, K) bool: the row has a model

    @staticmethod
    def empty(n: int, n_segments: int) -> RowPrices:
        """All-zero rows for n enterprises."""
        shape = (n, n_segments)
        return RowPrices(np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape, dtype=bool))


def price_plan(plan: Plan, base: np.ndarray, cost: np.ndarray, success: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(n, K) expected cost and success per task of a plan.

    ``base`` (n, K) is each row's flat index of model 0 in the (I, K, M) menu arrays, which
    ``cost`` and ``success`` hold flattened.
    """
    idx = base[..., None] + np.maximum(plan.model, 0)
    if plan.model.shape[-1] == 1:  # one call per row: skip the reduction
        w = plan.weight[..., 0]
        return w * cost[idx[..., 0]], w * success[idx[..., 0]]
    return (plan.weight * cost[idx]).sum(axis=-1), (plan.weight * success[idx]).sum(axis=-1)


def calls_by_menu_cell(plan: Plan, base: np.ndarray, row_tasks: np.ndarray, n_cells: int) -> np.ndarray:
    """Model calls per (industry, segment, model) cell, flat: the basis of model billing."""
    idx = base[..., None] + np.maximum(plan.model, 0)
    return np.bincount(idx.ravel(), (plan.weight * row_tasks[..., None]).ravel(), n_cells)


@dataclass(frozen=True)
class CapOutcome:
    """What budgets did this month, per enterprise."""

    served_share: np.ndarray  # (N,) share of demanded tasks served (< 1 when throttled)
    cap_hit: np.ndarray  # (N,) bool: the bill before any action exceeded the budget
    overspend_usd: np.ndarray  # (N,) amount paid above the budget
    runaway: np.ndarray  # (N,) bool: paid more than runaway_multiple x budget


def apply_caps(bill: np.ndarray, budget: np.ndarray, behaviour: np.ndarray,
               runaway_multiple: float, bill_before_downgrade: np.ndarray | None = None) -> CapOutcome:
    """Throttle or let enterprises overspend once their bill exceeds the budget.

    Downgraders must already have been moved to cheaper models (``bill`` is then their new
    bill, ``bill_before_downgrade`` the one that hit the cap); any still over their budget
    throttle like throttlers.
    """
    before = bill if bill_before_downgrade is None else bill_before_downgrade
    over = bill > budget
    throttles = over & (behaviour != OVERSPEND)
    served_share = np.where(throttles, np.divide(budget, bill, out=np.ones_like(bill), where=bill > 0), 1.0)
    paid = np.where(throttles, budget, bill)
    overspend = np.maximum(paid - budget, 0.0)
    return CapOutcome(served_share=served_share, cap_hit=before > budget, overspend_usd=overspend,
                      runaway=paid > runaway_multiple * budget)
