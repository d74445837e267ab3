"""From a month's plans of model calls and the enterprises' demand to money, tokens and tasks.

Pure functions on arrays, in the order the month uses them:

* :func:`unit_prices`: what a task costs and achieves for each enterprise on its mix of
  segments: from (industry, model) tables for those on their everyday model, from the rows of
  their plan (:func:`price_plan`, :class:`RowPrices`; a plan row is a few call slots) for
  routers, the only ones who need per-segment rows;
* :func:`demand`: tasks demanded, from size, trend growth, the rebound against the
  enterprise's reference cost per successful task, and usage spikes;
* :class:`Budgets` with :func:`budget_round` and :func:`apply_caps`: annual budgets, the
  month an enterprise's spend this year would pass its budget (an overrun episode), and what
  it does from then on (throttle, overspend, downgrade);
* :func:`settle`: served tasks, successes and the calls per (segment, model) cell of the
  month's menu, the basis of what each model bills.

Money is per real enterprise here; the model multiplies by each agent's weight when it sums.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routesim.routing import Plan
from routesim.scratch import Scratch, lend

THROTTLE, OVERSPEND, DOWNGRADE = 0, 1, 2  # indices into config.CAP_BEHAVIOURS


@dataclass
class RowPrices:
    """Per (enterprise, segment) row: expected cost, success and calls per task, and service."""

    cost: np.ndarray  # (N, K) USD per task
    success: np.ndarray  # (N, K) probability a task succeeds
    calls: np.ndarray  # (N, K) model calls per task (> 1 for a cascade)
    served: np.ndarray  # (N, K) bool: the row has a model
    weight: np.ndarray | None = None  # (N, K) the row's share of the enterprise's tasks (its industry's mix)


def price_plan(plan: Plan, cost: np.ndarray, success: np.ndarray,
               out: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(n, K) expected cost and success per task of a plan, from the menu's (K, M) ``cost`` and ``success``.

    ``out``: two (n, K) arrays to write them into (else they are new arrays).
    """
    cells = plan.cells(cost.shape[1])
    if plan.model.shape[-1] == 1:  # one call per row: skip the reduction
        w, cells = plan.weight[..., 0], cells[..., 0]
        if out is None:
            row_cost, row_success = cost.take(cells), success.take(cells)
        else:  # mode="clip" writes into ``out`` directly (the cells are valid indices: nothing is clipped)
            row_cost = cost.take(cells, out=out[0], mode="clip")
            row_success = success.take(cells, out=out[1], mode="clip")
        row_cost *= w  # in place (the products are the same): no second (n, K) array
        row_success *= w
        return row_cost, row_success
    slot_cost, slot_success = cost.take(cells), success.take(cells)
    slot_cost *= plan.weight
    slot_success *= plan.weight
    if out is None:
        return slot_cost.sum(axis=-1), slot_success.sum(axis=-1)
    return slot_cost.sum(axis=-1, out=out[0]), slot_success.sum(axis=-1, out=out[1])


def flagship_rows(flagship: np.ndarray, cost: np.ndarray, success: np.ndarray) -> RowPrices:
    """Rows as if each enterprise sent every segment to its everyday model (-1: none, unserved)."""
    has = (flagship >= 0)[:, None]
    idx = np.maximum(flagship, 0)
    served = np.repeat(has, cost.shape[0], axis=1)
    return RowPrices(cost=cost.T[idx] * has, success=success.T[idx] * has, calls=served.astype(float),
                     served=served)


def per_task(rows: np.ndarray, segment_weight: np.ndarray) -> np.ndarray:
    """(N,) an enterprise's mean over its segments, weighted by its industry's mix (N, K)."""
    return np.einsum("nk,nk->n", rows, segment_weight)


@dataclass
class UnitPrices:
    """Per enterprise this month: what a task costs, achieves and calls, on its mix of segments.

    Enterprises on their everyday model read it from (industry, model) tables; routers from
    the rows of their plans, kept for the routers only (``rows[position[e]]`` for router e).
    """

    cost: np.ndarray  # (N,) USD per task as routed (everyday model for non-routers)
    success: np.ndarray  # (N,) expected success per task
    calls: np.ndarray  # (N,) model calls per task
    flag_cost: np.ndarray  # (N,) USD per task at the everyday model (0 if it has none)
    flag_success: np.ndarray  # (N,)
    routers: np.ndarray  # (R,) indices of the routing enterprises
    position: np.ndarray  # (N,) row of each router in ``rows``, -1 for everyone else
    rows: RowPrices  # (R, K)

    def rows_of(self, members: np.ndarray) -> np.ndarray | slice:
        """Where routers ``members`` (indices, ascending) are in ``rows``: all of them in order, or their positions.

        When ``members`` are all the routers (one policy among them, the usual case), a slice
        that reads and writes the rows in place instead of gathering and scattering copies.
        """
        return slice(None) if len(members) == len(self.routers) else self.position[members]

    @property
    def cost_per_success(self) -> np.ndarray:
        """(N,) USD per successful task (0 where nothing succeeds)."""
        return np.divide(self.cost, self.success, out=np.zeros_like(self.cost), where=self.success > 0)


