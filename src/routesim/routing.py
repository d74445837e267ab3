"""Routing policies: pure functions from one month's menu to a plan of model calls.

Every policy takes a :class:`RouteRequest` (the month's true and perceived cost and success
arrays, shape (K, M) or (C, K, M) over segments, models and router classes, plus the routing
enterprises' rows) and returns a :class:`Plan`: for each (enterprise, segment) row, S call slots holding a model and how
many calls per task go to it. A single-model choice is one slot of weight 1; a cascade
calls a cheap model for every task and the strong one for the share that failed (two
slots); a logit policy spreads each segment's tasks over all models by their choice
probabilities (M slots). A row with no filled slot has no eligible model and its tasks go
unmet. Policies are looked up by name in ``POLICIES``.

Choices use *perceived* cost and success, which depend on the router's class: its overseas
access (a risk premium raises the perceived cost of overseas models, a quality discount lowers
their perceived ability), its vendor and its kind (an in-house router may use only its
vendor's models; a neutral one sees other vendors' models at a contract markup; see
``router_classes``). Billing uses the true cost and success.

The cheapest-acceptable rule avoids an (n, K, M) array: for every (router class, segment)
group the models are sorted by perceived cost, and the running maximum of their
perceived success is non-decreasing, so the cheapest model meeting a requirement r is the
first position where that running maximum reaches r. The running maximum rises only at a
few positions (its *steps*: 5 on average, at most 9 in a default month at 10,000
enterprises, of 74 models), so the search counts, level by level, the steps of the row's
group that lie below r: a handful of exact float comparisons per row instead of a binary
search over every model of every group (see :class:`SearchIndex`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

from routesim.scratch import Scratch, lend

NO_MODEL = -1
# above this many steps in a group (see SearchIndex), the cheapest-acceptable search is a binary
# search rather than a count of the steps level by level (~2x slower at 9 steps, faster at ~30)
LINEAR_SEARCH_STEPS = 24


@dataclass(frozen=True)
class RouterParams:
    """Policy parameters (see ``RouterConfig`` for their meaning and defaults)."""

    threshold_difficulty: float = 0.0
    cascade_first_success: float = 0.5
    logit_quality_weight: float = 20.0
    logit_price_weight: float = 1.0
    logit_loyalty: float = 0.0


@dataclass(frozen=True)
class SearchIndex:
    """Per (class, segment) group g = class x K + segment: where the cheapest acceptable model is.

    In a group the eligible models are sorted by perceived cost (ties: catalogue order) and
    the running maximum of their perceived success is taken (ineligible models count as
    cost +inf, success -1). Its steps are the positions where it rises (the first position
    is always one): the cheapest model reaching a requirement r is the model at the first
    step whose value is >= r, i.e. step number j = (the number of step values < r). A group
    without an eligible model has one step, of value -1 and model ``NO_MODEL``.

    Only the models that some class may use are sorted (a month offers about a third of the
    catalogue): the others would sort last in every group and never raise its maximum.

    Per-group tables are laid out (classes, segments): a router's K groups are one row of
    them, so reading them for n routers is a take of n rows (``take(router_class, axis=0)``),
    about 3x faster than gathering n x K scattered elements.
    """

    step_value: np.ndarray  # (S, C, K) value of each group's s-th step; +inf past its last step
    step_model: np.ndarray  # (G * S,) model at the group's s-th step (g * S + s); NO_MODEL if none is eligible
    best: np.ndarray  # (C, K) the best perceived success in the group (-1: no eligible model)
    # only when S > LINEAR_SEARCH_STEPS: every group's steps as complex keys (group + 1j value,
    # ordered lexicographically by NumPy) and their flat (g * S + s) positions, for a binary search
    step_key: np.ndarray | None = None
    step_at: np.ndarray | None = None

    @staticmethod
    def build(perceived_cost: np.ndarray, perceived_success: np.ndarray, eligible: np.ndarray) -> SearchIndex:
        """The index of (C, K, M) perceived cost and success, (C, M) eligibility."""
        n_classes, n_seg = perceived_cost.shape[:2]
        offered = np.flatnonzero(eligible.any(axis=0))  # models some class may use, ascending
        if not len(offered):  # nothing on offer: every group has no eligible model
            offered = np.arange(1)
        n_mod = len(offered)
        usable = eligible.take(offered, axis=1)[:, None, :]
        cost = np.where(usable, perceived_cost.take(offered, axis=2), np.inf).reshape(-1, n_mod)
        success = np.where(usable, perceived_success.take(offered, axis=2), -1.0).reshape(-1, n_mod)
        order = np.argsort(cost, axis=1, kind="stable")  # (G, offered models) positions among ``offered``
        n_groups = len(order)
        # flat indices (g x M + position) throughout: cheaper than 2-d fancy indexing on these small arrays
        running_max = np.maximum.accumulate(success.take(order + (np.arange(n_groups) * n_mod)[:, None]), 1)
        rises = np.ones(running_max.shape, dtype=bool)
        rises[:, 1:] = running_max[:, 1:] > running_max[:, :-1]
        at = np.flatnonzero(rises)  # by group, then position
        group = at // n_mod
        step = np.cumsum(rises, axis=1).take(at) - 1  # its number within the group
        n_steps = int(step.max()) + 1
        value = running_max.take(at)
        step_value = np.full((n_steps, n_groups), np.inf)
        step_value[step, group] = value
        best = running_max[:, -1]
        step_model = np.zeros(n_groups * n_steps, dtype=order.dtype)
        step_model[group * n_steps + step] = offered.take(order.take(at))
        step_model[np.flatnonzero(best < 0.0) * n_steps] = NO_MODEL  # no eligible model (step 0 is its only step)
        index = SearchIndex(step_value=step_value.reshape(n_steps, n_classes, n_seg), step_model=step_model,
                            best=best.reshape(n_classes, n_seg))
        if n_steps > LINEAR_SEARCH_STEPS:
            key = group + 1j * value
            index = dataclasses.replace(index, step_key=key, step_at=group * n_steps + step)
        return index

    def cheapest_eligible(self, router_class: np.ndarray) -> np.ndarray:
        """(n, K) the cheapest eligible model of each row's groups (``NO_MODEL`` where none is): their step 0.

        What :meth:`cheapest` gives for a target of 0 (a requirement any model meets).
        """
        n_steps, n_classes, n_seg = self.step_value.shape
        return self.step_model.reshape(n_classes, n_seg, n_steps)[:, :, 0].take(router_class, axis=0)

    def cheapest(self, router_class: np.ndarray, target: np.ndarray) -> np.ndarray:
        """(n, K) the model at the first step of each row's group whose value is >= ``target`` (n, K).

        ``router_class`` (n,) gives the rows' groups (class x K + segment). ``target`` must not
        exceed the group's ``best`` (so that such a step exists) and is never NaN. Counting the
        steps below it level by level takes S cheap passes (S, the most steps of any group, is
        small: the running maximum rises rarely); past ``LINEAR_SEARCH_STEPS`` steps a binary
        search over all the steps is cheaper.
        """
        n_steps, n_classes, n_seg = self.step_value.shape
        # each row's first flat position g x S (its group's step 0): a row of a (C, K) table
        first = (np.arange(n_classes * n_seg) * n_steps).reshape(n_classes, n_seg).take(router_class, axis=0)
        if self.step_key is not None:
            group = first // n_steps
            return self.step_model.take(self.step_at.take(np.searchsorted(self.step_key, group + 1j * target)))
        below = np.zeros(target.shape, dtype=np.uint8)  # at most LINEAR_SEARCH_STEPS; a narrow type adds faster
        is_below = np.empty(target.shape, dtype=bool)
        for level in self.step_value:  # (C, K) the s-th step of every group
            np.less(level.take(router_class, axis=0), target, out=is_below)
            below += is_below
        first += below
        return self.step_model.take(first)


@dataclass(frozen=True)
class RouteRequest:
    """One month's routing problem for n enterprises."""

    cost: np.ndarray  # (K, M) true USD per task
    success: np.ndarray  # (K, M) true success probability
    perceived_cost: np.ndarray  # (C, K, M) as a router of each class weighs it
    perceived_success: np.ndarray  # (C, K, M)
    eligible: np.ndarray  # (C, M) bool: model on offer and allowed for the class
    easy: np.ndarray  # (K,) bool: the threshold policy's easy segments
    model_provider: np.ndarray  # (M,) provider index of each model
    router_class: np.ndarray  # (n,) int in [0, C)
    requirement: np.ndarray  # (n,) required success probability per task
    flagship: np.ndarray  # (n,) the enterprise's everyday (preferred-vendor) model, -1 if none
    preferred: np.ndarray  # (n,) preferred provider index
    # (n, K) the requirement a learned router applies, see learned_requirement()
    learned_requirement: np.ndarray | None = None
    params: RouterParams = RouterParams()
    # lends the policies their working arrays (None: fresh arrays); shared by every subset
    scratch: Scratch | None = None

    @functools.cached_property
    def search_index(self) -> SearchIndex:
        """The cheapest-acceptable search index, built once a month and shared by every subset."""
        return SearchIndex.build(self.perceived_cost, self.perceived_success, self.eligible)

    @functools.cached_property
    def success_by_model(self) -> np.ndarray:
        """(C x M, K) perceived success, row class x M + model: a model's K segments as one row.

        So that the (n, K) success of one model per router is a take of n rows.
        """
        n_classes, n_seg, n_mod = self.perceived_success.shape
        return np.ascontiguousarray(self.perceived_success.transpose(0, 2, 1)).reshape(n_classes * n_mod, n_seg)

    def subset(self, mask: np.ndarray) -> RouteRequest:
        """The same month for the enterprises in ``mask`` (a boolean mask or indices) only.

        With a scratch, its learned requirement is lent (valid until the next subset is made).
        """
        sub = self._subset(mask)
        for shared in ("search_index", "success_by_model"):  # the month's, whoever routes
            if shared in self.__dict__:
                sub.__dict__[shared] = self.__dict__[shared]
        return sub

    def _subset(self, mask: np.ndarray) -> RouteRequest:
        rows = np.flatnonzero(mask) if mask.dtype == bool else mask  # takes of rows: faster than fancy indexing
        learned = self.learned_requirement
        if learned is not None:  # mode="clip" takes into the lent array directly (nothing is clipped)
            lent = lend(self.scratch, "subset.learned", (len(rows), learned.shape[1]))
            learned = learned.take(rows, axis=0, out=lent, mode="clip")
        return RouteRequest(
            cost=self.cost, success=self.success, perceived_cost=self.perceived_cost,
            perceived_success=self.perceived_success, eligible=self.eligible,
            easy=self.easy, model_provider=self.model_provider, router_class=self.router_class.take(rows),
            requirement=self.requirement.take(rows), flagship=self.flagship.take(rows),
            preferred=self.preferred.take(rows),
            learned_requirement=learned, params=self.params, scratch=self.scratch)


