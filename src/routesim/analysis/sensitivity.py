"""Global sensitivity of 2030 frontier outcomes to the uncertain parameters (Morris or Sobol, SALib).

``routesim-sensitivity`` samples the parameters no public figure pins down (ranges in
``UNCERTAIN``, around the calibrated values), simulates each point (seeded, in parallel with
joblib), and reports, for 2030 frontier revenue and frontier spend share (of the API market's
dollars), with a bar plot: by default (``--method morris``) the elementary-effect statistics
mu* (overall influence) and sigma (interactions / non-linearity) of a cheap screen; with
``--method sobol`` the variance-based first-order (S1) and total (ST) Sobol indices with their
95% intervals (Saltelli's design: N (k + 2) points for k parameters).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from matplotlib.figure import Figure

from routesim.analysis.plots import styled

# parameter -> (low, high): the calibration's priors for the parameters it fits (read from its
# search box, conf/calibrate/default.yaml, so the fitted values lie inside by construction),
# plus the sourced ranges of the rebound ([S41]/S46/S32) and the tier price trends (flat to the
# a16z 10x/yr decline, S38), which the calibration does not fit
FITTED_UNCERTAIN = ("adoption.innovation_p", "adoption.imitation_q", "access.overseas_risk_premium",
                    "switching.switching_cost", "workload.difficulty_tracks_frontier")
SOURCED_UNCERTAIN: dict[str, tuple[float, float]] = {
    "demand.price_elasticity": (0.05, 1.1),
    "market.trends.frontier.price_change_per_year": (0.1, 1.0),
    "market.trends.budget.price_change_per_year": (0.1, 1.0),
}


def _uncertain() -> dict[str, tuple[float, float]]:
    from routesim.calibration import prior_ranges

    priors = prior_ranges()
    return {**{key: priors[key] for key in FITTED_UNCERTAIN}, **SOURCED_UNCERTAIN}


UNCERTAIN: dict[str, tuple[float, float]] = _uncertain()
OUTCOMES = ("frontier_revenue_2030_usd", "frontier_spend_share_2030")


def outcomes(point: dict[str, float], seed: int, base: tuple[str, ...] = ()) -> dict[str, float]:
    """Simulate one point and return the 2030 frontier outcomes.

    ``base`` (Hydra overrides) is composed once per process (``routesim.params.configure``);
    the point's values are set on it, so a point costs a simulation, not a composition.
    """
    from routesim import simulate
    from routesim.params import configure
    from routesim.workers import watch_parent

    watch_parent()  # in a joblib worker: end when the process that started it dies

    res = simulate(configure({**point, "seed": seed, "output.plots": False}, base=list(base)))
    last_year = res.tiers[(res.tiers["tier"] == "frontier") & (res.tiers["month"] >= "2030-01-01")]
    all_2030 = res.tiers[res.tiers["month"] >= "2030-01-01"]["revenue_usd"].sum()
    revenue = float(last_year["revenue_usd"].sum())
    return {"frontier_revenue_2030_usd": revenue, "frontier_spend_share_2030": float(revenue / all_2030)}


def _problem() -> dict:
    """SALib's problem over ``UNCERTAIN``."""
    names = list(UNCERTAIN)
    return {"num_vars": len(names), "names": names, "bounds": [list(UNCERTAIN[n]) for n in names]}


def _simulate_points(points: np.ndarray, seed: int, extra: list[str] | None, n_jobs: int) -> pd.DataFrame:
    """Every sampled point (a row of values of ``UNCERTAIN``) with its outcomes, in parallel."""
    names = list(UNCERTAIN)
    base = tuple(extra or ())
    jobs = [{n: float(v) for n, v in zip(names, row, strict=True)} for row in points]
    results = Parallel(n_jobs=n_jobs)(delayed(outcomes)(job, seed, base) for job in jobs)
    return pd.concat([pd.DataFrame(points, columns=names), pd.DataFrame(results)], axis=1)


