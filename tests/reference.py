"""A per-agent reference implementation of the monthly step, in plain Python loops.

It shares only the inputs with the vectorised model (catalogue, workload, the drawn
population and the random streams) and recomputes routing, billing, demand, provider books
and adoption one enterprise, segment and model at a time, the obvious way. Tests assert
that the vectorised model gives the same numbers.
"""

from __future__ import annotations

import math

import numpy as np

from routesim.catalog import build_catalog
from routesim.config import Config
from routesim.population import draw_population
from routesim.workload import build_workload


def _flagship(cat, t: int, provider: int) -> int:
    best, best_key = -1, None
    for m in range(cat.n_models):
        if (cat.model_provider[m] == provider and cat.model_tier[m] == 0 and cat.flagship_eligible[m]
                and cat.available[t, m]):
            key = (-float(cat.capability[t, m]), float(cat.price_in[t, m] + cat.price_out[t, m]))
            if best_key is None or key < best_key:
                best, best_key = m, key
    return best


def _cheapest_acceptable(costs: list[float], probs: list[float], eligible: list[bool],
                         requirement: float) -> int:
    candidates = [m for m in range(len(costs)) if eligible[m]]
    if not candidates:
        return -1
    acceptable = [m for m in candidates if probs[m] >= requirement]
    if acceptable:
        return min(acceptable, key=lambda m: (costs[m], m))
    top = max(probs[m] for m in candidates)
    return min((m for m in candidates if probs[m] == top), key=lambda m: (costs[m], m))