@dataclass(frozen=True)
class Plan:
    """Model calls per task of each (enterprise, segment) row, in S slots per row."""

    model: np.ndarray  # (n, K, S) int, NO_MODEL in an empty slot
    weight: np.ndarray  # (n, K, S) calls per task, 0 in an empty slot
    _cells: dict[int, np.ndarray] = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

    def cells(self, n_mod: int) -> np.ndarray:
        """(n, K, S) each slot's flat index k x M + model into a (K, M) menu array (an empty slot: model 0).

        Kept once computed: pricing the plan and billing its calls both read it.
        """
        if n_mod not in self._cells:
            n_seg = self.model.shape[1]
            cells = np.maximum(self.model, 0)
            cells += (np.arange(n_seg) * n_mod)[:, None]  # in place: one (n, K, S) array, not two
            self._cells[n_mod] = cells
        return self._cells[n_mod]

    @property
    def calls_per_task(self) -> np.ndarray:
        """(n, K) model calls per task (> 1 for a cascade)."""
        return self.weight[..., 0] if self.weight.shape[-1] == 1 else self.weight.sum(axis=-1)

    @property
    def served(self) -> np.ndarray:
        """(n, K) whether the row calls any model."""
        return self.model[..., 0] >= 0 if self.model.shape[-1] == 1 else (self.model >= 0).any(axis=-1)


