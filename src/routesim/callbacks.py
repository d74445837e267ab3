"""Hydra callbacks: a guard on the output folder before anything is written, sweep progress and summary."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from routesim.config import ConfigError, check_name
from routesim.results import RUN_FILE

TRIAL_FILE = "fit_table.csv"  # what a calibration trial writes (cli.calibration_trial)
RESULTS_DIR = "results"  # where configured (not command-line) run and sweep folders must stay


def _done_marker(config: DictConfig) -> str:
    """The file whose presence marks a job as done: run.json, or a calibration trial's fit table."""
    return TRIAL_FILE if config.get("calibration", {}).get("enabled", False) else RUN_FILE


def run_status(folder: Path, marker: str = RUN_FILE) -> str:
    """``complete``, ``failed`` or ``incomplete`` (no or unreadable run.json) for a run folder."""
    path = folder / marker
    if marker != RUN_FILE:
        return "complete" if path.exists() else "incomplete"
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return "incomplete"
    status = meta.get("status") if isinstance(meta, dict) else None
    return status if status in ("complete", "failed") else "incomplete"


def check_output_dir(path: str, key: str, from_command_line: bool) -> Path:
    """Refuse a run or sweep folder that is empty, outside results/ when configured, or unusable.

    A folder given on the command line may be anywhere (the user chose it); one built from
    the configuration (``results/runs/<date>_<scenario.name>``) must stay inside ``results/``,
    so that no config value moves output elsewhere. The folder is created, and a file is
    created and removed in it, so that a read-only place, an existing file or a name too
    long for the file system is reported here, before Hydra writes anything.
    """
    if not str(path).strip():
        raise ConfigError(f"{key} is empty; give a folder, e.g. {key}=results/myrun.")
    folder = Path(path)
    if not from_command_line:
        root = Path(RESULTS_DIR).resolve()
        if not folder.resolve().is_relative_to(root):
            raise ConfigError(f"{key} = {path!r} is outside {root}/; configured run folders stay in results/ "
                              f"(give {key}=<folder> on the command line to write elsewhere).")
    try:
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"{key} = {path!r} is an existing file, not a folder; give another {key}.")
        max_path = os.pathconf("/", "PC_PATH_MAX") if hasattr(os, "pathconf") else 4096
        if len(str(folder.resolve())) + 64 > max_path:  # room for the run's own file names
            raise ConfigError(f"{key} = {path!r} is too long for the file system ({max_path} characters "
                              "with the run's files); give a shorter folder.")
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigError(f"{key} = {path!r} cannot be used as a run folder: {exc.strerror or exc}; "
                          f"give another {key}.") from None
    return folder


class OutputGuard(Callback):
    """Check the run or sweep folder before Hydra creates it (see :func:`check_output_dir`)."""

    def _check(self, config: DictConfig, key: str) -> None:
        # Hydra turns a callback's exception into a warning and goes on: exit here instead
        try:
            check_name("scenario.name", str(OmegaConf.select(config, "scenario.name", default="")))
            check_name("experiment.name", str(OmegaConf.select(config, "experiment.name", default="")),
                       allow_empty=True)
            given = {o.split("=", 1)[0].lstrip("+~") for o in config.hydra.overrides.hydra}
            check_output_dir(str(OmegaConf.select(config, key)), key, from_command_line=key in given)
        except ConfigError as exc:
            print(f"routesim: invalid configuration: {exc}", file=sys.stderr)
            sys.exit(2)

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """A single run: check ``hydra.run.dir``."""
        self._check(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """A sweep: check ``hydra.sweep.dir`` and record its claims (:func:`record_claims`).

        Job folders are numbered inside the sweep folder.
        """
        self._check(config, "hydra.sweep.dir")
        record_claims(config)


def record_claims(config: DictConfig) -> Path | None:
    """Write the sweep's claims and their hash to ``<sweep dir>/experiment.json`` when it starts.

    The first record stays: a sweep resumed after its claims were edited keeps the hash it
    started with, and ``routesim-analyze`` reports the difference.
    """
    from routesim.analysis.hypotheses import spec_hash
    from routesim.results import EXPERIMENT_FILE, atomic_write

    experiment = OmegaConf.select(config, "experiment", default=None)
    if experiment is None or not experiment.get("hypotheses"):
        return None
    path = Path(str(config.hydra.sweep.dir)) / EXPERIMENT_FILE
    if path.exists():
        return path
    spec = OmegaConf.to_container(experiment, resolve=True)
    record = {"hash": spec_hash(spec), "experiment": spec}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda p: p.write_text(json.dumps(record, indent=2) + "\n"))
    return path


class SweepSummary(Callback):
    """Print sweep progress as jobs finish, and how many runs completed or failed at the end."""

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        """In a sweep, say which job finished and how many runs are done so far."""
        from hydra.core.hydra_config import HydraConfig

        hc = HydraConfig.get()
        if hc.mode is None or hc.mode.name != "MULTIRUN":
            return
        root = Path(hc.sweep.dir)
        marker = _done_marker(config)
        done = sum(run_status(p.parent, marker) == "complete" for p in root.rglob(marker))
        print(f"routesim: job {hc.job.num} done; {done} runs complete in {root}", flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Count the job folders whose run is complete, failed or incomplete."""
        root = Path(config.hydra.sweep.dir)
        jobs = [p.parent for p in root.rglob(".hydra")]
        marker = _done_marker(config)
        status = [run_status(job, marker) for job in jobs]
        done, failed = status.count("complete"), status.count("failed")
        missing = len(jobs) - done - failed
        then = ("the best parameters are in optimization_results.yaml" if marker == TRIAL_FILE
                else f"analyse with: routesim-analyze {root}")
        problems = ", ".join(part for part in (f"{failed} failed" if failed else "",
                                               f"{missing} incomplete" if missing else "") if part)
        rerun = "; rerun the same command to retry them" if problems else ""
        print(f"routesim: sweep finished: {done}/{len(jobs)} runs complete in {root}"
              f"{f' ({problems}{rerun})' if problems else ''}; {then}", flush=True)
