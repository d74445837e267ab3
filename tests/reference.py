"""A per-agent reference implementation of the monthly step, in plain Python loops.

It shares only the inputs with the vectorised model (catalogue, workload, the drawn
population and traits, and the random streams) and recomputes vendor choice, routing,
demand, budgets, billing, provider books and adoption one enterprise, segment and model at
a time, the obvious way. Tests assert that the vectorised model gives the same numbers.
"""

from __future__ import annotations

import math

import numpy as np

from routesim.catalog import build_catalog
from routesim.config import Config, parse_month
from routesim.economics import build_books
from routesim.population import draw_entry, draw_population, draw_traits
from routesim.workload import build_workload

THROTTLE, OVERSPEND, DOWNGRADE = 0, 1, 2


def sigmoid(x: float) -> float:
    # both branches stay finite (math.exp(-x) overflows below x = -709, as a learned router's
    # noise on a steep success slope can reach)
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def flagship_of(cat, t: int, provider: int) -> int:
    best, best_key = -1, None
    for m in range(cat.n_models):
        if (cat.model_provider[m] == provider and cat.model_tier[m] != 1 and cat.flagship_eligible[m]
                and cat.available[t, m]):
            key = (-float(cat.capability[t, m]), float(cat.price_in[t, m] + cat.price_out[t, m]))
            if best_key is None or key < best_key:
                best, best_key = m, key
    return best


def cheapest_acceptable_one(costs: list[float], probs: list[float], eligible: list[bool],
                            requirement: float) -> int:
    """The cheapest eligible model meeting the requirement, else the cheapest most successful."""
    candidates = [m for m in range(len(costs)) if eligible[m]]
    if not candidates:
        return -1
    acceptable = [m for m in candidates if probs[m] >= requirement]
    if acceptable:
        return min(acceptable, key=lambda m: (costs[m], m))
    top = max(probs[m] for m in candidates)
    return min((m for m in candidates if probs[m] == top), key=lambda m: (costs[m], m))


