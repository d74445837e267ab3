"""Scenario discovery: under which conditions does routing cut a lab's 2030 revenue by more than half?

``routesim-discover`` draws a Latin hypercube over the calibration's priors (the parameters no
public figure pins down, :func:`routesim.calibration.prior_ranges`) and crosses it with the
scenarios. At every (point, scenario) it runs the market twice on the same seed, with routing
and with routing barred (``scenario.routing_allowed=false``, everything else equal), and
records the cut routing makes in each lab's 2030 API revenue: 1 - with / without. PRIM (EMA
Workbench's ``prim``, the ``explore`` extra) then finds the box of parameters and scenarios in
which the cut exceeds the threshold, with its coverage (the share of all such cases inside the
box) and density (the share of cases in the box that are such cases).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

LABS = ("openai", "anthropic")
SCENARIOS = ("status_quo", "price_war", "overseas_surge", "export_controls", "frontier_bundle", "router_mix")
YEAR = 2030
SCENARIO_PREFIX = "scenario__"


def cuts(point: dict[str, float], scenario: str, seed: int, base: tuple[str, ...]) -> dict[str, float]:
    """Routing's cut in each lab's revenue in ``YEAR`` at one point of one scenario (paired seed)."""
    from routesim import simulate
    from routesim.params import configure
    from routesim.workers import watch_parent

    watch_parent()
    revenue = {}
    for routed in (True, False):
        cfg = configure({**point, "seed": seed, "output.plots": False, "scenario.routing_allowed": routed},
                        base=[*base, f"scenario={scenario}"])
        providers = simulate(cfg).providers
        year = providers[providers["month"].dt.year == YEAR].groupby("provider")["revenue_usd"].sum()
        revenue[routed] = year
    out = {}
    for lab in LABS:
        without = float(revenue[False].get(lab, 0.0))
        out[f"{lab}_cut"] = 1.0 - float(revenue[True].get(lab, 0.0)) / without if without > 0 else np.nan
    return out


def explore(points: int = 40, scenarios: tuple[str, ...] = SCENARIOS, seed: int = 0,
            extra: list[str] | None = None, n_jobs: int = 2) -> pd.DataFrame:
    """Every (point, scenario): the parameters, the scenario and each lab's cut."""
    from joblib import Parallel, delayed

    from routesim.calibration import prior_latin_hypercube

    draws = prior_latin_hypercube(points, seed)
    jobs = [(row.to_dict(), scenario) for _, row in draws.iterrows() for scenario in scenarios]
    base = tuple(extra or ())
    results = Parallel(n_jobs=n_jobs)(delayed(cuts)(p, s, seed, base) for p, s in jobs)
    frame = pd.DataFrame([{**p, "scenario": s} for p, s in jobs])
    return pd.concat([frame, pd.DataFrame(results)], axis=1)


