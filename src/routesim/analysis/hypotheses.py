"""Test an experiment's claims on a sweep: run metrics, pairs by seed, tests, Holm, verdicts.

A claim (``HypothesisSpec``) is either *paired* (a run-level metric, treatment minus control
over runs sharing a seed: :func:`routesim.analysis.stats.paired_test`) or *censored* (a date
that may fall beyond the horizon, such as a break-even month: the share of runs reaching it by
each year, and the log-rank test). Holm's adjustment runs over every claim of the report.
The spec's hash (:func:`spec_hash`) identifies the claims a sweep was started with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import numpy as np
import pandas as pd

from routesim.analysis.stats import censored_test, holm, paired_test
from routesim.analysis.sweep import Sweep

COLUMNS = ["hypothesis", "claim", "kind", "metric", "unit", "comparison", "alternative", "n", "control_mean",
           "estimate", "relative", "ci_low", "ci_high", "test", "p", "p_adjusted", "effect_size", "verdict", "alpha"]
ENSEMBLE_COLUMNS = ["members", "members_holding", "member_p10", "member_p90", "parameter_variance_share"]


def spec_hash(experiment: Mapping) -> str:
    """12 hex digits of SHA-256 over the experiment's claims, with every default filled in.

    The same spec gives the same hash whether it comes from Hydra at the sweep's start or
    from a run's ``run.json``, so an edit made after results exist shows as a new hash.
    """
    from omegaconf import OmegaConf

    from routesim.config import ExperimentConfig

    merged = OmegaConf.merge(OmegaConf.structured(ExperimentConfig), OmegaConf.create(dict(experiment)))
    text = json.dumps(OmegaConf.to_container(merged, resolve=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _filtered(sweep: Sweep, spec: Mapping) -> pd.DataFrame:
    frame = sweep.tables[spec["table"]]
    for key, value in (spec.get("filter") or {}).items():
        values = list(value) if isinstance(value, list | tuple) else [value]
        frame = frame[frame[key].isin(values)]
    if spec.get("start"):
        frame = frame[frame["month"] >= pd.Timestamp(f"{spec['start']}-01")]
    if spec.get("end"):
        frame = frame[frame["month"] <= pd.Timestamp(f"{spec['end']}-01")]
    if spec.get("combine") == "sum":  # several rows a month (two labs) summed before the expression
        numbers = frame.select_dtypes("number").columns.difference(["run", "seed"])
        frame = frame.groupby(["run", "month"], as_index=False)[list(numbers)].sum()
    return frame


def run_metric(sweep: Sweep, spec: Mapping) -> pd.Series:
    """The claim's metric of every run, indexed by run number."""
    frame = _filtered(sweep, spec)
    column = spec["column"]
    values = frame[column] if column in frame else frame.eval(column)
    grouped = values.groupby(frame["run"])
    return {"mean": grouped.mean, "sum": grouped.sum, "last": grouped.last}[spec.get("aggregate", "mean")]()


def pairs(sweep: Sweep, spec: Mapping) -> pd.DataFrame:
    """Treatment and control metric side by side, one row per (seed, other overrides).

    An ensemble sweep's overrides hold ``fitted.member``, so pairs stay within a member; its
    ``member`` column says which.
    """
    metric = run_metric(sweep, spec).rename("metric")
    runs = sweep.runs.set_index("run").join(metric)
    treat = runs[runs["scenario"] == spec["treatment"]].set_index(["seed", "overrides"])
    ctrl = runs[runs["scenario"] == spec["control"]].set_index(["seed", "overrides"])["metric"]
    out = pd.concat({"treatment": treat["metric"], "control": ctrl}, axis=1)
    if "member" in treat:
        out["member"] = treat["member"]
    return out.dropna(subset=["treatment", "control"])


def across_members(paired: pd.DataFrame, alternative: str) -> dict:
    """What parameter uncertainty does to a paired effect, over an ensemble sweep's members.

    Per member the mean paired difference over its seeds; the share of members whose mean
    lies in the claimed direction (two-sided: the overall estimate's); its 10th and 90th
    percentiles; and the share of the differences' variance that is between members
    (one-way random effects: (MSB - MSW) / seeds, against MSW, the seed noise).
    """
    diff = (paired["treatment"] - paired["control"]).groupby(paired["member"])
    means, counts = diff.mean(), diff.count()
    k, seeds = len(means), float(counts.mean())
    sign = {"less": -1.0, "greater": 1.0}.get(alternative, float(np.sign(means.mean())) or 1.0)
    within = float(diff.var(ddof=1).fillna(0.0).mean())
    between = float(means.var(ddof=1) * seeds) if k > 1 else 0.0
    parameter = max(0.0, (between - within) / seeds)
    total = parameter + within
    return {"members": k, "members_holding": float((np.sign(means) == sign).mean()),
            "member_p10": float(means.quantile(0.1)), "member_p90": float(means.quantile(0.9)),
            "parameter_variance_share": parameter / total if total > 0 else np.nan}


def months_since_start(sweep: Sweep, column: str) -> tuple[pd.Series, float]:
    """A runs-table date column as months since the sweep's first month, and the horizon.

    nan: not within the horizon; the horizon is the sweep's last month, in the same units.
    """
    first, last = (sweep.tables["market"]["month"].agg(f) for f in ("min", "max"))
    dates = pd.to_datetime(sweep.runs.set_index("run")[column], format="%Y-%m", errors="coerce")
    months = (dates.dt.year - first.year) * 12 + (dates.dt.month - first.month)
    return months.astype(float), float((last.year - first.year) * 12 + last.month - first.month)


