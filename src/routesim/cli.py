"""Command-line entry points; the only module that touches Hydra's app machinery.

``routesim [overrides]`` composes ``conf/config.yaml``, validates it, runs
:func:`routesim.simulate`, and writes the tables, plots and ``run.json`` into the Hydra
output folder (``results/runs/<date>_<time>_<scenario>/`` unless ``hydra.run.dir`` says
otherwise). A bad config exits with status 2 and a message naming the key, before any
simulating.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from routesim.compose import CONF_DIR
from routesim.config import ConfigError, register_configs, to_config

log = logging.getLogger("routesim")


def git_commit(repo: Path = CONF_DIR.parent) -> str:
    """The source tree's commit ("+dirty" if it has uncommitted changes), or "unknown"."""
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                             text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def run_and_write(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """Validate, simulate, and write tables, plots and run.json (last) into ``out_dir``."""
    from routesim.analysis.plots import RUN_PLOTS
    from routesim.results import write_metadata, write_tables
    from routesim.simulation import simulate

    started = time.perf_counter()
    config = to_config(cfg)
    results = simulate(config)
    written = time.perf_counter()
    write_tables(results, out_dir)
    tables_done = time.perf_counter()
    if config.output.plots:
        for name, plot in RUN_PLOTS.items():
            plot(results).savefig(out_dir / f"{name}.png", dpi=110)
    plots_done = time.perf_counter()
    meta = results.metadata
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


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def _main(cfg: DictConfig) -> None:
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        meta = run_and_write(cfg, out_dir)
    except ConfigError as exc:
        print(f"routesim: invalid configuration: {exc}", file=sys.stderr)
        sys.exit(2)
    log.info("wrote %s (simulated in %.2f s)", out_dir, meta["timings_s"]["simulate"])


def main() -> None:
    """Console script ``routesim``."""
    _main()
