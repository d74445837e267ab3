"""Tidy tables from a finished model, and the invariants every run must satisfy.

Units, once for the whole package: money in US dollars (columns end in ``_usd``), list
prices in USD per 1M tokens (``_usd_per_mtok``), tokens and tasks as plain counts per
month, shares as fractions in [0, 1], HHI on the 0-10,000 scale. Every table has a
``month`` column (the first day of the month) and one row per key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from routesim.config import TIERS, format_month

if TYPE_CHECKING:  # the model imports market_row from here
    from routesim.model import MarketModel

INVARIANT_RTOL = 1e-9


class InvariantError(RuntimeError):
    """A run broke one of its accounting invariants."""


def _shares(values: np.ndarray, axis: int = -1) -> np.ndarray:
    total = values.sum(axis=axis, keepdims=True)
    return np.divide(values, total, out=np.zeros_like(values, dtype=float), where=total > 0)


def month_index(model: MarketModel) -> pd.DatetimeIndex:
    """The simulated months as month-start timestamps."""
    return pd.to_datetime([format_month(int(m)) + "-01" for m in model.catalog.months])


def build_tables(model: MarketModel) -> dict[str, pd.DataFrame]:
    """The five output tables (README "Outputs"), plus the optional enterprise panel.

    Usage share is one thing everywhere: a provider's (tier's) share of model calls, the unit
    of enterprise work sent to a model (Menlo's "share of AI workloads"; a cascade's escalated
    task counts once at each model it calls). Spend share (of enterprise spend on models, =
    revenue share) and token share are their own columns beside it.
    """
    cat, rec = model.catalog, model.record
    months = month_index(model)
    n_t, n_m, n_p = len(months), cat.n_models, cat.n_providers
    revenue = np.array(rec.model_revenue)  # (T, M)
    tokens = np.array(rec.model_tokens)
    calls = np.array(rec.model_calls)

    on_offer = cat.available | (revenue > 0)
    tt, mm = np.nonzero(on_offer)
    factor = np.array(rec.price_factor)  # (T, M) pricing strategies' multipliers
    models = pd.DataFrame({
        "month": months[tt],
        "model": np.array(cat.model_ids)[mm],
        "provider": np.array(cat.provider_ids)[cat.model_provider[mm]],
        "tier": np.array(TIERS)[cat.model_tier[mm]],
        "price_in_usd_per_mtok": cat.price_in[tt, mm] * factor[tt, mm],
        "price_out_usd_per_mtok": cat.price_out[tt, mm] * factor[tt, mm],
        "ability": cat.ability[tt, mm],
        "calls": calls[tt, mm],
        "tokens": tokens[tt, mm],
        "revenue_usd": revenue[tt, mm],
    })

    to_provider = np.zeros((n_m, n_p))
    to_provider[np.arange(n_m), cat.model_provider] = 1.0
    p_revenue, p_tokens, p_calls = revenue @ to_provider, tokens @ to_provider, calls @ to_provider
    books = {k: np.array(v) for k, v in rec.provider.items()}  # (T, P) each
    serving, fixed = books["serving_cost_usd"], books["fixed_cost_usd"]
    providers = pd.DataFrame({
        "month": np.repeat(months, n_p),
        "provider": np.tile(cat.provider_ids, n_t),
        "origin": np.tile(cat.provider_origin, n_t),
        "revenue_usd": p_revenue.ravel(),
        "calls": p_calls.ravel(),
        "tokens": p_tokens.ravel(),
        "usage_share": _shares(p_calls).ravel(),
        "spend_share": _shares(p_revenue).ravel(),
        "token_share": _shares(p_tokens).ravel(),
        "serving_cost_usd": serving.ravel(),
        "gross_margin_usd": (p_revenue - serving).ravel(),
        "fixed_cost_usd": fixed.ravel(),
        "operating_income_usd": (p_revenue - serving - fixed).ravel(),
        "cumulative_operating_income_usd": books["cumulative_operating_income_usd"].ravel(),
    })

    n_tiers = len(TIERS)
    to_tier = np.zeros((n_m, n_tiers))
    to_tier[np.arange(n_m), cat.model_tier] = 1.0
    t_revenue, t_tokens, t_calls = revenue @ to_tier, tokens @ to_tier, calls @ to_tier
    tiers = pd.DataFrame({
        "month": np.repeat(months, n_tiers),
        "tier": np.tile(TIERS, n_t),
        "revenue_usd": t_revenue.ravel(),
        "calls": t_calls.ravel(),
        "tokens": t_tokens.ravel(),
        "usage_share": _shares(t_calls).ravel(),
        "spend_share": _shares(t_revenue).ravel(),
        "token_share": _shares(t_tokens).ravel(),
    })

    ent = pd.DataFrame(rec.enterprise)
    ent.insert(0, "month", months)
    ent["savings_usd"] = (ent["no_routing_spend_usd"] - ent["spend_usd"] - ent["router_fees_usd"]
                          - ent["integration_cost_usd"])
    ent["savings_share"] = _ratio(ent["savings_usd"], ent["no_routing_spend_usd"])
    router_savings = (ent["router_no_routing_spend_usd"] - ent["router_spend_usd"] - ent["router_fees_usd"]
                      - ent["integration_cost_usd"])
    # among the enterprises routing that month: what they save, and their calls to frontier models
    ent["router_savings_share"] = _ratio(router_savings, ent["router_no_routing_spend_usd"])
    ent["router_frontier_call_share"] = _ratio(ent["router_frontier_calls"], ent["router_calls"])
    ent["success_rate"] = _ratio(ent["expected_successes"], ent["tasks_served"])
    ent["n_agents"] = model.population.size
    # counts are of real enterprises (weighted agents); shares are of those buying that month
    active = ent["active_enterprises"]
    ent["adopter_share"] = _ratio(ent["adopters"], active)
    # of the market's enterprises (all that buy model APIs once every one has entered)
    ent["active_share"] = active / model.population.weight.sum()
    ent["at_cap_share"] = _ratio(ent["at_cap"], active)
    # of the budget years closing this month, the share that hit the cap (overran)
    ent["budget_overrun_share"] = _ratio(ent["budget_periods_overrun"], ent["budget_periods_closed"])
    # of those overrun years: the mean overspend, demand / budget - 1 (a mean over enterprises)
    ent["budget_overspend_mean"] = _ratio(ent["overrun_excess_sum"], ent["budget_periods_overrun"])
    # vendor changes this month per enterprise (summed over a year: the share that switched,
    # counting an enterprise that switched twice twice)
    ent["vendor_switch_share"] = _ratio(ent["vendor_switches"], active)
    # of the enterprises buying this month, the share that switched vendor at least once in
    # the 12 months to this one (a share of firms, as surveys ask it)
    ent["switched_past_year_share"] = _ratio(ent["switched_past_year"], active)

    # the rows reported as the months were collected (the same function of the same record)
    rows = rec.market if len(rec.market) == n_t else [market_row(model, t) for t in range(n_t)]
    market = pd.DataFrame(rows)
    market.insert(0, "month", months)

    tables = {"providers": providers, "models": models, "tiers": tiers, "enterprises": ent,
              "market": market}
    if rec.panel:
        n = model.population.size
        panel = {k: np.concatenate([p[k] for p in rec.panel]) for k in rec.panel[0]}
        tables["enterprise_panel"] = pd.DataFrame({
            "month": np.repeat(months, n), "enterprise": np.tile(np.arange(n), n_t),
            "weight": np.tile(model.population.weight, n_t), **panel,
            "savings_usd": panel["no_routing_spend_usd"] - panel["spend_usd"] - panel["router_fees_usd"],
        })
    return tables


def _ratio(num: np.ndarray | pd.Series, den: np.ndarray | pd.Series) -> np.ndarray:
    """The ratio of two series, 0 where the denominator is 0."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def market_row(model: MarketModel, t: int) -> dict[str, float]:
    """Month ``t``'s row of the ``market`` table (all but ``month``), from the model's record.

    ``build_tables`` stacks these rows, and the model's DataCollector reports the same row at
    the end of every step, so batch_run's model reporters are the market table by construction.
    Usage share is the share of model calls, as everywhere.
    """
    cat, rec, ent = model.catalog, model.record, model.record.enterprise[t]
    revenue, tokens, calls = rec.model_revenue[t], rec.model_tokens[t], rec.model_calls[t]
    p_revenue = np.bincount(cat.model_provider, revenue, cat.n_providers)
    p_calls = np.bincount(cat.model_provider, calls, cat.n_providers)
    t_revenue = np.bincount(cat.model_tier, revenue, len(TIERS))
    t_tokens = np.bincount(cat.model_tier, tokens, len(TIERS))
    t_calls = np.bincount(cat.model_tier, calls, len(TIERS))
    frontier = TIERS.index("frontier")
    total_calls = calls.sum()

    def ratio(num: float, den: float) -> float:
        return num / den if den > 0 else 0.0

    savings = (ent["no_routing_spend_usd"] - ent["spend_usd"] - ent["router_fees_usd"]
               - ent["integration_cost_usd"])
    row = {
        "total_spend_usd": revenue.sum(),
        "calls": total_calls,
        "tokens": tokens.sum(),
        "hhi_spend": 10_000 * (_shares(p_revenue) ** 2).sum(),
        "hhi_usage": 10_000 * (_shares(p_calls) ** 2).sum(),
        "frontier_revenue_usd": t_revenue[frontier],
        "frontier_calls": t_calls[frontier],
        # per frontier call served (what a frontier task earns), and per call of any tier
        "frontier_revenue_per_frontier_call_usd": ratio(t_revenue[frontier], t_calls[frontier]),
        "frontier_revenue_per_call_usd": ratio(t_revenue[frontier], total_calls),
        "frontier_usage_share": _shares(t_calls)[frontier],
        "frontier_spend_share": _shares(t_revenue)[frontier],
        "frontier_token_share": _shares(t_tokens)[frontier],
        # shares of the enterprises buying that month (the others have not entered yet)
        "adoption_share": ratio(ent["adopters"], ent["active_enterprises"]),
        "savings_share": ratio(savings, ent["no_routing_spend_usd"]),
    }
    return {name: float(value) for name, value in row.items()}  # plain floats: DataCollector keeps them


