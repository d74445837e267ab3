"""Where a lab's revenue went: routing's effect on it, split into parts that add up.

For a lab L, one seed and one month, with N the market's model calls, s_m a model's share of
them and p_m its revenue per call, L's revenue is N * sum_{m in L} s_m p_m. Treatment (T,
status_quo) minus control (C, no_routing) splits exactly, in three steps:

* **rebound volume**: (N_T - N_C) * sum s_C p_C: more (or fewer) calls in the whole market,
  at the control's shares and prices per call;
* **share shifts**: N_T * sum (s_T - s_C) p_C: calls moving between models, at the control's
  revenue per call;
* **revenue per call**: N_T * sum s_T (p_T - p_C): each model earning more or less per call
  (prices, and the mix of tasks it serves). A model with no control calls takes its
  treatment revenue per call as its control one (it had no price to change from).

The share shifts of L's *frontier* models (their lost calls, valued at their revenue per
call) are traced to where those calls went: the destinations whose net share rose (L's own
cheaper models, other labs' budget models, overseas models, other labs' frontier models), in
proportion to that rise (if L's frontier gained, to where the calls came from, in proportion
to those destinations' losses). Net flows, not gross ones: the tables hold no call-by-call
record. The part **kept on own cheaper models** is that flow plus the revenue L's cheaper
models gained. The parts add up, month by month and seed by seed, to the paired total.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from routesim.analysis.sweep import Sweep, load_sweep

PARTS: tuple[str, ...] = ("rebound volume", "kept on own cheaper models", "lost to other labs' budget models",
                          "lost to overseas models", "lost to other labs' frontier models", "revenue per call")
KEYS = ["seed", "overrides", "month"]


def _paired_models(sweep: Sweep, treatment: str, control: str) -> pd.DataFrame:
    """Per (seed, overrides, month, model): calls and revenue in both scenarios, and N."""
    models = sweep.tables["models"]
    cols = [*KEYS, "model", "provider", "tier", "calls", "revenue_usd"]
    sides = {}
    for name, scenario in (("T", treatment), ("C", control)):
        frame = models.loc[models["scenario"] == scenario, cols].copy()
        frame["N"] = frame.groupby(KEYS)["calls"].transform("sum")
        sides[name] = frame.set_index([*KEYS, "model"])
    both = sides["T"].join(sides["C"][["calls", "revenue_usd", "N"]], how="inner", lsuffix="_T", rsuffix="_C")
    if both.empty:
        raise ValueError(f"the sweep has no runs of {treatment} and {control} sharing a seed")
    return both.rename(columns={"N_T": "N_T", "N_C": "N_C"}).reset_index()


def attribution(sweep: Sweep, lab: str, treatment: str = "status_quo", control: str = "no_routing",
                by: str = "year") -> pd.DataFrame:
    """The lab's revenue change (treatment - control, USD), by part, per year (mean over seeds).

    Columns: ``PARTS``, ``total`` (the paired revenue difference itself) and the control's
    revenue; ``by="month"`` keeps months.
    """
    d = _paired_models(sweep, treatment, control)
    if lab not in set(d["provider"]):
        raise ValueError(f"no model of {lab!r} in the sweep; labs: {sorted(set(d['provider']))}")
    with np.errstate(divide="ignore", invalid="ignore"):
        s_t = np.where(d["N_T"] > 0, d["calls_T"] / d["N_T"], 0.0)
        s_c = np.where(d["N_C"] > 0, d["calls_C"] / d["N_C"], 0.0)
        p_t = np.where(d["calls_T"] > 0, d["revenue_usd_T"] / d["calls_T"], 0.0)
        p_c = np.where(d["calls_C"] > 0, d["revenue_usd_C"] / d["calls_C"], p_t)
    own = (d["provider"] == lab).to_numpy()
    frontier = (d["tier"] == "frontier").to_numpy()
    group = np.select([own & frontier, own, d["tier"].to_numpy() == "overseas", frontier],
                      ["own_frontier", "own_cheaper", "overseas", "other_frontier"], "other_budget")
    n_t, n_c = d["N_T"].to_numpy(), d["N_C"].to_numpy()
    terms = pd.DataFrame({
        **{k: d[k] for k in KEYS}, "group": group,
        "rebound": np.where(own, (n_t - n_c) * s_c * p_c, 0.0),
        "shift": np.where(own, n_t * (s_t - s_c) * p_c, 0.0),
        "per_call": np.where(own, n_t * s_t * (p_t - p_c), 0.0),
        "ds": s_t - s_c,
        "revenue_T": np.where(own, d["revenue_usd_T"], 0.0), "revenue_C": np.where(own, d["revenue_usd_C"], 0.0)})
    month = terms.groupby(KEYS)
    out = month[["rebound", "per_call", "revenue_T", "revenue_C"]].sum()
    shift = terms.pivot_table(index=KEYS, columns="group", values="shift", aggfunc="sum", fill_value=0.0)
    ds = terms.pivot_table(index=KEYS, columns="group", values="ds", aggfunc="sum", fill_value=0.0)
    groups = ["own_cheaper", "other_budget", "overseas", "other_frontier"]
    shift, ds = (f.reindex(columns=["own_frontier", *groups], fill_value=0.0) for f in (shift, ds))
    lost = shift["own_frontier"]  # the frontier's share shifts, USD at its revenue per call
    # where the frontier's calls went (or, if it gained, came from): the destinations that moved
    # the other way, in proportion to their net share change
    counter = ds[groups].mul(-np.sign(ds["own_frontier"]), axis=0).clip(lower=0.0)
    weight = counter.div(counter.sum(axis=1).where(lambda x: x > 0), axis=0).fillna(0.0)
    # no net frontier share change (only value moved between its models): other labs' frontier
    weight.loc[counter.sum(axis=1) == 0, "other_frontier"] = 1.0
    flows = weight.mul(lost, axis=0)
    out["rebound volume"] = out.pop("rebound")
    out["kept on own cheaper models"] = flows["own_cheaper"] + shift["own_cheaper"]
    out["lost to other labs' budget models"] = flows["other_budget"]
    out["lost to overseas models"] = flows["overseas"]
    out["lost to other labs' frontier models"] = flows["other_frontier"]
    out["revenue per call"] = out.pop("per_call")
    out["total"] = out["revenue_T"] - out["revenue_C"]
    out = out.rename(columns={"revenue_C": "control revenue"}).drop(columns="revenue_T").reset_index()
    period = out["month"].dt.year if by == "year" else out["month"]
    per_seed = out.groupby([out["seed"], out["overrides"], period.rename(by)])[
        [*PARTS, "total", "control revenue"]].sum()
    return per_seed.groupby(level=by).mean()


SHORT = {"rebound volume": "rebound\nvolume", "kept on own cheaper models": "own cheaper\nmodels",
         "lost to other labs' budget models": "other labs'\nbudget", "lost to overseas models": "overseas",
         "lost to other labs' frontier models": "other labs'\nfrontier", "revenue per call": "revenue\nper call"}


def waterfall(tables: dict[str, pd.DataFrame], years: tuple[int, int] = (2025, 2030), subtitle: str = "") -> Figure:
    """One panel per lab: control revenue over ``years``, each part, the treatment's revenue (USD B)."""
    fig = Figure(figsize=(6.5 * len(tables), 5), layout="constrained")
    if subtitle:
        fig.suptitle(subtitle, fontsize=10)
    axes = np.atleast_1d(fig.subplots(1, len(tables)))
    for ax, (lab, table) in zip(axes, tables.items(), strict=True):
        span = table.loc[years[0]:years[1]].sum() / 1e9
        labels = ["without routing", *PARTS, "with routing"]
        level, bottoms, heights = span["control revenue"], [], []
        bottoms.append(0.0)
        heights.append(level)
        for part in PARTS:
            bottoms.append(level if span[part] >= 0 else level + span[part])
            heights.append(abs(span[part]))
            level += span[part]
        bottoms.append(0.0)
        heights.append(level)
        colors = ["#555555"] + ["#5aa469" if span[p] >= 0 else "#d1495b" for p in PARTS] + ["#1f4e79"]
        ax.bar(range(len(labels)), heights, bottom=bottoms, color=colors)
        for x, (b, h) in enumerate(zip(bottoms, heights, strict=True)):
            value = h if x in (0, len(labels) - 1) else span[PARTS[x - 1]]
            ax.annotate(f"{value:+.1f}" if 0 < x < len(labels) - 1 else f"{value:.1f}", (x, b + h),
                        ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(labels)), ["without\nrouting", *(SHORT[p] for p in PARTS), "with\nrouting"],
                      fontsize=8)
        ax.set_ylabel(f"revenue {years[0]}-{years[1]} (USD billions)")
        ax.set_title(f"{lab}: where routing's effect on revenue went")
        ax.grid(True, axis="y", alpha=0.3)
    return fig


