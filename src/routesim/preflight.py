"""Checks that a run can finish and mean something, made before anything is simulated.

The schemas in :mod:`routesim.config` check each key alone. Some failures only show in
the whole run: months outside what the catalogue describes, a population preferring a lab
that sells nothing yet, compounding growth, trends, shocks and rebound that would take the
bills past any economy (or past float64), and a run too large for the memory left on the
machine. These functions look at the run's exogenous arrays (catalogue prices, trend growth,
provider books), all small, and raise :class:`routesim.config.ConfigError` naming the keys
involved and what is allowed:

- :func:`check_span`: ``start`` .. ``end`` inside the catalogue's span (below);
- :func:`check_scale`: an upper estimate of the run's monthly bill and task count under
  ``MAX_USD_PER_MONTH`` and ``MAX_TASKS_PER_MONTH``, every price positive and finite;
- :func:`check_memory`: the estimated peak memory (:func:`estimate_peak_bytes`) below the
  memory available (:func:`available_bytes`).

The catalogue's span for a run starts in the first month in which every provider with a
positive ``population.preferred_vendor_weights`` has an everyday model (a flagship-eligible
model: :func:`routesim.vendors.everyday_models` picks among them) on offer, so that no
enterprise starts with a vendor that sells nothing; it ends ``HORIZON_YEARS`` after the
catalogue's last dated fact (a release, a retirement, a price change or
``market.trends.start``): beyond that the tier trends are not an extrapolation but fiction.
Within the run every month must offer an everyday model to enterprises without overseas
access whenever a vendor has none they may use. A vendor that has no everyday model in some
month (its last one retired) is allowed: its customers move that very month to the vendor
the logit prefers (``MarketModel._reevaluate_vendors``); a month in which some of them could
not move (no vendor sells a non-overseas everyday model) ends the span, since their demand
would have no price (it would be infinite).
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path

import numpy as np
from scipy import special

from routesim.config import Config, ConfigError, format_month, parse_month

HORIZON_YEARS = 50
# Far beyond any market (world GDP is ~1e14 USD a year; the calibrated market bills ~1e9 a
# month), yet far below float64's 1.8e308. The estimate they bound is loose (its price rebound
# takes the cheapest model ever against the dearest month-0 flagship: up to ~1e4 times the
# simulated one with a strong rebound), so the limits leave that room: a legitimate run at
# 10 million enterprises, price war and elasticity 1.1 passes; 1e99 tasks or $1e216 do not.
MAX_USD_PER_MONTH = 1e20
MAX_TASKS_PER_MONTH = 1e23


def check_run(cfg: Config) -> None:
    """All checks that need the whole config but no memory measurement: span and scale."""
    check_span(cfg)
    check_scale(cfg)


def _catalog(cfg: Config, start: int, end: int):  # noqa: ANN202 - a routesim.catalog.Catalog
    from routesim.catalog import build_catalog  # local: catalog imports config, as this module does

    wide = copy.copy(cfg)  # a shallow copy: no __post_init__, so no recursion into these checks
    wide.start, wide.end = format_month(start), format_month(end)
    return build_catalog(wide)


def last_dated_fact(cfg: Config) -> int:
    """The catalogue's last dated fact (absolute month): release, retire, price change, trends.start."""
    months = [parse_month(cfg.market.trends.start, "market.trends.start")]
    for spec in [*cfg.market.models.values(), *cfg.scenario.new_models.values()]:
        months.append(parse_month(spec.release, "release"))
        if spec.retire is not None:
            months.append(parse_month(spec.retire, "retire"))
        months += [parse_month(c.month, "month") for c in spec.price_changes]
    return max(months)