def morris_analysis(trajectories: int = 10, levels: int = 4, seed: int = 0, extra: list[str] | None = None,
                    n_jobs: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the Morris design; returns (indices per outcome and parameter, the sampled points).

    ``extra``: Hydra overrides every point starts from (composed once), e.g. a scenario.
    """
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    problem = _problem()
    names = problem["names"]
    points = sample.sample(problem, trajectories, num_levels=levels, seed=seed)
    frame = _simulate_points(points, seed, extra, n_jobs)
    rows = []
    for outcome in OUTCOMES:
        res = analyze.analyze(problem, points, frame[outcome].to_numpy(), num_levels=levels, seed=seed)
        for j, name in enumerate(names):
            rows.append({"outcome": outcome, "parameter": name, "mu_star": res["mu_star"][j],
                         "mu_star_conf": res["mu_star_conf"][j], "sigma": res["sigma"][j]})
    return pd.DataFrame(rows), frame


def sobol_analysis(samples: int = 32, seed: int = 0, extra: list[str] | None = None, n_jobs: int = 2
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run Saltelli's design with ``samples`` base points (a power of 2).

    Returns (S1 and ST with their 95% half-widths per outcome and parameter, the sampled points).
    """
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    problem = _problem()
    names = problem["names"]
    points = sample.sample(problem, samples, calc_second_order=False, seed=seed)
    frame = _simulate_points(points, seed, extra, n_jobs)
    rows = []
    for outcome in OUTCOMES:
        res = analyze.analyze(problem, frame[outcome].to_numpy(), calc_second_order=False, seed=seed)
        for j, name in enumerate(names):
            rows.append({"outcome": outcome, "parameter": name, "S1": res["S1"][j], "S1_conf": res["S1_conf"][j],
                         "ST": res["ST"][j], "ST_conf": res["ST_conf"][j]})
    return pd.DataFrame(rows), frame


def label(key: str) -> str:
    """A config key as an axis label: 'price change per year (market.trends.frontier)'."""
    section, _, leaf = key.rpartition(".")
    return f"{leaf.replace('_', ' ')} ({section})"


@styled
def plot_sobol(indices: pd.DataFrame, subtitle: str = "") -> Figure:
    """First-order and total Sobol indices (with 95% intervals) per parameter, one panel per outcome."""
    outcomes_ = list(dict.fromkeys(indices["outcome"]))
    fig = Figure(figsize=(6.5 * len(outcomes_), 4.5), layout="constrained")
    if subtitle:
        fig.suptitle(subtitle, fontsize=10)
    axes = np.atleast_1d(fig.subplots(1, len(outcomes_)))
    for ax, outcome in zip(axes, outcomes_, strict=True):
        part = indices[indices["outcome"] == outcome].sort_values("ST")
        y = np.arange(len(part))
        ax.barh(y + 0.2, part["ST"], height=0.4, xerr=part["ST_conf"], color="#1f4e79", label="total (ST)")
        ax.barh(y - 0.2, part["S1"], height=0.4, xerr=part["S1_conf"], color="#5aa469", label="first order (S1)")
        ax.set_yticks(y, [label(k) for k in part["parameter"]], fontsize="small")
        ax.set_xlabel("share of the outcome's variance")
        ax.set_title(f"Sobol indices: {outcome}", fontsize="medium")
        ax.legend(fontsize="small", loc="lower right")
        ax.grid(True, axis="x", alpha=0.3)
    return fig


@styled
def plot_indices(indices: pd.DataFrame) -> Figure:
    """Bar plot of mu* (with its 95% interval) per parameter, one panel per outcome."""
    outcomes_ = list(dict.fromkeys(indices["outcome"]))
    fig = Figure(figsize=(6 * len(outcomes_), 4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(outcomes_)))
    for ax, outcome in zip(axes, outcomes_, strict=True):
        part = indices[indices["outcome"] == outcome].sort_values("mu_star")
        scale = 1e9 if outcome.endswith("_usd") else 1.0
        ax.barh([label(k) for k in part["parameter"]], part["mu_star"] / scale, xerr=part["mu_star_conf"] / scale,
                color="#1f4e79")
        ax.set_title(f"Morris mu*: {outcome}", fontsize="small")
        ax.set_xlabel("mu* (USD billions)" if scale > 1 else "mu* (share)")
        ax.tick_params(labelsize="small")
        ax.grid(True, axis="x", alpha=0.3)
    return fig


def _power_of_two(text: str) -> int:
    from routesim.cli import at_least

    value = at_least(2)(text)
    if value & (value - 1):
        raise argparse.ArgumentTypeError(f"{value} is not a power of 2; allowed: 2, 4, 8, 16, ... (Sobol sequences)")
    return value


def _even_levels(text: str) -> int:
    from routesim.cli import at_least

    value = at_least(2)(text)
    if value % 2:
        raise argparse.ArgumentTypeError(f"{value} is odd; allowed: an even integer >= 2 (Morris grids)")
    return value


def main(argv: list[str] | None = None) -> None:
    """Console script ``routesim-sensitivity``; bad arguments or overrides exit 2 with one line."""
    from routesim.cli import at_least, config_error_message, is_config_error
    from routesim.compose import compose
    from routesim.workers import mark_parent

    parser = argparse.ArgumentParser(prog="routesim-sensitivity", description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=("morris", "sobol"), default="morris",
                        help="morris: a cheap screen (default); sobol: variance-based indices")
    parser.add_argument("--samples", type=_power_of_two, default=32,
                        help="Sobol base samples, a power of 2 (N (k + 2) runs; default 32)")
    parser.add_argument("--trajectories", type=at_least(2), default=10,
                        help="Morris trajectories, >= 2 (sigma needs two effects per parameter; default 10)")
    parser.add_argument("--levels", type=_even_levels, default=4, help="grid levels, even, >= 2 (default 4)")
    parser.add_argument("--seed", type=at_least(0), default=0)
    parser.add_argument("--jobs", type=at_least(1), default=2, help="worker processes, >= 1 (default 2)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default results/sensitivity/<date>_<time>, new each run)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run (population.n_enterprises=2000)")
    args = parser.parse_args(argv)
    try:  # every point shares these overrides: a bad one is reported once, here, not by each worker
        compose([*args.overrides, "output.plots=false"])
    except Exception as exc:
        if not is_config_error(exc):
            raise
        parser.exit(2, f"routesim-sensitivity: invalid configuration: {config_error_message(exc)}\n")
    if args.out is None:
        import time

        args.out = Path("results/sensitivity") / time.strftime("%Y-%m-%d_%H-%M-%S")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.exit(2, f"routesim-sensitivity: --out {args.out}: {exc.strerror or exc}\n")
    mark_parent()
    if args.method == "sobol":
        indices, points = sobol_analysis(args.samples, args.seed, args.overrides, args.jobs)
        agents = compose([*args.overrides]).population.n_enterprises
        subtitle = (f"Saltelli design, {len(points)} runs ({args.samples} base samples), {agents:,} agents, "
                    f"seed {args.seed}")
        plot_sobol(indices, subtitle).savefig(args.out / "sobol_indices.png", dpi=110)
        order = "ST"
    else:
        indices, points = morris_analysis(args.trajectories, args.levels, args.seed, args.overrides, args.jobs)
        plot_indices(indices).savefig(args.out / "morris_indices.png", dpi=110)
        order = "mu_star"
    indices.to_csv(args.out / f"{args.method}_indices.csv", index=False)
    points.to_csv(args.out / f"{args.method}_points.csv", index=False)
    print(indices.sort_values(["outcome", order], ascending=[True, False]).to_string(index=False))
    print(f"\nwrote {args.out}")
