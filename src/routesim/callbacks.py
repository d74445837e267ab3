"""Hydra callbacks: a progress line per finished job of a sweep, a summary line at its end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from routesim.results import RUN_FILE

TRIAL_FILE = "fit_table.csv"  # what a calibration trial writes (cli.calibration_trial)


def _done_marker(config: DictConfig) -> str:
    """The file whose presence marks a job as done: run.json, or a calibration trial's fit table."""
    return TRIAL_FILE if config.get("calibration", {}).get("enabled", False) else RUN_FILE


class SweepSummary(Callback):
    """Print sweep progress as jobs finish, and how many runs completed at the end."""

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        """In a sweep, say which job finished and how many runs are done so far."""
        from hydra.core.hydra_config import HydraConfig

        hc = HydraConfig.get()
        if hc.mode is None or hc.mode.name != "MULTIRUN":
            return
        root = Path(hc.sweep.dir)
        done = sum(1 for _ in root.rglob(_done_marker(config)))
        print(f"routesim: job {hc.job.num} done; {done} runs complete in {root}", flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Count the job folders with and without a run.json."""
        root = Path(config.hydra.sweep.dir)
        jobs = [p.parent for p in root.rglob(".hydra")]
        marker = _done_marker(config)
        done = sum((job / marker).exists() for job in jobs)
        then = ("the best parameters are in optimization_results.yaml" if marker == TRIAL_FILE
                else f"analyse with: routesim-analyze {root}")
        print(f"routesim: sweep finished: {done}/{len(jobs)} runs complete in {root}"
              f"{'' if done == len(jobs) else f' ({len(jobs) - done} incomplete)'}; {then}", flush=True)