class Reference:
    """The market, one enterprise at a time."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.cat = build_catalog(cfg)
        self.wl = build_workload(cfg, self.cat)
        streams = np.random.default_rng(cfg.seed).spawn(6)
        pop_rng, self.adopt_rng, traits_rng, self.demand_rng, self.switch_rng, entry_rng = streams
        self.pop = draw_population(cfg, self.cat.provider_ids, pop_rng)
        self.traits = draw_traits(cfg, traits_rng)
        self.entry = [int(m) for m in draw_entry(cfg, entry_rng)]
        n = self.pop.size
        self.adopted = [bool(u < cfg.adoption.initial_share) and self.entry[e] == 0
                        for e, u in enumerate(self.adopt_rng.random(n))]
        self.newly = [False] * n
        self.cap_hit = [False] * n
        self.preferred = [int(p) for p in self.pop.preferred]
        self.reference_cpt: list[float] | None = None
        self.cash = [cfg.market.providers[p].initial_cash_usd for p in self.cat.provider_ids]
        self.books = build_books(cfg, self.cat.months, self.cat.provider_ids)
        n_p, n_tiers = self.cat.n_providers, 3
        self.multiplier = [[1.0] * n_tiers for _ in range(n_p)]
        self.last_cut = [[-10**9] * n_tiers for _ in range(n_p)]
        self.share_history: list[list[list[float]]] = []
        self.factor = [1.0] * self.cat.n_models
        self.in_house = (None if cfg.scenario.in_house_routing_start is None
                         else parse_month(cfg.scenario.in_house_routing_start, "i") - int(self.cat.months[0]))
        self.bill_sum = [0.0] * n
        d = cfg.demand
        self.growth = [1.0]
        for t in range(1, len(self.cat.months)):
            rate = d.growth_per_month
            if d.long_run_growth_per_month is not None:
                rate = d.long_run_growth_per_month + (d.growth_per_month - d.long_run_growth_per_month) * 0.5 ** (
                    (t - 1) / d.growth_half_life_months)
            self.growth.append(self.growth[-1] * (1 + rate))
        self.plan_base: list[float] | None = None
        self.plan_month = [0.0] * n
        self.active_months = [0] * n
        self.ban_month = (None if cfg.access.ban_start is None
                          else parse_month(cfg.access.ban_start, "b") - int(self.cat.months[0]))

    # ---- one month's menu, as lists
    def menu(self, t: int, i: int, k: int):
        cat, wl, cfg = self.cat, self.wl, self.cfg
        wl = wl.at(t)
        d = float(wl.difficulty[i, k])
        s = cfg.workload.success_slope
        cost, prob, toks, seen_cost, seen_prob = [], [], [], [], []
        for m in range(cat.n_models):
            tin = float(wl.tokens_in[i, k])
            tout = float(wl.tokens_out[i, k]) * float(cat.output_tokens_multiplier[m])
            f = self.factor[m]
            c = (tin * float(cat.price_in[t, m]) * f + tout * float(cat.price_out[t, m]) * f) / 1e6
            cap = float(cat.capability[t, m])
            over = bool(cat.model_overseas[m])
            cost.append(c)
            prob.append(sigmoid(s * (cap - d)))
            toks.append(tin + tout)
            seen_cost.append(c * (1 + cfg.access.overseas_risk_premium) if over else c)
            seen_prob.append(sigmoid(s * (cap - cfg.access.overseas_quality_discount - d)) if over
                             else sigmoid(s * (cap - d)))
        return cost, prob, toks, seen_cost, seen_prob

    def serving_cost(self, t: int, i: int, k: int, m: int) -> float:
        cat, wl = self.cat, self.wl.at(t)
        frac = float(self.books.serving_fraction[t, int(cat.model_provider[m])])
        tin = float(wl.tokens_in[i, k])
        tout = float(wl.tokens_out[i, k]) * float(cat.output_tokens_multiplier[m])
        serving_in, serving_out = frac * float(cat.launch_price_in[m]), frac * float(cat.launch_price_out[m])
        return (tin * serving_in + tout * serving_out) / 1e6

    def set_prices(self, t: int) -> None:
        """Reactive pricing, provider by provider, tier by tier."""
        cat, pr = self.cat, self.cfg.pricing
        n_p = cat.n_providers
        start = 0 if pr.start is None else parse_month(pr.start, "s") - int(cat.months[0])
        if t < start:
            return
        cut_last = [[self.last_cut[p][x] == t - 1 for x in range(3)] for p in range(n_p)]
        for p in range(n_p):
            strategy = self.cfg.pricing.strategy or self.cfg.market.providers[cat.provider_ids[p]].pricing
            if strategy != "reactive":
                continue
            for x in range(3):
                models = [m for m in range(cat.n_models) if cat.model_provider[m] == p
                          and cat.model_tier[m] == x and cat.available[t, m]]
                if not models or t - self.last_cut[p][x] < pr.cooldown_months:
                    continue
                floor = max((1 + pr.floor_markup) * float(self.books.serving_fraction[t, p])
                            * float(cat.launch_price_in[m] + cat.launch_price_out[m])
                            / float(cat.price_in[t, m] + cat.price_out[t, m]) for m in models)
                losing = (t > pr.window_months and self.share_history[-1 - pr.window_months][p][x]
                          - self.share_history[-1][p][x] >= pr.share_drop)
                rival_cut = any(cut_last[q][x] for q in range(n_p) if q != p)
                if losing or (pr.follow_rivals and rival_cut):
                    new = max(self.multiplier[p][x] * (1 - pr.cut_fraction), floor)
                    if new < self.multiplier[p][x]:
                        self.multiplier[p][x] = new
                        self.last_cut[p][x] = t
        self.factor = [self.multiplier[int(cat.model_provider[m])][int(cat.model_tier[m])]
                       for m in range(cat.n_models)]

    def access(self, e: int, t: int) -> bool:
        allowed = bool(self.pop.access[e])
        banned = self.traits.ban_draw[e] < self.cfg.access.ban_share
        if self.ban_month is not None and t >= self.ban_month and banned:
            allowed = False
        return allowed

    def eligible(self, e: int, t: int) -> list[bool]:
        ok = self.access(e, t)
        own = self.in_house is not None and t >= self.in_house
        return [bool(self.cat.available[t, m]) and (ok or not self.cat.model_overseas[m])
                and (not own or int(self.cat.model_provider[m]) == self.preferred[e])
                for m in range(self.cat.n_models)]

    # ---- a plan: list of (segment, model, calls per task)
    def plan(self, e: int, t: int, policy: str, menus, flag: int) -> list[tuple[int, int, float]]:
        cfg, wl = self.cfg, self.wl
        i = int(self.pop.industry[e])
        r = float(self.pop.requirement[e])
        elig = self.eligible(e, t) if policy != "single" else None
        calls = []
        for k in range(wl.n_segments):
            cost, prob, _, seen_cost, seen_prob = menus[i][k]
            d = float(wl.at(t).difficulty[i, k])
            if policy == "single" or (policy == "threshold" and d > cfg.router.threshold_difficulty):
                if flag >= 0:
                    calls.append((k, flag, 1.0))
                continue
            if policy == "logit":
                utils = {}
                for m in range(self.cat.n_models):
                    if elig[m]:
                        mine = self.cat.model_provider[m] == self.preferred[e]
                        loyal = cfg.router.logit_loyalty if mine else 0.0
                        utils[m] = (cfg.router.logit_quality_weight * seen_prob[m]
                                    - cfg.router.logit_price_weight * math.log(seen_cost[m]) + loyal)
                if utils:
                    top = max(utils.values())
                    z = sum(math.exp(u - top) for u in utils.values())
                    for m, u in utils.items():
                        calls.append((k, m, math.exp(u - top) / z))
                continue
            need = r
            if policy == "learned":
                noise = cfg.router.learned_noise_sd * (float(self.traits.difficulty_noise[e, k])
                                                       + cfg.router.learned_margin_sds)
                need = sigmoid(math.log(r / (1 - r)) + cfg.workload.success_slope * noise) if 0 < r < 1 else r
            strong = cheapest_acceptable_one(seen_cost, seen_prob, elig, need)
            if policy == "cascade":
                cheap = cheapest_acceptable_one(seen_cost, seen_prob, elig, cfg.router.cascade_first_success)
                if (cheap >= 0 and strong >= 0 and cheap != strong
                        and seen_cost[cheap] + (1 - prob[cheap]) * seen_cost[strong] < seen_cost[strong]):
                    calls.append((k, cheap, 1.0))
                    calls.append((k, strong, 1 - prob[cheap]))
                    continue
            if strong >= 0:
                calls.append((k, strong, 1.0))
        return calls

    def downgrade_plan(self, e: int, t: int, menus) -> list[tuple[int, int, float]]:
        i = int(self.pop.industry[e])
        elig = self.eligible(e, t)
        calls = []
        for k in range(self.wl.n_segments):
            _, _, _, seen_cost, seen_prob = menus[i][k]
            m = cheapest_acceptable_one(seen_cost, seen_prob, elig, 0.0)
            if m >= 0:
                calls.append((k, m, 1.0))
        return calls

    def price(self, e: int, calls, menus) -> tuple[float, float]:
        """Cost and calls per task of a plan."""
        i, w = int(self.pop.industry[e]), 1.0 / self.wl.n_segments
        cpt = sum(w * wt * menus[i][k][0][m] for k, m, wt in calls)
        return cpt, sum(w * wt for _, _, wt in calls)

    def flag_cpt(self, e: int, flag: int, menus) -> float:
        i, w = int(self.pop.industry[e]), 1.0 / self.wl.n_segments
        return sum(w * menus[i][k][0][flag] for k in range(self.wl.n_segments)) if flag >= 0 else 0.0

    def planned(self, e: int, t: int, flag_cpt: float) -> float:
        """Planned monthly spend at the last budget round (or at the enterprise's entry)."""
        if self.plan_base is None:
            ref = self.reference_cpt[e] if self.reference_cpt is not None else flag_cpt
            return float(self.pop.base_tasks[e]) * ref
        return self.plan_base[e]

    def materialise_plans(self) -> None:
        if self.plan_base is None:
            self.plan_base = [float(self.pop.base_tasks[e]) * self.reference_cpt[e] for e in range(self.pop.size)]

    def grown(self, t: float, since: float) -> float:
        """Trend growth from month ``since`` (fractional) to ``t``, log-linear between months."""
        log = [math.log(g) for g in self.growth]
        months = list(range(len(log)))
        return math.exp(float(np.interp(t, months, log)) - float(np.interp(since, months, log)))

    def fee(self, cpt: float, calls_pt: float) -> float:
        r = self.cfg.router
        return r.fee_share_of_spend * cpt + r.fee_usd_per_1k_requests * calls_pt / 1000.0

    def run(self) -> dict[str, np.ndarray]:
        cfg, cat, wl, pop = self.cfg, self.cat, self.wl, self.pop
        n, n_seg, n_mod = pop.size, wl.n_segments, cat.n_models
        w = 1.0 / n_seg
        allowed = cfg.scenario.routing_allowed
        out: dict[str, list] = {}

        def put(key, value):
            out.setdefault(key, []).append(value)

        for t in range(len(cat.months)):
            self.set_prices(t)
            menus = [[self.menu(t, i, k) for k in range(n_seg)] for i in range(len(wl.industry_ids))]
            flags = [flagship_of(cat, t, p) for p in range(cat.n_providers)]

            switches = 0
            sw = cfg.switching
            draws = self.switch_rng.random(n)
            active = [self.entry[e] <= t for e in range(n)]
            for e in range(n):
                if not active[e]:
                    continue
                ok = self.access(e, t)
                mine = flags[self.preferred[e]]
                forced = mine < 0 or (not ok and bool(cat.model_overseas[mine]))
                # an entrant's first pick is a choice, never a switch, whether switching is on or off
                new_entrant = t > 0 and self.entry[e] == t
                entering = sw.enabled and new_entrant
                periodic = (sw.enabled and t > 0
                            and (t + int(self.traits.reevaluation_offset[e])) % sw.reevaluation_months == 0)
                if not (forced or periodic or entering):
                    continue
                utils = {}
                for p in range(cat.n_providers):
                    if flags[p] < 0 or (not ok and cat.model_overseas[flags[p]]):
                        continue
                    i = int(pop.industry[e])
                    # as the enterprise perceives them: seen cost and success of its access class
                    succ = sum(w * menus[i][k][4 if ok else 1][flags[p]] for k in range(n_seg))
                    cost = sum(w * menus[i][k][3 if ok else 0][flags[p]] for k in range(n_seg))
                    u = sw.quality_weight * succ - sw.price_weight * math.log(cost)
                    loyal = p == self.preferred[e] and not new_entrant
                    utils[p] = u + (sw.switching_cost if loyal else 0.0)
                if not utils:
                    continue
                top = max(utils.values())
                z = sum(math.exp(u - top) for u in utils.values())
                acc, chosen = 0.0, max(utils, key=utils.get)
                for p in sorted(utils):  # inverse CDF over providers in index order
                    acc += math.exp(utils[p] - top) / z
                    if draws[e] < acc:
                        chosen = p
                        break
                switches += chosen != self.preferred[e] and not new_entrant
                self.preferred[e] = chosen

            revenue, tokens, calls_m, serving_m = [0.0] * n_mod, [0.0] * n_mod, [0.0] * n_mod, [0.0] * n_mod
            tot: dict[str, float] = {}

            def add(key, value, tot=tot):
                tot[key] = tot.get(key, 0.0) + value

            flag_cpts, tasks_all = [], []
            replan = cfg.budget.replan_months
            if t > 0 and t % replan == 0:
                self.materialise_plans()
                for e in range(n):
                    if self.active_months[e] > 0:
                        self.plan_base[e] = self.bill_sum[e] / self.active_months[e]
                        self.plan_month[e] = t - (self.active_months[e] + 1) / 2
                self.bill_sum = [0.0] * n
                self.active_months = [0] * n
            spike_hit, spike_size = self.demand_rng.random(n), self.demand_rng.random(n)
            max_ratio = 0.0
            for e in range(n):
                flag = flags[self.preferred[e]]
                routes = self.adopted[e] and allowed
                policy = self.traits.policy_names[int(self.traits.policy[e])] if routes else "single"
                calls = self.plan(e, t, policy, menus, flag)
                flag_cpt = self.flag_cpt(e, flag, menus)
                flag_cpts.append(flag_cpt)
                cpt, calls_pt = self.price(e, calls, menus)
                if not routes:
                    cpt = flag_cpt
                ref = flag_cpt if self.reference_cpt is None else self.reference_cpt[e]
                eps = cfg.demand.price_elasticity
                spike = (min((1 - spike_size[e]) ** (-1 / cfg.demand.spike_pareto_alpha),
                             cfg.demand.spike_max_multiple)
                         if spike_hit[e] < cfg.demand.spike_probability else 1.0)
                price_term = (cpt / ref) ** (-eps) if (eps != 0.0 and ref > 0) else 1.0
                tasks = float(pop.base_tasks[e]) * spike * self.growth[t] * price_term * active[e]
                tasks_all.append(tasks)
                if t > 0 and self.entry[e] == t:  # an entrant plans this month's demand at its flagship
                    self.materialise_plans()
                    self.plan_base[e] = float(pop.base_tasks[e]) * self.growth[t] * price_term * flag_cpt
                    self.plan_month[e] = float(t)
                fee = self.fee(cpt, calls_pt) if routes else 0.0
                bill = tasks * (cpt + fee)
                share, hit = 1.0, False
                if cfg.budget.enabled:
                    budget = (float(self.traits.budget_headroom[e]) * self.planned(e, t, flag_cpt)
                              * self.grown(t, self.plan_month[e]))
                    self.bill_sum[e] += bill
                    self.active_months[e] += active[e]
                    behaviour = int(self.traits.cap_behaviour[e])
                    hit = bill > budget
                    if hit and behaviour == DOWNGRADE and routes:
                        calls = self.downgrade_plan(e, t, menus)
                        cpt, calls_pt = self.price(e, calls, menus)
                        fee = self.fee(cpt, calls_pt) if routes else 0.0
                        bill = tasks * (cpt + fee)
                        add("downgraded", 1)
                    max_ratio = max(max_ratio, bill / budget)
                    if bill > budget and behaviour != OVERSPEND:
                        share = budget / bill
                    paid = budget if share < 1.0 else bill
                    add("overspend", max(paid - budget, 0.0))
                    add("runaway", float(paid > cfg.budget.runaway_multiple * budget))
                    add("cap_hits", float(hit))
                self.cap_hit[e] = hit
                served = tasks * share
                add("demanded", tasks)
                add("throttled", tasks - served)
                add("unmet", tasks - served)
                add("spend", served * cpt)
                add("fees", served * fee)
                add("cf", served * flag_cpt)
                add("integration", cfg.router.integration_cost_usd if (self.newly[e] and routes) else 0.0)
                i = int(pop.industry[e])
                row_success = [0.0] * n_seg
                row_served = [False] * n_seg
                for k, m, wt in calls:
                    row_tasks = served * w
                    calls_m[m] += row_tasks * wt
                    revenue[m] += row_tasks * wt * menus[i][k][0][m]
                    serving_m[m] += row_tasks * wt * self.serving_cost(t, i, k, m)
                    tokens[m] += row_tasks * wt * menus[i][k][2][m]
                    row_success[k] += wt * menus[i][k][1][m]
                    row_served[k] = True
                for k in range(n_seg):
                    if row_served[k]:
                        add("served", served * w)
                        add("succ", served * w * row_success[k])
                        if row_success[k] < float(pop.requirement[e]):
                            add("below", served * w)
                    else:
                        add("unmet", served * w)
                if routes:
                    add("routers", 1)
                add("active", float(active[e]))
            if self.reference_cpt is None:
                self.reference_cpt = flag_cpts
            self.newly = [False] * n

            shares = []
            for p in range(cat.n_providers):
                rev = sum(revenue[m] for m in range(n_mod) if cat.model_provider[m] == p)
                serving = sum(serving_m[m] for m in range(n_mod) if cat.model_provider[m] == p)
                other = float(self.books.other_revenue[t, p])
                other_cost = other * (1 - float(self.books.other_gross_margin[t, p]))
                self.cash[p] += rev + other - serving - other_cost - float(self.books.fixed_cost[t, p])
                row = []
                for x in range(3):
                    mine = sum(tokens[m] for m in range(n_mod)
                               if cat.model_provider[m] == p and cat.model_tier[m] == x)
                    total = sum(tokens[m] for m in range(n_mod) if cat.model_tier[m] == x)
                    row.append(mine / total if total > 0 else 0.0)
                shares.append(row)
            self.share_history.append(shares)
            for key, value in (("model_revenue", revenue), ("model_tokens", tokens), ("model_tasks", calls_m),
                               ("provider_cash", list(self.cash))):
                put(key, value)
            for col, key in (("spend_usd", "spend"), ("no_routing_spend_usd", "cf"),
                             ("router_fees_usd", "fees"), ("integration_cost_usd", "integration"),
                             ("tasks_demanded", "demanded"), ("tasks_served", "served"),
                             ("tasks_unmet", "unmet"), ("tasks_throttled", "throttled"),
                             ("tasks_below_requirement", "below"), ("expected_successes", "succ"),
                             ("adopters", "routers"), ("active_enterprises", "active"), ("cap_hits", "cap_hits"),
                             ("overspend_usd", "overspend"), ("runaway_events", "runaway"),
                             ("downgraded", "downgraded")):
                put(col, tot.get(key, 0.0))
            put("max_bill_to_budget", max_ratio)
            put("vendor_switches", float(switches))
            self.adopt(t, menus, flags, tasks_all, active)
        return {k: np.array(v) for k, v in out.items()}

    def adopt(self, t, menus, flags, tasks_all, active) -> None:
        cfg, pop, a = self.cfg, self.pop, self.cfg.adoption
        n = pop.size
        uniforms = self.adopt_rng.random(n)
        groups = [int(g) for g in pop.industry] if a.peer_group == "industry" else [0] * n
        members: dict[int, int] = {}
        adopters: dict[int, int] = {}
        for e in range(n):  # peers: the enterprises buying this month
            members[groups[e]] = members.get(groups[e], 0) + int(active[e])
            adopters[groups[e]] = adopters.get(groups[e], 0) + int(self.adopted[e] and active[e])
        new = list(self.adopted)
        for e in range(n):
            if self.adopted[e] or not active[e]:
                continue
            hazard = (a.innovation_p + a.cap_hit_push * self.cap_hit[e]
                      + a.imitation_q * adopters[groups[e]] / members[groups[e]])
            if not uniforms[e] < 1.0 - math.exp(-hazard):
                continue
            if a.require_net_savings:
                policy = self.traits.policy_names[int(self.traits.policy[e])]
                flag = flags[self.preferred[e]]
                cpt, calls_pt = self.price(e, self.plan(e, t, policy, menus, flag), menus)
                flag_spend = tasks_all[e] * self.flag_cpt(e, flag, menus)
                gain = (a.payback_months * (flag_spend - tasks_all[e] * (cpt + self.fee(cpt, calls_pt)))
                        - cfg.router.integration_cost_usd)
                if not gain > 1e-9 * a.payback_months * flag_spend:
                    continue
            new[e] = True
            self.newly[e] = True
        self.adopted = new


def reference_run(cfg: Config) -> dict[str, np.ndarray]:
    """Simulate ``cfg`` with loops; returns per-month arrays named like the model's record."""
    return Reference(cfg).run()