def unit_prices(flagship: np.ndarray, industry: np.ndarray, cost_im: np.ndarray, success_im: np.ndarray,
                routers: np.ndarray, segment_weight: np.ndarray, scratch: Scratch | None = None,
                second: np.ndarray | None = None, split_tables: np.ndarray | None = None) -> UnitPrices:
    """Per-task prices from the (I, M) tables; the routers' rows start empty (filled from their plans).

    ``segment_weight`` (N, K) is each enterprise's mix of segments (the routers' rows keep theirs).
    The rows are lent by ``scratch`` (valid until the next call with the same scratch). A
    specialist family: its tasks go to the ``second`` (N,) model (the specialist lab's), the
    rest to the flagship; ``split_tables`` (2, 2, I, M) are cost and success per task of the rest
    and of the family (each weighted by its share of the industry's tasks), so that "the
    everyday model" is the two together.
    """
    has = flagship >= 0
    cell = industry * cost_im.shape[1] + np.maximum(flagship, 0)  # flat (industry, model) of the tables
    if split_tables is not None and second is not None:
        other = industry * cost_im.shape[1] + np.maximum(second, 0)
        (cost_rest, cost_family), (success_rest, success_family) = split_tables
        flag_cost = np.where(has, cost_rest.take(cell) + cost_family.take(other), 0.0)
        flag_success = np.where(has, success_rest.take(cell) + success_family.take(other), 0.0)
    else:
        flag_cost = np.where(has, cost_im.take(cell), 0.0)
        flag_success = np.where(has, success_im.take(cell), 0.0)
    members = np.flatnonzero(routers)
    position = np.full(len(flagship), -1)
    position[members] = np.arange(len(members))
    shape = (len(members), segment_weight.shape[1])
    # uninitialised: every router's rows are filled from its group's plan (the groups partition the routers)
    rows = RowPrices(lend(scratch, "rows.cost", shape), lend(scratch, "rows.success", shape),
                     lend(scratch, "rows.calls", shape), lend(scratch, "rows.served", shape, bool),
                     weight=segment_weight.take(members, axis=0, out=lend(scratch, "rows.weight", shape), mode="clip"))
    return UnitPrices(cost=flag_cost.copy(), success=flag_success.copy(), calls=has.astype(float),
                      flag_cost=flag_cost, flag_success=flag_success, routers=members, position=position, rows=rows)


def fill_router_rows(prices: UnitPrices, members: np.ndarray, plan: Plan, cost: np.ndarray,
                     success: np.ndarray) -> None:
    """Price ``plan`` for routers ``members`` (indices) into their rows and their per-task values.

    ``cost`` and ``success`` are the menu's (K, M) true cost and success per task.
    """
    rows, at = prices.rows, prices.rows_of(members)
    if isinstance(at, slice):  # every router: priced straight into the rows
        row_cost, row_success = price_plan(plan, cost, success, out=(rows.cost, rows.success))
    else:
        row_cost, row_success = price_plan(plan, cost, success)
        rows.cost[at], rows.success[at] = row_cost, row_success
    rows.served[at] = plan.served
    calls = plan.calls_per_task
    rows.calls[at] = calls  # a copy: ``calls`` may be a view of the plan's weights, which a downgrade zeroes
    segment_weight = rows.weight[at]
    prices.cost[members] = per_task(row_cost, segment_weight)
    prices.success[members] = per_task(row_success, segment_weight)
    prices.calls[members] = per_task(calls, segment_weight)


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
    """(N,) usage-spike multiple: Pareto(alpha) capped at ``cap`` where ``hit`` < probability, else 1.

    The power is taken for the spiking rows only (about one in a hundred).
    """
    multiple = np.ones(hit.shape)
    spiking = np.flatnonzero(hit < probability)
    multiple[spiking] = np.minimum((1.0 - size.take(spiking)) ** (-1.0 / alpha), cap)
    return multiple


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
    log_ratio: np.ndarray  # (N,) log budget / forecast drawn at the period's round
    plan: np.ndarray  # (N,) USD: the budget as set in the period's first month (runaways are measured against it)

    @staticmethod
    def empty(n: int) -> Budgets:
        """No budgets yet (set at the first month an enterprise buys)."""
        z = np.zeros(n)
        return Budgets(budget=z.copy(), paid=z.copy(), demanded=z.copy(), months=z.copy(), length=z.copy(),
                       next_round=np.full(n, -1, dtype=np.int64), at_cap=np.zeros(n, dtype=bool),
                       run_rate=z.copy(), base=z.copy(), base_month=z.copy(), log_ratio=z.copy(),
                       plan=z.copy())


