"""routesim: an agent-based simulation of the enterprise AI-model market under model routing.

Public API: :func:`simulate` runs one configured market and returns :class:`Results`;
:func:`load_run` reads a run folder back; :func:`compose` builds a validated config from
``conf/`` with Hydra-style overrides, for notebooks and scripts; :func:`run` simulates a
mapping of parameters (``{"scenario": "no_routing", "adoption.imitation_q": 0.05}``) and
composes with Hydra only once per distinct set of group choices, for drivers running many
markets (EMA Workbench, Mesa's ``batch_run``, the dashboard).
"""

__version__ = "0.1.0"

from routesim.compose import compose  # noqa: E402
from routesim.config import Config, ConfigError  # noqa: E402
from routesim.results import Results, load_run  # noqa: E402
from routesim.simulation import run, simulate  # noqa: E402

__all__ = ["Config", "ConfigError", "Results", "__version__", "compose", "load_run", "run", "simulate"]
