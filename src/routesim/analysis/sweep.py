"""Read a sweep folder: every complete run's tables, stacked with its scenario, seed and overrides.

A run folder (a Hydra job folder, or any folder with a ``run.json``) counts when its
``run.json`` exists (it is written last) and its tables read; anything else is listed as
broken, with the reason, and skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from routesim.results import RUN_FILE, TABLES, load_run


@dataclass
class Sweep:
    """The runs of a sweep: one row per run, and every table stacked with run columns."""

    runs: pd.DataFrame  # run, scenario, seed, overrides, path
    tables: dict[str, pd.DataFrame]
    broken: list[tuple[str, str]] = field(default_factory=list)  # (folder, reason)
    experiment: dict = field(default_factory=dict)


def run_folders(path: Path) -> list[Path]:
    """Folders under ``path`` that are runs (a Hydra job folder or a run.json), in job order."""
    found = {p.parent for p in path.rglob(RUN_FILE)} | {p.parent for p in path.rglob(".hydra") if p.is_dir()}
    return sorted(found, key=lambda p: (len(p.parts), int(p.name) if p.name.isdigit() else 0, str(p)))


def load_sweep(path: str | Path, progress: bool = False) -> Sweep:
    """Stack every complete run under ``path``; broken runs are listed, not fatal."""
    path = Path(path)
    folders = run_folders(path)
    if progress:
        from tqdm import tqdm

        folders = tqdm(folders, desc="reading runs", unit="run")
    rows, frames, broken = [], {name: [] for name in TABLES}, []
    experiment: dict = {}
    for i, folder in enumerate(folders):
        meta_file = folder / RUN_FILE
        try:
            recorded = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        except ValueError:
            recorded = {"status": "failed", "error": "run.json is not valid JSON"}
        if recorded.get("status") == "failed":
            broken.append((str(folder.relative_to(path)), recorded.get("error", "failed")))
            continue
        try:
            res = load_run(folder)
        except Exception as exc:  # noqa: BLE001 - a broken run is reported, whatever broke it
            broken.append((str(folder.relative_to(path)), f"{type(exc).__name__}: {str(exc).splitlines()[0]}"))
            continue
        meta = res.metadata
        experiment = experiment or meta.get("config", {}).get("experiment", {})
        run = {"run": i, "scenario": meta.get("scenario"), "seed": meta.get("seed"),
               "overrides": " ".join(o for o in meta.get("overrides", []) if not o.startswith(("seed=", "scenario="))),
               "path": str(folder)}
        for provider, info in meta.get("break_even", {}).items():
            run[f"break_even_{provider}"] = info.get("month")
        rows.append(run)
        for name in TABLES:
            frame = getattr(res, name).copy()
            for key in ("run", "scenario", "seed", "overrides"):
                frame.insert(0, key, run[key])
            frames[name].append(frame)
    tables = {name: pd.concat(parts, ignore_index=True) if parts else pd.DataFrame() for name, parts in frames.items()}
    return Sweep(runs=pd.DataFrame(rows), tables=tables, broken=broken, experiment=experiment)


def latest_sweep(experiment: str, root: str | Path = "results/sweeps") -> Path:
    """The sweep folder a notebook should read.

    ``$ROUTESIM_SWEEP`` if set, else the newest sweep of ``experiment`` under ``root``.
    """
    import os

    if os.environ.get("ROUTESIM_SWEEP"):
        return Path(os.environ["ROUTESIM_SWEEP"])
    found = sorted(Path(root, experiment).glob("*/multirun.yaml"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise FileNotFoundError(f"no sweep of {experiment} under {root}; run `routesim +experiment={experiment}`")
    return found[-1].parent
