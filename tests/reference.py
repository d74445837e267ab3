"""A per-agent reference implementation of the monthly step, in plain Python loops.

It shares only the inputs with the vectorised model (catalogue, workload, the drawn
population and traits, and the random streams) and recomputes vendor choice, routing
(router classes: in-house or neutral), demand (the rebound against each enterprise's
reference cost), annual budgets, billing, provider books and adoption one enterprise,
segment and model at a time, the obvious way. Totals are weighted by each agent's weight.
Tests assert that the vectorised model gives the same numbers.
"""

from __future__ import annotations

import math

import numpy as np

from routesim.catalog import build_catalog
from routesim.config import Config, parse_month
from routesim.economics import build_books
from routesim.population import draw_entry, draw_population, draw_traits
from routesim.vendors import vendor_constants
from routesim.workload import build_workload

THROTTLE, OVERSPEND, DOWNGRADE = 0, 1, 2


def sigmoid(x: float) -> float:
    # both branches stay finite (math.exp(-x) overflows below x = -709, as a learned router's
    # noise on a steep success slope can reach)
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


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


def pick(offer, extra: dict[int, float], u: float, keep: int) -> int:
    """A logit draw over the labs with an everyday model in ``offer`` ([(model, utility)] per lab).

    ``extra``: utility added to some labs (a switching cost); inverse CDF over the labs in index
    order at the uniform ``u``; ``keep`` when no lab has a model.
    """
    utils = {p: u_p + extra.get(p, 0.0) for p, (m, u_p) in enumerate(offer) if m >= 0}
    if not utils:
        return keep
    top = max(utils.values())
    z = sum(math.exp(v - top) for v in utils.values())
    acc, chosen = 0.0, max(utils, key=utils.get)
    for p in sorted(utils):
        acc += math.exp(utils[p] - top) / z
        if u < acc:
            return p
    return chosen


