"""Command-line entry points; the only module that touches Hydra's app machinery.

``routesim [overrides]`` composes ``conf/config.yaml``, validates it, runs
:func:`routesim.simulate`, and writes the tables, plots and ``run.json`` into the Hydra
output folder (``results/runs/<date>_<time>_<scenario>/`` unless ``hydra.run.dir`` says
otherwise). A bad config exits with status 2 and a one-line message naming the key (or
the file and line), before any simulating: routesim's own checks, Hydra's (an unknown group
option, bad override syntax, a missing key) and YAML syntax errors alike. A run folder is
worked on by one process at a time (a file lock), so sweeps started together on one folder
run each job once.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from routesim.callbacks import TRIAL_FILE
from routesim.compose import CONF_DIR
from routesim.config import ConfigError, register_configs, to_config
from routesim.workers import mark_parent, watch_parent

log = logging.getLogger("routesim")
LOCK_FILE = ".routesim.lock"  # in each run folder: one process at a time works on it
_task_started = False  # set once Hydra hands a composed config to the task function
TRIAL_PARAMS = "trial.json"  # a calibration trial's parameters (Hydra override strings) and loss
# the sweep's trials run seeds seed + 0.. (calibration.n_seeds of them); finalists are re-scored
# on seeds from seed + 1000 and the chosen one is reported on seeds from seed + 2000, which
# took no part in the choice
SELECTION_SEEDS = 1000
REPORT_SEEDS = 2000


def git_commit(repo: Path = CONF_DIR.parent) -> str:
    """The source tree's commit ("+dirty" if it has uncommitted changes), or "unknown".

    Changes under ``results/`` (outputs, such as the shipped report being rewritten) do not
    make the source dirty.
    """
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                             text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":(exclude)results"],
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def run_and_write(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """Validate, simulate, and write tables, plots and run.json (last) into ``out_dir``."""
    from routesim.results import write_metadata, write_tables
    from routesim.simulation import simulate

    started = time.perf_counter()
    config = to_config(cfg)
    if config.output.fail_for_testing:
        raise RuntimeError("output.fail_for_testing is set: this run fails on purpose")
    results = simulate(config)
    written = time.perf_counter()
    write_tables(results, out_dir)
    tables_done = time.perf_counter()
    if config.output.plots:
        from routesim.analysis.plots import RUN_PLOTS  # matplotlib only when plotting

        for name, plot in RUN_PLOTS.items():
            plot(results).savefig(out_dir / f"{name}.png", dpi=110)
    plots_done = time.perf_counter()
    meta = results.metadata
    meta["status"] = "complete"
    meta["git_commit"] = git_commit()
    meta["output_dir"] = str(out_dir)
    meta["timings_s"].update({"write_tables": tables_done - written, "plots": plots_done - tables_done,
                              "validate_simulate_tabulate": written - started})
    if HydraConfig.initialized():
        hc = HydraConfig.get()
        meta["overrides"] = list(hc.overrides.task)
        meta["choices"] = {k: v for k, v in OmegaConf.to_container(hc.runtime.choices).items()
                           if not k.startswith("hydra/")}
    write_metadata(meta, out_dir)
    return meta


register_configs()


def calibration_trial(cfg: DictConfig, out_dir: Path) -> float:
    """Simulate the trial's seeds, write its fit table, return the loss the sweeper minimises."""
    from routesim.calibration import TARGETS_FILE, check_targets, fit_loss, fit_table, load_targets
    from routesim.simulation import simulate_seeds

    config = to_config(cfg)
    targets = [t for t in load_targets(config.calibration.targets or TARGETS_FILE) if t.kind == "fit"]
    check_targets(targets, config)  # before simulating: a bad target names its id
    table = fit_table(simulate_seeds(config, config.calibration.n_seeds), targets)
    loss = fit_loss(table, config.calibration.band_penalty)
    out_dir.mkdir(parents=True, exist_ok=True)
    # the trial's parameters and loss, so that routesim-calibrate can re-score the best few
    hydra_cfg = HydraConfig.get()
    searched = set(hydra_cfg.sweeper.get("params") or {})  # not the command line's other overrides
    params = dict(o.split("=", 1) for o in hydra_cfg.overrides.task if o.split("=", 1)[0] in searched)
    (out_dir / TRIAL_PARAMS).write_text(json.dumps({"loss": loss, "params": params}, indent=1))
    table.to_csv(out_dir / TRIAL_FILE, index=False)  # written last: marks the trial done
    log.info("calibration trial: loss %.3f, %d/%d fit targets within tolerance", loss,
             int(table.query("kind == 'fit'")["within_tolerance"].sum()), int((table["kind"] == "fit").sum()))
    return loss


