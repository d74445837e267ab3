"""Profiles of the calibration's distance: is each calibrated parameter identified by the targets?

``python -m routesim.analysis.profiles`` moves one calibrated parameter at a time over its prior
range (``conf/calibrate/priors.yaml``), the others held at the shipped fit, and records the
calibration's distance (the simulated-moments quadratic form g' W g of
:mod:`routesim.inference`, chi-square units) and the number of fit targets within tolerance,
from the mean over a few seeds that took no part in the fit. A profile with a clear minimum
near the fitted value says the targets pin the parameter down; a flat one (a range under one
chi-square unit, fixed before the first profile of this kind was drawn) says they do not: the
parameter then needs a source, an informative prior, or a target that moves it. Writes
``profiles.csv`` and ``profiles.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.figure import Figure

from routesim.analysis.plots import styled

PROFILE_SEEDS = 3000  # seeds the fit did not use (selection 1000+, report 2000+)
FLAT = 1.0  # a profile is "flat" if the distance's range over the prior is under this (chi-square units)


def profile_point(key: str, value: float, seeds: int, base: tuple[str, ...],
                  sim_cov: np.ndarray | None = None) -> dict[str, float]:
    """The distance and targets met with ``key`` set to ``value`` (others at the shipped fit).

    ``sim_cov``: Sigma_sim of one seed (from the calibration's pilot); None counts only the
    facts' own sampling error.
    """
    from routesim.calibration import fit_table, load_targets, targets_horizon
    from routesim.inference import data_moments, moment_vector, quadratic_distance, weight_matrix
    from routesim.params import configure
    from routesim.simulation import simulate_seeds
    from routesim.workers import watch_parent

    watch_parent()
    targets = [t for t in load_targets() if t.kind == "fit"]
    data = data_moments(targets)
    cfg = configure({key: value, "seed": PROFILE_SEEDS, "end": targets_horizon(targets), "output.plots": False},
                    base=list(base))
    runs = simulate_seeds(cfg, seeds)
    table = fit_table(runs, targets)
    sims = np.array([moment_vector(r, targets, data.ids) for r in runs])
    cov = np.zeros_like(data.cov) if sim_cov is None else sim_cov
    loss = quadratic_distance(sims.mean(axis=0), data, weight_matrix(data, cov, seeds))
    return {"parameter": key, "value": value, "loss": loss,
            "targets_met": int(table["within_tolerance"].sum()), "targets": len(table)}


def profiles(points: int = 9, seeds: int = 2, extra: list[str] | None = None, n_jobs: int = 2,
             keys: list[str] | None = None, sim_cov: np.ndarray | None = None) -> pd.DataFrame:
    """Every fitted parameter's profile: ``points`` values evenly over its prior range, plus the fit."""
    from joblib import Parallel, delayed

    from routesim.calibration import prior_ranges
    from routesim.compose import compose
    from routesim.params import dotted_get

    ranges = prior_ranges()
    keys = keys or sorted(ranges)
    unknown = sorted(set(keys) - set(ranges))
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not fitted by the calibration; allowed: {', '.join(sorted(ranges))}")
    fitted = compose(list(extra or ()))
    jobs = []
    for key in keys:
        low, high = ranges[key]
        at_fit = float(dotted_get(fitted, key))
        for value in sorted({*np.linspace(low, high, points), at_fit}):
            jobs.append((key, float(value)))
    rows = Parallel(n_jobs=n_jobs)(delayed(profile_point)(k, v, seeds, tuple(extra or ()), sim_cov)
                                   for k, v in jobs)
    frame = pd.DataFrame(rows)
    frame["fitted_value"] = frame["parameter"].map(lambda k: float(dotted_get(fitted, k)))
    return frame


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: where the loss is lowest, its range over the prior, and whether it is flat."""
    rows = []
    for key, part in frame.groupby("parameter"):
        best = part.loc[part["loss"].idxmin()]
        spread = float(part["loss"].max() - part["loss"].min())
        rows.append({"parameter": key, "fitted_value": float(part["fitted_value"].iloc[0]),
                     "lowest_loss_at": float(best["value"]), "lowest_loss": float(best["loss"]),
                     "loss_range": spread, "flat": spread < FLAT,
                     "most_targets_met": int(part["targets_met"].max())})
    return pd.DataFrame(rows).sort_values("loss_range")


@styled
def plot_profiles(frame: pd.DataFrame, subtitle: str = "") -> Figure:
    """One panel per parameter: the distance over its prior range, the shipped value marked."""
    keys = sorted(frame["parameter"].unique())
    cols = 4
    rows = int(np.ceil(len(keys) / cols))
    fig = Figure(figsize=(4 * cols, 2.8 * rows), layout="constrained")
    if subtitle:
        fig.suptitle(subtitle, fontsize="small")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, key in zip(axes, keys, strict=False):
        part = frame[frame["parameter"] == key].sort_values("value")
        ax.plot(part["value"], part["loss"], marker="o", markersize=3, color="#1f4e79")
        ax.axvline(part["fitted_value"].iloc[0], color="#d1495b", linestyle="--", linewidth=1, label="shipped fit")
        spread = float(part["loss"].max() - part["loss"].min())
        ax.set_title(f"{key}\nrange {spread:.2g}" + (" (flat: not identified)" if spread < FLAT else ""),
                     fontsize="small", color="#d1495b" if spread < FLAT else "black")
        ax.set_ylabel("distance g'Wg")
        low, high = part["loss"].min(), part["loss"].max()
        if low > 0 and high / low > 10:  # a log scale only where the distance spans a decade
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
    for ax in axes[len(keys):]:
        ax.set_axis_off()
    axes[0].legend(fontsize="x-small")
    return fig


def main(argv: list[str] | None = None) -> None:
    """``python -m routesim.analysis.profiles``: profiles.csv and profiles.png."""
    from routesim.cli import at_least
    from routesim.workers import mark_parent

    parser = argparse.ArgumentParser(prog="python -m routesim.analysis.profiles", description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=at_least(3), default=9, help="values per parameter (default 9)")
    parser.add_argument("--seeds", type=at_least(1), default=2, help="seeds per value (default 2)")
    parser.add_argument("--jobs", type=at_least(1), default=2)
    parser.add_argument("--out", type=Path, default=Path("results/profiles"))
    parser.add_argument("overrides", nargs="*", help="Hydra overrides (population.n_enterprises=2000)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    mark_parent()
    frame = profiles(args.points, args.seeds, args.overrides, args.jobs)
    frame.to_csv(args.out / "profiles.csv", index=False)
    table = summary(frame)
    table.to_csv(args.out / "profiles_summary.csv", index=False)
    subtitle = (f"distance to the facts (g'Wg) over each parameter's prior range, others at the shipped fit; "
                f"{args.seeds} seed(s) from {PROFILE_SEEDS}, {args.points} values each")
    plot_profiles(frame, subtitle).savefig(args.out / "profiles.png", dpi=110)
    print(table.to_string(index=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