class Reference:
    """The market, one enterprise at a time."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.cat = build_catalog(cfg)
        self.wl = build_workload(cfg, self.cat)
        streams = np.random.default_rng(cfg.seed).spawn(8)
        (pop_rng, self.adopt_rng, traits_rng, self.demand_rng, self.switch_rng, entry_rng, self.budget_rng,
         self.special_rng) = streams
        self.pop = draw_population(cfg, self.cat.provider_ids, pop_rng)
        self.traits = draw_traits(cfg, self.wl.n_segments, traits_rng)
        self.entry = [int(m) for m in draw_entry(cfg, entry_rng)]
        n = self.pop.size
        self.w = [float(x) for x in self.pop.weight]
        self.adopted = [bool(u < cfg.adoption.initial_share) and self.entry[e] == 0
                        for e, u in enumerate(self.adopt_rng.random(n))]
        self.newly = [False] * n
        self.at_cap = [False] * n
        self.preferred = [int(p) for p in self.pop.preferred]
        # the specialist family's segments and each enterprise's lab for them (-1: none yet)
        family = cfg.switching.specialist_family
        segment_family = [self.wl.family_ids[f] for f in self.wl.segment_family]
        self.family = {k for k, f in enumerate(segment_family) if family is not None and f == family}
        self.specialist = [-1] * n
        self.reference: list[float | None] = [None] * n  # rebound reference cost per successful task
        self.last_cps: list[float | None] = [None] * n  # cost per successful task last month
        self.result = [0.0] * self.cat.n_providers
        self.books = build_books(cfg, self.cat.months, self.cat.provider_ids)
        n_p, n_tiers = self.cat.n_providers, 3
        self.multiplier = [[1.0] * n_tiers for _ in range(n_p)]
        self.last_cut = [[-10**9] * n_tiers for _ in range(n_p)]
        self.share_history: list[list[list[float]]] = []
        self.factor = [1.0] * self.cat.n_models
        self.in_house_month = (None if cfg.scenario.in_house_routing_start is None
                               else parse_month(cfg.scenario.in_house_routing_start, "i") - int(self.cat.months[0]))
        d = cfg.demand
        self.growth = [1.0]
        period = cfg.budget.period_months
        for t in range(1, len(self.cat.months) + period):
            rate = d.growth_per_month
            if d.long_run_growth_per_month is not None:
                rate = d.long_run_growth_per_month + (d.growth_per_month - d.long_run_growth_per_month) * 0.5 ** (
                    (t - 1) / d.growth_half_life_months)
            self.growth.append(self.growth[-1] * (1 + rate))
        # a budget forecast grows the run-rate by the trend of tasks and of tokens per task (the
        # difficulty shift, continued past the horizon at its last year's pace)
        shift = [0.0] if self.wl.difficulty_shift is None else [float(x) for x in self.wl.difficulty_shift]
        last = len(shift) - 1
        span = min(12, last)
        pace = (shift[last] - shift[last - span]) / span if span > 0 else 0.0
        self.log_trend = [math.log(g) + self.wl.tokens_difficulty_slope * (shift[t] if t <= last else
                                                                          shift[last] + pace * (t - last))
                          for t, g in enumerate(self.growth)]
        # budgets, per enterprise: budget, paid, demanded, months, length, next round, base, base month
        self.budget = [0.0] * n
        self.paid = [0.0] * n
        self.demanded = [0.0] * n
        self.months_in = [0.0] * n
        self.length = [0.0] * n
        self.next_round = [-1] * n
        self.log_ratio = [0.0] * n
        self.budget_plan = [0.0] * n
        self.last_switch = [-10**6] * n
        self.base = [0.0] * n
        self.base_month = [0.0] * n
        self.run_rate = [0.0] * n
        self.ban_month = (None if cfg.access.ban_start is None
                          else parse_month(cfg.access.ban_start, "b") - int(self.cat.months[0]))

    # ---- one month's menu, as lists (per segment, shared by every industry)
    def menu(self, t: int, k: int):
        cat, cfg = self.cat, self.cfg
        wl = self.wl.at(t)
        d = float(wl.difficulty[k])
        s = float(wl.success_slope[k])
        cost, prob, toks, seen_cost, seen_prob = [], [], [], [], []
        for m in range(cat.n_models):
            tin = float(wl.tokens_in[k])
            tout = float(wl.tokens_out[k]) * float(cat.output_tokens_multiplier[m])
            f = self.factor[m]
            c = (tin * float(cat.price_in[t, m]) * f + tout * float(cat.price_out[t, m]) * f) / 1e6
            a = float(cat.skill_ability[int(wl.segment_skill[k]), t, m])
            over = bool(cat.model_overseas[m])
            cost.append(c)
            prob.append(sigmoid(s * (a - d)))
            toks.append(tin + tout)
            seen_cost.append(c * (1 + cfg.access.overseas_risk_premium) if over else c)
            seen_prob.append(sigmoid(s * (a - cfg.access.overseas_quality_discount - d)) if over
                             else sigmoid(s * (a - d)))
        return cost, prob, toks, seen_cost, seen_prob

    def serving_cost(self, t: int, k: int, m: int) -> float:
        cat, wl = self.cat, self.wl.at(t)
        frac = float(self.books.serving_fraction[t, int(cat.model_provider[m])])
        tin = float(wl.tokens_in[k])
        tout = float(wl.tokens_out[k]) * float(cat.output_tokens_multiplier[m])
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

    def in_house(self, e: int, t: int) -> bool:
        if self.in_house_month is not None and t >= self.in_house_month:
            return True
        return bool(self.traits.in_house_draw[e] < self.cfg.router.in_house_share)

    def router_view(self, e: int, t: int, menus):
        """What enterprise e's router may use and how it sees cost: (eligible, seen cost per segment)."""
        ok = self.access(e, t)
        own = self.in_house(e, t)
        premium = self.cfg.router.neutral_other_vendor_premium
        eligible = [bool(self.cat.available[t, m]) and (ok or not self.cat.model_overseas[m])
                    and (not own or int(self.cat.model_provider[m]) == self.preferred[e])
                    for m in range(self.cat.n_models)]
        seen = []
        for k in range(self.wl.n_segments):
            base = menus[k][3] if ok else menus[k][0]
            if own:
                seen.append(list(base))
            else:
                seen.append([c * (1 + premium) if int(self.cat.model_provider[m]) != self.preferred[e] else c
                             for m, c in enumerate(base)])
        return eligible, seen

    def rate(self, i: int, ok: bool, m: int, menus, family: bool = False) -> tuple[float, float]:
        """(utility, perceived cost per task) of model m for an industry-i enterprise of access ok.

        ``family``: on the specialist family's segments alone (their weights renormalised).
        """
        w, sw = self.wl.segment_weight[i], self.cfg.switching
        if family:  # (everyday_of never rates an industry without the family's tasks)
            total = sum(float(w[k]) for k in self.family)
            w = [float(w[k]) / total if k in self.family and total > 0 else 0.0 for k in range(self.wl.n_segments)]
        succ = sum(float(w[k]) * menus[k][4 if ok else 1][m] for k in range(self.wl.n_segments))
        cost = sum(float(w[k]) * menus[k][3 if ok else 0][m] for k in range(self.wl.n_segments))
        return sw.quality_weight * succ - sw.price_weight * math.log(cost), cost

    def everyday_of(self, t: int, p: int, i: int, ok: bool, menus, family: bool = False) -> tuple[int, float]:
        """Lab p's everyday model for an industry-i enterprise of access ok, and its utility.

        ``family``: for the specialist family's tasks alone (none for an industry without them).
        """
        cat = self.cat
        if family and sum(float(self.wl.segment_weight[i, k]) for k in self.family) <= 0:
            return -1, -math.inf
        cands = [m for m in range(cat.n_models) if cat.model_provider[m] == p and cat.available[t, m]
                 and cat.flagship_eligible[m] and (ok or not cat.model_overseas[m])]
        frontier = [m for m in cands if cat.model_tier[m] == 0]
        if self.cfg.switching.everyday_from == "any_tier":
            frontier = []
        best, best_key = -1, None
        for m in frontier or cands:
            u, cost = self.rate(i, ok, m, menus, family)
            key = (-u, cost, m)
            if best_key is None or key < best_key:
                best, best_key = m, key
        return best, (-best_key[0] if best_key else -math.inf)

    def seen_prob(self, e: int, t: int, menus, k: int) -> list[float]:
        return menus[k][4] if self.access(e, t) else menus[k][1]

    # ---- a plan: list of (segment, model, calls per task)
    def plan(self, e: int, t: int, policy: str, menus, flag: int) -> list[tuple[int, int, float]]:
        cfg, wl = self.cfg, self.wl
        r = float(self.pop.requirement[e])
        if policy != "single":
            elig, seen_costs = self.router_view(e, t, menus)
        calls = []
        for k in range(wl.n_segments):
            _, prob, _, _, _ = menus[k]
            easy = float(wl.base_difficulty[k]) <= cfg.router.threshold_difficulty
            if policy == "single" or (policy == "threshold" and not easy):
                if flag >= 0:
                    calls.append((k, flag, 1.0))
                continue
            seen_cost, seen_prob = seen_costs[k], self.seen_prob(e, t, menus, k)
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
                slope = float(wl.success_slope[k])
                need = sigmoid(math.log(r / (1 - r)) + slope * noise) if 0 < r < 1 else r
            if flag >= 0:  # a router never needs more than its everyday model achieves
                need = min(need, seen_prob[flag])
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
        elig, seen_costs = self.router_view(e, t, menus)
        calls = []
        for k in range(self.wl.n_segments):
            m = cheapest_acceptable_one(seen_costs[k], self.seen_prob(e, t, menus, k), elig, 0.0)
            if m >= 0:
                calls.append((k, m, 1.0))
        return calls

    def seg_w(self, e: int, k: int) -> float:
        return float(self.wl.segment_weight[int(self.pop.industry[e]), k])

    def price(self, e: int, calls, menus) -> tuple[float, float, float]:
        """Cost, success and calls per task of a plan."""
        cpt = sum(self.seg_w(e, k) * wt * menus[k][0][m] for k, m, wt in calls)
        spt = sum(self.seg_w(e, k) * wt * menus[k][1][m] for k, m, wt in calls)
        return cpt, spt, sum(self.seg_w(e, k) * wt for k, _, wt in calls)

    def flag_price(self, e: int, flag: int, menus, spec: int = -1) -> tuple[float, float]:
        """Cost and success per task at the everyday model(s): the specialist family at ``spec`` (>= 0)."""
        if flag < 0:
            return 0.0, 0.0
        models = [spec if k in self.family and spec >= 0 else flag for k in range(self.wl.n_segments)]
        return (sum(self.seg_w(e, k) * menus[k][0][m] for k, m in enumerate(models)),
                sum(self.seg_w(e, k) * menus[k][1][m] for k, m in enumerate(models)))

    def log_trend_at(self, x: float) -> float:
        return float(np.interp(x, list(range(len(self.log_trend))), self.log_trend))

    def forecast(self, e: int, start: int, length: int) -> float:
        at_base = self.log_trend_at(self.base_month[e])
        last = len(self.log_trend) - 1
        return self.base[e] * sum(math.exp(self.log_trend[min(start + j, last)] - at_base) for j in range(length))

    def vendor_constants(self, everyday, special) -> np.ndarray:
        """The labs' logit constants from the first month's offers (the inversion itself is the library's)."""
        n_ind = len(self.wl.industry_ids)
        utility = np.array([[u for _, u in everyday[(i, ok)]] for ok in (False, True) for i in range(n_ind)])
        kw = {}
        if self.family:
            kw["specialist_utility"] = np.array([[u for _, u in special[(i, ok)]] for ok in (False, True)
                                                 for i in range(n_ind)])
            kw["specialist_weight"] = np.array([sum(float(self.wl.segment_weight[i, k]) for k in self.family)
                                                for _ in (False, True) for i in range(n_ind)])
        group_weight = np.zeros(2 * n_ind)
        for e in range(self.pop.size):
            group_weight[int(self.access(e, 0)) * n_ind + int(self.pop.industry[e])] += self.w[e]
        shares = np.zeros(self.cat.n_providers)
        for name, w in self.cfg.population.preferred_vendor_weights.items():
            shares[self.cat.provider_ids.index(name)] = w
        return vendor_constants(utility, group_weight, shares, **kw)

    def fee(self, cpt: float, calls_pt: float) -> float:
        r = self.cfg.router
        return r.fee_share_of_spend * cpt + r.fee_usd_per_1k_requests * calls_pt / 1000.0

    def run(self) -> dict[str, np.ndarray]:
        cfg, cat, wl, pop = self.cfg, self.cat, self.wl, self.pop
        n, n_seg, n_mod = pop.size, wl.n_segments, cat.n_models
        allowed = cfg.scenario.routing_allowed
        period = cfg.budget.period_months
        out: dict[str, list] = {}

        def put(key, value):
            out.setdefault(key, []).append(value)

        for t in range(len(cat.months)):
            self.set_prices(t)
            menus = [self.menu(t, k) for k in range(n_seg)]
            everyday = {(i, ok): [self.everyday_of(t, p, i, ok, menus) for p in range(cat.n_providers)]
                        for i in range(len(wl.industry_ids)) for ok in (False, True)}
            special = ({(i, ok): [self.everyday_of(t, p, i, ok, menus, family=True) for p in range(cat.n_providers)]
                        for i in range(len(wl.industry_ids)) for ok in (False, True)} if self.family else {})
            if cfg.switching.vendor_constants == "inverted":
                if t == 0:
                    xi = self.vendor_constants(everyday, special)
                everyday = {key: [(m, u + xi[p]) for p, (m, u) in enumerate(offer)] for key, offer in everyday.items()}
                special = {key: [(m, u + xi[p]) for p, (m, u) in enumerate(offer)] for key, offer in special.items()}
            active = [self.entry[e] <= t for e in range(n)]
            weights = cfg.population.preferred_vendor_weights
            initial = [weights.get(pid, 0.0) > 0 for pid in cat.provider_ids]

            def among_initial(offer, t=t, initial=initial):  # month 0 or no switching: labs with an initial share
                if t > 0 and cfg.switching.enabled:
                    return offer
                return [(m, u) if initial[p] else (-1, -math.inf) for p, (m, u) in enumerate(offer)]

            if self.family and t == 0 and cfg.switching.vendor_constants == "inverted":
                # the primaries behind the initial shares of tasks: drawn from the inverted logit
                first = self.special_rng.random(n)
                for e in range(n):
                    if active[e]:
                        offer = [(m, u) if initial[p] else (-1, -math.inf)
                                 for p, (m, u) in enumerate(everyday[(int(pop.industry[e]), self.access(e, t))])]
                        self.preferred[e] = pick(offer, {}, first[e], self.preferred[e])

            switches = 0.0
            switched = [False] * n
            sw = cfg.switching
            draws = self.switch_rng.random(n)
            was_forced = [False] * n  # its primary had nothing it may use: it reviews its specialist lab too
            for e in range(n):
                if not active[e]:
                    continue
                ok = self.access(e, t)
                i = int(pop.industry[e])
                offer = everyday[(i, ok)]
                forced = was_forced[e] = offer[self.preferred[e]][0] < 0
                # an entrant's first pick is a choice, never a switch, whether switching is on or off
                new_entrant = t > 0 and self.entry[e] == t
                entering = sw.enabled and new_entrant
                periodic = (sw.enabled and t > 0
                            and (t + int(self.traits.reevaluation_offset[e])) % sw.reevaluation_months == 0)
                if not (forced or periodic or entering):
                    continue
                extra = {} if new_entrant else {self.preferred[e]: sw.switching_cost}
                chosen = pick(offer, extra, draws[e], self.preferred[e])
                if chosen != self.preferred[e] and not new_entrant:
                    switches += self.w[e]
                    switched[e] = True
                    self.last_switch[e] = t
                self.preferred[e] = chosen
            # the specialist family's lab: after the primaries, at the same re-evaluations, and when missing or gone
            moved_special = [False] * n
            if self.family:
                draws = self.special_rng.random(n)
                for e in range(n):
                    if not active[e]:
                        continue
                    offer = among_initial(special[(int(pop.industry[e]), self.access(e, t))])
                    held = self.specialist[e]
                    new_entrant = t > 0 and self.entry[e] == t
                    periodic = (sw.enabled and t > 0
                                and (t + int(self.traits.reevaluation_offset[e])) % sw.reevaluation_months == 0)
                    if not (held < 0 or offer[held][0] < 0 or periodic or (sw.enabled and new_entrant)
                            or was_forced[e]):
                        continue
                    extra = {held: sw.specialist_switching_cost} if held >= 0 and not new_entrant else {}
                    chosen = pick(offer, extra, draws[e], max(held, 0))
                    moved_special[e] = held >= 0 and chosen != held
                    self.specialist[e] = chosen

            revenue, tokens, calls_m, serving_m = [0.0] * n_mod, [0.0] * n_mod, [0.0] * n_mod, [0.0] * n_mod
            tot: dict[str, float] = {}

            def add(key, value, tot=tot):
                tot[key] = tot.get(key, 0.0) + value

            tasks_all, flag_cpts = [], []
            spike_hit, spike_size = self.demand_rng.random(n), self.demand_rng.random(n)
            budget_draw = self.budget_rng.standard_normal(n)
            max_ratio = 0.0
            frontier = [cat.model_tier[m] == 0 for m in range(n_mod)]
            flags_of = [everyday[(int(pop.industry[e]), self.access(e, t))][self.preferred[e]][0] for e in range(n)]
            specs_of = [-1] * n
            for e in range(n):
                if self.family and self.specialist[e] >= 0:
                    specs_of[e] = special[(int(pop.industry[e]), self.access(e, t))][self.specialist[e]][0]
            for e in range(n):
                we = self.w[e]
                flag = flags_of[e]
                routes = self.adopted[e] and allowed and active[e]
                policy = self.traits.policy_names[int(self.traits.policy[e])] if routes else "single"
                calls = self.plan(e, t, policy, menus, flag)
                spec = specs_of[e]
                if not routes and spec >= 0:  # the specialist family's tasks go to the specialist lab's model
                    calls = [(k, spec if k in self.family else m, wt) for k, m, wt in calls]
                flag_cpt, flag_spt = self.flag_price(e, flag, menus, spec)
                flag_cpts.append(flag_cpt)
                cpt, spt, calls_pt = self.price(e, calls, menus)
                if not routes:
                    cpt, spt = flag_cpt, flag_spt
                cps = cpt / spt if spt > 0 else 0.0
                if active[e] and self.reference[e] is None:
                    self.reference[e] = cps
                moved = switched[e] or (moved_special[e] and not routes)
                if moved and self.last_cps[e] is not None and self.last_cps[e] > 0 and cps > 0:
                    self.reference[e] *= cps / self.last_cps[e]  # the switch itself leaves demand as it was
                if active[e]:
                    self.last_cps[e] = cps
                eps = cfg.demand.price_elasticity
                spike = (min((1 - spike_size[e]) ** (-1 / cfg.demand.spike_pareto_alpha),
                             cfg.demand.spike_max_multiple)
                         if spike_hit[e] < cfg.demand.spike_probability else 1.0)
                ref = self.reference[e]
                price_term = (cps / ref) ** (-eps) if (eps != 0.0 and ref is not None and ref > 0 and cps > 0) else 1.0
                tasks = float(pop.base_tasks[e]) * self.growth[t] * price_term * spike * active[e]
                tasks_all.append(tasks)
                fee = self.fee(cpt, calls_pt) if routes else 0.0
                bill = tasks * (cpt + fee)
                share, hit, at_cap_now, down = 1.0, False, False, False
                if cfg.budget.enabled:
                    if active[e] and (self.next_round[e] == t or self.next_round[e] < 0):
                        closing = self.months_in[e] > 0
                        if closing:
                            add("closed", we)
                            if self.at_cap[e]:
                                add("closed_over", we)
                                add("over_demanded", we * self.demanded[e])
                                add("over_budget", we * self.budget[e])
                                add("over_excess", we * (self.demanded[e] / self.budget[e] - 1.0
                                                         if self.budget[e] > 0 else 0.0))
                            self.base[e] = self.run_rate[e]
                            self.base_month[e] = float(t - 1)
                            length = period
                        else:
                            self.base[e] = float(pop.base_tasks[e]) * self.growth[t] * flag_cpt
                            self.base_month[e] = float(t)
                            offset = int(self.traits.budget_offset[e])
                            length = (offset if offset > 0 else period) if t == 0 else period
                        self.length[e] = length
                        ratio = cfg.budget.log_budget_to_forecast_mean + cfg.budget.log_budget_to_forecast_sd * float(
                            budget_draw[e])
                        self.budget[e] = self.budget_plan[e] = self.forecast(e, t, length) * math.exp(ratio)
                        self.log_ratio[e] = ratio
                        self.next_round[e] = t + length
                        self.paid[e] = self.demanded[e] = self.months_in[e] = 0.0
                        self.at_cap[e] = False
                    if cfg.budget.forecast == "rolling" and active[e] and self.next_round[e] > t and not self.at_cap[e]:
                        # the year's bill as projected now: demanded so far, this month, the rest at its run-rate;
                        # set in the period's first month, then only revised up
                        last = len(self.log_trend) - 1
                        ahead = 0.0
                        for j in range(self.next_round[e] - t - 1):
                            ahead += math.exp(self.log_trend[min(t + 1 + j, last)] - self.log_trend[t])
                        rest = bill / spike * ahead
                        projected = (self.demanded[e] + bill + rest) * math.exp(self.log_ratio[e])
                        if self.months_in[e] == 0:
                            self.budget[e] = self.budget_plan[e] = projected
                        else:
                            self.budget[e] = max(self.budget[e], projected)
                    behaviour = int(self.traits.cap_behaviour[e])
                    over = self.at_cap[e] or (self.paid[e] + bill > self.budget[e])
                    demanded_bill = bill
                    if over and behaviour == DOWNGRADE and routes:
                        calls = self.downgrade_plan(e, t, menus)
                        cpt, _, calls_pt = self.price(e, calls, menus)
                        fee = self.fee(cpt, calls_pt)
                        bill = tasks * (cpt + fee)
                        down = True
                        add("downgraded", we)
                    at_cap_now = over and active[e]
                    hit = at_cap_now and not self.at_cap[e]
                    gap = self.budget[e] - self.paid[e]
                    left = gap if gap > 1e-9 * self.budget[e] else 0.0
                    paid = bill
                    if at_cap_now and behaviour != OVERSPEND and bill > left:
                        share = left / bill if bill > 0 else 0.0
                        paid = left
                    held = at_cap_now and behaviour != OVERSPEND and bill > left
                    add("overspend", 0.0 if held else we * max(min(paid, self.paid[e] + paid - self.budget[e]), 0.0))
                    rate = self.budget_plan[e] / max(self.length[e], 1)
                    if active[e]:
                        add("runaway", we * float(paid > cfg.budget.runaway_multiple * rate))
                        max_ratio = max(max_ratio, bill / rate if rate > 0 else 0.0)
                    add("cap_hits", we * float(hit))
                    add("at_cap", we * float(at_cap_now))
                    self.paid[e] += paid
                    self.demanded[e] += demanded_bill * active[e]
                    self.months_in[e] += active[e]
                    if active[e]:
                        self.run_rate[e] = demanded_bill / spike
                    self.at_cap[e] = self.at_cap[e] or at_cap_now
                served = tasks * share
                add("demanded", we * tasks)
                add("throttled", we * (tasks - served))
                add("unmet", we * (tasks - served))
                add("spend", we * served * cpt)
                add("fees", we * served * fee)
                add("cf", we * served * flag_cpt)
                add("integration", we * cfg.router.integration_cost_usd if (self.newly[e] and routes) else 0.0)
                if routes:
                    add("router_spend", we * served * cpt)
                    add("router_cf", we * served * flag_cpt)
                row_success = [0.0] * n_seg
                row_served = [False] * n_seg
                for k, m, wt in calls:
                    row_tasks = we * served * self.seg_w(e, k)
                    calls_m[m] += row_tasks * wt
                    revenue[m] += row_tasks * wt * menus[k][0][m]
                    serving_m[m] += row_tasks * wt * self.serving_cost(t, k, m)
                    tokens[m] += row_tasks * wt * menus[k][2][m]
                    row_success[k] += wt * menus[k][1][m]
                    row_served[k] = True
                    if routes or down:
                        add("router_calls", row_tasks * wt)
                        if frontier[m]:
                            add("router_frontier_calls", row_tasks * wt)
                for k in range(n_seg):
                    row_tasks = we * served * self.seg_w(e, k)
                    if row_served[k]:
                        add("served", row_tasks)
                        add("succ", row_tasks * row_success[k])
                        if row_success[k] < float(pop.requirement[e]):
                            add("below", row_tasks)
                    else:
                        add("unmet", row_tasks)
                if routes:
                    add("routers", we)
                add("active", we * float(active[e]))
            self.newly = [False] * n

            shares = []
            for p in range(cat.n_providers):
                rev = sum(revenue[m] for m in range(n_mod) if cat.model_provider[m] == p)
                serving = sum(serving_m[m] for m in range(n_mod) if cat.model_provider[m] == p)
                self.result[p] += rev - serving - float(self.books.fixed_cost[t, p])
                row = []
                for x in range(3):
                    mine = sum(tokens[m] for m in range(n_mod)
                               if cat.model_provider[m] == p and cat.model_tier[m] == x)
                    total = sum(tokens[m] for m in range(n_mod) if cat.model_tier[m] == x)
                    row.append(mine / total if total > 0 else 0.0)
                shares.append(row)
            self.share_history.append(shares)
            for key, value in (("model_revenue", revenue), ("model_tokens", tokens), ("model_calls", calls_m),
                               ("provider_result", list(self.result))):
                put(key, value)
            for col, key in (("spend_usd", "spend"), ("no_routing_spend_usd", "cf"),
                             ("router_fees_usd", "fees"), ("integration_cost_usd", "integration"),
                             ("router_spend_usd", "router_spend"), ("router_no_routing_spend_usd", "router_cf"),
                             ("router_calls", "router_calls"), ("router_frontier_calls", "router_frontier_calls"),
                             ("tasks_demanded", "demanded"), ("tasks_served", "served"),
                             ("tasks_unmet", "unmet"), ("tasks_throttled", "throttled"),
                             ("tasks_below_requirement", "below"), ("expected_successes", "succ"),
                             ("adopters", "routers"), ("active_enterprises", "active"), ("cap_hits", "cap_hits"),
                             ("at_cap", "at_cap"), ("overspend_usd", "overspend"), ("runaway_events", "runaway"),
                             ("downgraded", "downgraded"), ("budget_periods_closed", "closed"),
                             ("budget_periods_overrun", "closed_over"), ("overrun_demanded_usd", "over_demanded"),
                             ("overrun_budget_usd", "over_budget"), ("overrun_excess_sum", "over_excess")):
                put(col, tot.get(key, 0.0))
            put("max_bill_to_budget", max_ratio)
            put("vendor_switches", switches)
            put("switched_past_year", sum(self.w[e] for e in range(n)
                                          if active[e] and t - self.last_switch[e] < 12))
            self.adopt(t, menus, flags_of, specs_of, tasks_all, active)
        return {k: np.array(v) for k, v in out.items()}

    def adopt(self, t, menus, flags_of, specs_of, tasks_all, active) -> None:
        cfg, pop, a = self.cfg, self.pop, self.cfg.adoption
        n = pop.size
        uniforms = self.adopt_rng.random(n)
        groups = [int(g) for g in pop.industry] if a.peer_group == "industry" else [0] * n
        members: dict[int, float] = {}
        adopters: dict[int, float] = {}
        for e in range(n):  # peers: the enterprises buying this month, weighted
            members[groups[e]] = members.get(groups[e], 0.0) + self.w[e] * active[e]
            adopters[groups[e]] = adopters.get(groups[e], 0.0) + self.w[e] * (self.adopted[e] and active[e])
        new = list(self.adopted)
        for e in range(n):
            if self.adopted[e] or not active[e]:
                continue
            peer = adopters[groups[e]] / members[groups[e]] if members[groups[e]] > 0 else 0.0
            hazard = a.innovation_p + a.cap_hit_push * self.at_cap_now(e) + a.imitation_q * peer
            if not uniforms[e] < 1.0 - math.exp(-hazard):
                continue
            if a.require_net_savings:
                policy = self.traits.policy_names[int(self.traits.policy[e])]
                flag = flags_of[e]
                cpt, _, calls_pt = self.price(e, self.plan(e, t, policy, menus, flag), menus)
                flag_spend = tasks_all[e] * self.flag_price(e, flag, menus, specs_of[e])[0]
                gain = (a.payback_months * (flag_spend - tasks_all[e] * (cpt + self.fee(cpt, calls_pt)))
                        - cfg.router.integration_cost_usd)
                if not gain > 1e-9 * a.payback_months * flag_spend:
                    continue
            new[e] = True
            self.newly[e] = True
        self.adopted = new

    def at_cap_now(self, e: int) -> bool:
        """At its cap this month: the period's cap was hit (reset at the next round)."""
        return bool(self.at_cap[e]) and self.cfg.budget.enabled


def reference_run(cfg: Config) -> dict[str, np.ndarray]:
    """Simulate ``cfg`` with loops; returns per-month arrays named like the model's record."""
    return Reference(cfg).run()
