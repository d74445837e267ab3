"""From a month's plans of model calls and the enterprises' demand to money, tokens and tasks.

Pure functions on arrays, in the order the month uses them:

* :func:`price_plan` / :class:`RowPrices`: the expected cost, success and calls per task of
  every (enterprise, segment) row under its plan (a plan row is a few call slots);
* :func:`demand`: tasks demanded, from size, trend growth, the rebound against the
  enterprise's reference cost per successful task, and usage spikes;
* :class:`Budgets` with :func:`budget_round` and :func:`apply_caps`: annual budgets, the
  month an enterprise's spend this year would pass its budget (an overrun episode), and what
  it does from then on (throttle, overspend, downgrade);
* :func:`menu_cells`: calls per (segment, model) cell of the month's menu, the basis of what
  each model bills.

Money is per real enterprise here; the model multiplies by each agent's weight when it sums.
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


def price_plan(plan: Plan, base: np.ndarray, cost: np.ndarray, success: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(n, K) expected cost and success per task of a plan.

    ``base`` (n, K) is each row's flat index of model 0 in the (K, M) menu arrays, which
    ``cost`` and ``success`` hold flattened.
    """
    idx = base[..., None] + np.maximum(plan.model, 0)
    if plan.model.shape[-1] == 1:  # one call per row: skip the reduction
        w = plan.weight[..., 0]
        return w * cost[idx[..., 0]], w * success[idx[..., 0]]
    return (plan.weight * cost[idx]).sum(axis=-1), (plan.weight * success[idx]).sum(axis=-1)


def flagship_rows(flagship: np.ndarray, cost: np.ndarray, success: np.ndarray) -> RowPrices:
    """Rows as if every enterprise sent every segment to its everyday model (-1: none, unserved)."""
    has = (flagship >= 0)[:, None]
    idx = np.maximum(flagship, 0)
    served = np.repeat(has, cost.shape[0], axis=1)
    return RowPrices(cost=cost.T[idx] * has, success=success.T[idx] * has, calls=served.astype(float),
                     served=served)


def per_task(rows: np.ndarray, segment_weight: np.ndarray) -> np.ndarray:
    """(N,) an enterprise's mean over its segments, weighted by its industry's mix (N, K)."""
    return np.einsum("nk,nk->n", rows, segment_weight)


def demand(base_tasks: np.ndarray, growth: float, cost_per_success: np.ndarray, reference: np.ndarray,
           elasticity: float, spikes: np.ndarray, active: np.ndarray) -> np.ndarray:
    """(N,) tasks demanded this month by one real enterprise of each agent.

    Size x trend growth x (cost per successful task / its reference) ** -elasticity (a rebound
    when AI gets cheaper for the enterprise) x usage spike, for enterprises buying this month.
    """
    multiplier = np.full(base_tasks.shape, growth)
    if elasticity:
        ratio = np.divide(cost_per_success, reference, out=np.ones_like(cost_per_success),
                          where=(reference > 0) & (cost_per_success > 0))
        multiplier = multiplier * ratio ** (-elasticity)
    return base_tasks * multiplier * spikes * active


def spike_multiple(hit: np.ndarray, size: np.ndarray, probability: float, alpha: float, cap: float) -> np.ndarray:
    """(N,) usage-spike multiple: Pareto(alpha) capped at ``cap`` where ``hit`` < probability, else 1."""
    multiple = np.minimum((1.0 - size) ** (-1.0 / alpha), cap)
    return np.where(hit < probability, multiple, 1.0)


@dataclass
class Budgets:
    """Every enterprise's budget year: its annual budget, what it has paid, whether it is at its cap."""

    budget: np.ndarray  # (N,) USD budget of the current period
    paid: np.ndarray  # (N,) USD paid so far in the period
    demanded: np.ndarray  # (N,) USD demanded so far in the period (before any cap)
    months: np.ndarray  # (N,) months bought so far in the period
    length: np.ndarray  # (N,) months the current period lasts
    next_round: np.ndarray  # (N,) month index of the next budget round
    at_cap: np.ndarray  # (N,) bool: the cap was hit in this period
    run_rate: np.ndarray  # (N,) USD: last month's bill without its usage spike (what the next forecast starts from)
    base: np.ndarray  # (N,) USD per month: the run-rate the last forecast started from
    base_month: np.ndarray  # (N,) the month that run-rate describes

    @staticmethod
    def empty(n: int) -> Budgets:
        """No budgets yet (set at the first month an enterprise buys)."""
        z = np.zeros(n)
        return Budgets(budget=z.copy(), paid=z.copy(), demanded=z.copy(), months=z.copy(), length=z.copy(),
                       next_round=np.full(n, -1, dtype=np.int64), at_cap=np.zeros(n, dtype=bool),
                       run_rate=z.copy(), base=z.copy(), base_month=z.copy())


def forecast(base: np.ndarray, base_month: np.ndarray, start: int, length: np.ndarray,
             log_growth: np.ndarray) -> np.ndarray:
    """(N,) the bill an enterprise expects over ``length`` months from ``start``.

    Its monthly run-rate ``base`` (describing month ``base_month``) grown at the market's trend
    growth of tasks (``log_growth``, cumulative log growth by month, long enough for the year).
    """
    months = np.arange(len(log_growth), dtype=float)
    at_base = np.interp(base_month, months, log_growth)
    total = np.zeros_like(base)
    for j in range(int(length.max(initial=0))):
        inside = j < length
        total += np.where(inside, np.exp(log_growth[min(start + j, len(log_growth) - 1)] - at_base), 0.0)
    return base * total