def forecast(base: np.ndarray, base_month: np.ndarray, start: int, length: np.ndarray,
             log_growth: np.ndarray) -> np.ndarray:
    """(N,) the bill an enterprise expects over ``length`` months from ``start``.

    Its monthly run-rate ``base`` (describing month ``base_month``) grown at the market's trend
    (``log_growth``, cumulative log growth by month, long enough for the year): of tasks and of
    tokens per task, both public trends, so forecasts are not biased by what everyone can see.
    """
    months = np.arange(len(log_growth), dtype=float)
    at_base = np.interp(base_month, months, log_growth)
    total = np.zeros_like(base)
    for j in range(int(length.max(initial=0))):
        inside = j < length
        total += np.where(inside, np.exp(log_growth[min(start + j, len(log_growth) - 1)] - at_base), 0.0)
    return base * total


def budget_round(b: Budgets, due: np.ndarray, t: int, first_bill: np.ndarray, first_length: np.ndarray,
                 period: int, log_growth: np.ndarray, log_ratio: np.ndarray, at_round: bool = True) -> np.ndarray:
    """Open a new budget period for the enterprises ``due`` (N,) this month; returns who closed one.

    An enterprise with a closed period forecasts from its current run-rate (last month's bill
    without its usage spike: the prices and models it pays now), grown at the trend of tasks
    and tokens per task; one opening its first period (entry, or the first month) from ``first_bill`` (this
    month's work at its everyday model) over ``first_length`` months. What the forecast cannot
    see (price and model changes during the year, spikes, routing, its own growth) makes
    the year's bill differ from it. The budget is forecast x exp(``log_ratio``). Without
    ``at_round`` (rolling budgets) the forecast is skipped: :func:`reforecast` sets the budget
    in the period's first month.
    """
    closing = due & (b.months > 0)
    first = due & ~closing
    rows = np.flatnonzero(due)
    b.base[rows] = np.where(closing[rows], b.run_rate[rows], first_bill[rows])
    b.base_month[rows] = np.where(closing[rows], t - 1, t)
    length = np.where(first[rows], first_length[rows], period)
    b.length[rows] = length
    b.log_ratio[rows] = log_ratio[rows]
    if at_round:
        b.budget[rows] = forecast(b.base[rows], b.base_month[rows], t, length, log_growth) * np.exp(log_ratio[rows])
        b.plan[rows] = b.budget[rows]
    b.next_round[rows] = t + length
    b.paid[rows] = b.demanded[rows] = b.months[rows] = 0.0
    b.at_cap[rows] = False
    return closing


def reforecast(b: Budgets, demanded_bill: np.ndarray, spikes: np.ndarray, t: int, active: np.ndarray,
               log_growth: np.ndarray) -> None:
    """Rolling budgets: revise this year's budget up to the year's projected bill x exp(its drawn ratio).

    The projection is what the year has demanded so far, this month's ``demanded_bill``, and
    the months left in the period at this month's run-rate (without its usage spike) grown at
    the market's trend. In the period's first month the budget is that projection x exp(b)
    (and it is the plan that runaway episodes are measured against); after it the budget is
    only ever revised up (a bill that grows, from volume or dearer models, is budgeted as it
    becomes visible; one that falls, from routing or price cuts, leaves headroom), and not
    at all once the cap is hit (an overrun stays an overrun). The budget years' overrun share
    then follows the drawn ratio where bills only grow and is lower where they fall.
    Enterprises without an open period (not buying yet) are left as they are.
    """
    rows = np.flatnonzero(active & (b.next_round > t) & ~b.at_cap)
    last = len(log_growth) - 1
    steps = np.exp(log_growth[np.minimum(np.arange(t + 1, t + int(b.length.max(initial=0))), last)] - log_growth[t])
    ahead = np.concatenate(([0.0], np.cumsum(steps)))  # months-ahead multiple of this month's run-rate, 0..period-1
    rest = demanded_bill[rows] / spikes[rows] * ahead[b.next_round[rows] - t - 1]
    projected = (b.demanded[rows] + demanded_bill[rows] + rest) * np.exp(b.log_ratio[rows])
    first = b.months[rows] == 0
    b.budget[rows] = np.where(first, projected, np.maximum(b.budget[rows], projected))
    b.plan[rows[first]] = projected[first]


