"""Parameter sets as ensemble members: one CSV per ensemble, one row per member, with its weight.

An ensemble file ``conf/fitted/<name>.csv`` has the columns ``member``, ``weight`` and one per
fitted parameter (its dotted config key). Its Hydra config ``conf/fitted/<name>.yaml`` sets
each parameter to ``${routesim_member:<key>,${fitted.member},<name>}``, an OmegaConf resolver
that reads the member's row, so ``fitted=<name> fitted.member=17`` runs member 17 and a sweep
``'fitted.member=range(0,50)'`` runs them all, with any launcher: the values are resolved
when each job's config is, in the job itself. An override on the command line replaces the
interpolation, so it wins over the member's value, as over any fitted value.

``posterior`` is the calibration's posterior (written by ``routesim-calibrate`` through
:func:`write_ensemble`); ``prior_draws`` holds a Latin hypercube of draws from its priors
(``conf/calibrate/priors.yaml``): parameter uncertainty before any target is seen
(``python -m routesim.ensemble --draws 50`` rewrites it).
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import pandas as pd

from routesim.config import ConfigError

RESOLVER = "routesim_member"
PRIOR_DRAWS = "prior_draws"
PRIOR_DRAWS_SEED = 20241201


def _fitted_dir() -> Path:
    from routesim.compose import CONF_DIR  # local: compose imports config, which registers the resolver

    return CONF_DIR / "fitted"


@functools.lru_cache(maxsize=8)
def _read(path: str, mtime: float) -> pd.DataFrame:
    frame = pd.read_csv(path)
    if list(frame.columns[:2]) != ["member", "weight"] or list(frame["member"]) != list(range(len(frame))):
        raise ConfigError(f"{path}: an ensemble file needs the columns member (0, 1, ...), weight, then one "
                          "per parameter.")
    return frame


def members(name: str) -> pd.DataFrame:
    """The ensemble ``conf/fitted/<name>.csv``: member, weight, then one column per parameter."""
    path = _fitted_dir() / f"{name}.csv"
    if not path.is_file():
        found = sorted(p.stem for p in _fitted_dir().glob("*.csv") if p.stem != "fit_table")
        raise ConfigError(f"fitted.ensemble = {name!r}: no file conf/fitted/{name}.csv; allowed: {', '.join(found)}.")
    return _read(str(path), path.stat().st_mtime)


def member_value(key: str, member: int, name: str) -> float:
    """The value of parameter ``key`` in member ``member`` of ensemble ``name`` (the resolver)."""
    table = members(str(name))
    if not 0 <= int(member) < len(table):
        raise ConfigError(f"fitted.member = {member}: allowed 0..{len(table) - 1} (the members of "
                          f"conf/fitted/{name}.csv).")
    if key not in table.columns:
        raise ConfigError(f"fitted.ensemble {name}: no column {key!r}; it has {', '.join(table.columns[2:])}.")
    return float(table.at[int(member), key])


def register_resolver() -> None:
    """Make ``${routesim_member:key,member,name}`` resolvable (idempotent)."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, member_value)


def write_ensemble(members: pd.DataFrame, weights, name: str, header: list[str],
                   float_format: str = "%.8g") -> tuple[Path, Path]:
    """``conf/fitted/<name>.csv`` (member, weight, one column per dotted key) and its Hydra config.

    Weights are normalised to sum to one; the ``.yaml`` beside the CSV points every parameter
    at the member's row through the resolver, under ``header`` (comment lines).
    """
    import numpy as np

    table = members.reset_index(drop=True).copy()
    weights = np.broadcast_to(np.asarray(weights, dtype=float), (len(table),))
    table.insert(0, "weight", weights / weights.sum())
    table.insert(0, "member", range(len(table)))
    csv = _fitted_dir() / f"{name}.csv"
    table.to_csv(csv, index=False, float_format=float_format)
    lines = ["# @package _global_", *(f"# {h}" for h in header), "fitted:", f"  ensemble: {name}", "  member: 0"]
    tree: dict[str, dict[str, str]] = {}
    for key in members.columns:
        section, _, leaf = key.partition(".")
        tree.setdefault(section, {})[leaf] = f"${{{RESOLVER}:{key},${{fitted.member}},${{fitted.ensemble}}}}"
    for section, leaves in tree.items():
        lines.append(f"{section}:")
        lines += [f"  {leaf}: {value}" for leaf, value in leaves.items()]
    yaml_path = _fitted_dir() / f"{name}.yaml"
    yaml_path.write_text("\n".join(lines) + "\n")
    return csv, yaml_path


def write_prior_draws(n: int = 50, seed: int = PRIOR_DRAWS_SEED, name: str = PRIOR_DRAWS) -> tuple[Path, Path]:
    """Write ``n`` Latin-hypercube draws from the calibration's priors as ensemble ``name``, equal weights."""
    from routesim.calibration import prior_latin_hypercube

    header = [f"Ensemble {name}: {n} Latin-hypercube draws (seed {seed}) from the calibration's priors, the",
              "search box of conf/calibrate/default.yaml, equal weights. Each parameter reads member",
              f"fitted.member's row of conf/fitted/{name}.csv. Written by `python -m routesim.ensemble",
              f"--draws {n}`; do not edit by hand."]
    return write_ensemble(prior_latin_hypercube(n, seed), 1.0, name, header, float_format="%.6g")


def main(argv: list[str] | None = None) -> None:
    """``python -m routesim.ensemble --draws N``: rewrite the prior-draws ensemble."""
    parser = argparse.ArgumentParser(prog="python -m routesim.ensemble", description=main.__doc__)
    parser.add_argument("--draws", type=int, default=50, help="members to draw (default 50)")
    parser.add_argument("--seed", type=int, default=PRIOR_DRAWS_SEED)
    args = parser.parse_args(argv)
    if args.draws < 2:
        parser.error(f"--draws {args.draws}: allowed: 2 or more")
    for path in write_prior_draws(args.draws, args.seed):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