def budget_round(b: Budgets, due: np.ndarray, t: int, first_bill: np.ndarray, first_length: np.ndarray,
                 period: int, log_growth: np.ndarray, log_ratio: np.ndarray) -> np.ndarray:
    """Open a new budget period for the enterprises ``due`` (N,) this month; returns who closed one.

    An enterprise with a closed period forecasts from its current run-rate (last month's bill
    without its usage spike: the prices and models it pays now), grown at the trend growth of
    tasks; one opening its first period (entry, or the first month) from ``first_bill`` (this
    month's work at its everyday model) over ``first_length`` months. What the forecast cannot
    see (price and model changes during the year, tasks getting longer, spikes, routing) makes
    the year's bill differ from it. The budget is forecast x exp(``log_ratio``).
    """
    closing = due & (b.months > 0)
    first = due & ~closing
    b.base = np.where(closing, b.run_rate, np.where(first, first_bill, b.base))
    b.base_month = np.where(closing, t - 1, np.where(first, t, b.base_month))
    length = np.where(first, first_length, period)
    b.length = np.where(due, length, b.length)
    b.budget = np.where(due, forecast(b.base, b.base_month, t, np.where(due, length, 0), log_growth)
                        * np.exp(log_ratio), b.budget)
    b.next_round = np.where(due, t + length, b.next_round)
    for name in ("paid", "demanded", "months"):
        setattr(b, name, np.where(due, 0.0, getattr(b, name)))
    b.at_cap = b.at_cap & ~due
    return closing


@dataclass(frozen=True)
class CapOutcome:
    """What budgets did this month, per enterprise."""

    served_share: np.ndarray  # (N,) share of demanded tasks served (< 1 when throttled)
    cap_hit: np.ndarray  # (N,) bool: the cap was hit this month (an overrun episode starts)
    at_cap: np.ndarray  # (N,) bool: at its cap this month (hit now or earlier this period)
    overspend_usd: np.ndarray  # (N,) paid above the budget this month
    runaway: np.ndarray  # (N,) bool: paid more than runaway_multiple x the budget's monthly rate
    paid: np.ndarray  # (N,) USD paid this month (model spend and router fees)


def over_budget(b: Budgets, bill: np.ndarray) -> np.ndarray:
    """(N,) bool: the enterprise is at its cap this month if it pays ``bill``."""
    return b.at_cap | (b.paid + bill > b.budget)


def apply_caps(b: Budgets, bill: np.ndarray, demanded_bill: np.ndarray, behaviour: np.ndarray,
               runaway_multiple: float, active: np.ndarray, spikes: np.ndarray) -> CapOutcome:
    """Settle the month against each enterprise's annual budget, and update the period's tallies.

    ``bill`` is what the month costs as routed (after any downgrade), ``demanded_bill`` what it
    would have cost before the cap, ``spikes`` the month's usage-spike multiples (the run-rate
    the next forecast starts from leaves them out).
    Overspenders pay it all; everyone else at the cap pays only what the budget has left.
    """
    at_cap = over_budget(b, demanded_bill) & active
    cap_hit = at_cap & ~b.at_cap
    left = np.maximum(b.budget - b.paid, 0.0)
    limited = at_cap & (behaviour != OVERSPEND) & (bill > left)
    served_share = np.where(limited, np.divide(left, bill, out=np.zeros_like(bill), where=bill > 0), 1.0)
    paid = np.where(limited, left, bill)
    overspend = np.maximum(np.minimum(paid, b.paid + paid - b.budget), 0.0)
    rate = b.budget / np.maximum(b.length, 1)
    runaway = active & (paid > runaway_multiple * rate)
    b.paid = b.paid + paid
    b.demanded = b.demanded + demanded_bill * active
    b.months = b.months + active
    b.run_rate = np.where(active, demanded_bill / spikes, b.run_rate)
    b.at_cap = b.at_cap | at_cap
    return CapOutcome(served_share=served_share, cap_hit=cap_hit, at_cap=at_cap, overspend_usd=overspend,
                      runaway=runaway, paid=paid)


def menu_cells(plan: Plan, n_seg: int, n_mod: int, row_tasks: np.ndarray) -> np.ndarray:
    """(K, M) calls per segment and model of a plan's rows, ``row_tasks`` (n, K) tasks per row."""
    idx = np.arange(n_seg)[None, :, None] * n_mod + np.maximum(plan.model, 0)
    return np.bincount(idx.ravel(), (plan.weight * row_tasks[..., None]).ravel(), n_seg * n_mod
                       ).reshape(n_seg, n_mod)


def flagship_cells(flagship: np.ndarray, industry: np.ndarray, tasks: np.ndarray, segment_weight: np.ndarray,
                   n_mod: int) -> np.ndarray:
    """(K, M) calls of enterprises sending all their ``tasks`` (N,) to their everyday model.

    ``segment_weight`` (I, K) spreads an industry's tasks over the segments; -1 flagships call nothing.
    """
    n_ind = segment_weight.shape[0]
    has = flagship >= 0
    by_flag = np.bincount(industry[has] * n_mod + flagship[has], tasks[has], n_ind * n_mod).reshape(n_ind, n_mod)
    return segment_weight.T @ by_flag
