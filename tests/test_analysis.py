"""Statistics on known cases, and routesim-analyze end to end on a small sweep."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from routesim.analysis.hypotheses import evaluate
from routesim.analysis.stats import holm, paired_test
from routesim.analysis.sweep import Sweep, load_sweep

BIN = Path(sys.executable).parent


def test_holm_matches_hand_computation():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> running max
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])


def test_sign_flip_p_value_is_the_exact_share_of_sign_patterns():
    """Up to 13 pairs every sign pattern is used: p is the share of the 2**n flipped means at
    least as extreme as the observed one, counted here by hand."""
    import itertools

    diff = np.array([1.2, -0.3, 0.8, 2.1, 0.4, -0.1, 0.9])
    means = np.array([(np.array(s) * diff).mean() for s in itertools.product([1, -1], repeat=len(diff))])
    res = paired_test(diff, np.zeros_like(diff), "greater")
    assert res.test == "sign-flip permutation"
    assert res.p_value == pytest.approx((means >= diff.mean() - 1e-12).mean())
    assert paired_test(-diff, np.zeros_like(diff), "less").p_value == pytest.approx(res.p_value)
    assert paired_test(diff, np.zeros_like(diff), "less").p_value > 0.9
    two = paired_test(diff, np.zeros_like(diff), "two-sided").p_value
    assert two == pytest.approx((np.abs(means) >= abs(diff.mean()) - 1e-12).mean())


def test_effect_is_reported_in_units_and_relative_to_the_control():
    control = np.array([100.0, 120.0, 80.0, 110.0, 90.0])
    res = paired_test(control * 0.9, control, "less")
    assert res.control_mean == pytest.approx(100.0)
    assert res.estimate == pytest.approx(-10.0) and res.relative == pytest.approx(-0.1)


def test_identical_scenarios_are_rarely_significant():
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(200):
        base = rng.normal(100, 10, 20)
        a, b = base + rng.normal(0, 1, 20), base + rng.normal(0, 1, 20)  # same distribution
        hits += paired_test(a, b, "two-sided").p_value < 0.05
    assert hits / 200 < 0.10  # ~5% false positives expected


def test_planted_effect_is_detected_and_covered():
    rng = np.random.default_rng(2)
    effect, detected, covered = -0.8, 0, 0
    for rep in range(200):
        control = rng.normal(10, 3, 20)
        treatment = control + effect + rng.normal(0, 1, 20)
        res = paired_test(treatment, control, "less", seed=rep)
        detected += res.p_value < 0.05
        covered += res.ci_low <= effect <= res.ci_high
    assert detected / 200 > 0.9  # power ~0.99 at d_z = 0.8, n = 20
    assert 0.88 <= covered / 200 <= 0.99  # nominal 95%


def test_censored_dates_compare_in_the_claimed_direction():
    """Later break-evens in the treatment (some never within the horizon) support "greater"
    and not "less"; with no event at all in either scenario there is nothing to test."""
    from routesim.analysis.stats import censored_test

    later = np.array([60, 70, 80, 75, 65, np.nan, np.nan, np.nan])
    earlier = np.array([10, 12, 14, 16, 18, 20, 22, 90])  # 90 > horizon: censored
    res = censored_test(later, earlier, horizon=83, alternative="greater")
    assert res.test == "log-rank" and res.p_value < 0.01
    assert (res.events_treatment, res.events_control) == (5, 7)
    assert censored_test(later, earlier, horizon=83, alternative="less").p_value > 0.99
    assert res.median_control == 16 and res.median_treatment == 75  # S falls to 4/8 at 16 and at 75
    none = censored_test(np.full(4, np.nan), np.full(4, np.nan), horizon=83, alternative="greater")
    assert none.test == "none within the horizon" and none.p_value == 1.0 and np.isinf(none.median_control)


def synthetic_sweep(effect: float, seeds: int = 12) -> Sweep:
    rng = np.random.default_rng(4)
    runs, market = [], []
    months = pd.date_range("2024-01-01", periods=3, freq="MS")
    for s in range(seeds):
        level = rng.normal(100, 20)
        for j, scenario in enumerate(("status_quo", "no_routing")):
            run = 2 * s + j
            runs.append({"run": run, "scenario": scenario, "seed": s, "overrides": "", "path": ""})
            shift = effect if scenario == "status_quo" else 0.0
            for m in months:
                market.append({"run": run, "scenario": scenario, "seed": s, "overrides": "", "month": m,
                               "total_spend_usd": level + shift + rng.normal(0, 1)})
    return Sweep(runs=pd.DataFrame(runs), tables={"market": pd.DataFrame(market)})


def test_evaluate_pairs_by_seed_and_gives_verdicts():
    spec = {"id": "X", "table": "market", "column": "total_spend_usd", "treatment": "status_quo",
            "control": "no_routing", "alternative": "less"}
    lower = evaluate(synthetic_sweep(-5.0), [spec], 0.05).iloc[0]
    assert lower["verdict"] == "supported" and lower["n"] == 12
    assert lower["ci_low"] <= -5.0 <= lower["ci_high"]
    higher = evaluate(synthetic_sweep(+5.0), [spec], 0.05).iloc[0]
    assert higher["verdict"] == "rejected"


def labs_sweep(seeds: int = 6) -> Sweep:
    """Two labs; routing (status_quo) halves OpenAI's revenue and takes 20% of its calls, and
    leaves Anthropic's revenue and calls as they are."""
    rng = np.random.default_rng(5)
    runs, providers = [], []
    months = pd.date_range("2029-01-01", periods=2, freq="MS")
    for s in range(seeds):
        level = rng.uniform(50, 150)
        for j, scenario in enumerate(("status_quo", "no_routing")):
            run = 2 * s + j
            runs.append({"run": run, "scenario": scenario, "seed": s, "overrides": "", "path": ""})
            routed = scenario == "status_quo"
            for m in months:
                providers.append({"run": run, "month": m, "provider": "openai",
                                  "revenue_usd": level * (0.5 if routed else 1.0),
                                  "usage_share": 0.4 * (0.8 if routed else 1.0)})
                providers.append({"run": run, "month": m, "provider": "anthropic", "revenue_usd": level,
                                  "usage_share": 0.3})
    return Sweep(runs=pd.DataFrame(runs), tables={"providers": pd.DataFrame(providers)})


