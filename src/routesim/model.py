"""MarketModel: the monthly step of the enterprise AI-model market.

Each month runs these named phases, in this order:

1. ``_prepare_month``: the month's catalogue (prices, capabilities, releases), what each
   model costs and achieves on each segment, who may use overseas models.
2. ``_reevaluate_vendors``: enterprises due for a re-evaluation pick their preferred vendor;
   enterprises entering the market this month pick their first one.
3. ``_route``: non-adopters send every segment to their everyday flagship, adopters route
   by their policy: a plan of model calls per (enterprise, segment) for each policy group.
4. ``_bill``: demand (growth, price rebound, spikes), router fees, budgets and what happens
   at the cap (throttle, overspend, downgrade), then tasks x calls x cost to the models.
5. ``_account_providers``: each ProviderAgent books revenue, serving cost and cash.
6. ``_record``: append the month's aggregates to the record.
7. ``_adopt``: Bass diffusion (pushed by cap hits, checked against expected net savings)
   decides who routes from next month on.
8. ``_collect``: the DataCollector reports the month's row of the ``market`` table.

Enterprise state is a struct of NumPy arrays owned by the model; EnterpriseAgents are Mesa
views on their rows. All randomness comes from ``self.rng`` (Mesa's seeded Generator),
split into one child stream per subsystem (population, adoption, traits, demand, switching,
entry) and drawn whether or not a behaviour is on, so that switching one on never shifts
another's draws (common random numbers across scenarios).

Months are recorded in a :class:`MonthlyRecord` of arrays rather than Mesa's DataCollector:
the outputs are long tables keyed by (month, provider / model / tier), and DataCollector
indexes model-level data by position and stores agent values by reference. For Mesa's tools
(``batch_run``), ``datacollector`` reports each month's row of the ``market`` table, computed
by the same function that builds that table.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
from collections.abc import Iterator, Mapping
from typing import Any

import mesa
import numpy as np

from routesim.adoption import adoption_probability, peer_adopter_share
from routesim.agents import EnterpriseAgent, ProviderAgent
from routesim.billing import (
    DOWNGRADE,
    CapOutcome,
    RowPrices,
    apply_caps,
    calls_by_menu_cell,
    price_plan,
)
from routesim.catalog import build_catalog
from routesim.config import TIERS, Config, format_month, parse_month
from routesim.economics import build_books
from routesim.metrics import market_row
from routesim.params import configure
from routesim.population import draw_entry, draw_population, draw_traits
from routesim.pricing import PRICING, PricingState
from routesim.routing import (
    POLICIES,
    Plan,
    RouteRequest,
    RouterParams,
    cheapest_acceptable,
    eligibility,
    learned_requirement,
    one_hot,
    perceive,
)
from routesim.vendors import choose_vendor, flagship_tables
from routesim.workload import MonthMenu, build_workload, demand_multiplier, growth_path, month_menu

Group = tuple[np.ndarray, Plan]  # (enterprise indices, their plan)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _reported(model: MarketModel, name: str) -> float | str:
    """A DataCollector reporter: one column of the model's current market row."""
    return model.reported_row[name]