def by_year(sweep: Sweep, spec: Mapping) -> pd.DataFrame:
    """Share of each scenario's runs whose date (a censored claim's column) falls by each year's end."""
    dates = pd.to_datetime(sweep.runs.set_index("run")[spec["column"]], format="%Y-%m", errors="coerce")
    last = sweep.tables["market"]["month"].max()
    years = range(sweep.tables["market"]["month"].min().year, last.year + 1)
    scenario = sweep.runs.set_index("run")["scenario"]
    rows = {s: {y: float((dates[scenario == s].dt.year <= y).mean()) for y in years}
            for s in (spec["treatment"], spec["control"])}
    return pd.DataFrame(rows).T.rename_axis("scenario")


def verdict(p_adjusted: float, low: float, high: float, alternative: str, alpha: float) -> str:
    """The verdict on one claim.

    supported: significant in the claimed direction after Holm; rejected: the interval lies
    on the other side of zero; undecided: neither (not significant is not "no effect").
    """
    if p_adjusted < alpha:
        return "supported"
    if (alternative == "less" and low > 0) or (alternative == "greater" and high < 0):
        return "rejected"
    return "undecided"


def _describe(spec: Mapping) -> dict:
    filt = spec.get("filter") or {}
    where = f" {dict(filt)}" if filt else ""
    window = f" {spec.get('start') or 'start'}..{spec.get('end') or 'end'}" if spec.get("kind") != "censored" else ""
    return {"hypothesis": spec["id"], "claim": spec.get("claim", ""), "kind": spec.get("kind", "paired"),
            "metric": f"{spec['table']}.{spec['column']}{where}"
                      + (f" ({spec.get('aggregate', 'mean')}{window})" if spec.get("kind") != "censored" else ""),
            "unit": spec.get("unit", ""), "comparison": f"{spec['treatment']} - {spec['control']}",
            "alternative": spec["alternative"]}


def _paired_row(sweep: Sweep, spec: Mapping, seed: int) -> dict:
    paired = pairs(sweep, spec)
    ensemble = {}
    if "member" in paired and paired["member"].nunique() > 1:
        # parameter uncertainty: the members are the units (their seed means), not the runs
        ensemble = across_members(paired, spec["alternative"])
        paired = paired.groupby("member")[["treatment", "control"]].mean()
    if len(paired) < 2:
        return {"n": len(paired), "test": "too few pairs"}
    res = paired_test(paired["treatment"].to_numpy(), paired["control"].to_numpy(), spec["alternative"], seed=seed)
    # a difference of logs is already relative: exp(estimate) - 1 is the change as a fraction
    relative = float(np.expm1(res.estimate)) if str(spec.get("unit", "")).startswith("ln") else res.relative
    return {"n": res.n, "control_mean": res.control_mean, "estimate": res.estimate, "relative": relative,
            "ci_low": res.ci_low, "ci_high": res.ci_high, "test": res.test + (" over members" if ensemble else ""),
            "p": res.p_value, "effect_size": res.effect_size, **ensemble}


def _censored_row(sweep: Sweep, spec: Mapping) -> dict:
    months, horizon = months_since_start(sweep, spec["column"])
    scenario = sweep.runs.set_index("run")["scenario"]
    treat, ctrl = months[scenario == spec["treatment"]], months[scenario == spec["control"]]
    if min(len(treat), len(ctrl)) < 2:
        return {"n": min(len(treat), len(ctrl)), "test": "too few runs"}
    res = censored_test(treat.to_numpy(), ctrl.to_numpy(), horizon, spec["alternative"])
    within_t, within_c = res.events_treatment / res.n_treatment, res.events_control / res.n_control
    # the effect: the change in the share of runs with the date within the horizon
    return {"n": min(res.n_treatment, res.n_control), "control_mean": within_c, "estimate": within_t - within_c,
            "relative": (within_t - within_c) / within_c if within_c else np.nan, "test": res.test,
            "p": res.p_value}


def evaluate(sweep: Sweep, hypotheses: list[Mapping], alpha: float, seed: int = 0) -> pd.DataFrame:
    """One row per claim (``COLUMNS``); Holm's adjustment over all of them."""
    rows = []
    for j, spec in enumerate(hypotheses):
        row = _describe(spec)
        row.update(_censored_row(sweep, spec) if spec.get("kind") == "censored" else _paired_row(sweep, spec, seed + j))
        rows.append(row)
    table = pd.DataFrame(rows)
    table = table.reindex(columns=COLUMNS + [c for c in ENSEMBLE_COLUMNS if c in table])
    tested = table["p"].notna()
    table.loc[tested, "p_adjusted"] = holm(table.loc[tested, "p"].to_numpy(float))
    table["verdict"] = [
        verdict(r.p_adjusted, r.ci_low, r.ci_high, r.alternative, alpha) if pd.notna(r.p_adjusted) else "no data"
        for r in table.itertuples()]
    table["alpha"] = alpha
    return table


def claims_table(sweep: Sweep) -> pd.DataFrame:
    """The sweep's own claims, tested, with the columns a reader wants first."""
    table = evaluate(sweep, sweep.experiment["hypotheses"], sweep.experiment.get("alpha", 0.05))
    return table[["hypothesis", "claim", "unit", "control_mean", "estimate", "relative", "ci_low", "ci_high", "test",
                  "p_adjusted", "verdict", "n"]]
