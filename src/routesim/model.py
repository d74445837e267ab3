"""MarketModel: the monthly step of the enterprise AI-model market.

Each month runs four named phases, in this order:

1. ``_route_and_bill``: read the month's catalogue (prices, capabilities, releases), route
   every enterprise's segments (non-adopters to their everyday flagship, adopters by the
   configured policy), set demand, and bill tasks x cost to the models.
2. ``_account_providers``: each ProviderAgent books revenue, serving cost and cash.
3. ``_record``: append the month's aggregates to the record.
4. ``_adopt``: Bass diffusion decides who routes from next month on.

Enterprise state is a struct of NumPy arrays owned by the model; EnterpriseAgents are Mesa
views on their rows. All randomness comes from ``self.rng`` (Mesa's seeded Generator),
split into one child stream per subsystem so that adding draws in one subsystem never
shifts another (common random numbers across scenarios).

Months are recorded in a :class:`MonthlyRecord` of arrays rather than Mesa's DataCollector:
the outputs are long tables keyed by (month, provider / model / tier), and DataCollector
indexes model-level data by position and stores agent values by reference.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
from collections.abc import Iterator

import mesa
import numpy as np

from routesim.adoption import step_adoption
from routesim.agents import EnterpriseAgent, ProviderAgent
from routesim.catalog import build_catalog
from routesim.config import Config
from routesim.population import draw_population
from routesim.routing import POLICIES, RouteRequest, eligibility, single
from routesim.workload import MonthMenu, build_workload, demand_multiplier, month_menu


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclasses.dataclass
class MonthlyRecord:
    """What the model remembers of each month; turned into tables by ``routesim.metrics``."""

    model_revenue: list[np.ndarray] = dataclasses.field(default_factory=list)  # (M,) per month
    model_tokens: list[np.ndarray] = dataclasses.field(default_factory=list)
    model_tasks: list[np.ndarray] = dataclasses.field(default_factory=list)
    provider_serving_cost: list[np.ndarray] = dataclasses.field(default_factory=list)  # (P,)
    provider_fixed_cost: list[np.ndarray] = dataclasses.field(default_factory=list)
    provider_cash: list[np.ndarray] = dataclasses.field(default_factory=list)
    enterprise: list[dict[str, float]] = dataclasses.field(default_factory=list)
    panel: list[dict[str, np.ndarray]] = dataclasses.field(default_factory=list)


class MarketModel(mesa.Model):
    """Enterprises route monthly AI workloads among the models of competing providers.

    Args:
        cfg: a validated :class:`routesim.config.Config`.
    """

    def __init__(self, cfg: Config) -> None:
        super().__init__(seed=cfg.seed)
        self.cfg = cfg
        self.catalog = build_catalog(cfg)
        self.workload = build_workload(cfg)
        population_rng, self.adoption_rng = self.rng.spawn(2)
        self.population = draw_population(cfg, self.catalog.provider_ids, population_rng)
        n = self.population.size
        self.n_months = len(self.catalog.months)
        self.t = 0

        self.adopted = self.adoption_rng.random(n) < cfg.adoption.initial_share
        self.tasks = np.zeros(n)
        self.spend = np.zeros(n)
        self.no_routing_spend = np.zeros(n)
        self.policy = POLICIES[cfg.router.policy]
        self.routing_allowed = cfg.scenario.routing_allowed
        if cfg.adoption.peer_group == "industry":
            self.peer_group, self.n_peer_groups = self.population.industry, len(self.workload.industry_ids)
        else:
            self.peer_group, self.n_peer_groups = np.zeros(n, dtype=np.int64), 1

        n_seg, n_mod = self.workload.n_segments, self.catalog.n_models
        # flat index of (industry, segment, model 0) into a month's (I, K, M + 1) billing array
        self._menu_base = (self.population.industry[:, None] * n_seg + np.arange(n_seg)) * (n_mod + 1)
        self._reference_cost_per_task: np.ndarray | None = None

        with _gc_paused():  # cyclic GC passes over a fast-growing heap make creation superlinear
            EnterpriseAgent.create_agents(self, n, row=list(range(n)))
        for i, pid in enumerate(self.catalog.provider_ids):
            spec = cfg.market.providers[pid]
            ProviderAgent(self, index=i, name=pid, origin=spec.origin,
                          fixed_cost_usd_per_month=spec.fixed_cost_usd_per_month)
        self.enterprises = self.agents_by_type[EnterpriseAgent]
        self.providers = self.agents_by_type[ProviderAgent]
        self.record = MonthlyRecord()

    # ------------------------------------------------------------------------------ running

    def step(self) -> None:
        """Advance one month through the four phases."""
        billing = self._route_and_bill()
        self._account_providers(billing)
        self._record(billing)
        self._adopt()
        self.t += 1
        self.running = self.t < self.n_months

    def run(self) -> MarketModel:
        """Run every month from ``cfg.start`` to ``cfg.end``."""
        while self.t < self.n_months:
            self.step()
        return self

    # ------------------------------------------------------------------------------- phases

    def route(self, t: int) -> tuple[np.ndarray, np.ndarray, RouteRequest, MonthMenu]:
        """Choose a model for every (enterprise, segment) in month ``t``.

        Returns (N, K) model indices (-1: no model), the mask of enterprises that routed,
        the routing request and the month's menu.
        """
        menu = month_menu(self.workload, self.catalog, t)
        pop = self.population
        req = RouteRequest(
            cost=menu.cost_per_task, success=menu.success, difficulty=self.workload.difficulty,
            eligible=eligibility(menu.available, self.catalog.model_overseas),
            industry=pop.industry, access=pop.access, requirement=pop.requirement,
            flagship=self.catalog.flagships(t)[pop.preferred],
            threshold_difficulty=self.cfg.router.threshold_difficulty,
        )
        choice = single(req)
        routers = self.adopted if self.routing_allowed else np.zeros_like(self.adopted)
        if self.policy is not single and routers.any():
            sub = dataclasses.replace(
                req, industry=pop.industry[routers], access=pop.access[routers],
                requirement=pop.requirement[routers], flagship=req.flagship[routers])
            choice[routers] = self.policy(sub)
        else:
            routers = np.zeros_like(routers)
        return choice, routers, req, menu

    def _route_and_bill(self) -> dict[str, np.ndarray]:
        """Route, set demand, and bill; returns the month's per-model and market totals.

        Billing aggregates tasks per (industry, segment, model) with one ``bincount`` and
        prices that small array, instead of gathering cost, tokens and success per
        (enterprise, segment). "No model" (-1) is an extra, free, zero-token column.
        """
        t, pop, n_mod = self.t, self.population, self.catalog.n_models
        choice, routers, req, menu = self.route(t)
        weight = self.workload.segment_weight
        n_ind, n_seg = self.workload.difficulty.shape

        def with_no_model(values: np.ndarray, fill: float) -> np.ndarray:
            return np.concatenate([values, np.full((*values.shape[:-1], 1), fill)], axis=-1)

        cost = with_no_model(menu.cost_per_task, 0.0)  # (I, K, M + 1)
        idx = self._menu_base + np.where(choice >= 0, choice, n_mod)  # (N, K) into cost.ravel()
        flag = np.where(req.flagship >= 0, req.flagship, n_mod)
        flag_cost_per_task = (weight @ cost)[pop.industry, flag]  # (I, M + 1) table, gathered
        cost_per_task = flag_cost_per_task.copy()
        cost_per_task[routers] = cost.ravel()[idx[routers]] @ weight
        if self._reference_cost_per_task is None:
            self._reference_cost_per_task = flag_cost_per_task

        self.tasks = pop.base_tasks * demand_multiplier(
            self.cfg.demand.growth_per_month, t, cost_per_task, self._reference_cost_per_task,
            self.cfg.demand.price_elasticity)
        self.spend = self.tasks * cost_per_task
        self.no_routing_spend = self.tasks * flag_cost_per_task

        seg_tasks = np.bincount(idx.ravel(), (self.tasks[:, None] * weight).ravel(),
                                n_ind * n_seg * (n_mod + 1)).reshape(n_ind, n_seg, n_mod + 1)
        served = seg_tasks[..., :n_mod]
        below = with_no_model(menu.success, 1.0).ravel()[idx] < pop.requirement[:, None]
        return {
            "model_tasks": served.sum(axis=(0, 1)),
            "model_revenue": (served * menu.cost_per_task).sum(axis=(0, 1)),
            "model_tokens": (served * menu.tokens_per_task).sum(axis=(0, 1)),
            "tasks_served": served.sum(),
            "tasks_unmet": seg_tasks[..., n_mod].sum(),
            "successes": (served * menu.success).sum(),
            "tasks_below_requirement": self.tasks @ (below @ weight),
            "routers": int((self.adopted & self.routing_allowed).sum()),  # adopters, whatever policy
        }

    def _account_providers(self, billing: dict[str, np.ndarray]) -> None:
        cat = self.catalog
        revenue = np.bincount(cat.model_provider, billing["model_revenue"], cat.n_providers)
        serving = np.bincount(cat.model_provider, billing["model_revenue"] * cat.serving_cost_fraction,
                              cat.n_providers)
        tokens = np.bincount(cat.model_provider, billing["model_tokens"], cat.n_providers)
        tasks = np.bincount(cat.model_provider, billing["model_tasks"], cat.n_providers)
        for agent in self.providers:
            i = agent.index
            agent.account(float(revenue[i]), float(serving[i]), float(tokens[i]), float(tasks[i]))

    def _record(self, billing: dict[str, np.ndarray]) -> None:
        rec = self.record
        rec.model_revenue.append(billing["model_revenue"])
        rec.model_tokens.append(billing["model_tokens"])
        rec.model_tasks.append(billing["model_tasks"])
        by_index = sorted(self.providers, key=lambda a: a.index)
        rec.provider_serving_cost.append(np.array([a.serving_cost_usd for a in by_index]))
        rec.provider_fixed_cost.append(np.array([a.fixed_cost_usd_per_month for a in by_index]))
        rec.provider_cash.append(np.array([a.cumulative_cash_usd for a in by_index]))
        rec.enterprise.append({
            "spend_usd": float(self.spend.sum()),
            "no_routing_spend_usd": float(self.no_routing_spend.sum()),
            "tasks_demanded": float(self.tasks.sum()),
            "tasks_served": float(billing["tasks_served"]),
            "tasks_unmet": float(billing["tasks_unmet"]),
            "tasks_below_requirement": float(billing["tasks_below_requirement"]),
            "expected_successes": float(billing["successes"]),
            "adopters": float(billing["routers"]),
        })
        if self.cfg.output.enterprise_panel:
            rec.panel.append({"spend_usd": self.spend.copy(),
                              "no_routing_spend_usd": self.no_routing_spend.copy(),
                              "tasks": self.tasks.copy(), "routes": self.adopted.copy()})

    def _adopt(self) -> None:
        uniforms = self.adoption_rng.random(self.population.size)
        a = self.cfg.adoption
        self.adopted = step_adoption(self.adopted, self.peer_group, self.n_peer_groups,
                                     a.innovation_p, a.imitation_q, uniforms)
