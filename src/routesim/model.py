"""MarketModel: the monthly step of the enterprise AI-model market.

Each month runs these named phases, in this order:

1. ``_prepare_month``: the month's catalogue (prices, abilities, releases), what each model
   costs and achieves on each task segment, how each class of router perceives it.
2. ``_reevaluate_vendors``: enterprises due for a re-evaluation pick their preferred vendor
   (and, with ``switching.specialist_family``, the lab for that family's tasks); enterprises
   entering the market this month pick their first ones.
3. ``_route``: non-adopters send every segment to their everyday model (a specialist
   family's segments to their specialist lab's), adopters route by
   their policy within what their router may use (in-house: its vendor's models; neutral:
   any): a plan of model calls per (enterprise, segment) for each policy group.
4. ``_bill``: demand (growth, the rebound, spikes), router fees, annual budgets and what
   happens at the cap (throttle, overspend, downgrade), then tasks x calls x cost to models.
5. ``_account_providers``: each ProviderAgent books revenue, serving cost and its result.
6. ``_record``: append the month's aggregates to the record.
7. ``_adopt``: Bass diffusion (pushed while at the budget cap, checked against expected net
   savings) decides who routes from next month on.
8. ``_collect``: the DataCollector reports the month's row of the ``market`` table.

Enterprise state is a struct of NumPy arrays owned by the model, one row per agent; each
agent stands for ``population.weight`` real enterprises, and every total the model records
is weighted by it, so totals estimate the real market whatever the number of agents.
EnterpriseAgents are Mesa views on their rows. All randomness comes from ``self.rng``
(Mesa's seeded Generator), split into one child stream per subsystem (population, adoption,
traits, demand, switching, entry, budgets) and drawn whether or not a behaviour is on, so
that switching one on never shifts another's draws (common random numbers across scenarios).

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

from routesim import billing
from routesim.adoption import adoption_probability, peer_adopter_share
from routesim.agents import EnterpriseAgent, ProviderAgent
from routesim.billing import DOWNGRADE, Budgets
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
    eligibility,
    learned_requirement,
    one_hot,
    perceive,
    router_class,
    router_classes,
)
from routesim.scratch import Scratch
from routesim.vendors import choose_vendor, everyday_models, model_tables, vendor_constants
from routesim.workload import MonthMenu, build_workload, growth_path, log_tokens_trend, month_menu, segment_ability

Group = tuple[np.ndarray, Plan]  # (enterprise indices, their plan)
FRONTIER = TIERS.index("frontier")


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _masked(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``values[mask]``, taken by index: the same elements in the same order, about twice as fast."""
    return values.take(np.flatnonzero(mask))


def _reported(model: MarketModel, name: str) -> float | str:
    """A DataCollector reporter: one column of the model's current market row."""
    return model.reported_row[name]