def perceive(cost: np.ndarray, success: np.ndarray, ability: np.ndarray, difficulty: np.ndarray,
             overseas: np.ndarray, success_slope: np.ndarray, risk_premium: float, quality_discount: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Perceived (2, K, M) cost and success of each overseas-access class.

    ``ability`` (K, M) is each model's ability at each segment's skill. Class 0 cannot use
    overseas models and sees true values; class 1 sees overseas models' cost marked up by the
    risk premium and their ability lowered by the quality discount.
    """
    seen_cost = cost * (1.0 + risk_premium * overseas) if risk_premium else cost
    if quality_discount:
        seen_ability = ability - quality_discount * overseas[None, :]
        seen_success = special.expit(success_slope[:, None] * (seen_ability - difficulty[:, None]))
    else:
        seen_success = success
    return np.stack([cost, seen_cost]), np.stack([success, seen_success])


def eligibility(available: np.ndarray, overseas: np.ndarray) -> np.ndarray:
    """(2, M) mask: access class 0 may use on-offer domestic models, class 1 any on-offer model."""
    return np.stack([available & ~overseas, available])


N_KINDS = 2  # router kinds: 0 neutral (any vendor), 1 in-house (its vendor's models only)


def router_classes(seen_cost: np.ndarray, seen_success: np.ndarray, eligible: np.ndarray,
                   model_provider: np.ndarray, n_providers: int, neutral_premium: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Perceived cost, success (C, K, M) and eligibility (C, M) of every router class.

    Class c = access + 2 (vendor + P kind) (see :func:`router_class`): an in-house router may
    use only its vendor's models; a neutral one any eligible model, other vendors' at a cost
    markup of ``neutral_premium``. Success is perceived as by the access class.
    """
    mine = model_provider[None, :] == np.arange(n_providers)[:, None]  # (P, M)
    markup = np.stack([1.0 + neutral_premium * ~mine, np.ones_like(mine, dtype=float)])  # (kind, P, M)
    allowed = np.stack([np.ones_like(mine), mine])  # (kind, P, M)
    cost = seen_cost[None, None] * markup[:, :, None, None, :]  # (kind, P, access, K, M)
    n_classes = 2 * n_providers * N_KINDS
    k, m = seen_cost.shape[1:]
    success = np.broadcast_to(seen_success[None, None], (N_KINDS, n_providers, *seen_success.shape))
    elig = eligible[None, None] & allowed[:, :, None, :]  # (kind, P, access, M)
    return (cost.reshape(n_classes, k, m), success.reshape(n_classes, k, m), elig.reshape(n_classes, m))


def router_class(access: np.ndarray, vendor: np.ndarray, in_house: np.ndarray, n_providers: int) -> np.ndarray:
    """(n,) router class of enterprises by overseas access (0/1), vendor index and in-house flag."""
    return access + 2 * (vendor + n_providers * in_house.astype(np.int64))


def one_hot(choice: np.ndarray) -> Plan:
    """A plan of one call per task from an (n, K) array of model indices (-1: none)."""
    return Plan(model=choice[..., None], weight=(choice >= 0)[..., None].astype(float))


def cheapest_acceptable(req: RouteRequest, requirement: np.ndarray) -> np.ndarray:
    """(n, K) cheapest eligible model whose perceived success meets ``requirement`` (n, K).

    Where none meets it, the cheapest of the most successful; -1 where none is eligible (the
    index's model for a group without one).
    """
    index = req.search_index
    shape = (len(req.router_class), index.best.shape[1])
    # (n, K) (mode="clip" takes into the lent array directly; the classes are valid: nothing is clipped)
    best = index.best.take(req.router_class, axis=0, out=lend(req.scratch, "acceptable.best", shape), mode="clip")
    return index.cheapest(req.router_class, np.minimum(requirement, best, out=best))


def _flagship_choice(req: RouteRequest) -> np.ndarray:
    return np.repeat(req.flagship[:, None], req.cost.shape[0], axis=1)


def capped(req: RouteRequest, requirement: np.ndarray) -> np.ndarray:
    """(n, K) ``requirement`` lowered to the everyday model's perceived success where that is below it.

    A cost router looks for the cheapest model at least as good as the enterprise needs, or,
    where its everyday model falls short of that, at least as good as the everyday model
    (routers are judged against the model they replace: RouteLLM's "95% of GPT-4's quality").
    So a router never buys a dearer model than the everyday one to lift quality above it.
    With a scratch the result is lent (valid until the next call).
    """
    has = req.flagship >= 0
    n_classes, n_seg, n_mod = req.perceived_success.shape
    # mode="clip" takes into the lent array directly (the rows are valid: nothing is clipped)
    flag_success = req.success_by_model.take(req.router_class * n_mod + np.maximum(req.flagship, 0), axis=0,
                                             out=lend(req.scratch, "capped", (len(has), n_seg)), mode="clip")
    capped = np.minimum(requirement, flag_success, out=flag_success)
    np.copyto(capped, requirement, where=~has[:, None])  # no everyday model: the requirement as it is
    return capped


def _requirement(req: RouteRequest) -> np.ndarray:
    return capped(req, np.broadcast_to(req.requirement[:, None], (len(req.requirement), req.cost.shape[0])))


def single(req: RouteRequest) -> Plan:
    """No routing: every segment goes to the enterprise's everyday flagship model."""
    return one_hot(_flagship_choice(req))


def cost_optimal(req: RouteRequest) -> Plan:
    """Per segment, the cheapest eligible model whose success meets the requirement.

    The requirement is capped at the everyday model's success (:func:`capped`); where no
    eligible model meets it, the cheapest of the most successful ones.
    """
    return one_hot(cheapest_acceptable(req, _requirement(req)))


def threshold(req: RouteRequest) -> Plan:
    """Easy segments (``RouteRequest.easy``) by ``cost_optimal``, the rest to the flagship."""
    return one_hot(np.where(req.easy[None, :], cheapest_acceptable(req, _requirement(req)), _flagship_choice(req)))


def learned_requirement(requirement: np.ndarray, error: np.ndarray, success_slope: np.ndarray) -> np.ndarray:
    """(n, K) requirement on true success equivalent to a noisy difficulty estimate.

    A router that sees difficulty d + e (its error plus any safety margin) accepts a model
    when sigmoid(s (a - d - e)) >= r, which is true success >= sigmoid(logit(r) + s e), s the
    segment's discrimination (K,). Fixed per enterprise and segment, so the model computes it once.
    """
    return special.expit(special.logit(requirement)[:, None] + success_slope[None, :] * error)


def learned(req: RouteRequest) -> Plan:
    """``cost_optimal`` on a noisy estimate of each segment's difficulty."""
    if req.learned_requirement is None:
        raise ValueError("the learned policy needs RouteRequest.learned_requirement (n, K)")
    return one_hot(cheapest_acceptable(req, capped(req, req.learned_requirement)))


def cascade(req: RouteRequest) -> Plan:
    """Try a cheap model first and escalate its failures to the cost_optimal model.

    The first model is the cheapest eligible one whose perceived success reaches
    ``cascade_first_success``; the cascade is used where it is expected to be cheaper,
    c1 + (1 - p1) c2 < c2, and then costs c1 + (1 - p1) c2 per task and succeeds with
    p1 + (1 - p1) p2 (failures are detected and retried once).
    """
    n_seg = req.cost.shape[0]
    strong = cheapest_acceptable(req, _requirement(req))
    floor = np.full(strong.shape, req.params.cascade_first_success)
    cheap = cheapest_acceptable(req, floor)
    seg = np.broadcast_to(np.arange(n_seg), strong.shape)
    cls = np.repeat(req.router_class[:, None], n_seg, axis=1)
    ok = (cheap >= 0) & (strong >= 0) & (cheap != strong)
    c1 = req.perceived_cost[cls, seg, np.maximum(cheap, 0)]
    c2 = req.perceived_cost[cls, seg, np.maximum(strong, 0)]
    p1 = req.success[seg, np.maximum(cheap, 0)]
    use = ok & (c1 + (1.0 - p1) * c2 < c2)
    first = np.where(use, cheap, strong)
    model = np.stack([first, np.where(use, strong, NO_MODEL)], axis=-1)
    weight = np.stack([(first >= 0).astype(float), np.where(use, 1.0 - p1, 0.0)], axis=-1)
    return Plan(model=model, weight=weight)


def logit_shares(req: RouteRequest) -> np.ndarray:
    """(n, K, M) multinomial-logit shares over eligible models.

    Utility = quality_weight * perceived success - price_weight * ln(perceived cost per task)
    + loyalty if the model is the preferred vendor's.
    """
    p = req.params
    cls = req.router_class
    util = (p.logit_quality_weight * req.perceived_success[cls]
            - p.logit_price_weight * np.log(req.perceived_cost[cls]))
    util = util + p.logit_loyalty * (req.model_provider[None, :] == req.preferred[:, None])[:, None, :]
    util = np.where(req.eligible[cls][:, None, :], util, -np.inf)
    has_any = req.eligible[cls].any(axis=1)
    util[~has_any] = 0.0  # rows without eligible models: zeroed below
    shares = special.softmax(util, axis=2)
    shares[~has_any] = 0.0
    return shares


def logit(req: RouteRequest) -> Plan:
    """Spread each segment's tasks over models by multinomial-logit choice probabilities."""
    shares = logit_shares(req)
    models = np.broadcast_to(np.arange(shares.shape[-1]), shares.shape)
    return Plan(model=np.where(shares > 0, models, NO_MODEL), weight=shares)


Policy = Callable[[RouteRequest], Plan]

POLICIES: dict[str, Policy] = {
    "single": single,
    "threshold": threshold,
    "cost_optimal": cost_optimal,
    "cascade": cascade,
    "learned": learned,
    "logit": logit,
}