def completed_run(out_dir: Path, cfg: DictConfig) -> bool:
    """Whether ``out_dir`` already holds this very run, complete (resuming a sweep).

    A run is complete when its run.json (written last) says so; a folder holding a different
    configuration is an error, never silently reused.
    """
    from routesim.results import RUN_FILE

    meta_file = out_dir / RUN_FILE
    if not meta_file.exists():
        return False
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, ValueError) as exc:  # cut short or garbled: redo the run
        log.warning("%s is unreadable (%s): running again", meta_file, exc)
        return False
    if not isinstance(meta, dict) or meta.get("status") != "complete":
        return False
    done = meta.get("config")
    wanted = dataclasses.asdict(to_config(cfg))
    if done != json.loads(json.dumps(wanted, default=str)):
        raise ConfigError(f"{out_dir} already holds a run of a different configuration; "
                          "give the sweep a new hydra.sweep.dir (or hydra.run.dir).")
    return True


BOOKKEEPING = frozenset({".hydra", "routesim.log", ".routesim.lock"})


def remove_bookkeeping_only(out_dir: Path) -> bool:
    """Remove a run folder that holds nothing but Hydra's and the lock's bookkeeping.

    A rejected configuration leaves no folder that would later count as a broken run; a
    folder holding anything else (a finished run, the user's files) is left alone.
    """
    import shutil

    try:
        names = {p.name for p in out_dir.iterdir()}
    except OSError:
        return False
    if not names <= BOOKKEEPING:
        return False
    shutil.rmtree(out_dir, ignore_errors=True)
    return not out_dir.exists()


def record_failure(out_dir: Path, exc: BaseException) -> None:
    """Write run.json with the error of a run that failed.

    The sweep goes on, the analysis lists the run as broken, a rerun of the sweep retries it.
    """
    from routesim.results import write_metadata

    meta: dict[str, Any] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "git_commit": git_commit()}
    if HydraConfig.initialized():
        meta["overrides"] = list(HydraConfig.get().overrides.task)
    write_metadata(meta, out_dir)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def _main(cfg: DictConfig) -> float | None:
    global _task_started
    _task_started = True
    watch_parent()  # in a sweep's worker process: end when the sweep's process dies
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    hc = HydraConfig.get()
    out_dir = Path(hc.runtime.output_dir)
    sweeping = hc.mode is not None and hc.mode.name == "MULTIRUN"
    try:
        from routesim.compose import refuse_ignored_overrides

        refuse_ignored_overrides(list(hc.overrides.task), cfg)
        with folder_lock(out_dir):
            if cfg.calibration.enabled:
                return calibration_trial(cfg, out_dir)
            if completed_run(out_dir, cfg):
                log.info("%s is complete already: skipped", out_dir)
                return None
            for stale in out_dir.glob(".*.tmp"):  # left by a run killed while writing; ours alone under the lock
                stale.unlink(missing_ok=True)
            meta = run_and_write(cfg, out_dir)
    except ConfigError as exc:
        print(f"routesim: invalid configuration: {exc}", file=sys.stderr)
        remove_bookkeeping_only(out_dir)
        sys.exit(2)
    except Exception as exc:
        if not sweeping:
            raise
        record_failure(out_dir, exc)  # one failed run must not stop or corrupt the others
        log.error("run failed, recorded in %s/run.json: %s", out_dir, exc)
        return None
    log.info("wrote %s (simulated in %.2f s)", out_dir, meta["timings_s"]["simulate"])
    return None


@contextlib.contextmanager
def folder_lock(out_dir: Path) -> Iterator[None]:
    """Hold the run folder's file lock (``filelock``); wait, saying so, while another process holds it.

    The operating system releases the lock of a process that dies, so a killed run never
    blocks the rerun.
    """
    from filelock import FileLock, Timeout

    out_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(out_dir / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("%s is being worked on by another process: waiting for it", out_dir)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low``, else a one-line usage error naming the bound."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is too small; allowed: an integer >= {low}")
        return value

    return parse


def config_error_message(exc: BaseException) -> str:
    """One line naming the key, option or file (and line) of a configuration error, and what is allowed."""
    import yaml
    from hydra.errors import MissingConfigException, OverrideParseException

    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f"{mark.name}, line {mark.line + 1}, column {mark.column + 1}" if mark else "a YAML file"
        return f"{where}: YAML syntax error: {exc.problem or exc.context}."
    if isinstance(exc, MissingConfigException):
        options = ", ".join(exc.options or [])
        missing = exc.missing_cfg_file or str(exc).splitlines()[0]
        return f"could not find the config '{missing}'{f'; allowed: {options}' if options else ''}."
    if isinstance(exc, OverrideParseException):
        return f"cannot parse the override {exc.override!r}: {str(exc).splitlines()[0]} (see Hydra's override syntax)."
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    cause = exc.__cause__
    text = lines[0] if lines else type(exc).__name__
    if len(lines) > 1 and not lines[1].startswith(("full_key", "object_type", "reference_type")):
        text += f" ({lines[1].rstrip('.')})"
    if cause is not None and not isinstance(cause, ConfigError) and str(cause).strip():
        key = getattr(cause, "full_key", None)
        text += f": {f'{key}: ' if key else ''}{str(cause).splitlines()[0]}"
    elif isinstance(cause, ConfigError):
        text = str(cause)
    key = getattr(exc, "full_key", None)
    return f"{key}: {text}" if key and not text.startswith(str(key)) else text