def find_box(table: pd.DataFrame, lab: str, threshold: float = 0.5, min_density: float = 0.8,
             min_coverage: float = 0.5):
    """PRIM on the cases where routing cuts ``lab``'s revenue by more than ``threshold``.

    Returns (the PRIM box, the selected step): the widest box on the peeling trajectory whose
    density is at least ``min_density``; if none is that dense, the densest box that still
    holds ``min_coverage`` of the cases. PRIM's own threshold is the base rate (the share of
    cases overall), so it always returns its trajectory rather than a "dump box" of
    everything. (None, None) if no case qualifies.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="ipyparallel not installed")
        from ema_workbench.analysis import prim

    y = (table[f"{lab}_cut"] > threshold).to_numpy()
    if not y.any():
        return None, None
    x = table.drop(columns=[c for c in table if c.endswith("_cut")] + ["scenario"])
    x.columns = [c.replace(".", "_", 1) for c in x.columns]  # EMA wants identifiers
    # the scenario as one 0/1 column per scenario: EMA 2.5's PRIM does not peel a categorical
    # column (a planted scenario box is missed), while it peels these like any other dimension
    for scenario in dict.fromkeys(table["scenario"]):
        x[f"{SCENARIO_PREFIX}{scenario}"] = (table["scenario"] == scenario).astype(float).to_numpy()
    box = prim.Prim(x, y, threshold=float(y.mean())).find_box()
    trajectory = box.peeling_trajectory
    dense = trajectory[trajectory["density"] >= min_density]
    if len(dense):
        step = int(dense["coverage"].idxmax())
    else:
        wide = trajectory[trajectory["coverage"] >= min_coverage]
        step = int(wide["density"].idxmax())
    box.select(step)
    return box, step


def box_table(box, lab: str, threshold: float) -> pd.DataFrame:
    """The selected box's limits, one row per restricted dimension, with its coverage and density.

    ``qp`` is PRIM's quasi-p-value of each restriction (one-sided binomial: could the density
    gain from it be chance?).
    """
    stats, limits = box.inspect(style="data")[0]
    rows = []
    for name in limits.index:
        low, high = float(limits.loc[name].iloc[0]), float(limits.loc[name].iloc[1])
        qp = limits.loc[name].iloc[2:].astype(float)
        if name.startswith(SCENARIO_PREFIX):  # a 0/1 column restricted to one side
            dimension, box_text = "scenario", ("is " if low > 0 else "is not ") + name[len(SCENARIO_PREFIX):]
        else:
            dimension, box_text = name.replace("_", ".", 1), f"{low:.4g} to {high:.4g}"
        rows.append({"lab": lab, "outcome": f"2030 revenue cut by routing > {threshold:.0%}",
                     "dimension": dimension, "box": box_text, "qp": float(qp.min()),
                     "coverage": float(stats["coverage"]), "density": float(stats["density"]),
                     "cases_in_box": int(round(stats["n"]))})
    if not rows:  # PRIM found no restriction that raises the density: the box is everything
        rows.append({"lab": lab, "outcome": f"2030 revenue cut by routing > {threshold:.0%}", "dimension": "(none)",
                     "box": "the whole space", "qp": np.nan, "coverage": float(stats["coverage"]),
                     "density": float(stats["density"]), "cases_in_box": int(round(stats["n"]))})
    return pd.DataFrame(rows)


def plot(tables: dict[str, pd.DataFrame], boxes: dict, threshold: float, subtitle: str = "") -> Figure:
    """Per lab: the cut's distribution by scenario, and PRIM's coverage-density trade-off."""
    fig = Figure(figsize=(12, 4.2 * len(tables)), layout="constrained")
    if subtitle:
        fig.suptitle(subtitle, fontsize=10)
    axes = fig.subplots(len(tables), 2, squeeze=False)
    for row, (lab, table) in zip(axes, tables.items(), strict=True):
        groups = [g[f"{lab}_cut"].dropna().to_numpy() * 100 for _, g in table.groupby("scenario", sort=False)]
        names = list(dict.fromkeys(table["scenario"]))
        row[0].boxplot(groups, tick_labels=names, orientation="horizontal")
        row[0].axvline(threshold * 100, color="#d1495b", linestyle="--", label=f"cut > {threshold:.0%}")
        # a cut is at most 100%; a gain can be many times the revenue without routing
        beyond = int(sum((g < -100).sum() for g in groups))
        row[0].set_xlim(-100, 102)
        row[0].set_xlabel(f"cut in {lab}'s {YEAR} API revenue by routing (% of its revenue without routing)")
        if beyond:
            row[0].text(0.01, 0.01, f"{beyond} cases below -100% not shown", transform=row[0].transAxes,
                        fontsize="small", color="#555555")
        row[0].set_title(f"{lab}: routing's cut by scenario, over the prior draws", fontsize="medium")
        row[0].legend(loc="lower right", fontsize="small")
        row[0].grid(True, axis="x", alpha=0.3)
        box = boxes.get(lab)
        if box is None:
            row[1].text(0.5, 0.5, f"no case where routing cuts {lab}'s revenue by more than {threshold:.0%}",
                        ha="center", va="center", wrap=True)
            row[1].set_axis_off()
            continue
        trajectory = box.peeling_trajectory
        row[1].plot(trajectory["coverage"], trajectory["density"], marker=".", color="#1f4e79")
        chosen = trajectory.loc[box._cur_box]
        row[1].plot(chosen["coverage"], chosen["density"], "o", color="#d1495b", label="selected box")
        row[1].set_xlabel("coverage (share of the cases inside the box)")
        row[1].set_ylabel("density (share of the box that are cases)")
        row[1].set_title(f"PRIM peeling trajectory: {lab}", fontsize="medium")
        row[1].set_xlim(0, 1.02)
        row[1].set_ylim(0, 1.02)
        row[1].legend(fontsize="small")
        row[1].grid(True, alpha=0.3)
    return fig


def main(argv: list[str] | None = None) -> None:
    """Console script ``routesim-discover``."""
    from routesim.cli import at_least, config_error_message, is_config_error
    from routesim.compose import compose
    from routesim.workers import mark_parent

    parser = argparse.ArgumentParser(prog="routesim-discover", description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=at_least(4), default=40, help="prior draws (default 40)")
    parser.add_argument("--threshold", type=float, default=0.5, help="the cut that counts (default 0.5)")
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    parser.add_argument("--seed", type=at_least(0), default=0)
    parser.add_argument("--jobs", type=at_least(1), default=2)
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default results/discovery/<date>_<time>)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run (population.n_enterprises=2000)")
    args = parser.parse_args(argv)
    if not 0 < args.threshold < 1:
        parser.error(f"--threshold {args.threshold}: allowed: 0 < threshold < 1")
    try:
        for scenario in args.scenarios:
            compose([*args.overrides, f"scenario={scenario}", "output.plots=false"])
    except Exception as exc:
        if not is_config_error(exc):
            raise
        parser.exit(2, f"routesim-discover: invalid configuration: {config_error_message(exc)}\n")
    out = args.out or Path("results/discovery") / pd.Timestamp.now().strftime("%Y-%m-%d_%H-%M-%S")
    try:
        out.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        parser.exit(2, f"routesim-discover: --out {out}: {exc.strerror or exc} (give a new folder)\n")
    mark_parent()
    table = explore(args.points, tuple(args.scenarios), args.seed, args.overrides, args.jobs)
    table.to_csv(out / "cases.csv", index=False)
    boxes, rows = {}, []
    for lab in LABS:
        box, _ = find_box(table, lab, args.threshold)
        boxes[lab] = box
        if box is not None:
            rows.append(box_table(box, lab, args.threshold))
        share = float((table[f"{lab}_cut"] > args.threshold).mean())
        undefined = int(table[f"{lab}_cut"].isna().sum())
        print(f"{lab}: routing cuts 2030 revenue by more than {args.threshold:.0%} in {share:.0%} of "
              f"{len(table)} cases" + (f" ({undefined} cases undefined: {lab} sells nothing in {YEAR} without "
                                       "routing; counted as not cut)" if undefined else ""))
    boxes_frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["lab", "outcome", "dimension", "box", "qp", "coverage", "density", "cases_in_box"])
    boxes_frame.to_csv(out / "prim_boxes.csv", index=False)
    agents = compose([*args.overrides]).population.n_enterprises
    subtitle = (f"{args.points} draws from the calibration's priors x {len(args.scenarios)} scenarios, "
                f"{agents:,} agents, seed {args.seed}; each case paired with routing barred")
    plot({lab: table for lab in LABS}, boxes, args.threshold, subtitle).savefig(out / "prim.png", dpi=110)
    if len(boxes_frame):
        print(boxes_frame.to_string(index=False))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