@dataclass(frozen=True)
class CapOutcome:
    """What budgets did this month, per enterprise."""

    served_share: np.ndarray  # (N,) share of demanded tasks served (< 1 when throttled)
    cap_hit: np.ndarray  # (N,) bool: the cap was hit this month (an overrun episode starts)
    at_cap: np.ndarray  # (N,) bool: at its cap this month (hit now or earlier this period)
    overspend_usd: np.ndarray  # (N,) paid above the budget this month
    runaway: np.ndarray  # (N,) bool: paid more than runaway_multiple x the planned budget's monthly rate
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
    # a budget spent to within a billionth is spent (rolling budgets of a throttled enterprise
    # equal what it has paid up to rounding, and a rounding-sized remainder must not serve tasks)
    left = np.where(b.budget - b.paid > 1e-9 * b.budget, b.budget - b.paid, 0.0)
    limited = at_cap & (behaviour != OVERSPEND) & (bill > left)
    served_share = np.ones(bill.shape)  # what the budget has left, of the bill, for those it limits
    held = np.flatnonzero(limited)
    held_bill = bill.take(held)
    served_share[held] = np.divide(left.take(held), held_bill, out=np.zeros_like(held_bill), where=held_bill > 0)
    paid = np.where(limited, left, bill)
    # only what is paid beyond the budget: exactly 0 for an enterprise held to what it has left
    overspend = np.where(limited, 0.0, np.maximum(np.minimum(paid, b.paid + paid - b.budget), 0.0))
    rate = b.plan / np.maximum(b.length, 1)
    runaway = active & (paid > runaway_multiple * rate)
    b.paid += paid
    b.demanded += demanded_bill * active
    b.months += active
    np.copyto(b.run_rate, demanded_bill / spikes, where=active)
    b.at_cap |= at_cap
    return CapOutcome(served_share=served_share, cap_hit=cap_hit, at_cap=at_cap, overspend_usd=overspend,
                      runaway=runaway, paid=paid)


@dataclass(frozen=True)
class Settled:
    """The month's work as served: real tasks and successes, and calls per menu cell."""

    tasks_served: float
    tasks_unserved_rows: float  # tasks in segments no model could take
    tasks_below_requirement: float
    expected_successes: float
    cells: np.ndarray  # (K, M) calls per segment and model, every enterprise
    router_cells: np.ndarray  # (K, M) the routers' calls


