"""Test an experiment's hypotheses on a sweep: run metrics, pairs by seed, tests, Holm, verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from routesim.analysis.stats import holm, paired_test
from routesim.analysis.sweep import Sweep


def run_metric(sweep: Sweep, spec: dict) -> pd.Series:
    """The hypothesis metric of every run, indexed by run number."""
    frame = sweep.tables[spec["table"]]
    for key, value in (spec.get("filter") or {}).items():
        frame = frame[frame[key] == value]
    if spec.get("start"):
        frame = frame[frame["month"] >= pd.Timestamp(f"{spec['start']}-01")]
    if spec.get("end"):
        frame = frame[frame["month"] <= pd.Timestamp(f"{spec['end']}-01")]
    column = spec["column"]
    values = frame[column] if column in frame else frame.eval(column)
    grouped = values.groupby(frame["run"])
    return {"mean": grouped.mean, "sum": grouped.sum, "last": grouped.last}[spec.get("aggregate", "mean")]()


def pairs(sweep: Sweep, spec: dict) -> pd.DataFrame:
    """Treatment and control metric side by side, one row per (seed, other overrides)."""
    metric = run_metric(sweep, spec).rename("metric")
    runs = sweep.runs.set_index("run").join(metric)
    treat = runs[runs["scenario"] == spec["treatment"]].set_index(["seed", "overrides"])["metric"]
    ctrl = runs[runs["scenario"] == spec["control"]].set_index(["seed", "overrides"])["metric"]
    return pd.concat({"treatment": treat, "control": ctrl}, axis=1).dropna()


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


def evaluate(sweep: Sweep, hypotheses: list[dict], alpha: float) -> pd.DataFrame:
    """One row per hypothesis: estimate, interval, p, Holm-adjusted p, effect size, verdict."""
    rows = []
    for spec in hypotheses:
        paired = pairs(sweep, spec)
        row = {"hypothesis": spec["id"], "claim": spec.get("claim", ""),
               "metric": f"{spec['table']}.{spec['column']}" + (f" {spec['filter']}" if spec.get("filter") else ""),
               "comparison": f"{spec['treatment']} - {spec['control']}", "alternative": spec["alternative"],
               "n": len(paired)}
        if len(paired) < 2:
            rows.append({**row, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan,
                         "test": "too few pairs", "effect_size": np.nan})
            continue
        res = paired_test(paired["treatment"].to_numpy(), paired["control"].to_numpy(), spec["alternative"])
        rows.append({**row, "estimate": res.estimate, "ci_low": res.ci_low, "ci_high": res.ci_high,
                     "p": res.p_value, "test": res.test, "effect_size": res.effect_size})
    table = pd.DataFrame(rows)
    tested = table["p"].notna()
    table["p_adjusted"] = np.nan
    table.loc[tested, "p_adjusted"] = holm(table.loc[tested, "p"].to_numpy())
    table["verdict"] = [
        verdict(r.p_adjusted, r.ci_low, r.ci_high, r.alternative, alpha) if pd.notna(r.p_adjusted) else "no data"
        for r in table.itertuples()]
    table["alpha"] = alpha
    return table


def claims_table(sweep: Sweep) -> pd.DataFrame:
    """The sweep's own claims, tested, with the columns a reader wants first."""
    table = evaluate(sweep, sweep.experiment["hypotheses"], sweep.experiment.get("alpha", 0.05))
    return table[["hypothesis", "claim", "estimate", "ci_low", "ci_high", "test", "p_adjusted", "verdict", "n"]]
