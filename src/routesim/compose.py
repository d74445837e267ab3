"""Build a validated config from ``conf/`` with Hydra overrides, outside a Hydra app.

For notebooks, tests and scripts: ``compose(["scenario=no_routing", "seed=3"])`` gives the
same :class:`Config` that ``routesim scenario=no_routing seed=3`` runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from routesim.config import Config, ConfigError, register_configs, to_config

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def compose_dict(overrides: Sequence[str] = (), config_name: str = "config") -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with ``overrides`` (Hydra syntax), unvalidated."""
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def compose(overrides: Sequence[str] = (), config_name: str = "config") -> Config:
    """Compose and validate: raises ConfigError naming the bad key and the allowed values."""
    cfg = compose_dict(overrides, config_name)
    refuse_ignored_overrides(overrides, cfg, allow_repeats=True)
    return to_config(cfg)


def refuse_ignored_overrides(overrides: Sequence[str], cfg: DictConfig, allow_repeats: bool = False) -> None:
    """Raise ConfigError for an override that the composed ``cfg`` would not honour.

    Hydra merges a mapping into the mapping it overrides (``population.industries={}`` keeps
    every industry), turns ``~key`` of a schema key into that key's default, and lets a later
    ``key=value`` silently win over an earlier one. run.json would record such overrides
    while the run ignored them, so they are refused, with the way to say what was meant.
    ``allow_repeats`` keeps Hydra's later-wins rule (the Python API, where a list of
    overrides is often a base plus changes; the command line refuses repeats).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import OverrideType

    parsed = OverridesParser.create().parse_overrides([o for o in overrides if not o.startswith("hydra.")])
    seen: dict[str, str] = {}
    for o in parsed:
        key = o.key_or_group
        if key in seen and not allow_repeats:
            raise ConfigError(f"{key} is given twice ({seen[key]} and {o.input_line}); give it once.")
        seen[key] = o.input_line or key
        if o.is_sweep_override() or "/" in key or "@" in key:
            continue
        parent_key, _, leaf = key.rpartition(".")
        parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
        if o.type == OverrideType.DEL:
            if isinstance(parent, DictConfig) and OmegaConf.get_type(parent) not in (dict, None):
                raise ConfigError(f"~{key}: {key} is a key of the schema, which cannot be deleted (the run would "
                                  f"use its default instead); set it to a value.")
            continue
        value = o.value()
        node = OmegaConf.select(cfg, key)
        if isinstance(value, dict) and isinstance(node, DictConfig) and OmegaConf.get_type(node) is dict:
            kept = sorted(set(node.keys()) - set(value))
            if kept:
                hint = " ".join(f"~{key}.{k}" for k in kept[:3])
                raise ConfigError(f"{o.input_line}: an override merges into {key} and cannot remove its entries "
                                  f"{', '.join(kept)}; delete an entry with ~{key}.<name> (e.g. {hint}).")
