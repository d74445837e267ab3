"""Bad input of every kind gets exit status 2, one message naming the key (or file), no traceback.

Every case runs the real console script (its main(), in a forked child of one runner
process: see tests/cli_runner.py) with its real exit status and output. Classes: config
values (+-inf, NaN, astronomically large or small numbers, names that become paths, dates
outside the catalogue, contradictory catalogue entries, overrides that would be ignored,
runs too large to be meaningful or to fit in memory), Hydra's own errors, files (YAML
syntax errors, unusable run folders) and the helper commands' arguments.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = Path(__file__).with_name("cli_runner.py")
BASE = ["market=tiny", "fitted=none", "output.plots=false"]  # TINY without population and end
TINY = [*BASE, "population=tiny", "end=2024-06"]
DEFAULT = ["population.n_enterprises=300", "output.plots=false"]
LONG = "x" * 300

# id -> (class, command, arguments, strings the message must contain, extra environment)
# A "@/" in an argument is replaced by the shared scratch folder of the cases. The default
# suite runs the cases named in FAST (a few of every class, ~8 s); the slow suite the others.
CASES: dict[str, tuple[str, str, list[str], list[str], dict[str, str]]] = {}
FAST = {
    "router.integration_cost_usd=inf", "market.models.big.price_in_usd_per_mtok=1e308",
    "market.providers.labone.api_share_of_fixed_cost=-inf", "rebound of falling prices", "run too large for memory",
    "start before the catalogue", "no everyday model left", "price change before release", "industries={}",
    "a key given twice", "scenario.name=/../../x", "hydra.run.dir=''", "run dir is a file", "run dir name too long",
    "sweep dir empty", "unknown group option", "override syntax", "wrong type", "unknown key", "YAML flow sequence",
    "no such folder", "a file", "no runs", "duplicate runs", "alpha out of range", "--trajectories 0", "--levels 1",
    "--jobs 0", "adoption.innovation_p=2", "optuna --seeds 0", "--minutes 0", "--threshold 2",
}


def case(cls: str, case_id: str, args: list[str], names: list[str], command: str = "routesim",
         env: dict[str, str] | None = None) -> None:
    CASES[case_id] = (cls, command, args, names, env or {})


# --- config values: infinite, NaN, astronomically large or small numbers (issue 18, item 2)
for key, value in [
    ("router.integration_cost_usd", "inf"), ("router.integration_cost_usd", "1e300"),
    ("market.models.big.price_in_usd_per_mtok", "1e308"), ("market.models.small.price_out_usd_per_mtok", "1e-300"),
    ("market.trends.frontier.price_change_per_year", "1e-300"),
    ("market.providers.labone.api_share_of_fixed_cost", "-inf"),
    ("switching.quality_weight", "inf"), ("switching.switching_cost", "1e300"),
    ("router.logit_quality_weight", "1e300"), ("router.logit_price_weight", "inf"),
    ("demand.spike_max_multiple", "inf"), ("demand.growth_per_month", "nan"),
    ("population.size_median_tasks_per_month", "nan"), ("population.size_median_tasks_per_month", "1e300"),
    ("population.industries.easy.weight", "inf"), ("workload.families.routine.tokens_in_per_task", "1e308"),
    ("budget.log_budget_to_forecast_sd", "1e300"), ("router.fee_usd_per_1k_requests", "1e300"),
    ("pricing.cut_fraction", "1.0"), ("access.overseas_risk_premium", "-inf"), ("seed", "-1"),
    ("market.providers.labone.serving_cost_change_per_year", "1e-300"),
]:
    case("config value", f"{key}={value}", [*TINY, f"{key}={value}"], [key])
case("config value", "++output_tokens_multiplier=inf", [*TINY, "++market.models.big.output_tokens_multiplier=inf"],
     ["market.models.big.output_tokens_multiplier"])
case("config value", "shock multiplier 1e300",
     [*TINY, "scenario.shocks=[{month: '2024-03', target: 'tier:frontier', price_multiplier: 1e300}]"],
     ["scenario.shocks[0].price_multiplier"])
case("config value", "fixed cost anchor 1e300",
     [*TINY, "+market.providers.labone.fixed_cost_usd_per_month={anchors: [{month: '2024-01', value: 1e300}]}"],
     ["market.providers.labone.fixed_cost_usd_per_month.anchors[0].value"])
# compounding beyond any market, each factor in range (preflight.check_scale)
case("config value", "growth compounding to inf",
     ["market=tiny", "population=tiny", "fitted=none", "demand.growth_per_month=1.0",
      "demand.long_run_growth_per_month=1.0", "end=2099-12"],  # the rate tapers to the long-run one
     ["demand.*growth*", "end"])
case("config value", "rebound of falling prices",
     ["market=tiny", "population=tiny", "fitted=none", "demand.price_elasticity=5", "market.trends.start=2024-01",
      "market.trends.budget.price_change_per_year=0.01", "market.trends.overseas.price_change_per_year=0.01",
      "end=2070-12"], ["demand.price_elasticity"])
case("config value", "run too large for memory", [*TINY, "population.n_enterprises=10000000"],
     ["population.n_enterprises", "GB"], env={"ROUTESIM_MEMORY_LIMIT_MB": "2000"})
case("config value", "panel too large for memory",
     [*TINY, "population.n_enterprises=1000000", "output.enterprise_panel=true"],
     ["output.enterprise_panel", "GB"], env={"ROUTESIM_MEMORY_LIMIT_MB": "2000"})

# --- dates and catalogue entries (items 3 and 4)
case("dates", "start before the catalogue", [*DEFAULT, "start=2023-11", "end=2024-03"],
     ["start", "google", "allowed: 2023-12"])
case("dates", "end far in the future", [*DEFAULT, "end=2999-12"], ["end", "allowed: 2023-12 .. 20"])
case("dates", "no everyday model left",
     [*TINY, "++market.models.big.retire=2024-03", "++market.models.small.retire=2024-03"],
     ["end", "allowed:", "2024-03"])
case("dates", "month 13", [*TINY, "start=2024-13"], ["start", "YYYY-MM"])
case("dates", "end before start", [*BASE, "population=tiny", "start=2024-06", "end=2024-01"], ["end", "start"])
case("catalogue", "retire before release", [*TINY, "++market.models.big.retire=2019-01"],
     ["market.models.big.retire"])
case("catalogue", "price change before release",
     [*TINY, "+market.models.big.price_changes=[{month: '2019-06', price_in_usd_per_mtok: 1, "
             "price_out_usd_per_mtok: 2}]"], ["market.models.big.price_changes[0].month", "2020-01"])
case("catalogue", "price change after retire",
     [*TINY, "++market.models.small.retire=2024-03", "+market.models.small.price_changes=[{month: '2024-05', "
             "price_in_usd_per_mtok: 1, price_out_usd_per_mtok: 2}]"], ["market.models.small.price_changes[0].month"])
case("catalogue", "two price changes in one month",
     [*TINY, "+market.models.big.price_changes=[{month: '2024-02', price_in_usd_per_mtok: 1, "
             "price_out_usd_per_mtok: 2}, {month: '2024-02', price_in_usd_per_mtok: 2, price_out_usd_per_mtok: 3}]"],
     ["market.models.big.price_changes[1].month"])

# --- overrides that would be ignored (item 4)
case("ignored override", "industries={}", [*TINY, "population.industries={}"], ["population.industries"])
case("ignored override", "models={}", [*TINY, "market.models={}"], ["market.models"])
case("ignored override", "mix={threshold: 1}", [*TINY, "router=mix", "router.mix={threshold: 1.0}"], ["router.mix"])
case("ignored override", "a key given twice", [*TINY, "seed=1", "seed=2"], ["seed", "twice"])
case("ignored override", "~ of a schema key", [*TINY, "~seed"], ["seed"])

# --- names that become paths, run folders (item 5)
case("paths", "scenario.name=/../../x", [*TINY, "scenario.name=/../../x"], ["scenario.name"])
case("paths", "scenario.name=../x", [*TINY, "scenario.name=../x"], ["scenario.name"])
case("paths", "scenario.name too long", [*TINY, f"scenario.name={LONG}"], ["scenario.name"])
case("paths", "experiment.name=../../x", [*TINY, "+experiment=h1_frontier_revenue", "experiment.name=../../x",
                                         "hydra.mode=RUN"], ["experiment.name"])
case("paths", "hydra.run.dir=''", [*TINY, "hydra.run.dir="], ["hydra.run.dir", "empty"])
case("paths", "run dir is a file", [*TINY, "hydra.run.dir=@/a_file"], ["hydra.run.dir", "file"])
case("paths", "run dir inside a file", [*TINY, "hydra.run.dir=@/a_file/run"], ["hydra.run.dir"])
case("paths", "run dir not creatable", [*TINY, "hydra.run.dir=/proc/1/routesim"], ["hydra.run.dir"])
case("paths", "run dir on a read-only file system", [*TINY, "hydra.run.dir=/sys/routesim"], ["hydra.run.dir"])
case("paths", "run dir name too long", [*TINY, f"hydra.run.dir=@/{LONG}"], ["hydra.run.dir"])
case("paths", "run dir path too long", [*TINY, "hydra.run.dir=@/" + "/".join(["y" * 200] * 21)],
     ["hydra.run.dir", "too long"])
case("paths", "sweep dir empty", ["-m", *TINY, "seed=1,2", "hydra.sweep.dir="], ["hydra.sweep.dir", "empty"])
case("paths", "sweep dir is a file", ["-m", *TINY, "seed=1,2", "hydra.sweep.dir=@/a_file"], ["hydra.sweep.dir"])

# --- Hydra's own configuration errors (item 6)
case("hydra", "unknown group option", [*TINY, "router=nope"], ["router/nope", "learned"])
case("hydra", "unknown launcher", [*TINY, "hydra/launcher=nope"], ["hydra/launcher/nope", "basic"])
case("hydra", "override syntax", [*TINY, "seed=[1,"], ["seed=[1,"])
case("hydra", "override without =", [*TINY, "population.n_enterprises"], ["population.n_enterprises"])
case("hydra", "missing value", [*TINY, "seed=???"], ["seed"])
case("hydra", "wrong type", [*TINY, "seed=abc"], ["seed"])
case("hydra", "wrong type nested", [*TINY, "population.n_enterprises=many"], ["population.n_enterprises"])
case("hydra", "unknown key", [*TINY, "foo=1"], ["foo"])
case("hydra", "unknown key added", [*TINY, "+foo=1"], ["foo"])
case("hydra", "unknown nested key", [*TINY, "+workload.bar=2"], ["workload.bar"])
case("hydra", "interpolation to nowhere", [*TINY, "scenario.name=${nope}"], ["nope"])
case("hydra", "bad value in a sweep", ["-m", *TINY, "seed=1,2", "adoption.imitation_q=-1", "hydra/launcher=basic",
                                       "hydra.sweep.dir=@/sweep_bad"], ["adoption.imitation_q"])
case("hydra", "unknown option in a sweep", ["-m", *TINY, "router=learned,nope", "hydra.sweep.dir=@/sweep_opt"],
     ["router/nope"])

# --- files (item 5): YAML syntax errors name the file and line
case("files", "YAML flow sequence", ["--config-dir", "@/conf", *TINY, "market=broken"], ["broken.yaml, line 4"])
case("files", "YAML tab", ["--config-dir", "@/conf", *TINY, "market=tabs"], ["tabs.yaml, line 2"])
case("files", "YAML preset lacking a key", ["--config-dir", "@/conf", *BASE, "population=lacking"],
     ["population.size_sigma"])
case("files", "YAML scenario adding a model of negative price", ["--config-dir", "@/conf", *TINY, "scenario=bad_model"],
     ["scenario.new_models.x.price_in_usd_per_mtok"])

# --- routesim-analyze (item 9)
case("analyze", "no such folder", ["@/nowhere"], ["nowhere"], command="routesim-analyze")
case("analyze", "a file", ["@/a_file"], ["a_file"], command="routesim-analyze")
case("analyze", "no runs", ["@/empty"], ["no complete run"], command="routesim-analyze")
case("analyze", "duplicate runs", ["@/dupes"], ["same run", "seed 0"], command="routesim-analyze")
case("analyze", "a single run", ["@/dupes/0"], ["is a single run", "sweep folder"], command="routesim-analyze")
case("analyze", "a parent of two sweeps", ["@/two_sweeps"], ["holds 2 sweeps", "give one of them"],
     command="routesim-analyze")
case("analyze", "a parent of one sweep", ["@/one_sweep"], ["holds one sweep", "give that folder"],
     command="routesim-analyze")
case("analyze", "runs of two horizons", ["@/mixed"], ["differ in end", "2024-03", "2024-04", "each sweep folder"],
     command="routesim-analyze")
case("analyze", "alpha out of range", ["@/dupes", "--alpha", "2"], ["--alpha"], command="routesim-analyze")
case("analyze", "output folder inside a file", ["@/dupes", "--out", "@/a_file/analysis"], ["--out", "a_file"],
     command="routesim-analyze")

# --- routesim-sensitivity and routesim-calibrate arguments
for args, name in [(["--trajectories", "0"], "--trajectories"), (["--trajectories", "1"], "--trajectories"),
                   (["--levels", "1"], "--levels"), (["--levels", "3"], "--levels"), (["--jobs", "0"], "--jobs"),
                   (["--jobs", "x"], "--jobs"), (["--seed", "-1"], "--seed"),
                   (["adoption.innovation_p=2"], "adoption.innovation_p"), (["nope=1"], "nope"),
                   (["market=nope"], "market/nope"), (["--method", "sobol", "--samples", "3"], "--samples"),
                   (["--method", "fast"], "--method")]:
    case("sensitivity", " ".join(args), [*args, "--out", "@/sens"], [name], command="routesim-sensitivity")
for args, name in [(["--threshold", "2"], "--threshold"), (["--points", "1"], "--points"),
                   (["--scenarios", "nope"], "scenario/nope"), (["--out", "@/a_file/discovery"], "--out")]:
    case("discover", " ".join(args), args, [name], command="routesim-discover")
case("config value", "ensemble member out of range",
     ["market=tiny", "population=tiny", "end=2024-06", "fitted=prior_draws", "fitted.member=99"],
     ["fitted.member", "0..49"])
for args, name in [(["--seeds", "0"], "--seeds"), (["--finalists", "0"], "--finalists"),
                   (["--from-sweep", "@/nowhere"], "optimization_results.yaml"),
                   (["--sweep-dir", "@/old_sweep"], "earlier sweep")]:
    case("calibrate", "optuna " + " ".join(args), ["--method", "optuna", *args], [name], command="routesim-calibrate")
for args, name in [(["--population", "5"], "--population"), (["--minutes", "0"], "--minutes"),
                   (["--method", "grid"], "--method"), (["--out", "@/old_sweep"], "not empty"),
                   (["--agents", "0"], "--agents")]:
    case("calibrate", " ".join(args), args, [name], command="routesim-calibrate")


def _scratch(root: Path) -> None:
    """Files the cases refer to as @/...: broken YAML presets, a file, sweeps to analyse."""
    conf = root / "conf"
    (conf / "market").mkdir(parents=True)
    (conf / "population").mkdir()
    (conf / "scenario").mkdir()
    (conf / "scenario" / "bad_model.yaml").write_text(
        "# @package _global_\nscenario:\n  name: bad_model\n  new_models:\n    x: {provider: labone, tier: budget, "
        "release: '2024-02', price_in_usd_per_mtok: -1, price_out_usd_per_mtok: 1, ability: 0.5}\n")
    (conf / "market" / "broken.yaml").write_text("name: broken\nproviders:\n  a: [1, 2\n  b: 3\n")
    (conf / "market" / "tabs.yaml").write_text("name: tabs\n\tproviders: 1\n")
    tiny = (Path(__file__).parents[1] / "conf" / "population" / "tiny.yaml").read_text()
    (conf / "population" / "lacking.yaml").write_text(tiny.replace("size_sigma: 1.0\n", ""))
    (root / "a_file").write_text("not a folder\n")
    (root / "empty").mkdir()
    (root / "old_sweep" / "0").mkdir(parents=True)  # a calibration sweep's finished trial
    (root / "old_sweep" / "0" / "trial.json").write_text('{"loss": 1.0, "params": {}}\n')
    from routesim import compose, simulate
    from routesim.results import write_metadata, write_tables

    res = simulate(compose(["market=tiny", "population=tiny", "fitted=none", "end=2024-03"]))
    res.metadata.update(status="complete", overrides=["seed=0"])
    write_tables(res, root / "dupes" / "0")
    write_metadata(res.metadata, root / "dupes" / "0")
    shutil.copytree(root / "dupes" / "0", root / "dupes" / "1")
    other = simulate(compose(["market=tiny", "population=tiny", "fitted=none", "end=2024-04", "seed=1"]))
    other.metadata.update(status="complete", overrides=["seed=1"])  # a run of another horizon
    shutil.copytree(root / "dupes" / "0", root / "mixed" / "0")
    write_tables(other, root / "mixed" / "1")
    write_metadata(other.metadata, root / "mixed" / "1")
    for name in ("a", "b"):  # two sweeps side by side under one parent
        shutil.copytree(root / "dupes" / "0", root / "two_sweeps" / name / "0")
        (root / "two_sweeps" / name / "multirun.yaml").write_text("hydra: {}\n")
    shutil.copytree(root / "two_sweeps" / "a", root / "one_sweep" / "a")  # a parent holding one sweep


def _run(root: Path, ids: list[str]) -> dict[str, dict]:
    """Run the cases ``ids`` through tests/cli_runner.py (one process, a forked child each)."""
    _scratch(root)
    cases = []
    for case_id in ids:
        _, command, args, _, env = CASES[case_id]
        cases.append({"id": case_id, "command": command, "env": env, "cwd": str(root / "cwd" / str(len(cases))),
                      "args": [a.replace("@/", f"{root}/") for a in args]})
    (root / "cases.json").write_text(json.dumps(cases))
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    subprocess.run([sys.executable, str(RUNNER), str(root / "cases.json"), str(root / "results.json")],
                   check=True, timeout=900, env=env)
    out = json.loads((root / "results.json").read_text())
    wrote = [str(p) for pattern in ("run.json", "*.parquet") for p in root.rglob(pattern)
             if not {"dupes", "two_sweeps", "one_sweep", "mixed"} & set(p.parts)]  # the scratch runs the cases read
    for got in out.values():
        got["wrote"] = wrote  # no case may write a run (the cases share the scratch folder)
    return out


@pytest.fixture(scope="module")
def fast_outcomes(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("bad_input"), sorted(FAST))


@pytest.fixture(scope="module")
def all_outcomes(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("bad_input_all"), sorted(set(CASES) - FAST))


def test_the_table_covers_every_input_class():
    classes = [c[0] for c in CASES.values()]
    fast = [CASES[c][0] for c in FAST]
    assert len(CASES) >= 60 and set(CASES) >= FAST
    for cls in ("config value", "dates", "catalogue", "ignored override", "paths", "hydra", "files", "analyze",
                "sensitivity", "calibrate", "discover"):
        assert classes.count(cls) >= 2 and cls in fast, cls


def check(case_id: str, got: dict) -> None:
    _, command, _, names, _ = CASES[case_id]
    output = got["output"]
    assert got["status"] == 2, output[-2000:]
    assert "Traceback" not in output, output[-2000:]
    assert [line for line in output.splitlines() if line.startswith((f"{command}:", "usage:"))], output[-2000:]
    for name in names:
        assert name in output, (name, output[-2000:])
    assert "simulated in" not in output and not got["wrote"]  # refused before simulating or writing


@pytest.mark.parametrize("case_id", sorted(FAST))
def test_bad_input_exits_2_naming_the_key_without_a_traceback(fast_outcomes, case_id):
    check(case_id, fast_outcomes[case_id])


@pytest.mark.slow
@pytest.mark.parametrize("case_id", sorted(set(CASES) - FAST))
def test_every_bad_input_exits_2_naming_the_key_without_a_traceback(all_outcomes, case_id):
    check(case_id, all_outcomes[case_id])