def settle(prices: UnitPrices, groups: list[tuple[np.ndarray, Plan]], served_tasks: np.ndarray, weight: np.ndarray,
           industry: np.ndarray, requirement: np.ndarray, flagship: np.ndarray, success: np.ndarray,
           industry_weight: np.ndarray, on_plan: np.ndarray, scratch: Scratch | None = None,
           second: np.ndarray | None = None, split: np.ndarray | None = None) -> Settled:
    """Spread each enterprise's served tasks (N,) over segments and models, and count what they achieve.

    ``on_plan`` (N,) marks the enterprises billed by their plans (routers); the others send
    every segment to their everyday model. ``success`` is the menu's (K, M) success and
    ``industry_weight`` (I, K) each industry's mix of segments. ``scratch`` lends the (routers
    x segments) working arrays. ``second`` (N,) and ``split`` (2, I, K): a specialist family, as in
    :func:`unit_prices`: ``split[0]`` weighs the segments the flagship serves, ``split[1]``
    those of the family ``second`` serves.
    """
    n_seg, n_mod = success.shape
    real = weight * served_tasks  # (N,) real tasks served
    router_cells = np.zeros((n_seg, n_mod))
    routers, rows = prices.routers, prices.rows
    shape = rows.weight.shape
    # (R, K), aligned with rows
    row_tasks = np.multiply(real.take(routers)[:, None], rows.weight, out=lend(scratch, "settle.row_tasks", shape))
    ok = rows.served
    below_requirement = np.less(rows.success, requirement.take(routers)[:, None],
                                out=lend(scratch, "settle.below_requirement", shape, bool))
    if ok.all():  # every row has a model (the usual case): no masks. The sum of a contiguous
        # array is the same pairwise sum as that of its masked (flattened) copy
        served, unserved = row_tasks.sum(), 0.0
    else:
        served, unserved = row_tasks[ok].sum(), row_tasks[~ok].sum()
        below_requirement &= ok
    below = row_tasks[below_requirement].sum()
    successes = (row_tasks * rows.success).sum()
    for members, plan in groups:  # a downgraded router's old plan has weight 0: it calls nothing
        router_cells += menu_cells(plan, n_mod, row_tasks[prices.rows_of(members)])
    flat = ~on_plan
    # the enterprises on an everyday model (indices: one mask, then takes of the same elements in
    # the same order, so every sum below adds what masking each array would)
    idx = np.flatnonzero(flat & (flagship >= 0))
    real_flat, flag_flat, industry_flat = real.take(idx), flagship.take(idx), industry.take(idx)
    need = requirement.take(idx)
    if split is not None and second is not None:
        second_flat = second.take(idx)
        cells = (router_cells + flagship_cells(flag_flat, industry_flat, real_flat, split[0], n_mod)
                 + flagship_cells(second_flat, industry_flat, real_flat, split[1], n_mod))
        family = split[1].any(axis=0)  # (K,) the family's segments: each side counts only its own
        share = (share_below(success[~family], split[0][:, ~family], industry_flat, flag_flat, need)
                 + share_below(success[family], split[1][:, family], industry_flat, second_flat, need))
    else:
        cells = router_cells + flagship_cells(flag_flat, industry_flat, real_flat, industry_weight, n_mod)
        share = share_below(success, industry_weight, industry_flat, flag_flat, need)
    served += real_flat.sum()
    unserved += real[flat & (flagship < 0)].sum()
    successes += (real_flat * prices.flag_success.take(idx)).sum()
    below += (real_flat * share).sum()
    return Settled(tasks_served=float(served), tasks_unserved_rows=float(unserved),
                   tasks_below_requirement=float(below), expected_successes=float(successes), cells=cells,
                   router_cells=router_cells)


def share_below(success: np.ndarray, industry_weight: np.ndarray, industry: np.ndarray, model: np.ndarray,
                requirement: np.ndarray) -> np.ndarray:
    """(n,) share of each enterprise's tasks on segments where its model's success is below its requirement.

    ``success`` (K, M) per segment and model; ``industry_weight`` (I, K). Without an (n, K) array:
    per (industry, model) the segments are sorted by success and their weights cumulated, so the
    share below a requirement r is the cumulated weight of the segments whose key (model +
    success, as rounded) is below the query (model + r). (A ``searchsorted`` among every
    model's keys, which this replaces, gave the same count except for a requirement of ~0 with
    a success of ~1 on the model before, rounded to the same key: a negative count.)
    It is counted segment by segment (K passes over n values, 3x faster than the binary search).
    The tables are built for the U models in use only (a handful of everyday models of 74).
    """
    n_ind, n_seg = industry_weight.shape
    used = np.flatnonzero(np.bincount(model, minlength=success.shape[1]))  # (U,) the models in use
    position = np.zeros(success.shape[1], dtype=np.int64)
    position[used] = np.arange(len(used))
    at = position.take(model)  # (n,) each enterprise's model among ``used``
    used_success = success.T.take(used, axis=0)  # (U, K)
    order = np.argsort(used_success, axis=1, kind="stable")  # (U, K) segments by success, per model
    sorted_success = np.take_along_axis(used_success, order, axis=1)  # (U, K)
    weights = industry_weight[:, order]  # (I, U, K) each industry's weight of those segments
    cum = np.concatenate([np.zeros((n_ind, len(used), 1)), np.cumsum(weights, axis=2)], axis=2)  # (I, U, K + 1)
    keys = used[:, None] + np.minimum(sorted_success, np.nextafter(1.0, 0.0))  # (U, K), rising; model's own index
    query = model + np.clip(requirement, 0.0, np.nextafter(1.0, 0.0))
    count = np.zeros(len(model), dtype=np.int64)
    is_below = np.empty(len(model), dtype=bool)
    for column in np.ascontiguousarray(keys.T):  # (U,) every used model's k-th key
        np.less(column.take(at), query, out=is_below)
        count += is_below
    return cum.reshape(-1).take((industry * len(used) + at) * (n_seg + 1) + count)


def menu_cells(plan: Plan, n_mod: int, row_tasks: np.ndarray) -> np.ndarray:
    """(K, M) calls per segment and model of a plan's rows, ``row_tasks`` (n, K) tasks per row."""
    n_seg = plan.model.shape[1]
    return np.bincount(plan.cells(n_mod).ravel(), (plan.weight * row_tasks[..., None]).ravel(), n_seg * n_mod
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