def check_span(cfg: Config) -> None:
    """Refuse ``start`` / ``end`` outside the catalogue's span, naming the allowed range."""
    start, end = parse_month(cfg.start, "start"), parse_month(cfg.end, "end")
    last_allowed = (last_dated_fact(cfg) // 12 + HORIZON_YEARS) * 12 + 11  # December of that year
    specs = [*cfg.market.models.values(), *cfg.scenario.new_models.values()]
    first_release = min(parse_month(s.release, "release") for s in specs)
    lo = min(first_release, start)
    cat = _catalog(cfg, lo, max(min(end, last_allowed), start))
    offer, offer_domestic = everyday_offer(cat)  # (T, P) each
    vendors = {p: w for p, w in cfg.population.preferred_vendor_weights.items() if w > 0}
    first_allowed, late = lo, ""
    for pid, weight in vendors.items():
        has = np.flatnonzero(offer[:, cat.provider_ids.index(pid)])
        first = int(cat.months[has[0]]) if len(has) else None
        if first is None:
            raise ConfigError(f"population.preferred_vendor_weights.{pid} = {weight:g}: provider '{pid}' never "
                              "has an everyday model on offer; give it weight 0 or add one to market.models.")
        if first > first_allowed:
            first_allowed, late = first, f"{pid} (population.preferred_vendor_weights.{pid} = {weight:g})"
    # A vendor without an everyday model its customers may use loses them that month; those
    # without overseas access need a vendor with a model that is not overseas to move to.
    run = cat.months >= max(start, first_allowed)
    covered = offer_domestic.any(axis=1)  # (T,)
    weighted = np.isin(np.array(cat.provider_ids), list(vendors))
    could_be_vendor = np.maximum.accumulate(offer & run[:, None], axis=0) | weighted[None, :]
    stranded = (could_be_vendor & ~offer_domestic).any(axis=1) & ~covered & run
    after = np.flatnonzero(stranded)
    if len(after):
        last_allowed = min(last_allowed, int(cat.months[after[0]]) - 1)
    allowed = f"allowed: {format_month(first_allowed)} .. {format_month(last_allowed)}"
    if start < first_allowed:
        raise ConfigError(f"start = {cfg.start} is outside the catalogue's span: {late} has no everyday model on "
                          f"offer before {format_month(first_allowed)}; {allowed}.")
    if end > last_allowed:
        lost = [cat.provider_ids[p] for p in np.flatnonzero(could_be_vendor[after[0]] & ~offer_domestic[after[0]])
                ] if len(after) else []
        why = (f"in {format_month(last_allowed + 1)} {', '.join(lost)} {'has' if len(lost) == 1 else 'have'} no "
               "everyday model on offer to customers without overseas access, and they have no other vendor to "
               "move to"
               if len(after) else
               f"the tier trends extrapolate at most {HORIZON_YEARS} years beyond the catalogue's last dated fact "
               f"({format_month(last_dated_fact(cfg))})")
        raise ConfigError(f"end = {cfg.end} is outside the catalogue's span: {why}; {allowed}.")


def everyday_offer(cat: object) -> tuple[np.ndarray, np.ndarray]:
    """(T, P) whether each lab has a candidate everyday model on offer, and one that is not overseas.

    A candidate is a flagship-eligible model on offer (:func:`routesim.vendors.everyday_models`
    picks among them); customers without overseas access may use only the second kind.
    """
    candidate = cat.available & cat.flagship_eligible[None, :]  # (T, M)
    mine = cat.model_provider[None, :] == np.arange(cat.n_providers)[:, None]  # (P, M)
    offer = (candidate[:, None, :] & mine[None]).any(axis=2)
    domestic = (candidate[:, None, :] & ~cat.model_overseas[None, None, :] & mine[None]).any(axis=2)
    return offer, domestic


def _reactive(cfg: Config) -> bool:
    strategies = [cfg.pricing.strategy] if cfg.pricing.strategy else [p.pricing for p in cfg.market.providers.values()]
    return "reactive" in strategies


def scale_estimate(cfg: Config, cat: object = None, books: object = None) -> dict[str, float]:
    """Estimates (log10) of the factors of the run's busiest month; see :func:`check_scale`.

    Returns log10 of: the number of enterprises, the mean tasks of one at the start (size,
    with spikes), the largest trend growth, the largest price rebound, the dearest and
    cheapest cost per task, the expected tasks and USD of the busiest month (every enterprise
    at its mean size: ``tasks``, ``usd``) and an upper bound of them (plus the largest
    enterprise, the 1 - 1e-6 / N quantile of sizes, at the largest spike: ``tasks_worst``,
    ``usd_worst``). ``cat`` and ``books``: the run's catalogue and provider books, if built.
    """
    from routesim.economics import build_books  # local: economics and workload import config
    from routesim.workload import growth_path

    start, end = parse_month(cfg.start, "start"), parse_month(cfg.end, "end")
    cat = cat if cat is not None else _catalog(cfg, start, end)
    n_months = end - start + 1
    on = cat.available
    if not on.any():
        raise ConfigError(f"no model is on offer between start ({cfg.start}) and end ({cfg.end}).")
    pop, d, pr = cfg.population, cfg.demand, cfg.pricing
    with np.errstate(all="ignore"):  # overflow shows as inf below and is refused
        books = books if books is not None else build_books(cfg, cat.months, cat.provider_ids)
        growth = growth_path(d, n_months)
        log_growth = float(np.log10(np.max(growth)))
        if not np.all(np.isfinite(growth)) or np.min(growth) <= 0:
            log_growth = math.inf
        list_price = cat.price_in + cat.price_out  # (T, M)
        low_factor = 0.0  # the reactive strategy's lowest multiplier: one cut per cooldown, never below its floor
        if _reactive(cfg):
            by_cuts = math.ceil(n_months / pr.cooldown_months + 1) * math.log10(1 - pr.cut_fraction)
            launch = cat.launch_price_in + cat.launch_price_out
            need = (1 + pr.floor_markup) * books.serving_fraction[:, cat.model_provider] * launch / list_price
            low_factor = min(0.0, max(by_cuts, float(np.log10(np.min(need[on])))))
        log_cheap, log_dear, log_reference = _cost_range(cfg, cat)
        log_cheap += low_factor
        # the rebound compares an enterprise's cost per successful task (at least the cheapest
        # cost per task) with its reference (its cost per successful task when it entered)
        log_ratio = log_cheap - log_reference
    log_rebound = max(0.0, -d.price_elasticity * log_ratio) if d.price_elasticity else 0.0
    n = pop.market_enterprises  # the agents are a weighted sample standing for this many enterprises
    mean_size = math.exp(pop.size_sigma**2 / 2) * (1.0 + d.spike_probability * d.spike_max_multiple)
    # the largest agent drawn (half the agents come from the size-biased density, a log-normal
    # shifted by sigma^2), unweighted, at the largest spike
    tail = float(special.ndtri(1.0 - 1e-6 / pop.n_enterprises))
    largest = math.exp(pop.size_sigma**2 + pop.size_sigma * tail) * d.spike_max_multiple
    log_median, log_n = math.log10(pop.size_median_tasks_per_month), math.log10(n)
    log_size = log_median + math.log10(mean_size)
    calls = math.log10(2.0)  # a cascade calls twice
    log_tasks = log_n + log_size + log_growth + log_rebound + calls
    log_tasks_worst = log_median + math.log10(n * mean_size + largest) + log_growth + log_rebound + calls
    r = cfg.router
    log_fee = math.log10(1.0 + r.fee_share_of_spend + (2 * r.fee_usd_per_1k_requests / 1000) / 10**log_dear)
    return {"enterprises": log_n, "size": log_size, "growth": log_growth, "rebound": log_rebound,
            "dear_cost_per_task": log_dear, "cheap_cost_per_task": log_cheap, "tasks": log_tasks,
            "usd": log_tasks + log_dear + log_fee, "tasks_worst": log_tasks_worst,
            "usd_worst": log_tasks_worst + log_dear + log_fee}


def _cost_range(cfg: Config, cat: object) -> tuple[float, float, float]:
    """log10 of the cheapest and dearest cost per task on offer, and of the dearest reference.

    Costs at list prices over the run (tokens grow with difficulty, which tracks the
    frontier). The reference is the rebound's: an enterprise's cost per successful task when
    it enters, here the dearest of an everyday candidate (flagship-eligible, on offer) on an
    industry's mix of segments in any month.
    """
    from routesim.workload import build_workload

    w = build_workload(cfg, cat)
    n_t = len(cat.months)
    shift = np.zeros(n_t) if w.difficulty_shift is None else np.asarray(w.difficulty_shift, float)[:n_t]
    difficulty = w.base_difficulty[None, :] + shift[:, None]  # (T, K)
    scale = np.exp(w.tokens_difficulty_slope * (difficulty - w.family_mean[None, :]))
    tokens_in, tokens_out = w.base_tokens_in * scale, w.base_tokens_out * scale  # (T, K)
    cost = (tokens_in[:, :, None] * cat.price_in[:, None, :] + tokens_out[:, :, None]
            * cat.output_tokens_multiplier[None, None, :] * cat.price_out[:, None, :]) / 1e6  # (T, K, M)
    on = np.broadcast_to(cat.available[:, None, :], cost.shape)
    cheap, dear = float(np.min(cost, where=on, initial=np.inf)), float(np.max(cost, where=on, initial=0.0))
    ability = np.moveaxis(cat.skill_ability[w.segment_skill], 0, 1)  # (T, K, M)
    success = special.expit(w.success_slope[None, :, None] * (ability - difficulty[:, :, None]))
    cost_im = np.einsum("ik,tkm->tim", w.segment_weight, cost)
    success_im = np.einsum("ik,tkm->tim", w.segment_weight, success)
    eligible = np.broadcast_to((cat.available & cat.flagship_eligible[None, :])[:, None, :], cost_im.shape)
    reference = float(np.max(cost_im / np.maximum(success_im, 1e-300), where=eligible, initial=0.0))
    return float(np.log10(cheap)), float(np.log10(dear)), float(np.log10(reference))


def _e(log10: float) -> str:
    """10 ** log10 written briefly, without overflowing."""
    if not math.isfinite(log10):
        return "inf"
    return f"{10**log10:.3g}" if abs(log10) < 300 else f"1e{log10:.0f}"


def check_scale(cfg: Config) -> None:
    """Refuse a run whose busiest month is beyond any market, or whose arithmetic could overflow.

    The expected bill and task count of the busiest month (every enterprise at its mean size
    and spikes, x the largest trend growth over the horizon, x the largest price rebound
    ((cheapest cost per task ever, reactive cuts included / dearest month-0 flagship cost) **
    -elasticity), x the dearest cost per task on offer, two calls a task, fees) must stay
    under ``MAX_USD_PER_MONTH`` and ``MAX_TASKS_PER_MONTH``; generous by design, so what it
    refuses is absurd rather than merely large. An upper bound of the same (the largest
    enterprise at the largest spike added) must stay far from float64's limit, and provider
    books (fixed cost, serving cost) under the same money limit.
    """
    from routesim.economics import build_books  # local: economics imports config

    start, end = parse_month(cfg.start, "start"), parse_month(cfg.end, "end")
    cat = _catalog(cfg, start, end)
    with np.errstate(all="ignore"):
        books = build_books(cfg, cat.months, cat.provider_ids)
    est = scale_estimate(cfg, cat, books)
    factors = (f"{_e(est['enterprises'])} enterprises (population.market_enterprises) x {_e(est['size'])} tasks "
               f"each (population.size_*, demand.spike_*) x {_e(est['growth'])} growth (demand.*growth*, start, "
               f"end) x {_e(est['rebound'])} rebound (demand.price_elasticity and the price range)")
    if not math.isfinite(est["cheap_cost_per_task"]) or est["cheap_cost_per_task"] < -300:
        raise ConfigError("the cheapest cost per task reaches 0: prices fall below what float64 holds "
                          "(market.trends.*.price_change_per_year, scenario.shocks, pricing.cut_fraction over "
                          f"start .. end = {cfg.start} .. {cfg.end}); raise them or shorten the horizon.")
    if not est["tasks"] <= math.log10(MAX_TASKS_PER_MONTH):
        raise ConfigError(f"the run would demand ~{_e(est['tasks'])} tasks in its busiest month ({factors}), above "
                          f"the limit of {MAX_TASKS_PER_MONTH:.0e}; lower those keys or shorten the horizon (end).")
    if not est["usd"] <= math.log10(MAX_USD_PER_MONTH):
        raise ConfigError(f"the run would bill ~${_e(est['usd'])} in its busiest month ({factors} x up to "
                          f"${_e(est['dear_cost_per_task'])} per task: market.models prices, market.trends, "
                          f"scenario.shocks), above the limit of ${MAX_USD_PER_MONTH:.0e}; lower those keys or "
                          "shorten the horizon (end).")
    if not est["usd_worst"] <= 250 or not est["tasks_worst"] <= 250:
        raise ConfigError(f"the run's largest enterprise could reach ~{_e(est['tasks_worst'])} tasks or "
                          f"${_e(est['usd_worst'])} in a month, too close to float64's limit (1.8e308): lower "
                          "population.size_sigma, demand.spike_max_multiple or the keys above.")
    for name, values, limit in (("fixed_cost_usd_per_month", books.fixed_cost, MAX_USD_PER_MONTH),
                                ("serving_cost_fraction", books.serving_fraction, 1e3)):
        worst = np.nanmax(np.abs(values)) if np.isfinite(values).all() else math.inf
        if not worst <= limit:
            p = int(np.argmax(np.nan_to_num(np.abs(values), posinf=np.inf).max(axis=0)))
            raise ConfigError(f"market.providers.{cat.provider_ids[p]}.{name} grows to {worst:.3g} by {cfg.end} "
                              f"(its growth_per_year or serving_cost_change_per_year over the horizon), above the "
                              f"limit of {limit:.0e}; lower it or shorten the horizon (end).")


# ------------------------------------------------------------------------------------ memory

# Peak resident memory of one run, in two parts. BASE_BYTES bounds the interpreter and the
# libraries after ``import routesim`` (measured 151-158 MB in the development venv and 187-201
# MB in fresh CI venvs on 2026-12-01, the same package versions: it depends on the environment,
# so it is a bound with room, not a fit). The rest is what a run adds on top of that, fitted on the
# increment over the imports (development venv, 2026-12-01, imports 157 MB). What a run adds
# grows with its months as well as its enterprises (the record and the heap over a run): at
# 100k enterprises 145, 168 and 207 MB to 2024-12, 2026-12 and 2030-12, and 106 MB at 50k to
# 2030-12, against 203, 203, 203 and 101 MB from terms without months (an underestimate of the
# default horizon). With a per-enterprise-month term these terms estimate 160, 184, 232 and
# 116 MB (1.10-1.12 x), and at the other runs of the slow test 130 MB for 50k with 24
# segments to 2025-12 (107 measured), 921 MB for 30k logit with every enterprise buying and
# routing from the start (868) and 1501 MB for 50k with the panel to 2030-12 (1345). The
# logit term is per routing enterprise: the same 30k run with the fitted share buying at the
# start (0.42 or 0.52 of the enterprises) added 394 or 479 MB. Until 2026-12-01 a 160 MB base
# absorbed part of the logit term, fitted at that lower share, and the per-segment term was 110
# (estimates 0.98-2.02 x the increment). Terms: per enterprise (Mesa agents, population and
# trait arrays); per enterprise-segment (plans, noise, rows); per enterprise-segment-model
# (the policies' working arrays: logit keeps a full (N, K, M) plan, as if every enterprise
# routed); per enterprise-month (growth over the run); per enterprise-month of panel.
# benchmarks/bench_engine.py prints the estimate beside the measured peak, and the slow test
# checks imports <= BASE_BYTES and increment <= estimate - BASE_BYTES <= 2 x increment.
BASE_BYTES = 250e6
PER_ENTERPRISE = 950.0
PER_ENTERPRISE_MONTH = 10.0
PER_ENTERPRISE_SEGMENT = 40.0
PER_ENTERPRISE_SEGMENT_MODEL = {"logit": 44.0, "cascade": 1.0, "other": 0.25}
PER_PANEL_ROW = 330.0


def n_segments(cfg: Config) -> int:
    """K: the number of (task family, difficulty) segments."""
    return len(cfg.workload.families) * cfg.workload.segments_per_family


def estimate_peak_bytes(cfg: Config) -> float:
    """Estimated peak resident memory of ``simulate(cfg)``, in bytes (formula above)."""
    n, k = cfg.population.n_enterprises, n_segments(cfg)
    m = len(cfg.market.models) + len(cfg.scenario.new_models)
    months = parse_month(cfg.end, "end") - parse_month(cfg.start, "start") + 1
    policies = {p for p, w in cfg.router.policy_weights().items() if w > 0} if cfg.scenario.routing_allowed else set()
    per_nkm = max(PER_ENTERPRISE_SEGMENT_MODEL.get(p, PER_ENTERPRISE_SEGMENT_MODEL["other"]) for p in policies | {""})
    panel = PER_PANEL_ROW * n * months if cfg.output.enterprise_panel else 0.0
    return (BASE_BYTES + n * (PER_ENTERPRISE + PER_ENTERPRISE_MONTH * months + PER_ENTERPRISE_SEGMENT * k
                              + per_nkm * k * m) + panel)


def available_bytes() -> float | None:
    """Memory this process can still get: /proc/meminfo's MemAvailable, or less under a cgroup limit.

    None where neither /proc nor psutil can tell (the check is then skipped).
    """
    found: list[float] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(float(line.split()[1]) * 1024)
    except OSError:
        try:
            import psutil  # optional: only where /proc is missing

            found.append(float(psutil.virtual_memory().available))
        except ImportError:
            pass
    try:  # a container's cgroup v2 limit, if any
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = float(Path("/sys/fs/cgroup/memory.current").read_text().strip())
            found.append(float(limit) - used)
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def check_memory(cfg: Config, available: float | None = None) -> None:
    """Refuse a run whose estimated peak memory exceeds the memory available, with both figures.

    ``available`` defaults to :func:`available_bytes` now; ``ROUTESIM_MEMORY_LIMIT_MB``, if set,
    caps it (to keep a shared machine's runs small, or to test this check).
    """
    if available is None:
        available = available_bytes()
    cap = os.environ.get("ROUTESIM_MEMORY_LIMIT_MB")
    if cap:
        available = min(available if available is not None else math.inf, float(cap) * 1e6)
    if available is None:
        return
    need = estimate_peak_bytes(cfg)
    if need > available:
        n, k = cfg.population.n_enterprises, n_segments(cfg)
        raise ConfigError(
            f"the run needs an estimated {need / 1e9:.3g} GB of memory ({n} enterprises x {k} segments x "
            f"{len(cfg.market.models) + len(cfg.scenario.new_models)} models"
            f"{', with the enterprise panel' if cfg.output.enterprise_panel else ''}; formula in "
            f"routesim.preflight), more than the {available / 1e9:.3g} GB available; lower population.n_enterprises "
            "or workload.segments_per_family, or switch output.enterprise_panel off.")