def check_invariants(tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, object]]:
    """Check the accounting of a run; returns {name: {"ok": bool, "detail": str}}."""
    results: dict[str, dict[str, object]] = {}

    def record(name: str, ok: bool, detail: str) -> None:
        results[name] = {"ok": bool(ok), "detail": detail}

    ent, prov = tables["enterprises"], tables["providers"]
    revenue = prov.groupby("month", sort=True)["revenue_usd"].sum().to_numpy()
    spend = ent["spend_usd"].to_numpy()
    gap = np.abs(spend - revenue) / np.maximum(np.abs(spend), 1.0)
    record("spend_equals_revenue", gap.max(initial=0) <= INVARIANT_RTOL,
           f"max relative gap {gap.max(initial=0):.3g} between enterprise spend and provider revenue")

    demanded = ent["tasks_demanded"].to_numpy()
    accounted = (ent["tasks_served"] + ent["tasks_unmet"]).to_numpy()
    gap = np.abs(demanded - accounted) / np.maximum(demanded, 1.0)
    record("tasks_conserved", gap.max(initial=0) <= INVARIANT_RTOL,
           f"max relative gap {gap.max(initial=0):.3g} between tasks demanded and served + unmet")

    worst = 0.0
    pairs = (("usage_share", "calls"), ("spend_share", "revenue_usd"), ("token_share", "tokens"))
    for frame in (prov, tables["tiers"]):
        # one grouping for every column (each column's sums are those of its own groupby)
        by_month = frame.groupby("month")[[c for pair in pairs for c in pair]].sum()
        for col, base in pairs:
            sums, totals = by_month[col], by_month[base]
            dev = np.abs(sums[totals > 0] - 1.0)
            worst = max(worst, float(dev.max()) if len(dev) else 0.0)
    record("shares_sum_to_one", worst <= 1e-9, f"max |sum of shares - 1| = {worst:.3g}")

    bad = []
    for name, frame in tables.items():
        numeric = frame.select_dtypes("number")
        if not np.isfinite(numeric.to_numpy(dtype=float)).all():  # +-inf is as broken as NaN
            bad.append(f"{name} has NaN or +-inf")
        money = [c for c in numeric.columns if c.endswith("_usd") and c not in
                 ("operating_income_usd", "cumulative_operating_income_usd", "savings_usd", "gross_margin_usd")]
        negative = [c for c in money if (numeric[c] < 0).any()]
        if negative:
            bad.append(f"{name} has negative {', '.join(negative)}")
    record("no_nan_or_negative_money", not bad, "; ".join(bad) or "all numbers finite, money columns >= 0")
    return results


def raise_on_failures(invariants: dict[str, dict[str, object]]) -> None:
    """Fail the run loudly if any invariant is broken."""
    broken = {k: v["detail"] for k, v in invariants.items() if not v["ok"]}
    if broken:
        lines = "\n".join(f"  - {k}: {d}" for k, d in broken.items())
        raise InvariantError(f"The run broke {len(broken)} invariant(s):\n{lines}")


def break_even_months(model: MarketModel) -> dict[str, dict[str, str | None]]:
    """Each provider's break-even: the first month its model-API business's trailing 12 months are in profit.

    The month is "YYYY-MM", or None if it does not come within the horizon (censored: it may
    come later, it is not "never"); ``scope`` is what its sourced fixed cost covered.
    """
    out: dict[str, dict[str, str | None]] = {}
    for agent in sorted(model.providers, key=lambda a: a.index):
        t = agent.first_profitable_month
        out[agent.name] = {"month": None if t is None else format_month(int(model.catalog.months[t])),
                           "scope": agent.scope}
    return out