def test_claims_per_lab_and_for_two_labs_together_in_log_points():
    """Delta ln revenue - Delta ln usage share, per lab and summed over both labs per month."""
    base = {"table": "providers", "column": "log(revenue_usd) - log(usage_share)", "unit": "ln points",
            "treatment": "status_quo", "control": "no_routing", "alternative": "less"}
    specs = [{**base, "id": "openai", "filter": {"provider": "openai"}},
             {**base, "id": "anthropic", "filter": {"provider": "anthropic"}},
             {**base, "id": "both", "filter": {"provider": ["openai", "anthropic"]}, "combine": "sum"}]
    table = evaluate(labs_sweep(), specs, 0.05).set_index("hypothesis")
    assert table.loc["openai", "estimate"] == pytest.approx(np.log(0.5) - np.log(0.8))
    assert table.loc["openai", "relative"] == pytest.approx(0.5 / 0.8 - 1)  # a difference of logs, as a fraction
    assert table.loc["anthropic", "estimate"] == pytest.approx(0.0, abs=1e-12)
    # together: revenue 1.5 of 2 levels, calls 0.62 of 0.7
    assert table.loc["both", "estimate"] == pytest.approx(np.log(1.5 / 2) - np.log(0.62 / 0.7))
    assert table.loc["openai", "verdict"] == "supported" and table.loc["anthropic", "verdict"] != "supported"
    # Holm over the three claims: each adjusted p is at least its own and at most 3 times it
    assert (table["p_adjusted"] >= table["p"]).all() and (table["p_adjusted"] <= 3 * table["p"] + 1e-12).all()


