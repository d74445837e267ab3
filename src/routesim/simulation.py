"""``simulate(cfg) -> Results``: the core as a function of typed config and seed.

The CLI, notebooks, tests and any external driver call this one function; it never touches
Hydra's global state or the file system.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

import mesa
from omegaconf import DictConfig

from routesim import __version__
from routesim.config import Config, to_config
from routesim.metrics import break_even_months, build_tables, check_invariants, raise_on_failures
from routesim.model import MarketModel
from routesim.params import configure
from routesim.preflight import check_memory
from routesim.results import Results


def simulate(cfg: Config | DictConfig | dict[str, Any], check: bool = True) -> Results:
    """Run the market described by ``cfg`` and return its tables.

    Args:
        cfg: a :class:`Config`, or a composed Hydra/OmegaConf config or plain dict of one;
            it is validated before anything is simulated.
        check: raise :class:`routesim.metrics.InvariantError` if an invariant is broken.

    Returns:
        The five tables and metadata (seed, version, timings, invariant results, each
        provider's break-even month).
    """
    config = to_config(cfg)
    check_memory(config)  # before allocating: refuse a run that cannot fit, with the estimate
    started = time.perf_counter()
    model = MarketModel(config).run()
    ran = time.perf_counter()
    # Mesa 3.3 keeps a per-model id counter on the Agent class, which would keep every
    # finished model alive in a long-lived process (a sweep worker, a notebook).
    mesa.Agent._ids.pop(model, None)
    tables = build_tables(model)
    invariants = check_invariants(tables)
    if check:
        raise_on_failures(invariants)
    finished = time.perf_counter()
    metadata = {
        "seed": config.seed,
        "routesim_version": __version__,
        "scenario": config.scenario.name,
        "router_policy": config.router.policy,
        "config": dataclasses.asdict(config),
        "invariants": invariants,
        "break_even": break_even_months(model),
        "timings_s": {"simulate": ran - started, "tables_and_checks": finished - ran},
    }
    panel = tables.pop("enterprise_panel", None)
    return Results(**tables, metadata=metadata, enterprise_panel=panel)


def simulate_seeds(cfg: Config, n: int, first: int = 0) -> list[Results]:
    """``cfg`` simulated with seeds ``cfg.seed + first`` .. ``cfg.seed + first + n - 1``."""
    return [simulate(dataclasses.replace(cfg, seed=cfg.seed + first + i)) for i in range(n)]


def run(overrides: Mapping[str, Any] | None = None, base: Config | Sequence[str] | None = None) -> Results:
    """Simulate ``base`` with ``overrides``: the parameter API for drivers that run many markets.

    ``run({"scenario": "no_routing", "seed": 3})`` is ``simulate(compose(["scenario=no_routing",
    "seed=3"]))``, but Hydra composes only once per distinct set of group choices in a process;
    dotted keys are applied to the typed config with the same validation
    (:func:`routesim.params.configure`).
    """
    return simulate(configure(overrides, base))