def reference_run(cfg: Config) -> dict[str, np.ndarray]:
    """Simulate ``cfg`` with loops; returns per-month arrays named like the model's record."""
    cat, wl = build_catalog(cfg), build_workload(cfg)
    pop_rng, adopt_rng = np.random.default_rng(cfg.seed).spawn(2)
    pop = draw_population(cfg, cat.provider_ids, pop_rng)
    n, n_seg, n_mod = pop.size, wl.n_segments, cat.n_models
    adopted = [bool(u < cfg.adoption.initial_share) for u in adopt_rng.random(n)]
    policy = cfg.router.policy
    slope = wl.success_slope
    reference_cpt: list[float] | None = None
    cash = [0.0] * cat.n_providers
    out: dict[str, list] = {k: [] for k in (
        "model_revenue", "model_tokens", "model_tasks", "provider_cash", "spend_usd",
        "no_routing_spend_usd", "tasks_demanded", "tasks_served", "tasks_unmet",
        "tasks_below_requirement", "expected_successes", "adopters")}

    for t in range(len(cat.months)):
        flagships = [_flagship(cat, t, p) for p in range(cat.n_providers)]
        revenue, tokens, tasks_m = [0.0] * n_mod, [0.0] * n_mod, [0.0] * n_mod
        tot = dict.fromkeys(("spend", "cf", "demanded", "served", "unmet", "below", "succ"), 0.0)
        cpts = []
        for e in range(n):
            i = int(pop.industry[e])
            eligible = [bool(cat.available[t, m]) and (bool(pop.access[e]) or not cat.model_overseas[m])
                        for m in range(n_mod)]
            flag = flagships[int(pop.preferred[e])]
            routes = adopted[e] and cfg.scenario.routing_allowed and policy != "single"
            seg_choice, seg_cost, seg_flag_cost, seg_tokens, seg_prob = [], [], [], [], []
            for k in range(n_seg):
                d = float(wl.difficulty[i, k])
                costs, probs, toks = [], [], []
                for m in range(n_mod):
                    tin = float(wl.tokens_in[i, k])
                    tout = float(wl.tokens_out[i, k]) * float(cat.output_tokens_multiplier[m])
                    costs.append((tin * float(cat.price_in[t, m]) + tout * float(cat.price_out[t, m])) / 1e6)
                    probs.append(1.0 / (1.0 + math.exp(-slope * (float(cat.capability[t, m]) - d))))
                    toks.append(tin + tout)
                if routes and (policy == "cost_optimal"
                               or (policy == "threshold" and d <= cfg.router.threshold_difficulty)):
                    m = _cheapest_acceptable(costs, probs, eligible, float(pop.requirement[e]))
                else:
                    m = flag
                seg_choice.append(m)
                seg_cost.append(costs[m] if m >= 0 else 0.0)
                seg_flag_cost.append(costs[flag] if flag >= 0 else 0.0)
                seg_tokens.append(toks[m] if m >= 0 else 0.0)
                seg_prob.append(probs[m] if m >= 0 else 0.0)
            w = 1.0 / n_seg
            cpt = sum(c * w for c in seg_cost)
            flag_cpt = sum(c * w for c in seg_flag_cost)
            cpts.append(flag_cpt)
            growth = (1.0 + cfg.demand.growth_per_month) ** t
            ref = flag_cpt if reference_cpt is None else reference_cpt[e]
            eps = cfg.demand.price_elasticity
            price_term = (cpt / ref) ** (-eps) if (eps != 0.0 and ref > 0) else 1.0
            volume = float(pop.base_tasks[e]) * growth * price_term
            tot["demanded"] += volume
            tot["spend"] += volume * cpt
            tot["cf"] += volume * flag_cpt
            for k in range(n_seg):
                seg_tasks = volume * w
                m = seg_choice[k]
                if m < 0:
                    tot["unmet"] += seg_tasks
                    continue
                tot["served"] += seg_tasks
                tot["succ"] += seg_tasks * seg_prob[k]
                if seg_prob[k] < float(pop.requirement[e]):
                    tot["below"] += seg_tasks
                revenue[m] += seg_tasks * seg_cost[k]
                tokens[m] += seg_tasks * seg_tokens[k]
                tasks_m[m] += seg_tasks
        if reference_cpt is None:
            reference_cpt = cpts

        for p in range(cat.n_providers):
            rev = sum(revenue[m] for m in range(n_mod) if cat.model_provider[m] == p)
            serving = sum(revenue[m] * float(cat.serving_cost_fraction[m]) for m in range(n_mod)
                          if cat.model_provider[m] == p)
            fixed = cfg.market.providers[cat.provider_ids[p]].fixed_cost_usd_per_month
            cash[p] += rev - serving - fixed
        routers = sum(1 for e in range(n) if adopted[e] and cfg.scenario.routing_allowed)
        for key, value in (("model_revenue", revenue), ("model_tokens", tokens), ("model_tasks", tasks_m),
                           ("provider_cash", list(cash)), ("spend_usd", tot["spend"]),
                           ("no_routing_spend_usd", tot["cf"]), ("tasks_demanded", tot["demanded"]),
                           ("tasks_served", tot["served"]), ("tasks_unmet", tot["unmet"]),
                           ("tasks_below_requirement", tot["below"]),
                           ("expected_successes", tot["succ"]), ("adopters", float(routers))):
            out[key].append(value)

        # adoption, one enterprise at a time, with the same uniforms as the model
        uniforms = adopt_rng.random(n)
        groups = ([int(g) for g in pop.industry] if cfg.adoption.peer_group == "industry" else [0] * n)
        members: dict[int, int] = {}
        adopters: dict[int, int] = {}
        for e in range(n):
            members[groups[e]] = members.get(groups[e], 0) + 1
            adopters[groups[e]] = adopters.get(groups[e], 0) + int(adopted[e])
        new = list(adopted)
        for e in range(n):
            if not adopted[e]:
                share = adopters[groups[e]] / members[groups[e]]
                hazard = cfg.adoption.innovation_p + cfg.adoption.imitation_q * share
                new[e] = bool(uniforms[e] < 1.0 - math.exp(-hazard))
        adopted = new
    return {k: np.array(v) for k, v in out.items()}
