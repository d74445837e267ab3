"""Read a sweep folder: every complete run's tables, stacked with its scenario, seed and overrides.

A run folder (a Hydra job folder, or any folder with a ``run.json``) counts when its
``run.json`` (written last) is a JSON object saying ``"status": "complete"`` with the run's
seed, scenario and config, and its tables read with the expected schema (their key columns,
numbers elsewhere, the same columns as the sweep's other runs); anything else is listed as
broken, with the reason, and skipped. Two runs of the same scenario, seed and overrides
would be counted twice in every comparison: the sweep is refused (:class:`DuplicateRunsError`).
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from routesim.results import RUN_FILE, TABLE_KEYS, TABLES, load_run

REQUIRED_METADATA: tuple[str, ...] = ("status", "seed", "scenario", "config")


class DuplicateRunsError(ValueError):
    """The sweep holds two runs of the same scenario, seed and overrides."""


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
    loaded = []
    for folder in folders:
        name = str(folder.relative_to(path))
        reason = _metadata_problem(folder / RUN_FILE)
        if reason:
            broken.append((name, reason))
            continue
        try:
            res = load_run(folder)
        except Exception as exc:  # noqa: BLE001 - a broken run is reported, whatever broke it
            broken.append((name, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"))
            continue
        reason = _schema_problem(res)
        if reason:
            broken.append((name, reason))
            continue
        loaded.append((folder, res))
    # a table whose columns differ from the other runs' (the most common set) is broken
    common = {t: Counter(tuple(getattr(r, t).columns) for _, r in loaded).most_common(1) for t in TABLES}
    kept = []
    for folder, res in loaded:
        odd = [t for t in TABLES if common[t] and tuple(getattr(res, t).columns) != common[t][0][0]]
        if odd:
            why = f"{', '.join(odd)}: columns differ from the sweep's other runs"
            broken.append((str(folder.relative_to(path)), why))
        else:
            kept.append((folder, res))
    _refuse_duplicates(kept, path)
    _refuse_mixed(kept, path)
    for i, (folder, res) in enumerate(kept):
        meta = res.metadata
        experiment = experiment or meta.get("config", {}).get("experiment", {})
        run = {"run": i, "scenario": meta.get("scenario"), "seed": meta.get("seed"),
               "overrides": _other_overrides(meta),
               "path": str(folder)}
        fitted = meta.get("config", {}).get("fitted") or {}
        if fitted.get("ensemble"):  # an ensemble member: the unit of parameter uncertainty
            run["member"] = int(fitted.get("member", 0))
        claims = meta.get("config", {}).get("experiment", {})
        if claims.get("hypotheses"):
            run["spec_hash"] = _spec_hash(json.dumps(claims, sort_keys=True))
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


def _metadata_problem(meta_file: Path) -> str | None:
    """Why run.json does not describe a complete run, or None if it does."""
    if not meta_file.exists():
        return f"{RUN_FILE} is missing (the run did not finish)"
    try:
        recorded = json.loads(meta_file.read_text())
    except (OSError, ValueError) as exc:
        return f"{RUN_FILE} is not valid JSON ({str(exc).splitlines()[0]})"
    if not isinstance(recorded, dict):
        return f"{RUN_FILE} is not a JSON object"
    if recorded.get("status") == "failed":
        return str(recorded.get("error", "failed"))
    missing = [k for k in REQUIRED_METADATA if k not in recorded]
    if missing:
        return f"{RUN_FILE} lacks {', '.join(missing)}"
    if recorded["status"] != "complete":
        return f"{RUN_FILE} says status {recorded['status']!r}, not 'complete'"
    if not isinstance(recorded["seed"], int) or not isinstance(recorded["config"], dict):
        return f"{RUN_FILE} has a seed that is not an integer or a config that is not an object"
    if not isinstance(recorded.get("overrides", []), list) or not isinstance(recorded.get("break_even", {}), dict):
        return f"{RUN_FILE} has overrides that are not a list or break_even that is not an object"
    return None


def _schema_problem(res: object) -> str | None:
    """Why a run's tables do not have the tables' schema, or None if they do."""
    for name in TABLES:
        frame = getattr(res, name)
        missing = [c for c in TABLE_KEYS[name] if c not in frame.columns]
        if missing:
            return f"{name} lacks the column(s) {', '.join(missing)}"
        if not pd.api.types.is_datetime64_any_dtype(frame["month"]):
            return f"{name}.month is not a date column"
        values = [c for c in frame.columns if c not in TABLE_KEYS[name]]
        text = [c for c in values if not pd.api.types.is_numeric_dtype(frame[c])
                and not pd.api.types.is_bool_dtype(frame[c])]
        if text:
            return f"{name} has non-numeric value column(s) {', '.join(text)}"
    return None


def _refuse_duplicates(loaded: list, path: Path) -> None:
    """Raise DuplicateRunsError if two runs share scenario, seed and overrides."""
    seen: dict[tuple, Path] = {}
    for folder, res in loaded:
        meta = res.metadata
        key = (meta.get("scenario"), meta.get("seed"), _other_overrides(meta))
        if key in seen:
            raise DuplicateRunsError(
                f"{seen[key].relative_to(path)} and {folder.relative_to(path)} are the same run (scenario {key[0]}, "
                f"seed {key[1]}{f', overrides {key[2]}' if key[2] else ''}); they would count twice: remove one")
        seen[key] = folder


# settings that make two runs incomparable unless the sweep varies them on purpose
SHAPE_KEYS: tuple[str, ...] = ("start", "end", "population.n_enterprises", "fitted.ensemble")


class MixedRunsError(ValueError):
    """The folder mixes runs whose settings differ beyond what the sweep varies."""


def _setting(config: dict, key: str) -> object:
    node: object = config
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _refuse_mixed(loaded: list, path: Path) -> None:
    """Raise MixedRunsError if the runs differ in a ``SHAPE_KEYS`` setting no run's overrides set.

    Runs of other sizes or horizons copied into a sweep folder would be paired and pooled with
    its own; a sweep that varies such a key on purpose names it in its overrides.
    """
    for key in SHAPE_KEYS:
        values: dict[str, list[str]] = {}
        swept = False
        for folder, res in loaded:
            meta = res.metadata
            swept = swept or any(o.lstrip("+~").startswith(f"{key}=") for o in meta.get("overrides", []))
            values.setdefault(repr(_setting(meta.get("config", {}), key)), []).append(
                str(folder.relative_to(path)))
        if len(values) > 1 and not swept:
            parts = "; ".join(f"{value} in {', '.join(sorted(folders)[:3])}{', ...' if len(folders) > 3 else ''}"
                              for value, folders in values.items())
            raise MixedRunsError(f"the runs differ in {key} ({parts}) though no run's overrides vary it: "
                                 "they are runs of different sweeps; analyse each sweep folder on its own")


@functools.lru_cache(maxsize=16)
def _spec_hash(claims_json: str) -> str:
    """The claims' hash, once per distinct spec (every run of a sweep carries the same one)."""
    from routesim.analysis.hypotheses import spec_hash  # local: hypotheses imports this module

    return spec_hash(json.loads(claims_json))


def _other_overrides(meta: dict) -> str:
    return " ".join(o for o in meta.get("overrides", []) if not o.startswith(("seed=", "scenario=")))


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
