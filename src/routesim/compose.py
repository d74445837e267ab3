"""Build a validated config from ``conf/`` with Hydra overrides, outside a Hydra app.

For notebooks, tests and scripts: ``compose(["scenario=no_routing", "seed=3"])`` gives the
same :class:`Config` that ``routesim scenario=no_routing seed=3`` runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from omegaconf import DictConfig

from routesim.config import Config, register_configs, to_config

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def compose_dict(overrides: Sequence[str] = (), config_name: str = "config") -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with ``overrides`` (Hydra syntax), unvalidated."""
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def compose(overrides: Sequence[str] = (), config_name: str = "config") -> Config:
    """Compose and validate: raises ConfigError naming the bad key and the allowed values."""
    return to_config(compose_dict(overrides, config_name))