def is_config_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a configuration error (routesim's, Hydra's, OmegaConf's or YAML's)."""
    import yaml
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return isinstance(exc, (ConfigError, HydraException, OmegaConfBaseException, yaml.YAMLError))


def main() -> None:
    """Console script ``routesim``.

    Configuration errors found before the run starts (Hydra's and routesim's) exit with
    status 2 and one line; an error inside a run keeps its traceback (status 1).
    """
    full_error = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let Hydra's own errors reach us instead of exiting 1
    mark_parent()
    try:
        _main()
    except Exception as exc:
        if full_error or _task_started or not is_config_error(exc):
            raise
        print(f"routesim: invalid configuration: {config_error_message(exc)}", file=sys.stderr)
        sys.exit(2)


def best_trials(sweep_dir: Path, k: int) -> list[tuple[str, float, dict[str, Any]]]:
    """The ``k`` finished trials of a calibration sweep with the lowest loss, best first.

    Each is (job folder name, loss, parameters); a parameter is a number if its override text is.
    """
    import yaml

    trials = []
    for path in sweep_dir.glob(f"*/{TRIAL_PARAMS}"):
        if not (path.parent / TRIAL_FILE).is_file():
            continue  # unfinished
        record = json.loads(path.read_text())
        params = {key: yaml.safe_load(text) for key, text in record["params"].items()}
        trials.append((path.parent.name, float(record["loss"]), params))
    return sorted(trials, key=lambda x: (x[1], x[0]))[:k]


def calibrate_main(argv: list[str] | None = None) -> None:
    """Console script ``routesim-calibrate``: the posterior (default) or the older point search.

    ``--method abc`` (default): :mod:`routesim.posterior` (ABC-SMC posterior, ensemble, fit
    report). ``--method optuna``: :func:`calibrate_point_main`, the Optuna point search.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="routesim-calibrate", add_help=False)
    parser.add_argument("--method", choices=("abc", "optuna"), default="abc")
    known, rest = parser.parse_known_args(argv)
    if known.method == "optuna":
        calibrate_point_main(rest)
        return
    from routesim.posterior import main as posterior_main

    try:
        posterior_main(rest)
    except ConfigError as exc:
        print(f"routesim-calibrate: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def calibrate_point_main(argv: list[str] | None = None) -> None:
    """``routesim-calibrate --method optuna``: fit, check and ship a point calibration.

    1. runs the Optuna sweep ``routesim +calibrate=default`` (extra arguments are passed on
       as Hydra overrides, e.g. ``hydra.sweeper.n_trials=20``);
    2. re-scores the ``--finalists`` trials with the lowest loss over ``--seeds`` fresh seeds
       (a trial's loss over a few seeds is noisy: the best of 500 is partly the luckiest) and
       keeps the one that meets the most fitting targets there, the lowest loss among those
       (every target met is the criterion; the loss ranks fits that meet as many);
    3. re-runs it over ``--seeds`` seeds neither the sweep nor step 2 used, on the full
       horizon, and writes the fit table (CSV and Markdown) and the validation plot into the
       sweep folder: a held-out evaluation, not the one the choice was made on;
    4. writes the fitted values to ``conf/fitted/default.yaml``, which the default config
       (and so ``status_quo``) loads.
    """
    import datetime as dt

    import yaml

    from routesim.analysis.plots import calibration_report
    from routesim.calibration import TARGETS_FILE, check_targets, fit_loss, fit_table, load_targets, targets_horizon
    from routesim.compose import compose
    from routesim.simulation import simulate_seeds

    parser = argparse.ArgumentParser(prog="routesim-calibrate --method optuna",
                                     description=(calibrate_point_main.__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=at_least(1), default=10, help="seeds for the final fit table (default 10)")
    parser.add_argument("--sweep-dir", default=None, help="where the sweep writes (default results/calibration/<now>)")
    parser.add_argument("--finalists", type=at_least(1), default=8,
                        help="re-score this many of the sweep's best trials over --seeds fresh seeds (default 8)")
    parser.add_argument("--no-write", action="store_true", help="do not update conf/fitted/default.yaml")
    parser.add_argument("--from-sweep", default=None, metavar="DIR",
                        help="skip the sweep: take the best parameters of a finished one (its "
                             "optimization_results.yaml), e.g. one run earlier with --no-write")
    parser.add_argument("--agents", type=int, default=None,
                        help="agents per run when re-scoring and reporting (default: the config's, 10,000)")
    args, overrides = parser.parse_known_args(argv)
    if args.agents is not None and args.agents < 1:
        parser.error(f"argument --agents: {args.agents} is too small; allowed: an integer >= 1")
    scale = [f"population.n_enterprises={args.agents}"] if args.agents else []
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    if args.from_sweep:
        sweep_dir = Path(args.from_sweep).resolve()
        if not (sweep_dir / "optimization_results.yaml").is_file():
            parser.error(f"--from-sweep {sweep_dir}: no optimization_results.yaml there (did the sweep finish?)")
    else:
        sweep_dir = Path(args.sweep_dir or CONF_DIR.parent / "results" / "calibration" / stamp).resolve()
        if any(sweep_dir.glob(f"*/{TRIAL_PARAMS}")):  # its trials would mix with this sweep's finalists
            parser.error(f"--sweep-dir {sweep_dir} holds the trials of an earlier sweep; give a new folder "
                         "(or --from-sweep it to ship that sweep's fit).")
        cmd = [str(Path(sys.executable).parent / "routesim"), "+calibrate=default", f"hydra.sweep.dir={sweep_dir}",
               *overrides]
        print("routesim-calibrate: running", " ".join(cmd), flush=True)
        sweep = subprocess.run(cmd)
        if sweep.returncode != 0:  # the sweep has said why (a config error exits 2)
            parser.exit(sweep.returncode, f"routesim-calibrate: the sweep failed (exit status {sweep.returncode})\n")
    best = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    params = {k: v if isinstance(v, int) else float(v) for k, v in best["best_params"].items()}  # ints stay ints

    targets = load_targets(TARGETS_FILE)
    check_targets(targets, compose(["output.plots=false"]))  # before re-scoring: a bad target names its id
    finalists = best_trials(sweep_dir, args.finalists)
    if len(finalists) > 1:
        fit_targets = [t for t in targets if t.kind == "fit"]
        horizon = targets_horizon(fit_targets)
        print(f"routesim-calibrate: re-scoring the {len(finalists)} best trials over {args.seeds} seeds", flush=True)
        scored = []
        for job, sweep_loss, trial in finalists:
            config = compose([*(f"{k}={v!r}" for k, v in trial.items()), f"end={horizon}", "output.plots=false",
                              *scale])
            table = fit_table(simulate_seeds(config, args.seeds, first=SELECTION_SEEDS), fit_targets)
            loss = fit_loss(table, config.calibration.band_penalty)
            met = int(table["within_tolerance"].sum())
            print(f"  trial {job}: loss {sweep_loss:.3f} over the sweep's seeds, {loss:.3f} over {args.seeds}; "
                  f"{met}/{len(table)} fit targets within tolerance", flush=True)
            scored.append((-met, loss, job, trial))
        _, _, job, params = min(scored, key=lambda x: x[:2])
        print(f"routesim-calibrate: keeping trial {job}", flush=True)
    config = compose([*(f"{k}={v!r}" for k, v in params.items()), *scale])
    runs = simulate_seeds(config, args.seeds, first=REPORT_SEEDS)
    table = fit_table(runs, targets)
    table.to_csv(sweep_dir / "fit_table.csv", index=False)
    columns = ["id", "kind", "value", "tolerance", "simulated_mean", "ci95_low", "ci95_high", "within_tolerance"]
    markdown = table[columns].to_markdown(index=False, floatfmt=".4g")
    (sweep_dir / "fit_table.md").write_text(markdown + "\n")
    calibration_report(runs, targets).savefig(sweep_dir / "calibration_report.png", dpi=110)
    loss = fit_loss(table, config.calibration.band_penalty)
    fit = table[table["kind"] == "fit"]
    print(markdown)
    print(f"\nloss {loss:.3f}; {int(fit['within_tolerance'].sum())}/{len(fit)} fit targets within tolerance; "
          f"report in {sweep_dir}")
    if args.no_write:
        return
    from routesim.posterior import write_point

    write_point(params, [f"Fitted by routesim-calibrate on {stamp} (git {git_commit()}), from {sweep_dir.name}:",
                         "Optuna TPE over the parameters no public figure pins down, fit loss "
                         f"{loss:.3f} over",
                         f"{args.seeds} seeds, {int(fit['within_tolerance'].sum())}/{len(fit)} fit targets within "
                         "tolerance.", "Regenerate with `make calibrate`; do not edit by hand."],
                CONF_DIR / "fitted" / "default.yaml")
    print(f"wrote {CONF_DIR / 'fitted' / 'default.yaml'} (conf/fitted/posterior_check.json still describes the "
          "posterior's representative point: rerun `make calibrate` to refresh both)")