@dataclasses.dataclass
class MonthlyRecord:
    """What the model remembers of each month; turned into tables by ``routesim.metrics``."""

    model_revenue: list[np.ndarray] = dataclasses.field(default_factory=list)  # (M,) per month
    model_tokens: list[np.ndarray] = dataclasses.field(default_factory=list)
    model_tasks: list[np.ndarray] = dataclasses.field(default_factory=list)
    price_factor: list[np.ndarray] = dataclasses.field(default_factory=list)  # (M,)
    # (P,) per month: serving_cost_usd, other_revenue_usd, other_cost_usd, fixed_cost_usd,
    # cumulative_cash_usd
    provider: dict[str, list[np.ndarray]] = dataclasses.field(
        default_factory=lambda: {k: [] for k in ("serving_cost_usd", "other_revenue_usd", "other_cost_usd",
                                                 "fixed_cost_usd", "cumulative_cash_usd")})
    tier_token_share: list[np.ndarray] = dataclasses.field(default_factory=list)  # (P, tiers)
    enterprise: list[dict[str, float]] = dataclasses.field(default_factory=list)
    panel: list[dict[str, np.ndarray]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Month:
    """Everything about month ``t`` that does not depend on the enterprises' choices."""

    t: int
    menu: MonthMenu
    flagships: np.ndarray  # (P,) each provider's everyday model, -1 if none
    perceived_cost: np.ndarray  # (2, I, K, M) by overseas access
    perceived_success: np.ndarray  # (2, I, K, M)
    price_factor: np.ndarray  # (M,) pricing strategies' multiplier on list prices
    difficulty: np.ndarray  # (I, K) segment difficulties this month


class MarketModel(mesa.Model):
    """Enterprises route monthly AI workloads among the models of competing providers.

    Built from a config, or from keyword parameters as ``mesa.batch_run`` passes them:
    ``MarketModel(seed=3, scenario="no_routing", n_enterprises=2000)``. Its ``datacollector``
    reports, at the end of each step, that month's row of the ``market`` table.

    Args:
        cfg: a validated :class:`routesim.config.Config`; None for ``conf/config.yaml``.
        seed: the run's seed (``seed``).
        n_enterprises: ``population.n_enterprises``.
        scenario: a scenario preset (``scenario=<name>``).
        router: a routing-policy preset (``router=<name>``).
        end: the last month, "YYYY-MM".
        overrides: any other parameters, as :func:`routesim.params.configure` takes them
            (dotted keys and group choices), applied before the named ones.
    """

    def __init__(self, cfg: Config | None = None, *, seed: int | None = None, n_enterprises: int | None = None,
                 scenario: str | None = None, router: str | None = None, end: str | None = None,
                 overrides: Mapping[str, Any] | None = None) -> None:
        cfg = self._config_from_parameters(cfg, overrides, seed=seed, n_enterprises=n_enterprises,
                                           scenario=scenario, router=router, end=end)
        super().__init__(seed=cfg.seed)
        self.cfg = cfg
        self.catalog = build_catalog(cfg)
        self.workload = build_workload(cfg, self.catalog)
        # spawn children are keyed by index: adding a stream at the end leaves the others' draws
        (population_rng, self.adoption_rng, traits_rng, self.demand_rng, self.switching_rng,
         entry_rng) = self.rng.spawn(6)
        self.population = draw_population(cfg, self.catalog.provider_ids, population_rng)
        self.traits = draw_traits(cfg, traits_rng)
        self.entry_month = draw_entry(cfg, entry_rng)  # (N,) 0 = buying from the first month
        n = self.population.size
        self.n_months = len(self.catalog.months)
        self.growth = growth_path(cfg.demand, self.n_months)  # (T,) trend growth of task volume
        self._months = np.arange(self.n_months, dtype=float)
        self.t = 0
        self.active = self.entry_month <= 0  # (N,) buying this month
        self.entering = np.zeros(n, dtype=bool)  # (N,) buying for the first time this month

        # routers at the start: a share of those already buying; entrants start without one
        self.adopted = (self.adoption_rng.random(n) < cfg.adoption.initial_share) & self.active
        self.newly_adopted = np.zeros(n, dtype=bool)
        self.preferred = self.population.preferred.copy()
        self.cap_hit = np.zeros(n, dtype=bool)
        self.tasks = np.zeros(n)
        self.spend = np.zeros(n)
        self.router_fees = np.zeros(n)
        self.no_routing_spend = np.zeros(n)
        self.routing_allowed = cfg.scenario.routing_allowed
        if cfg.adoption.peer_group == "industry":
            self.peer_group, self.n_peer_groups = self.population.industry, len(self.workload.industry_ids)
        else:
            self.peer_group, self.n_peer_groups = np.zeros(n, dtype=np.int64), 1
        self.banned = self.traits.ban_draw < cfg.access.ban_share
        self.ban_month = (None if cfg.access.ban_start is None
                          else parse_month(cfg.access.ban_start, "access.ban_start") - self.catalog.months[0])
        r = cfg.router
        self.router_params = RouterParams(
            threshold_difficulty=r.threshold_difficulty, cascade_first_success=r.cascade_first_success,
            logit_quality_weight=r.logit_quality_weight, logit_price_weight=r.logit_price_weight,
            logit_loyalty=r.logit_loyalty, success_slope=cfg.workload.success_slope)
        self.learned_requirement = learned_requirement(
            self.population.requirement,
            r.learned_noise_sd * (self.traits.difficulty_noise + r.learned_margin_sds),
            cfg.workload.success_slope)

        n_seg, n_mod = self.workload.n_segments, self.catalog.n_models
        # (N, K) flat index of (industry, segment, model 0) into a month's (I, K, M) menu arrays
        self._row_base = (self.population.industry[:, None] * n_seg + np.arange(n_seg)) * n_mod
        self._reference_cost_per_task: np.ndarray | None = None
        self._planned_spend_base: np.ndarray | None = None  # monthly spend planned at _plan_month
        self._plan_month = np.zeros(n)  # (N,) the (fractional) month each plan describes
        self._bill_sum = np.zeros(n)  # demanded bills since the last budget round
        self._active_months = np.zeros(n)  # months buying since the last budget round

        with _gc_paused():  # cyclic GC passes over a fast-growing heap make creation superlinear
            EnterpriseAgent.create_agents(self, n, row=list(range(n)))
        self.books = build_books(cfg, self.catalog.months, self.catalog.provider_ids)
        for i, pid in enumerate(self.catalog.provider_ids):
            spec = cfg.market.providers[pid]
            ProviderAgent(self, index=i, name=pid, origin=spec.origin, scope=spec.scope,
                          initial_cash_usd=spec.initial_cash_usd,
                          pricing=PRICING[cfg.pricing.strategy or spec.pricing](cfg.pricing))
        self.price_multiplier = np.ones((self.catalog.n_providers, len(TIERS)))
        self.last_cut = np.full((self.catalog.n_providers, len(TIERS)), -10**9)
        self.pricing_month = (0 if cfg.pricing.start is None else
                              parse_month(cfg.pricing.start, "pricing.start") - self.catalog.months[0])
        self.in_house_month = (None if cfg.scenario.in_house_routing_start is None else
                               parse_month(cfg.scenario.in_house_routing_start, "in_house")
                               - self.catalog.months[0])
        self.enterprises = self.agents_by_type[EnterpriseAgent]
        self.providers = self.agents_by_type[ProviderAgent]
        self.record = MonthlyRecord()
        self._setup_datacollector()

    # ----------------------------------------------------------------- Mesa conventions

    @staticmethod
    def _config_from_parameters(cfg: Config | None, overrides: Mapping[str, Any] | None,
                                **named: Any) -> Config:
        """The config for keyword parameters: ``cfg`` (or conf/'s default) with them applied."""
        keys = {"seed": "seed", "n_enterprises": "population.n_enterprises", "scenario": "scenario",
                "router": "router", "end": "end"}
        values = {**(overrides or {}), **{keys[k]: v for k, v in named.items() if v is not None}}
        if cfg is not None and not values:
            return cfg
        return configure(values, base=cfg)

    def _setup_datacollector(self) -> None:
        """A DataCollector whose model reporters are the market table's columns.

        The reporters are registered at the first collection, named after the keys of
        :func:`routesim.metrics.market_row` (so they follow the table's columns), plus
        ``month`` ("YYYY-MM"); each returns a plain float read from the month's row.
        """
        self.datacollector = mesa.DataCollector()
        self.reported_row: dict[str, float | str] = {}

    def _collect(self) -> None:
        """Report the month just recorded: its market row, computed once for all reporters."""
        t = len(self.record.enterprise) - 1
        self.reported_row = {"month": format_month(int(self.catalog.months[t])), **market_row(self, t)}
        if not self.datacollector.model_reporters:
            self.datacollector = mesa.DataCollector(
                model_reporters={name: functools.partial(_reported, name=name) for name in self.reported_row})
        self.datacollector.collect(self)

    # ------------------------------------------------------------------------------ running

    def step(self) -> None:
        """Advance one month through the phases (prices are set in ``_prepare_month``)."""
        self.active = self.entry_month <= self.t
        self.entering = self.entry_month == self.t if self.t > 0 else np.zeros_like(self.active)
        month = self._prepare_month()
        switches = self._reevaluate_vendors(month)
        req = self.route_request(month)
        groups, routers = self._route(req)
        billing = self._bill(month, groups, routers, req)
        billing["enterprise"]["vendor_switches"] = switches
        self._account_providers(billing)
        self._record(billing)
        self._adopt(req)
        self._collect()
        self.t += 1
        self.running = self.t < self.n_months

    def run(self) -> MarketModel:
        """Run every month from ``cfg.start`` to ``cfg.end``."""
        while self.t < self.n_months:
            self.step()
        return self

    # ------------------------------------------------------------------------------- phases

    def overseas_access(self, t: int) -> np.ndarray:
        """(N,) 1 where the enterprise may use overseas models in month ``t``."""
        access = self.population.access
        if self.ban_month is not None and t >= self.ban_month:
            access = np.where(self.banned, 0, access)
        return access

    def _set_prices(self) -> None:
        """Each provider's pricing strategy sets its tier price multipliers for the month."""
        t, cat = self.t, self.catalog
        n_tiers = len(TIERS)
        serving = self.books.serving_fraction[t][cat.model_provider]  # (M,)
        list_price = cat.price_in[t] + cat.price_out[t]
        launch = cat.launch_price_in + cat.launch_price_out
        need = (1.0 + self.cfg.pricing.floor_markup) * serving * launch / list_price  # (M,)
        floor = np.zeros((cat.n_providers, n_tiers))
        sells = np.zeros((cat.n_providers, n_tiers), dtype=bool)
        on = cat.available[t]
        np.maximum.at(floor, (cat.model_provider[on], cat.model_tier[on]), need[on])
        sells[cat.model_provider[on], cat.model_tier[on]] = True
        history = (np.array(self.record.tier_token_share) if self.record.tier_token_share
                   else np.zeros((0, cat.n_providers, n_tiers)))
        state = PricingState(t=t, multiplier=self.price_multiplier, floor=floor, token_share=history,
                             cut_last_month=self.last_cut == t - 1, last_cut=self.last_cut, sells=sells)
        if t >= self.pricing_month:
            for agent in self.providers:
                agent.pricing.update(agent.index, state)

    def _prepare_month(self) -> Month:
        t, cat, cfg = self.t, self.catalog, self.cfg
        self._set_prices()
        factor = self.price_multiplier[cat.model_provider, cat.model_tier].copy()
        workload = self.workload.at(t)  # once a month: difficulties and tokens of month t
        menu = month_menu(workload, cat, t, factor, self.books.serving_fraction[t][cat.model_provider])
        seen_cost, seen_success = perceive(
            menu.cost_per_task, menu.success, cat.capability[t], workload.difficulty,
            cat.model_overseas, cfg.workload.success_slope, cfg.access.overseas_risk_premium,
            cfg.access.overseas_quality_discount)
        return Month(t=t, menu=menu, flagships=cat.flagships(t), perceived_cost=seen_cost,
                     perceived_success=seen_success, price_factor=factor, difficulty=workload.difficulty)

    def route_request(self, month: Month) -> RouteRequest:
        """The month's routing problem for all enterprises, with their current vendors."""
        menu, pop, cat = month.menu, self.population, self.catalog
        preferred = self.preferred.copy()
        eligible = eligibility(menu.available, cat.model_overseas)
        seen_cost, seen_success = month.perceived_cost, month.perceived_success
        choice_class = self.overseas_access(month.t)
        if self.in_house_month is not None and month.t >= self.in_house_month:
            # built-in routers: class = access + 2 x vendor, eligible = that vendor's models
            n_prov = cat.n_providers
            mine = cat.model_provider[None, :] == np.arange(n_prov)[:, None]  # (P, M)
            eligible = (eligible[None, :, :] & mine[:, None, :]).reshape(2 * n_prov, -1)
            seen_cost = np.tile(seen_cost, (n_prov, 1, 1, 1))
            seen_success = np.tile(seen_success, (n_prov, 1, 1, 1))
            choice_class = choice_class + 2 * preferred
        return RouteRequest(
            cost=menu.cost_per_task, success=menu.success, perceived_cost=seen_cost,
            perceived_success=seen_success, eligible=eligible,
            difficulty=month.difficulty, model_provider=cat.model_provider,
            industry=pop.industry, access=choice_class, requirement=pop.requirement,
            flagship=month.flagships[preferred], preferred=preferred,
            learned_requirement=self.learned_requirement,
            params=self.router_params)

    def _reevaluate_vendors(self, month: Month) -> int:
        """Enterprises due for a re-evaluation (or barred from their overseas vendor) choose one.

        Each scores the flagships as its access class perceives them (risk premium and
        quality discount on overseas labs); an enterprise without overseas access cannot pick
        a lab whose everyday model is overseas. Two moves are forced that very month, with
        switching on or off: an enterprise that loses access to its overseas vendor (a ban),
        and one whose vendor has no everyday model on offer (its last eligible model retired).
        With switching on, an enterprise entering the market this month chooses by the same
        logit without a switching cost (it has no incumbent); that choice is not a switch.
        Enterprises not yet buying are never due. Returns the number of vendor switches.
        """
        sw = self.cfg.switching
        uniforms = self.switching_rng.random(self.population.size)  # drawn every month: CRN
        access = self.overseas_access(month.t)
        flags = month.flagships
        overseas_flag = (flags >= 0) & self.catalog.model_overseas[np.maximum(flags, 0)]  # (P,)
        due = ((access == 0) & overseas_flag[self.preferred]) | (flags[self.preferred] < 0)
        if sw.enabled and month.t > 0:
            due |= (month.t + self.traits.reevaluation_offset) % sw.reevaluation_months == 0
            due |= self.entering
        due &= self.active
        if not due.any():
            return 0
        tables = [flagship_tables(month.perceived_cost[a], month.perceived_success[a], self.workload.segment_weight,
                                  flags) for a in (0, 1)]
        cost_ip = np.concatenate([np.where(overseas_flag, np.nan, tables[0][0]), tables[1][0]])  # (2I, P)
        success_ip = np.concatenate([tables[0][1], tables[1][1]])
        group = access[due] * len(self.workload.industry_ids) + self.population.industry[due]
        new = self.entering[due]
        chosen = choose_vendor(cost_ip, success_ip, group, self.preferred[due], sw.quality_weight,
                               sw.price_weight, np.where(new, 0.0, sw.switching_cost), uniforms[due])
        switched = int(((chosen != self.preferred[due]) & ~new).sum())
        self.preferred[due] = chosen
        return switched

    def plan_groups(self, req: RouteRequest, members: np.ndarray) -> list[Group]:
        """Routing plans of enterprises ``members`` (indices), one per policy in use among them."""
        policy = self.traits.policy[members]
        names = self.traits.policy_names
        everyone = len(members) == len(req.industry)
        groups = [(members[policy == j], POLICIES[name]) for j, name in enumerate(names)]
        return [(who, fn(req if everyone and len(who) == len(members) else req.subset(who)))
                for who, fn in groups if len(who)]

    def _route(self, req: RouteRequest) -> tuple[list[Group], np.ndarray]:
        """Plans of the routers; everyone else sends every segment to their flagship."""
        routers = self.adopted & self.routing_allowed
        if not routers.any():
            return [], routers
        return self.plan_groups(req, np.flatnonzero(routers)), routers

    def _price_rows(self, groups: list[Group], req: RouteRequest, rows: RowPrices) -> None:
        """Write each group's per-row cost, success, calls and service into ``rows``."""
        cost, success = req.cost.ravel(), req.success.ravel()
        for members, plan in groups:
            base = self._row_base[members]
            rows.cost[members], rows.success[members] = price_plan(plan, base, cost, success)
            rows.calls[members] = plan.calls_per_task
            rows.served[members] = plan.served

    def _flagship_rows(self, req: RouteRequest) -> RowPrices:
        """Rows as if every enterprise sent every segment to its flagship."""
        has = (req.flagship >= 0)[:, None]
        idx = self._row_base + np.maximum(req.flagship, 0)[:, None]
        served = np.repeat(has, self.workload.n_segments, axis=1)
        return RowPrices(cost=req.cost.ravel()[idx] * has, success=req.success.ravel()[idx] * has,
                         calls=served.astype(float), served=served)

    def flagship_cost_per_task(self, req: RouteRequest) -> np.ndarray:
        """(N,) cost per task of each enterprise's flagship on its segments; 0 if it has none."""
        table = self.workload.segment_weight @ req.cost  # (I, M)
        return np.where(req.flagship >= 0, table[req.industry, np.maximum(req.flagship, 0)], 0.0)

    def _fee_per_task(self, cost_per_task: np.ndarray, calls_per_task: np.ndarray,
                      routers: np.ndarray) -> np.ndarray:
        r = self.cfg.router
        fee = r.fee_share_of_spend * cost_per_task + r.fee_usd_per_1k_requests * calls_per_task / 1000.0
        return np.where(routers, fee, 0.0)

    def _spikes(self) -> np.ndarray:
        n, d = self.population.size, self.cfg.demand
        hit, size = self.demand_rng.random(n), self.demand_rng.random(n)
        multiple = np.minimum((1.0 - size) ** (-1.0 / d.spike_pareto_alpha), d.spike_max_multiple)
        return np.where(hit < d.spike_probability, multiple, 1.0)

    def _bill(self, month: Month, groups: list[Group], routers: np.ndarray, req: RouteRequest) -> dict:
        t, pop, cfg, menu = month.t, self.population, self.cfg, month.menu
        n = pop.size
        weight = self.workload.segment_weight
        rows = self._flagship_rows(req)
        self._price_rows(groups, req, rows)
        flag_cost_per_task = self.flagship_cost_per_task(req)
        # non-routers pay the flagship table's price exactly, so their savings are exactly 0
        cost_per_task = np.where(routers, rows.cost @ weight, flag_cost_per_task)
        calls_per_task = rows.calls @ weight
        if self._reference_cost_per_task is None:
            self._reference_cost_per_task = flag_cost_per_task
            self._planned_spend_base = pop.base_tasks * flag_cost_per_task
        replan = cfg.budget.replan_months
        if t > 0 and t % replan == 0:  # budget round: mean bill over the months buying, grown
            months = self._active_months
            bought = months > 0
            self._planned_spend_base = np.where(bought, self._bill_sum / np.maximum(months, 1),
                                                self._planned_spend_base)
            self._plan_month = np.where(bought, t - (months + 1) / 2, self._plan_month)
            self._bill_sum = np.zeros(n)
            self._active_months = np.zeros(n)

        spikes = self._spikes()
        multiplier = demand_multiplier(self.growth[t], cost_per_task, self._reference_cost_per_task,
                                       cfg.demand.price_elasticity)
        self.tasks = pop.base_tasks * spikes * multiplier * self.active
        entering = self.entering
        if entering.any():  # an entrant's first plan: this month's demand at its flagship's price
            self._planned_spend_base[entering] = (pop.base_tasks * multiplier * flag_cost_per_task)[entering]
            self._plan_month[entering] = t
        fee_per_task = self._fee_per_task(cost_per_task, calls_per_task, routers)
        bill = self.tasks * (cost_per_task + fee_per_task)

        downgraded = np.zeros(n, dtype=bool)
        if cfg.budget.enabled:
            log_growth = np.log(self.growth)
            grown = np.exp(np.interp(t, self._months, log_growth) - np.interp(self._plan_month, self._months,
                                                                               log_growth))
            budget = self.traits.budget_headroom * self._planned_spend_base * grown
            bill_before = bill
            self._bill_sum += bill
            self._active_months += self.active
            # downgrading is a router's budget fallback; other would-be downgraders throttle
            downgraded = (bill > budget) & (self.traits.cap_behaviour == DOWNGRADE) & routers
            if downgraded.any():
                groups = self._downgrade(groups, req, downgraded, rows)
                cost_per_task = np.where(downgraded, rows.cost @ weight, cost_per_task)
                calls_per_task = rows.calls @ weight
                fee_per_task = self._fee_per_task(cost_per_task, calls_per_task, routers)
                bill = self.tasks * (cost_per_task + fee_per_task)
            caps = apply_caps(bill, budget, self.traits.cap_behaviour, cfg.budget.runaway_multiple,
                              bill_before)
        else:
            zeros = np.zeros(n)
            caps = CapOutcome(served_share=np.ones(n), cap_hit=zeros.astype(bool), overspend_usd=zeros,
                              runaway=zeros.astype(bool))
        self.cap_hit = caps.cap_hit

        served_tasks = self.tasks * caps.served_share
        row_tasks = served_tasks[:, None] * weight  # (N, K)
        below = rows.served & (rows.success < pop.requirement[:, None])
        # flagship users: tasks per (industry, flagship) spread over segments; routers: their plans
        on_flag = served_tasks * (~(routers | downgraded) & (req.flagship >= 0))
        n_mod = self.catalog.n_models
        by_flag = np.bincount(pop.industry * n_mod + np.maximum(req.flagship, 0), on_flag,
                              len(self.workload.industry_ids) * n_mod).reshape(-1, 1, n_mod)
        cells = by_flag * weight[None, :, None]
        for members, plan in groups:
            cells = cells + calls_by_menu_cell(plan, self._row_base[members], row_tasks[members],
                                               menu.cost_per_task.size).reshape(cells.shape)
        self.spend = served_tasks * cost_per_task
        self.router_fees = served_tasks * fee_per_task
        self.no_routing_spend = served_tasks * flag_cost_per_task
        integration = (self.newly_adopted & routers) * cfg.router.integration_cost_usd
        self.newly_adopted = np.zeros(n, dtype=bool)
        return {
            "model_tasks": cells.sum(axis=(0, 1)),
            "model_revenue": (cells * menu.cost_per_task).sum(axis=(0, 1)),
            "model_tokens": (cells * menu.tokens_per_task).sum(axis=(0, 1)),
            "model_serving_cost": (cells * menu.serving_cost_per_task).sum(axis=(0, 1)),
            "price_factor": month.price_factor,
            # the month's row of the enterprises table (named as its columns)
            "enterprise": {
                "spend_usd": self.spend.sum(),
                "router_fees_usd": self.router_fees.sum(),
                "integration_cost_usd": integration.sum(),
                "no_routing_spend_usd": self.no_routing_spend.sum(),
                "tasks_demanded": self.tasks.sum(),
                "tasks_served": row_tasks[rows.served].sum(),
                "tasks_unmet": (self.tasks - served_tasks).sum() + row_tasks[~rows.served].sum(),
                "tasks_throttled": (self.tasks - served_tasks).sum(),
                "tasks_below_requirement": row_tasks[below].sum(),
                "expected_successes": (row_tasks * rows.success).sum(),
                "adopters": routers.sum(),
                "active_enterprises": self.active.sum(),
                "cap_hits": caps.cap_hit.sum(),
                "overspend_usd": caps.overspend_usd.sum(),
                "runaway_events": caps.runaway.sum(),
                "max_bill_to_budget": np.max(bill / budget) if cfg.budget.enabled else 0.0,
                "downgraded": downgraded.sum(),
            },
        }

    def _downgrade(self, groups: list[Group], req: RouteRequest, who: np.ndarray,
                   rows: RowPrices) -> list[Group]:
        """Move enterprises ``who`` to the cheapest eligible model per segment; re-price them."""
        members = np.flatnonzero(who)
        anything = np.zeros((len(members), self.workload.n_segments))  # requirement 0: any model
        cheapest = cheapest_acceptable(req.subset(members), anything)
        down = (members, one_hot(cheapest))
        self._price_rows([down], req, rows)
        for m, plan in groups:  # their old calls no longer happen (cheaper than copying plans)
            plan.weight[who[m]] = 0.0
        return [*groups, down]

    def _account_providers(self, billing: dict) -> None:
        cat, books, t = self.catalog, self.books, self.t
        revenue = np.bincount(cat.model_provider, billing["model_revenue"], cat.n_providers)
        serving = np.bincount(cat.model_provider, billing["model_serving_cost"], cat.n_providers)
        tokens = np.bincount(cat.model_provider, billing["model_tokens"], cat.n_providers)
        tasks = np.bincount(cat.model_provider, billing["model_tasks"], cat.n_providers)
        other = books.other_revenue[t]
        other_cost = other * (1.0 - books.other_gross_margin[t])
        for agent in self.providers:
            i = agent.index
            agent.account(api_revenue_usd=float(revenue[i]), serving_cost_usd=float(serving[i]),
                          other_revenue_usd=float(other[i]), other_cost_usd=float(other_cost[i]),
                          fixed_cost_usd=float(books.fixed_cost[t, i]), tokens=float(tokens[i]),
                          tasks=float(tasks[i]))

    def _record(self, billing: dict) -> None:
        rec = self.record
        rec.model_revenue.append(billing["model_revenue"])
        rec.model_tokens.append(billing["model_tokens"])
        rec.model_tasks.append(billing["model_tasks"])
        rec.price_factor.append(billing["price_factor"])
        by_index = sorted(self.providers, key=lambda a: a.index)
        for name in ("serving_cost_usd", "other_revenue_usd", "other_cost_usd", "fixed_cost_usd",
                     "cumulative_cash_usd"):
            rec.provider[name].append(np.array([getattr(a, name) for a in by_index]))
        cat = self.catalog
        by_cell = np.zeros((cat.n_providers, len(TIERS)))
        np.add.at(by_cell, (cat.model_provider, cat.model_tier), billing["model_tokens"])
        tier_total = by_cell.sum(axis=0, keepdims=True)
        rec.tier_token_share.append(np.divide(by_cell, tier_total, out=np.zeros_like(by_cell),
                                              where=tier_total > 0))
        rec.enterprise.append({key: float(value) for key, value in billing["enterprise"].items()})
        if self.cfg.output.enterprise_panel:
            rec.panel.append({"spend_usd": self.spend.copy(), "router_fees_usd": self.router_fees.copy(),
                              "no_routing_spend_usd": self.no_routing_spend.copy(),
                              "tasks": self.tasks.copy(), "routes": self.adopted.copy(),
                              "cap_hit": self.cap_hit.copy(), "preferred": self.preferred.copy(),
                              "active": self.active.copy()})

    def _adopt(self, req: RouteRequest) -> None:
        a = self.cfg.adoption
        uniforms = self.adoption_rng.random(self.population.size)
        peers = peer_adopter_share(self.adopted, self.peer_group, self.n_peer_groups, among=self.active)
        prob = adoption_probability(a.innovation_p + a.cap_hit_push * self.cap_hit, a.imitation_q, peers)
        candidates = ~self.adopted & self.active & (uniforms < prob)
        if a.require_net_savings and candidates.any():
            candidates &= self._worth_routing(req, candidates)
        self.newly_adopted = candidates
        self.adopted = self.adopted | candidates

    def _worth_routing(self, req: RouteRequest, candidates: np.ndarray) -> np.ndarray:
        """(N,) whether routing's expected monthly net savings repay the integration cost."""
        n, weight = self.population.size, self.workload.segment_weight
        routed_cpt, calls_pt = np.zeros(n), np.zeros(n)
        for members, plan in self.plan_groups(req, np.flatnonzero(candidates)):
            cost, _ = price_plan(plan, self._row_base[members], req.cost.ravel(), req.success.ravel())
            routed_cpt[members] = cost @ weight
            calls_pt[members] = plan.calls_per_task @ weight
        fee = self._fee_per_task(routed_cpt, calls_pt, candidates)
        flag_spend = self.tasks * self.flagship_cost_per_task(req)
        payback_months = self.cfg.adoption.payback_months
        routed_spend = self.tasks * (routed_cpt + fee)
        gain = payback_months * (flag_spend - routed_spend) - self.cfg.router.integration_cost_usd
        # strictly worth it: a gain lost in rounding (a plan identical to the flagship) is not
        return ~candidates | (gain > 1e-9 * payback_months * flag_spend)