def subtitle(sweep: Sweep, treatment: str, control: str) -> str:
    """What the waterfall shows: the pair, the seeds and the agents."""
    seeds = sweep.runs.loc[sweep.runs["scenario"] == treatment, "seed"].nunique()
    agents = int(sweep.tables["enterprises"]["n_agents"].max()) if "enterprises" in sweep.tables else 0
    return (f"{treatment} minus {control}, mean over {seeds} paired seeds, {agents:,} agents "
            "(weighted: USD of the real market)")


def main(argv: list[str] | None = None) -> None:
    """``python -m routesim.analysis.attribution <sweep>``: tables per lab and the waterfall."""
    parser = argparse.ArgumentParser(prog="python -m routesim.analysis.attribution",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path,
                        help="a sweep holding status_quo and no_routing runs (e.g. h1_frontier_revenue)")
    parser.add_argument("--labs", nargs="+", default=["openai", "anthropic"])
    parser.add_argument("--treatment", default="status_quo")
    parser.add_argument("--control", default="no_routing")
    args = parser.parse_args(argv)
    sweep = load_sweep(args.sweep)
    out = args.sweep / "analysis"
    out.mkdir(parents=True, exist_ok=True)
    tables = {}
    for lab in args.labs:
        try:
            tables[lab] = attribution(sweep, lab, args.treatment, args.control)
        except ValueError as exc:
            parser.exit(2, f"{parser.prog}: {exc}\n")
        tables[lab].to_csv(out / f"attribution_{lab}.csv")
        print(f"{lab} (USD millions, {args.treatment} - {args.control}, mean over seeds):")
        print((tables[lab] / 1e6).round(1).to_string())
    waterfall(tables, subtitle=subtitle(sweep, args.treatment, args.control)).savefig(out / "attribution.png", dpi=110)
    print(f"wrote {out}/attribution_*.csv and attribution.png")


if __name__ == "__main__":
    main()
