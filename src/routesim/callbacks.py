"""Hydra callbacks: a summary line when a sweep ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from routesim.results import RUN_FILE


class SweepSummary(Callback):
    """Print how many runs of the sweep completed, and where they are."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Count the job folders with and without a run.json."""
        root = Path(config.hydra.sweep.dir)
        jobs = [p.parent for p in root.rglob(".hydra")]
        done = sum((job / RUN_FILE).exists() for job in jobs)
        print(f"routesim: sweep finished: {done}/{len(jobs)} runs complete in {root}"
              f"{'' if done == len(jobs) else f' ({len(jobs) - done} incomplete)'}; "
              f"analyse with: routesim-analyze {root}", flush=True)
