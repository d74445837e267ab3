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


@dataclass(frozen=True)
class RowPrices:
    """Per (enterprise, segment) row: expected cost, success and calls per task."""

    cost: np.ndarray  # (R,) USD per task
    success: np.ndarray  # (R,) probability a task succeeds
    calls: np.ndarray  # (R,) model calls per task (> 1 for a cascade)
    served: np.ndarray  # (R,) bool: the row has a model


def plan_flat_index(plan: Plan, row_menu_base: np.ndarray) -> np.ndarray:
    """Index of each call into a flattened (I, K, M) menu array."""
    return row_menu_base[plan.row] + plan.model


def price_rows(plan: Plan, flat: np.ndarray, cost: np.ndarray, success: np.ndarray,
               n_rows: int) -> RowPrices:
    """Cost, success and calls per task of every row; ``cost``/``success`` are flat menus."""
    return RowPrices(
        cost=np.bincount(plan.row, plan.weight * cost[flat], n_rows),
        success=np.bincount(plan.row, plan.weight * success[flat], n_rows),
        calls=np.bincount(plan.row, plan.weight, n_rows),
        served=np.bincount(plan.row, minlength=n_rows) > 0,
    )


def calls_by_menu_cell(plan: Plan, flat: np.ndarray, row_tasks: np.ndarray, n_cells: int) -> np.ndarray:
    """Model calls per (industry, segment, model) cell, flat: the basis of model billing."""
    return np.bincount(flat, plan.weight * row_tasks[plan.row], n_cells)


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