def test_across_members_the_members_are_the_units_and_the_variance_splits():
    """Five members with effects a = -1, 0, 1, 2, 3 and seed noise +-s: 3 of 5 above zero;
    parameter variance var(a) - s^2/3 (one-way random effects) against seed variance 4 s^2/3."""
    from routesim.analysis.hypotheses import across_members

    effects, noise, rows = [-1.0, 0.0, 1.0, 2.0, 3.0], 0.5 * np.array([-1, 1, -1, 1]), []
    for k, a in enumerate(effects):
        for s, e in enumerate(noise):
            rows.append({"member": k, "seed": s, "treatment": 10 + a + e, "control": 10.0})
    paired = pd.DataFrame(rows)
    out = across_members(paired, "greater")
    assert out["members"] == 5 and out["members_holding"] == pytest.approx(3 / 5)
    parameter, seed = np.var(effects, ddof=1) - 0.25 / 3, 0.25 * 4 / 3
    assert out["parameter_variance_share"] == pytest.approx(parameter / (parameter + seed))
    assert out["member_p10"] == pytest.approx(np.quantile(effects, 0.1))
    same = paired.assign(treatment=10 + np.tile(noise, 5))  # no member differs: all seed noise
    assert across_members(same, "greater")["parameter_variance_share"] == 0.0
    runs = pd.DataFrame([{"run": 2 * j + i, "scenario": sc, "seed": r["seed"], "member": r["member"],
                          "overrides": f"fitted.member={r['member']}", "path": ""}
                         for j, r in enumerate(rows) for i, sc in enumerate(("status_quo", "no_routing"))])
    market = pd.DataFrame([{"run": 2 * j + i, "month": pd.Timestamp("2030-01-01"),
                            "x": r["treatment"] if i == 0 else r["control"]}
                           for j, r in enumerate(rows) for i in range(2)])
    spec = {"id": "E", "table": "market", "column": "x", "treatment": "status_quo", "control": "no_routing",
            "alternative": "greater"}
    row = evaluate(Sweep(runs=runs, tables={"market": market}), [spec], 0.05).iloc[0]
    assert row["n"] == 5 and row["test"] == "sign-flip permutation over members"
    assert row["estimate"] == pytest.approx(np.mean(effects)) and row["members_holding"] == pytest.approx(0.6)


def test_spec_hash_is_the_same_from_hydra_and_from_a_run_and_moves_with_an_edit():
    import dataclasses

    from routesim import compose
    from routesim.analysis.hypotheses import spec_hash

    cfg = compose(["+experiment=h2_revenue_vs_token_share"])
    from_run = dataclasses.asdict(cfg)["experiment"]  # what run.json stores
    hydra_side = {"name": "h2_revenue_vs_token_share", "alpha": 0.05,
                  "hypotheses": [{k: v for k, v in h.items() if v not in ("", None, {})}
                                 for h in from_run["hypotheses"]]}  # defaults left out, as in the YAML
    assert spec_hash(from_run) == spec_hash(hydra_side)
    edited = {**from_run, "hypotheses": [{**from_run["hypotheses"][0], "end": "2030-06"}, *from_run["hypotheses"][1:]]}
    assert spec_hash(edited) != spec_hash(from_run)