@dataclasses.dataclass
class MonthlyRecord:
    """What the model remembers of each month; turned into tables by ``routesim.metrics``."""

    model_revenue: list[np.ndarray] = dataclasses.field(default_factory=list)  # (M,) per month
    model_tokens: list[np.ndarray] = dataclasses.field(default_factory=list)
    model_calls: list[np.ndarray] = dataclasses.field(default_factory=list)
    price_factor: list[np.ndarray] = dataclasses.field(default_factory=list)  # (M,)
    # (P,) per month: serving_cost_usd, fixed_cost_usd, cumulative_operating_income_usd
    provider: dict[str, list[np.ndarray]] = dataclasses.field(
        default_factory=lambda: {k: [] for k in ("serving_cost_usd", "fixed_cost_usd",
                                                 "cumulative_operating_income_usd")})
    tier_token_share: list[np.ndarray] = dataclasses.field(default_factory=list)  # (P, tiers)
    enterprise: list[dict[str, float]] = dataclasses.field(default_factory=list)
    panel: list[dict[str, np.ndarray]] = dataclasses.field(default_factory=list)
    # each month's row of the market table, as reported when the month was collected
    market: list[dict[str, float]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Month:
    """Everything about month ``t`` that does not depend on the enterprises' choices."""

    t: int
    menu: MonthMenu
    everyday: np.ndarray  # (G, P) each provider's everyday model per group (access x industry), -1 if none
    vendor_utility: np.ndarray  # (G, P) the group's utility of that everyday model (-inf if none)
    perceived_cost: np.ndarray  # (2, K, M) by overseas access
    perceived_success: np.ndarray  # (2, K, M)
    price_factor: np.ndarray  # (M,) pricing strategies' multiplier on list prices
    access: np.ndarray  # (N,) 1 where the enterprise may use overseas models
    group: np.ndarray  # (N,) its group: overseas access x industry (the rows of ``everyday``)
    # with a specialist family: each lab's everyday model for that family's tasks and its utility (G, P)
    specialist_everyday: np.ndarray | None = None
    specialist_utility: np.ndarray | None = None


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
         entry_rng, self.budget_rng, self.specialist_rng) = self.rng.spawn(8)
        self.population = draw_population(cfg, self.catalog.provider_ids, population_rng)
        self.traits = draw_traits(cfg, self.workload.n_segments, traits_rng)
        self.entry_month = draw_entry(cfg, entry_rng)  # (N,) 0 = buying from the first month
        n = self.population.size
        self.weight = self.population.weight  # (N,) real enterprises per agent
        self.n_months = len(self.catalog.months)
        period = cfg.budget.period_months
        self.growth = growth_path(cfg.demand, self.n_months + period)  # (T + period,) trend growth of tasks
        # what a budget forecast grows the run-rate by: the trend of tasks and of tokens per task
        self.log_bill_trend = np.log(self.growth) + log_tokens_trend(self.workload, self.n_months + period)
        self.t = 0
        self.active = self.entry_month <= 0  # (N,) buying this month
        self.entering = np.zeros(n, dtype=bool)  # (N,) buying for the first time this month

        # routers at the start: a share of those already buying; entrants start without one
        self.adopted = (self.adoption_rng.random(n) < cfg.adoption.initial_share) & self.active
        self.newly_adopted = np.zeros(n, dtype=bool)
        self.preferred = self.population.preferred.copy()
        # the specialist family's lab of each enterprise (switching.specialist_family), -1 for none;
        # (I, K) each industry's segment weights split between the primary's and the specialist's
        self.specialist = np.full(n, -1, dtype=np.int64)
        self.split = self.workload.specialist_split(cfg.switching.specialist_family)
        # the labs with an initial share: the month-0 choices are among them
        self.initial_labs = np.zeros(self.catalog.n_providers, dtype=bool)
        for name, w in cfg.population.preferred_vendor_weights.items():
            self.initial_labs[self.catalog.provider_ids.index(name)] = w > 0
        if self.split is not None:
            # (I, K) the family's mix alone, to rate the labs for it; an industry without the
            # family's tasks is rated on its whole mix, then has no offer ((G,) ``no_family``)
            total = self.split[1].sum(axis=1, keepdims=True)
            self.family_weight = np.divide(self.split[1], total, out=self.workload.segment_weight.copy(),
                                           where=total > 0)
            self.no_family = np.tile(total[:, 0] <= 0, 2)
        self.at_cap = np.zeros(n, dtype=bool)  # at its budget cap this month
        self.tasks = np.zeros(n)
        self.spend = np.zeros(n)
        self.router_fees = np.zeros(n)
        self.no_routing_spend = np.zeros(n)
        # rebound: each enterprise's reference cost per successful task (NaN until it buys), and
        # what a successful task cost it last month (a vendor switch carries the reference over)
        self.reference_cost = np.full(n, np.nan)
        self.last_cost_per_success = np.full(n, np.nan)
        self.switched = np.zeros(n, dtype=bool)  # changed vendor this month
        self.specialist_moved = np.zeros(n, dtype=bool)  # changed its specialist lab this month
        self.last_switch = np.full(n, -10**6, dtype=np.int64)  # month of the last vendor switch
        self.vendor_constant: np.ndarray | None = None  # (P,) labs' logit constants, set in the first month
        self.budgets = Budgets.empty(n)
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
            logit_loyalty=r.logit_loyalty)
        self.learned_requirement = learned_requirement(
            self.population.requirement,
            r.learned_noise_sd * (self.traits.difficulty_noise + r.learned_margin_sds),
            self.workload.success_slope)
        self.easy = self.workload.base_difficulty <= r.threshold_difficulty
        self.in_house = self.traits.in_house_draw < r.in_house_share
        # re-evaluation is due in month t when (t + offset) % every == 0, i.e. when offset % every == -t % every
        self.reevaluation_phase = self.traits.reevaluation_offset % cfg.switching.reevaluation_months
        self.downgrades = self.traits.cap_behaviour == DOWNGRADE  # (N,) would downgrade at the cap

        self.segment_weight = self.workload.segment_weight[self.population.industry]  # (N, K)
        self.scratch = Scratch(n)  # the month's (routers x segments) working arrays, reused every month

        with _gc_paused():  # cyclic GC passes over a fast-growing heap make creation superlinear
            for row in range(n):  # as EnterpriseAgent.create_agents, without its AgentSet of the new agents
                EnterpriseAgent(self, row)
        self.books = build_books(cfg, self.catalog.months, self.catalog.provider_ids)
        for i, pid in enumerate(self.catalog.provider_ids):
            spec = cfg.market.providers[pid]
            ProviderAgent(self, index=i, name=pid, origin=spec.origin, scope=spec.scope,
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
        row = market_row(self, t)
        self.record.market.append(row)  # the market table's row: computed once
        self.reported_row = {"month": format_month(int(self.catalog.months[t])), **row}
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
        billed = self._bill(month, groups, routers, req)
        billed["enterprise"]["vendor_switches"] = switches
        self.last_switch[self.switched] = self.t
        billed["enterprise"]["switched_past_year"] = self.weight[self.active & (self.t - self.last_switch < 12)].sum()
        self._account_providers(billed)
        self._record(billed)
        self._adopt(req)
        self._collect()
        self.t += 1
        self.running = self.t < self.n_months

    def run(self) -> MarketModel:
        """Run every month from ``cfg.start`` to ``cfg.end``.

        The month's working arrays are freed at the end: a finished model may live on until the
        cyclic GC collects it (its agents refer to it), and a process running one model after
        another would otherwise hold each one's buffers until then.
        """
        while self.t < self.n_months:
            self.step()
        self.scratch.release()
        return self

    # ------------------------------------------------------------------------------- phases

    def overseas_access(self, t: int) -> np.ndarray:
        """(N,) 1 where the enterprise may use overseas models in month ``t``."""
        access = self.population.access
        if self.ban_month is not None and t >= self.ban_month:
            access = np.where(self.banned, 0, access)
        return access

    def _set_prices(self) -> None:
        """Each provider's pricing strategy sets its tier price multipliers for the month.

        Nothing to do before ``pricing.start`` or when no strategy reacts (all scheduled).
        """
        t, cat = self.t, self.catalog
        if t < self.pricing_month or not any(getattr(a.pricing, "reacts", True) for a in self.providers):
            return
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
        for agent in self.providers:
            agent.pricing.update(agent.index, state)

    def _prepare_month(self) -> Month:
        t, cat, cfg = self.t, self.catalog, self.cfg
        self._set_prices()
        factor = self.price_multiplier[cat.model_provider, cat.model_tier].copy()
        workload = self.workload.at(t)  # once a month: difficulties and tokens of month t
        menu = month_menu(workload, cat, t, factor, self.books.serving_fraction[t][cat.model_provider])
        seen_cost, seen_success = perceive(
            menu.cost_per_task, menu.success, segment_ability(cat, workload, t), workload.difficulty,
            cat.model_overseas, workload.success_slope, cfg.access.overseas_risk_premium,
            cfg.access.overseas_quality_discount)
        usable = eligibility(menu.available & cat.flagship_eligible, cat.model_overseas)  # (2, M)

        def everyday_for(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Each lab's everyday model and its utility per group, rated on the mix ``weight`` (I, K)."""
            tables = [model_tables(seen_cost[a], seen_success[a], weight) for a in (0, 1)]  # (I, M) each
            return everyday_models(
                np.concatenate([tables[0][0], tables[1][0]]), np.concatenate([tables[0][1], tables[1][1]]),
                np.repeat(usable, weight.shape[0], axis=0), cat.model_provider, cat.model_tier, cat.n_providers,
                cfg.switching.quality_weight, cfg.switching.price_weight,
                frontier_first=cfg.switching.everyday_from == "frontier_first")

        everyday, utility = everyday_for(self.workload.segment_weight)
        special = special_utility = None
        if self.split is not None:  # the same choice on the specialist family's segments alone
            special, special_utility = everyday_for(self.family_weight)
            special[self.no_family], special_utility[self.no_family] = -1, -np.inf
        access = self.overseas_access(t)
        group = self.group(t, access)
        if cfg.switching.vendor_constants == "inverted":
            if self.vendor_constant is None:  # first month: the initial shares are choices at its offers
                self.vendor_constant = self._vendor_constants(group, utility, special_utility)
            utility = utility + self.vendor_constant
            if special_utility is not None:
                special_utility = special_utility + self.vendor_constant
        return Month(t=t, menu=menu, everyday=everyday, vendor_utility=utility, perceived_cost=seen_cost,
                     perceived_success=seen_success, price_factor=factor, access=access, group=group,
                     specialist_everyday=special, specialist_utility=special_utility)

    def _vendor_constants(self, group: np.ndarray, utility: np.ndarray,
                          specialist_utility: np.ndarray | None = None) -> np.ndarray:
        """(P,) the labs' logit constants that make the month's choices the initial vendor shares.

        ``group`` (N,) is each enterprise's group that month (:meth:`group`); with a specialist
        family, the shares are of tasks, that family's going to the specialist labs.
        """
        group_weight = np.bincount(group, weights=self.weight, minlength=utility.shape[0])
        shares = np.zeros(self.catalog.n_providers)
        for name, w in self.cfg.population.preferred_vendor_weights.items():
            shares[self.catalog.provider_ids.index(name)] = w
        specialist_weight = None
        if specialist_utility is not None:
            specialist_weight = np.tile(self.split[1].sum(axis=1), utility.shape[0] // self.split.shape[1])
        return vendor_constants(utility, group_weight, shares, specialist_utility=specialist_utility,
                                specialist_weight=specialist_weight)

    def group(self, t: int, access: np.ndarray | None = None) -> np.ndarray:
        """(N,) each enterprise's group in month ``t``: overseas access x industry.

        ``access``: that month's :meth:`overseas_access`, if already at hand.
        """
        access = self.overseas_access(t) if access is None else access
        return access * len(self.workload.industry_ids) + self.population.industry

    def everyday_model(self, month: Month) -> np.ndarray:
        """(N,) each enterprise's everyday model (its vendor's for its group) in ``month``, -1 if none.

        ``month.everyday[month.group, self.preferred]``, read by flat index (cheaper than a 2-d gather).
        """
        return month.everyday.take(month.group * month.everyday.shape[1] + self.preferred)

    def specialist_model(self, month: Month, flagship: np.ndarray) -> np.ndarray:
        """(N,) the model each enterprise's specialist lab sells for that family; its ``flagship`` if none."""
        special = month.specialist_everyday.take(month.group * month.everyday.shape[1] + np.maximum(self.specialist, 0))
        return np.where((self.specialist >= 0) & (special >= 0), special, flagship)

    def route_request(self, month: Month) -> RouteRequest:
        """The month's routing problem for all enterprises, with their current vendors."""
        menu, pop, cat = month.menu, self.population, self.catalog
        cost, success, eligible = router_classes(
            month.perceived_cost, month.perceived_success, eligibility(menu.available, cat.model_overseas),
            cat.model_provider, cat.n_providers, self.cfg.router.neutral_other_vendor_premium)
        in_house = self.in_house
        flagship = self.everyday_model(month)
        self.second_model = self.specialist_model(month, flagship) if self.split is not None else flagship
        if self.in_house_month is not None and month.t >= self.in_house_month:
            in_house = np.ones_like(in_house)  # built-in routers: every router routes within its vendor
        return RouteRequest(
            cost=menu.cost_per_task, success=menu.success, perceived_cost=cost, perceived_success=success,
            eligible=eligible, easy=self.easy, model_provider=cat.model_provider,
            router_class=router_class(month.access, self.preferred, in_house, cat.n_providers),
            requirement=pop.requirement, flagship=flagship,
            preferred=self.preferred.copy(),
            learned_requirement=self.learned_requirement, params=self.router_params, scratch=self.scratch)

    def _reevaluate_vendors(self, month: Month) -> int:
        """Re-draw the preferred vendor of enterprises due this month.

        Due: enterprises on their staggered re-evaluation month (if switching is on), those
        entering the market this month (their first pick, without a switching cost and not
        counted as a switch), and anyone whose vendor has no model on offer that they may use
        as their everyday model (retired, or overseas access lost). Everyone else keeps
        their vendor. Enterprises not yet buying are never due. Returns the number of vendor
        switches (weighted: real enterprises); ``self.switched`` marks who switched.
        """
        sw = self.cfg.switching
        uniforms = self.switching_rng.random(self.population.size)  # drawn every month: CRN
        self.switched = np.zeros(self.population.size, dtype=bool)
        group = month.group
        if self.split is not None and month.t == 0 and sw.vendor_constants == "inverted":
            self._reevaluate_initial(month)
        due = self.everyday_model(month) < 0  # its vendor has nothing it may use this month
        if sw.enabled and month.t > 0:
            due |= self.reevaluation_phase == -month.t % sw.reevaluation_months
            due |= self.entering
        due &= self.active
        switches = 0.0
        if due.any():
            rows = np.flatnonzero(due)
            new = self.entering[rows]
            before = self.preferred[rows]
            chosen = choose_vendor(month.vendor_utility, group[rows], before,
                                   np.where(new, 0.0, sw.switching_cost), uniforms[rows])
            moved = (chosen != before) & ~new
            self.switched[rows[moved]] = True
            self.preferred[rows] = chosen
            switches = float(self.weight[rows[moved]].sum())
        if self.split is not None:  # those due (a primary that lost its model included) review both
            self._reevaluate_specialist(month, due)
        return switches

    def _reevaluate_initial(self, month: Month) -> None:
        """Month 0 with a specialist family and inverted constants: primaries drawn from that logit.

        The initial shares observed are of tasks, primaries' and specialists' together (the
        constants are inverted on them), so the primaries are drawn from the logit rather than
        from the shares themselves; among the labs with an initial share, as the population's
        draw from those shares is.
        """
        rows = np.flatnonzero(self.active)
        self.preferred[rows] = choose_vendor(self._among_initial(month.vendor_utility), month.group[rows],
                                             self.preferred[rows], 0.0,
                                             self.specialist_rng.random(self.population.size)[rows])

    def _among_initial(self, utility: np.ndarray) -> np.ndarray:
        """(G, P) ``utility`` without the labs lacking an initial share: the month-0 choices are among the rest."""
        return np.where(self.initial_labs, utility, -np.inf)

    def _reevaluate_specialist(self, month: Month, due: np.ndarray) -> None:
        """Re-draw the specialist lab of enterprises ``due``, and of those without one or whose lab sells none.

        The logit on the labs' everyday models for the family, with ``specialist_switching_cost``
        on the lab held (none at a first pick); marks ``self.specialist_moved``.
        """
        uniforms = self.specialist_rng.random(self.population.size)  # drawn every month: CRN
        self.specialist_moved = np.zeros(self.population.size, dtype=bool)
        has = self.specialist >= 0
        cell = month.group * month.everyday.shape[1] + np.maximum(self.specialist, 0)
        gone = has & (month.specialist_everyday.take(cell) < 0)
        rows = np.flatnonzero(self.active & (due | ~has | gone))
        if not len(rows):
            return
        before = self.specialist[rows]
        keeps = (before >= 0) & ~self.entering[rows]
        # a first market (month 0) or a market without switching: among the labs with an initial
        # share, as the population's primaries are drawn
        fixed = month.t == 0 or not self.cfg.switching.enabled
        utility = self._among_initial(month.specialist_utility) if fixed else month.specialist_utility
        chosen = choose_vendor(utility, month.group[rows], np.maximum(before, 0),
                               np.where(keeps, self.cfg.switching.specialist_switching_cost, 0.0), uniforms[rows])
        self.specialist_moved[rows[(chosen != before) & (before >= 0)]] = True
        self.specialist[rows] = chosen

    def plan_groups(self, req: RouteRequest, members: np.ndarray) -> list[Group]:
        """Routing plans of enterprises ``members`` (indices), one per policy in use among them."""
        policy = self.traits.policy[members]
        names = self.traits.policy_names
        everyone = len(members) == len(req.router_class)
        req.search_index  # noqa: B018 - build the month's index once, before subsets share it
        groups = [(members[policy == j], POLICIES[name]) for j, name in enumerate(names)]
        return [(who, fn(req if everyone and len(who) == len(members) else req.subset(who)))
                for who, fn in groups if len(who)]

    def _route(self, req: RouteRequest) -> tuple[list[Group], np.ndarray]:
        """Plans of the routers; everyone else sends every segment to their everyday model."""
        routers = self.adopted & self.routing_allowed & self.active
        if not routers.any():
            return [], routers
        return self.plan_groups(req, np.flatnonzero(routers)), routers

    def _price_plans(self, groups: list[Group], req: RouteRequest, prices: billing.UnitPrices) -> None:
        """Price each group's plan into the routers' rows and per-task values."""
        for members, plan in groups:
            billing.fill_router_rows(prices, members, plan, req.cost, req.success)

    def flagship_cost_per_task(self, req: RouteRequest, who: np.ndarray) -> np.ndarray:
        """Cost per task of enterprises ``who`` (indices) at their everyday model on their segments; 0 if none."""
        flagship, industry = req.flagship.take(who), self.population.industry.take(who)
        if self.split is None:
            cost = (self.workload.segment_weight @ req.cost)[industry, np.maximum(flagship, 0)]  # (I, M) table
        else:  # the specialist family at the specialist lab's model
            rest, special = self.split @ req.cost  # (I, M) each
            cost = (rest[industry, np.maximum(flagship, 0)]
                    + special[industry, np.maximum(self.second_model.take(who), 0)])
        return np.where(flagship >= 0, cost, 0.0)

    def _fee_per_task(self, cost_per_task: np.ndarray, calls_per_task: np.ndarray,
                      routers: np.ndarray) -> np.ndarray:
        r = self.cfg.router
        fee = r.fee_share_of_spend * cost_per_task
        if r.fee_usd_per_1k_requests:  # (adding its 0 would leave every fee as it is)
            fee += r.fee_usd_per_1k_requests * calls_per_task / 1000.0
        return np.where(routers, fee, 0.0)

    def _spikes(self) -> np.ndarray:
        n, d = self.population.size, self.cfg.demand
        hit, size = self.demand_rng.random(n), self.demand_rng.random(n)
        return billing.spike_multiple(hit, size, d.spike_probability, d.spike_pareto_alpha, d.spike_max_multiple)

    def _update_reference(self, cost_per_success: np.ndarray, routers: np.ndarray) -> None:
        """The rebound's reference: set in an enterprise's first month, carried over at a vendor switch.

        A non-router's change of specialist lab is a vendor switch too (``routers``: who routes this month).
        """
        starting = self.active & np.isnan(self.reference_cost)
        np.copyto(self.reference_cost, cost_per_success, where=starting)
        # a vendor switch carries the reference over (the switch itself leaves demand as it was)
        switched = self.switched | (self.specialist_moved & ~routers) if self.split is not None else self.switched
        carry = switched & (self.last_cost_per_success > 0) & (cost_per_success > 0)
        self.reference_cost[carry] *= cost_per_success[carry] / self.last_cost_per_success[carry]
        np.copyto(self.last_cost_per_success, cost_per_success, where=self.active)

    def _budget_round(self, t: int, flag_cost: np.ndarray, log_ratio: np.ndarray) -> tuple[float, ...]:
        """Open the budget years due this month; returns weighted tallies of the years closing.

        (closed, overrun, overrun demand, overrun budget, sum over the overrun years of
        demand / budget - 1).
        """
        b, w, period = self.budgets, self.weight, self.cfg.budget.period_months
        due = self.active & ((b.next_round == t) | (b.next_round < 0))
        if not due.any():
            return (0.0, 0.0, 0.0, 0.0, 0.0)
        offset = self.traits.budget_offset
        first_length = np.where(t == 0, np.where(offset > 0, offset, period), period)
        over_before, budget_before, demanded_before = b.at_cap.copy(), b.budget.copy(), b.demanded.copy()
        first_bill = self.population.base_tasks * self.growth[t] * flag_cost  # this month's work at its everyday model
        closed = billing.budget_round(b, due, t, first_bill, first_length, period, self.log_bill_trend, log_ratio,
                                      at_round=self.cfg.budget.forecast == "at_round")
        over = closed & over_before
        spent, budget = demanded_before[over], budget_before[over]
        excess = np.divide(spent, budget, out=np.ones_like(spent), where=budget > 0) - 1.0
        return (float(w[closed].sum()), float(w[over].sum()), float((w * demanded_before)[over].sum()),
                float((w * budget_before)[over].sum()), float((w[over] * excess).sum()))

    def _bill(self, month: Month, groups: list[Group], routers: np.ndarray, req: RouteRequest) -> dict:
        """Demand, router fees, budgets and caps, then the month's tasks to models; the enterprises row."""
        t, pop, cfg, menu, w = month.t, self.population, self.cfg, month.menu, self.weight
        cost_im, success_im = model_tables(req.cost, req.success, self.workload.segment_weight)
        prices = billing.unit_prices(req.flagship, pop.industry, cost_im, success_im, routers, self.segment_weight,
                                     self.scratch, second=self.second_model,
                                     split_tables=None if self.split is None else (self.split @ req.cost,
                                                                                   self.split @ req.success))
        self._price_plans(groups, req, prices)
        cost_per_success = prices.cost_per_success  # (computed on each access: once for both uses)
        self._update_reference(cost_per_success, routers)
        spikes = self._spikes()
        self.tasks = billing.demand(pop.base_tasks, self.growth[t], cost_per_success, self.reference_cost,
                                    cfg.demand.price_elasticity, spikes, self.active)
        # non-routers pay the everyday model's price exactly, so their savings are exactly 0
        fee_per_task = self._fee_per_task(prices.cost, prices.calls, routers)
        bill = self.tasks * (prices.cost + fee_per_task)
        log_ratio = (cfg.budget.log_budget_to_forecast_mean
                     + cfg.budget.log_budget_to_forecast_sd * self.budget_rng.standard_normal(pop.size))
        downgraded = np.zeros(pop.size, dtype=bool)
        closed = (0.0, 0.0, 0.0, 0.0, 0.0)
        if cfg.budget.enabled:
            b = self.budgets
            closed = self._budget_round(t, prices.flag_cost, log_ratio)
            if cfg.budget.forecast == "rolling":
                billing.reforecast(b, bill, spikes, t, self.active, self.log_bill_trend)
            # downgrading is a router's budget fallback; other would-be downgraders throttle
            downgraded = billing.over_budget(b, bill) & self.downgrades & routers
            demanded_bill = bill
            if downgraded.any():
                groups = self._downgrade(groups, req, downgraded, prices)
                fee_per_task = self._fee_per_task(prices.cost, prices.calls, routers)
                bill = self.tasks * (prices.cost + fee_per_task)
            caps = billing.apply_caps(b, bill, demanded_bill, self.traits.cap_behaviour, cfg.budget.runaway_multiple,
                                      self.active, spikes)
            monthly_rate = b.plan / np.maximum(b.length, 1)
            # the largest bill / monthly rate among the enterprises buying (a bill is >= 0, so those
            # without a rate, whose ratio counts as 0, never exceed the initial 0)
            rated = np.flatnonzero(self.active & (monthly_rate > 0))
            max_bill_to_budget = float(np.max(bill.take(rated) / monthly_rate.take(rated), initial=0.0))
        else:
            zeros = np.zeros(pop.size)
            caps = billing.CapOutcome(served_share=np.ones(pop.size), cap_hit=zeros.astype(bool),
                                      at_cap=zeros.astype(bool), overspend_usd=zeros, runaway=zeros.astype(bool),
                                      paid=bill)
            max_bill_to_budget = 0.0
        self.at_cap = caps.at_cap

        served_tasks = self.tasks * caps.served_share
        done = billing.settle(prices, groups, served_tasks, w, pop.industry, pop.requirement, req.flagship,
                              menu.success, self.workload.segment_weight, routers, self.scratch,
                              second=self.second_model, split=self.split)
        self.spend = served_tasks * prices.cost
        self.router_fees = served_tasks * fee_per_task
        self.no_routing_spend = served_tasks * prices.flag_cost
        integration = (self.newly_adopted & routers) * cfg.router.integration_cost_usd
        self.newly_adopted = np.zeros(pop.size, dtype=bool)
        frontier_model = self.catalog.model_tier == FRONTIER
        throttled = (w * (self.tasks - served_tasks)).sum()
        cells = done.cells
        # sums over masked enterprises take them by index: the same elements in the same order
        # as boolean masking (so the same sums), at about half its cost
        router_rows = prices.routers  # np.flatnonzero(routers)
        spend, no_routing_spend = w * self.spend, w * self.no_routing_spend
        return {
            "model_calls": cells.sum(axis=0),
            "model_revenue": (cells * menu.cost_per_task).sum(axis=0),
            "model_tokens": (cells * menu.tokens_per_task).sum(axis=0),
            "model_serving_cost": (cells * menu.serving_cost_per_task).sum(axis=0),
            "price_factor": month.price_factor,
            # the month's row of the enterprises table (named as its columns); counts of
            # enterprises and money are real-market estimates (weighted by agent)
            "enterprise": {
                "spend_usd": spend.sum(),
                "router_fees_usd": (w * self.router_fees).sum(),
                "integration_cost_usd": (w * integration).sum(),
                "no_routing_spend_usd": no_routing_spend.sum(),
                "router_spend_usd": spend.take(router_rows).sum(),
                "router_no_routing_spend_usd": no_routing_spend.take(router_rows).sum(),
                "router_calls": done.router_cells.sum(),
                "router_frontier_calls": done.router_cells[:, frontier_model].sum(),
                "tasks_demanded": (w * self.tasks).sum(),
                "tasks_served": done.tasks_served,
                "tasks_unmet": throttled + done.tasks_unserved_rows,
                "tasks_throttled": throttled,
                "tasks_below_requirement": done.tasks_below_requirement,
                "expected_successes": done.expected_successes,
                "adopters": w.take(router_rows).sum(),
                "active_enterprises": (w * self.active).sum(),
                "cap_hits": _masked(w, caps.cap_hit).sum(),
                "at_cap": _masked(w, caps.at_cap).sum(),
                "overspend_usd": (w * caps.overspend_usd).sum(),
                "runaway_events": _masked(w, caps.runaway).sum(),
                "max_bill_to_budget": max_bill_to_budget,
                "downgraded": _masked(w, downgraded).sum(),
                "budget_periods_closed": closed[0],
                "budget_periods_overrun": closed[1],
                "overrun_demanded_usd": closed[2],
                "overrun_budget_usd": closed[3],
                "overrun_excess_sum": closed[4],
            },
        }

    def _downgrade(self, groups: list[Group], req: RouteRequest, who: np.ndarray,
                   prices: billing.UnitPrices) -> list[Group]:
        """Move enterprises ``who`` to the cheapest model their router may use per segment; re-price them."""
        members = np.flatnonzero(who)
        # the cheapest model meeting a requirement of 0 (any model): the cheapest eligible one
        cheapest = req.search_index.cheapest_eligible(req.router_class.take(members))
        down = (members, one_hot(cheapest))
        self._price_plans([down], req, prices)
        for m, plan in groups:  # their old calls no longer happen (cheaper than copying plans)
            plan.weight[who[m]] = 0.0
        return [*groups, down]

    def _account_providers(self, billed: dict) -> None:
        cat, books, t = self.catalog, self.books, self.t
        revenue = np.bincount(cat.model_provider, billed["model_revenue"], cat.n_providers)
        serving = np.bincount(cat.model_provider, billed["model_serving_cost"], cat.n_providers)
        tokens = np.bincount(cat.model_provider, billed["model_tokens"], cat.n_providers)
        calls = np.bincount(cat.model_provider, billed["model_calls"], cat.n_providers)
        for agent in self.providers:
            i = agent.index
            agent.account(api_revenue_usd=float(revenue[i]), serving_cost_usd=float(serving[i]),
                          fixed_cost_usd=float(books.fixed_cost[t, i]), tokens=float(tokens[i]),
                          calls=float(calls[i]))

    def _record(self, billed: dict) -> None:
        rec = self.record
        rec.model_revenue.append(billed["model_revenue"])
        rec.model_tokens.append(billed["model_tokens"])
        rec.model_calls.append(billed["model_calls"])
        rec.price_factor.append(billed["price_factor"])
        by_index = sorted(self.providers, key=lambda a: a.index)
        for name in rec.provider:
            rec.provider[name].append(np.array([getattr(a, name) for a in by_index]))
        cat = self.catalog
        by_cell = np.zeros((cat.n_providers, len(TIERS)))
        np.add.at(by_cell, (cat.model_provider, cat.model_tier), billed["model_tokens"])
        tier_total = by_cell.sum(axis=0, keepdims=True)
        rec.tier_token_share.append(np.divide(by_cell, tier_total, out=np.zeros_like(by_cell),
                                              where=tier_total > 0))
        rec.enterprise.append({key: float(value) for key, value in billed["enterprise"].items()})
        if self.cfg.output.enterprise_panel:
            rec.panel.append({"spend_usd": self.spend.copy(), "router_fees_usd": self.router_fees.copy(),
                              "no_routing_spend_usd": self.no_routing_spend.copy(),
                              "tasks": self.tasks.copy(), "routes": self.adopted.copy(),
                              "at_cap": self.at_cap.copy(), "preferred": self.preferred.copy(),
                              "specialist": self.specialist.copy(),
                              "active": self.active.copy()})

    def _adopt(self, req: RouteRequest) -> None:
        a = self.cfg.adoption
        uniforms = self.adoption_rng.random(self.population.size)
        peers = peer_adopter_share(self.adopted, self.peer_group, self.n_peer_groups, among=self.active,
                                   weight=self.weight)
        prob = adoption_probability(a.innovation_p + a.cap_hit_push * self.at_cap, a.imitation_q, peers)
        candidates = ~self.adopted & self.active & (uniforms < prob)
        if a.require_net_savings and candidates.any():
            candidates &= self._worth_routing(req, candidates)
        self.newly_adopted = candidates
        self.adopted = self.adopted | candidates

    def _worth_routing(self, req: RouteRequest, candidates: np.ndarray) -> np.ndarray:
        """(N,) whether routing's expected monthly net savings repay the integration cost.

        Computed for the candidates only (everyone else passes): a few percent of the enterprises.
        """
        who = np.flatnonzero(candidates)
        seg_w = self.segment_weight
        routed_cpt, calls_pt = np.zeros(len(who)), np.zeros(len(who))
        for members, plan in self.plan_groups(req, who):
            cost, _ = billing.price_plan(plan, req.cost, req.success)
            at = np.searchsorted(who, members)  # members are some of ``who``, both ascending
            routed_cpt[at] = billing.per_task(cost, seg_w[members])
            calls_pt[at] = billing.per_task(plan.calls_per_task, seg_w[members])
        fee = self._fee_per_task(routed_cpt, calls_pt, np.ones(len(who), dtype=bool))
        tasks = self.tasks[who]
        flag_spend = tasks * self.flagship_cost_per_task(req, who)
        payback_months = self.cfg.adoption.payback_months
        routed_spend = tasks * (routed_cpt + fee)
        gain = payback_months * (flag_spend - routed_spend) - self.cfg.router.integration_cost_usd
        worth = ~candidates
        # strictly worth it: a gain lost in rounding (a plan identical to the flagship) is not
        worth[who] = gain > 1e-9 * payback_months * flag_spend
        return worth
