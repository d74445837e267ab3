"""The calibration's fit report: ``report.md`` and its figures, written by ``routesim-calibrate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from routesim.analysis.plots import styled


@styled
def plot_posterior(particles: pd.DataFrame, weights: np.ndarray, priors: dict[str, Any],
                   best: dict[str, float]) -> Figure:
    """One panel per parameter: the posterior (weighted histogram) over the prior's density."""
    keys = list(particles.columns)
    cols = 4
    rows = int(np.ceil(len(keys) / cols))
    fig = Figure(figsize=(4 * cols, 2.5 * rows), layout="constrained")
    fig.suptitle("Posterior (bars) against the prior (line); dashed: the representative point", fontsize="small")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, key in zip(axes, keys, strict=False):
        prior = priors[key]
        grid = np.linspace(prior.low, prior.high, 200)
        ax.hist(particles[key], bins=20, range=(prior.low, prior.high), weights=weights, density=True,
                color="#1f4e79", alpha=0.6)
        ax.plot(grid, prior.frozen().pdf(grid), color="#555555", linewidth=1)
        ax.axvline(best[key], color="#d1495b", linestyle="--", linewidth=1)
        ax.set_title(key, fontsize="small")
        ax.set_yticks([])
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
    for ax in axes[len(keys):]:
        ax.set_axis_off()
    return fig


@styled
def plot_predictive(table: pd.DataFrame, title: str) -> Figure:
    """Per target: the fact (dot) against its 90% posterior predictive interval, in sd units."""
    n = len(table)
    fig = Figure(figsize=(8, 0.35 * n + 1.2), layout="constrained")
    ax = fig.subplots()
    y = np.arange(n)[::-1]
    scale = table["data_sd"].to_numpy()
    low = (table["p5"] - table["value"]) / scale
    high = (table["p95"] - table["value"]) / scale
    mid = (table["predictive_median"] - table["value"]) / scale
    colours = np.where(table["inside"], "#1f4e79", "#d1495b")
    ax.hlines(y, low, high, colors=colours, linewidth=3, alpha=0.7)
    ax.plot(mid, y, "|", color="black", markersize=10)
    ax.axvline(0, color="black", linewidth=1)
    ax.set_yticks(y, table["id"], fontsize="x-small")
    ax.set_xlabel("(prediction - fact) / the fact's sampling sd; bar = 90% predictive interval")
    ax.set_title(title, fontsize="small")
    return fig


def _md(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False, floatfmt=".4g")