def test_analyze_end_to_end_on_a_small_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    cmd = [str(BIN / "routesim"), "+experiment=h1_frontier_revenue", "market=tiny", "population=tiny", "fitted=none",
           "end=2025-12", "experiment.hypotheses.0.start=2025-01", "experiment.hypotheses.0.end=2025-12",
           "adoption.initial_share=0.5", "seed=range(0,5)", "output.plots=false", "hydra/launcher=basic",
           f"hydra.sweep.dir={sweep}"]  # in one process: worker processes are tested elsewhere
    assert subprocess.run(cmd, capture_output=True, text=True, timeout=600).returncode == 0
    (sweep / "3" / "run.json").unlink()  # a run that died before finishing
    (sweep / "4" / "market.parquet").write_bytes(b"not parquet")  # a corrupted table
    proc = subprocess.run([str(BIN / "routesim-analyze"), str(sweep)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = sweep / "analysis"
    table = pd.read_csv(out / "hypotheses.csv")
    assert set(table["hypothesis"]) == {"H1a", "H1b"}
    assert {"estimate", "ci_low", "ci_high", "p", "p_adjusted", "verdict", "n"} <= set(table.columns)
    assert (table["n"] == 3).all()  # seeds 0-4 minus the two broken runs' pairs (seeds 1 and 2)
    stacked = pd.read_parquet(out / "market.parquet")
    assert {"scenario", "seed", "run"} <= set(stacked.columns) and stacked["run"].nunique() == 8
    report = (out / "report.md").read_text()
    assert "H1a" in report and "Broken runs" in report and "routesim-analyze" in report
    assert "USD per frontier call" in report and "% of control" in report
    started = json.loads((sweep / "experiment.json").read_text())["hash"]  # recorded when the sweep began
    assert f"Claims spec hash `{started}` (the same as at the sweep's start)" in report
    assert (table["spec_hash"] == started).all()
    assert "'seed=range(0,5)'" in report  # the reproduce line runs in bash as written
    assert len(load_sweep(sweep).broken) == 2
    # the H1 notebook executes headless on this sweep (CI runs it at small scale)
    run = subprocess.run([sys.executable, str(Path(__file__).parents[1] / "experiments" / "run_notebooks.py"),
                          "h1_frontier_revenue", "--sweep", str(sweep)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    html = (out / "h1_frontier_revenue.html").read_text()
    assert html.count("data:image/png") >= 2  # the figures are in the page, not "<Figure size ...>"
    assert "&lt;Figure size" not in html
    # the conclusion is computed from the sweep: each claim's verdict appears in it
    table = pd.read_csv(out / "hypotheses.csv")
    assert "Conclusion" in html and "Limitations" in html
    for row in table.itertuples():
        assert f"<strong>{row.hypothesis}</strong>" in html and f"<strong>{row.verdict}</strong>" in html


def test_a_sweep_without_claims_gets_a_readable_empty_claims_table(tmp_path):
    from routesim.analysis.report import analyze

    sweep = tmp_path / "sweep"
    cmd = [str(BIN / "routesim"), "-m", "market=tiny", "population=tiny", "fitted=none", "end=2024-06",
           "seed=0,1", "output.plots=false", f"hydra.sweep.dir={sweep}"]
    assert subprocess.run(cmd, capture_output=True, text=True, timeout=600).returncode == 0
    assert not (sweep / "experiment.json").exists()
    analyze(sweep, plots=False)
    table = pd.read_csv(sweep / "analysis" / "hypotheses.csv")
    assert table.empty and {"hypothesis", "estimate", "p_adjusted", "verdict", "unit"} <= set(table.columns)
    report = (sweep / "analysis" / "report.md").read_text()
    assert report.startswith("# sweep without an experiment") and "tests no claim" in report


def test_broken_runs_are_listed_and_duplicates_refused(tmp_path):
    """Missing metadata, a run.json that is not an object or not complete, a table of the wrong
    schema or of other columns: broken, listed with the reason. The same run twice: refused."""
    import json
    import shutil

    from routesim import compose, simulate
    from routesim.analysis.sweep import DuplicateRunsError
    from routesim.results import write_metadata, write_tables

    def run(folder: str, seed: int) -> Path:
        res = simulate(compose(["market=tiny", "population=tiny", "fitted=none", "end=2024-03", f"seed={seed}"]))
        res.metadata.update(status="complete", overrides=[f"seed={seed}"])
        write_tables(res, tmp_path / folder)
        write_metadata(res.metadata, tmp_path / folder)
        return tmp_path / folder

    good = [run(str(j), j) for j in range(3)]
    for name, seed in (("no_seed", 10), ("not_object", 11), ("running", 12), ("no_month", 13), ("text", 14),
                       ("other_columns", 15)):
        shutil.copytree(good[0], tmp_path / name)
        meta = json.loads((good[0] / "run.json").read_text()) | {"seed": seed}
        (tmp_path / name / "run.json").write_text(json.dumps(meta))
    meta = json.loads((good[0] / "run.json").read_text())
    (tmp_path / "no_seed" / "run.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "seed"}))
    (tmp_path / "not_object" / "run.json").write_text("[1, 2]")
    (tmp_path / "running" / "run.json").write_text(json.dumps(meta | {"status": "running", "seed": 12}))
    market = pd.read_parquet(good[0] / "market.parquet")
    market.drop(columns="month").to_parquet(tmp_path / "no_month" / "market.parquet")
    market.assign(total_spend_usd="lots").to_parquet(tmp_path / "text" / "market.parquet")
    market.assign(extra=1.0).to_parquet(tmp_path / "other_columns" / "market.parquet")
    sweep = load_sweep(tmp_path)
    assert sorted(sweep.runs["seed"]) == [0, 1, 2]
    reasons = dict(sweep.broken)
    assert set(reasons) == {"no_seed", "not_object", "running", "no_month", "text", "other_columns"}
    assert "lacks seed" in reasons["no_seed"] and "not a JSON object" in reasons["not_object"]
    assert "'running'" in reasons["running"] and "market lacks the column(s) month" in reasons["no_month"]
    assert "non-numeric value column(s) total_spend_usd" in reasons["text"]
    assert "market: columns differ" in reasons["other_columns"]
    shutil.copytree(good[1], tmp_path / "copy_of_1")
    with pytest.raises(DuplicateRunsError, match="(copy_of_1 and 1|1 and copy_of_1) are the same run"):
        load_sweep(tmp_path)


@pytest.mark.slow
def test_status_quo_against_itself_rejects_at_about_alpha():
    """A/A: 200 disjoint sets of 8 seeds against 8 other seeds, the same scenario on both sides
    (total spend of a small market over 2024). The paired test must reject at about alpha: the
    count of rejections lies inside the binomial 95% band around 5% of 200."""
    from scipy import stats

    from routesim import compose, simulate
    from routesim.params import configure

    base = compose(["market=tiny", "population=tiny", "fitted=none", "end=2024-12"])
    sets, n, alpha = 200, 8, 0.05
    spend = np.array([simulate(configure({"seed": s}, base)).market["total_spend_usd"].sum()
                      for s in range(sets * 2 * n)]).reshape(sets, 2, n)
    rejections = sum(paired_test(a, b, "two-sided", seed=j).p_value < alpha for j, (a, b) in enumerate(spend))
    low, high = stats.binom.interval(0.95, sets, alpha)
    assert low <= rejections <= high, (rejections, low, high)


@pytest.mark.slow
def test_every_experiment_runs_and_analyzes(tmp_path):
    conf = Path(__file__).parents[1] / "conf" / "experiment"
    for exp in sorted(p.stem for p in conf.glob("*.yaml")):
        sweep = tmp_path / exp
        cmd = [str(BIN / "routesim"), f"+experiment={exp}", "population.n_enterprises=300", "end=2030-12",
               "seed=range(0,3)", f"hydra.sweep.dir={sweep}"]
        assert subprocess.run(cmd, capture_output=True, text=True, timeout=900).returncode == 0, exp
        proc = subprocess.run([str(BIN / "routesim-analyze"), str(sweep)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        table = pd.read_csv(sweep / "analysis" / "hypotheses.csv")
        assert len(table) >= 1 and table["unit"].notna().all() and table["spec_hash"].notna().all(), exp
        if {"status_quo", "no_routing"} <= set(load_sweep(sweep).runs["scenario"]):  # where the revenue went
            for lab in ("openai", "anthropic"):
                parts = pd.read_csv(sweep / "analysis" / f"attribution_{lab}.csv", index_col="year")
                assert list(parts.index) == list(range(2024, 2031)), exp


def test_morris_sensitivity_indices_and_plot():
    from routesim.analysis.sensitivity import OUTCOMES, UNCERTAIN, morris_analysis, plot_indices

    indices, points = morris_analysis(trajectories=2, levels=4, seed=0, n_jobs=1,
                                      extra=["population.n_enterprises=100"])
    assert len(points) == 2 * (len(UNCERTAIN) + 1)  # a trajectory visits k + 1 points
    assert set(indices["outcome"]) == set(OUTCOMES) and set(indices["parameter"]) == set(UNCERTAIN)
    assert (indices["mu_star"] >= 0).all()
    elasticity = indices.query("parameter == 'demand.price_elasticity' and outcome == 'frontier_revenue_2030_usd'")
    assert elasticity["mu_star"].item() > 0  # the rebound moves frontier revenue
    assert plot_indices(indices).axes


def test_sensitivity_ranges_hold_the_fitted_values():
    """The screen varies the fitted parameters over the calibration's priors: the shipped fit
    lies inside every range (it did not when the ranges were typed by hand)."""
    import yaml

    from routesim.analysis.sensitivity import UNCERTAIN

    fitted = yaml.safe_load((Path(__file__).parents[1] / "conf" / "fitted" / "default.yaml").read_text())
    flat = {f"{section}.{key}": value for section, values in fitted.items() for key, value in values.items()}
    checked = [key for key in UNCERTAIN if key in flat]
    assert len(checked) >= 5
    for key in checked:
        low, high = UNCERTAIN[key]
        assert low <= flat[key] <= high, (key, flat[key], UNCERTAIN[key])


def test_notebooks_without_sweeps_are_skipped_with_the_command_that_makes_one(tmp_path):
    """`make notebooks` before any sweep: no traceback, each notebook names its experiment's command."""
    script = Path(__file__).parents[1] / "experiments" / "run_notebooks.py"
    proc = subprocess.run([sys.executable, str(script), "h2_revenue_vs_token_share", "h7_rebound", "--sweeps",
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "run `routesim +experiment=h2_revenue_vs_token_share` first" in proc.stdout
    assert proc.stdout.count("skipped") == 2
    bad = subprocess.run([sys.executable, str(script), "h9_nope"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "no notebook h9_nope; allowed:" in bad.stderr


@pytest.mark.slow
def test_make_results_writes_the_index_with_every_claim_and_the_notebook(tmp_path):
    """`make results` on one experiment, reusing a small sweep started with today's claims."""
    sweeps, out = tmp_path / "sweeps", tmp_path / "report"
    sweep = sweeps / "h7_rebound" / "small"
    cmd = [str(BIN / "routesim"), "+experiment=h7_rebound", "population.n_enterprises=200", "seed=range(0,3)",
           "hydra/launcher=basic", f"hydra.sweep.dir={sweep}"]
    assert subprocess.run(cmd, capture_output=True, text=True, timeout=600).returncode == 0
    script = Path(__file__).parents[1] / "experiments" / "make_results.py"
    proc = subprocess.run([sys.executable, str(script), "--experiments", "h7_rebound", "--reuse", "--sweeps",
                           str(sweeps), "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "reusing" in proc.stdout
    index = (out / "index.md").read_text()
    assert "| H7a " in index and "| H7b " in index and "tasks (2024-2030 total)" in index
    assert (out / "index.html").read_text().count("<tr") >= 3  # a header and the two claims
    assert (out / "h7_rebound" / "h7_rebound.html").read_text().count("data:image/png") >= 2
    assert (out / "h7_rebound" / "report.md").exists() and (out / "h7_rebound" / "hypotheses.csv").exists()
