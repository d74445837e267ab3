"""routesim as an EMA Workbench model (the optional ``explore`` extra).

``ema_model()`` returns an EMA ``Model`` and ``replicator_model(seeds)`` a ``ReplicatorModel``
over seeds (outcomes averaged over them). Both have

- **uncertainties**: the calibration's priors (:func:`routesim.calibration.prior_ranges`), one
  ``RealParameter`` per searched key, named with ``_`` for ``.`` (EMA wants identifiers) and
  passed to routesim under the dotted key;
- **levers**: ``routing_scenario`` (a scenario preset; EMA's experiments table has its own
  ``scenario`` column) and ``router_policy`` (a routing-policy preset);
- **outcomes**: :func:`routesim.outcomes.scalar_outcomes` of the horizon's last year: frontier
  revenue, each lab's revenue and usage (token) share, and cumulative enterprise savings.

Each experiment is one :func:`routesim.run`, which composes the Hydra config once per
(scenario, router) pair and process, so an experiment costs its simulation, not Hydra's
start-up. EMA 2.5 samples from NumPy's global random state: wrap ``perform_experiments`` in
:func:`seeded_sampling` for a reproducible design.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

with warnings.catch_warnings():  # EMA warns on import that an evaluator we do not use is missing
    warnings.filterwarnings("ignore", message="ipyparallel not installed")
    try:
        from ema_workbench import CategoricalParameter, Constant, Model, RealParameter, ReplicatorModel, ScalarOutcome
    except ImportError as exc:  # the core install has no EMA Workbench
        raise ImportError("routesim.ema needs the explore extra: pip install -e '.[explore]'") from exc

from routesim.calibration import prior_ranges
from routesim.outcomes import outcome_names, scalar_outcomes
from routesim.params import configure, group_options
from routesim.simulation import run

SCENARIO_LEVER = "routing_scenario"
ROUTER_LEVER = "router_policy"


def experiment(*, n_enterprises: int, end: str, base: tuple[str, ...] = (), seed: int = 0,
               **params: Any) -> dict[str, float]:
    """One EMA experiment: simulate the market with these parameters, return its outcomes.

    ``params`` are dotted keys and the group choices ``scenario`` and ``router`` (the levers'
    variable names); ``base`` is a tuple of Hydra overrides composed once per process.
    """
    overrides = {**params, "seed": int(seed), "population.n_enterprises": int(n_enterprises), "end": end}
    return scalar_outcomes(run(overrides, base=list(base)))


def _parts(n_enterprises: int, end: str, base: Sequence[str], scenarios: Iterable[str] | None,
           routers: Iterable[str] | None) -> tuple[list, list, list, list]:
    """Uncertainties, levers, constants and outcomes shared by both model kinds."""
    cfg = configure({"population.n_enterprises": n_enterprises, "end": end}, base=list(base))  # fails early
    uncertainties = [RealParameter(key.replace(".", "_"), low, high, variable_name=key)
                     for key, (low, high) in prior_ranges().items()]
    levers, constants = [], [Constant("n_enterprises", n_enterprises), Constant("end", end),
                             Constant("base", tuple(base))]
    for lever, group, options in ((SCENARIO_LEVER, "scenario", scenarios), (ROUTER_LEVER, "router", routers)):
        options = list(options or group_options(group))
        if len(options) > 1:
            levers.append(CategoricalParameter(lever, options, variable_name=group))
        else:  # EMA wants two categories or more: a single preset is a constant
            constants.append(Constant(group, options[0]))
    names = outcome_names(list(cfg.market.providers), int(end[:4]))
    return uncertainties, levers, constants, names


def ema_model(name: str = "routesim", *, seed: int = 0, n_enterprises: int = 2000, end: str = "2030-12",
              base: Sequence[str] = (), scenarios: Iterable[str] | None = None,
              routers: Iterable[str] | None = None) -> Model:
    """An EMA ``Model``: one seeded run per experiment.

    Args:
        name: the model's name (alphanumeric).
        seed: the seed of every experiment (common random numbers across experiments).
        n_enterprises: enterprises per run.
        end: the last simulated month; yearly outcomes are of its year.
        base: Hydra overrides for the base config, e.g. ``["market=tiny", "population=tiny"]``.
        scenarios: the ``routing_scenario`` lever's presets (default all of ``conf/scenario``).
        routers: the ``router_policy`` lever's presets (default all of ``conf/router``).
    """
    uncertainties, levers, constants, names = _parts(n_enterprises, end, base, scenarios, routers)
    model = Model(name, function=experiment)
    model.uncertainties = uncertainties
    model.levers = levers
    model.constants = [*constants, Constant("seed", seed)]
    model.outcomes = [ScalarOutcome(n) for n in names]
    return model


def replicator_model(seeds: Iterable[int] = range(5), name: str = "routesim", *, n_enterprises: int = 2000,
                     end: str = "2030-12", base: Sequence[str] = (), scenarios: Iterable[str] | None = None,
                     routers: Iterable[str] | None = None) -> ReplicatorModel:
    """An EMA ``ReplicatorModel``: each experiment runs every seed; outcomes are their means.

    The seeds are explicit replications, so a replication is the same market in every
    experiment (EMA's integer replications would leave them unseeded). Arguments as
    :func:`ema_model`.
    """
    uncertainties, levers, constants, names = _parts(n_enterprises, end, base, scenarios, routers)
    model = ReplicatorModel(name, function=experiment)
    model.uncertainties = uncertainties
    model.levers = levers
    model.constants = constants
    model.replications = [{"seed": int(s)} for s in seeds]
    model.outcomes = [ScalarOutcome(n, function=np.mean) for n in names]
    return model


@contextlib.contextmanager
def seeded_sampling(seed: int) -> Iterator[None]:
    """Seed NumPy's global random state, which EMA 2.5's samplers draw from, for one block.

    The previous state is restored afterwards, so nothing else in the process is affected.
    routesim itself never draws from the global state.
    """
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002 - EMA 2.5 offers no other way to seed its samplers
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002