def write_report(out: Path, targets: list[Any], priors: dict[str, Any], particles: pd.DataFrame, weights: np.ndarray,
                 members: pd.DataFrame, member_w: np.ndarray, best: dict[str, float], fit_pred: pd.DataFrame,
                 other: pd.DataFrame, loo: pd.DataFrame, split: pd.DataFrame, j: dict[str, float],
                 pops: pd.DataFrame, profiles: pd.DataFrame | None, summary: dict[str, Any]) -> Path:
    """Write ``report.md`` with its figures into ``out``; returns the report's path."""
    plot_posterior(particles, weights, priors, best).savefig(out / "posterior.png", dpi=110)
    plot_predictive(fit_pred, "Fit targets: posterior predictive on held-out seeds").savefig(
        out / "predictive.png", dpi=110)
    plot_predictive(split, f"Time split: fitted on facts dated up to {summary['time_split']['cutoff']}, "
                    "predicting the later ones").savefig(out / "time_split.png", dpi=110)
    by_id = {t.id: t for t in targets}
    inside = int(fit_pred["inside"].sum())
    misses = fit_pred.loc[~fit_pred["inside"], "id"].tolist()
    post = pd.DataFrame({
        "parameter": list(particles.columns),
        "prior": [f"{p.dist} [{p.low:.4g}, {p.high:.4g}]" for p in (priors[k] for k in particles.columns)],
        "posterior_p5": [float(np.quantile(particles[k], 0.05, weights=weights, method="inverted_cdf"))
                         for k in particles.columns],
        "posterior_median": [float(np.quantile(particles[k], 0.5, weights=weights, method="inverted_cdf"))
                             for k in particles.columns],
        "posterior_p95": [float(np.quantile(particles[k], 0.95, weights=weights, method="inverted_cdf"))
                          for k in particles.columns],
        "representative": [best[k] for k in particles.columns]})
    width = (post["posterior_p95"] - post["posterior_p5"]) / [priors[k].high - priors[k].low for k in post["parameter"]]
    post["p90_width_over_prior_range"] = width.to_numpy()
    fit_pred = fit_pred.assign(dated=[by_id[i].dated for i in fit_pred["id"]])
    lines = [
        "# Calibration report",
        "",
        f"Written by `routesim-calibrate` ({summary['minutes']:.0f} min, {summary['agents']} agents per run). "
        f"{len(summary['moments'])} moments (the `kind: fit` targets), {len(summary['parameters'])} parameters, "
        f"{summary['free_parameters']} of them with uniform priors.",
        "",
        "## Joint fit",
        "",
        f"A J-type statistic at the representative point (not at the minimiser of g'Wg, so it runs high) over "
        f"{int(j['seeds'])} held-out seeds: J = {j['J']:.2f} on "
        f"{int(j['df'])} degrees of freedom (moments minus the parameters with uniform priors; the two Bass rates "
        f"carry informative priors from a published meta-analysis and are not counted), p = {j['p_value']:.3g}."
        + (" A p-value under 0.05 says the model cannot match all moments at once within their sampling error."
           if j["p_value"] < 0.05 else " The moments are jointly consistent with the model at the 5% level."),
        "",
        *([f"The representative point (`conf/fitted/default.yaml`) is the ensemble member with the least J on "
           f"{sel['seeds']} seeds of its own, neither the fit's nor the J check's: J = {sel['J']:.1f} there (a "
           f"minimum over {len(sel['members_J'])} members, so biased low), against a median of "
           f"{float(np.nanmedian(sel['members_J'])):.1f} over the members and {sel['medoid_J']:.1f} for the medoid "
           "(the particle nearest all others, the rule before this one)."
           + (f" On the J seeds above, which neither was chosen on, the medoid has J = "
              f"{sel['medoid_J_on_J_seeds']:.2f}." if "medoid_J_on_J_seeds" in sel else ""), ""]
          if (sel := summary.get("selection")) else []),
        f"ABC-SMC: {summary['generations']} generations after the calibration sample, {summary['simulations']} "
        f"simulations; final epsilon (sqrt of g'Wg) {summary['final_epsilon']:.3g} against "
        f"{np.sqrt(stats.chi2.ppf(0.5, len(summary['moments']))):.3g}, a correct model's median distance (the "
        "stopping floor). The posterior's width reflects this tolerance as well as the facts.",
        "",
        _md(pops),
        "",
        "## Fit targets: posterior predictive on seeds the fit did not use",
        "",
        f"{inside} of {len(fit_pred)} facts lie inside their 90% posterior predictive interval (the interval of what "
        "the source would report: the simulated moment over the ensemble plus the source's own sampling error)."
        + (f" Outside: {', '.join(misses)}." if misses else ""),
        "",
        "![predictive](predictive.png)",
        "",
        _md(fit_pred),
        "",
        "## Posterior",
        "",
        "![posterior](posterior.png)",
        "",
        _md(post),
        "",
        "## Time split",
        "",
        f"Fitted (ABC rejection on the reference table, nearest 5%) on the facts dated up to "
        f"{summary['time_split']['cutoff']} ({', '.join(summary['time_split']['early'])}), predicting the later "
        f"ones: {int(split['inside'].sum())} of {len(split)} inside their 90% interval.",
        "",
        "![time split](time_split.png)",
        "",
        _md(split),
        "",
        "## Leave one target out",
        "",
        f"Each fact predicted from a fit to the others (ABC rejection, nearest 5% of the reference table): "
        f"{int(loo['inside'].sum())} of {len(loo)} inside their 90% interval.",
        "",
        _md(loo),
        "",
        "## Validation and check targets over the ensemble",
        "",
        "Share of members within each target's band; break-even years are censored at the horizon (a member "
        "that never breaks even counts as after 2030, never as a year).",
        "",
        _md(other),
        "",
    ]
    if profiles is not None:
        lines += ["## Profiles", "",
                  "The distance over each parameter's prior range, the others at the representative point (flat: "
                  "a range under one chi-square unit).", "", "![profiles](profiles.png)", "", _md(profiles), ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
