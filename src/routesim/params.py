"""Configs from a mapping of parameters, for drivers that run many configurations.

``configure({"scenario": "no_routing", "seed": 3, "adoption.imitation_q": 0.05})`` gives the
same :class:`Config` as ``compose(["scenario=no_routing", "seed=3", "adoption.imitation_q=0.05"])``
(and so as the CLI), but composes with Hydra only once per distinct set of group choices
(``market``, ``population``, ``router``, ``scenario``, ``fitted``) and applies the dotted keys
to the typed config. That keeps a driver calling it thousands of times (EMA Workbench, Mesa's
``batch_run``, a dashboard) from paying ~0.3 s of composition per run.

Validation is the config's own: each value is converted by OmegaConf's node types (the rules
a command-line override follows), and every section on the path to the key is rebuilt with
``dataclasses.replace``, which runs its ``__post_init__`` range and cross-field checks, up to
:class:`Config` itself. A bad key or value raises :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from omegaconf.nodes import BooleanNode, FloatNode, IntegerNode, StringNode

from routesim.compose import CONF_DIR, compose
from routesim.config import Config, ConfigError

#: The config groups under ``conf/``: a string value for one of these keys chooses a preset.
GROUPS: tuple[str, ...] = ("market", "population", "router", "scenario", "fitted")

_NODES = {float: FloatNode, int: IntegerNode, bool: BooleanNode, str: StringNode}


@functools.cache
def group_options(group: str) -> tuple[str, ...]:
    """The presets of a config group, e.g. ``group_options("scenario")``, sorted by name."""
    if group not in GROUPS:
        raise ConfigError(f"{group!r} is not a config group; choose one of: {', '.join(GROUPS)}.")
    return tuple(sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml")))


def configure(overrides: Mapping[str, Any] | None = None, base: Config | Sequence[str] | None = None) -> Config:
    """A validated config: ``base`` with ``overrides`` applied.

    Args:
        overrides: group choices (``{"scenario": "price_war"}``) and dotted keys with values
            (``{"adoption.innovation_p": 0.01, "seed": 4}``), applied after the group choices,
            as on the command line. A mapping or list value replaces that section or entry
            whole (where a Hydra override would merge a mapping into it).
        base: None for ``conf/config.yaml``; a list of Hydra overrides composed once per
            process and cached (e.g. ``["market=tiny", "population=tiny"]``); or a
            :class:`Config`, to which group choices cannot be applied.

    Raises:
        ConfigError: an unknown key, a value of the wrong type or out of range, a group
            choice on a ``Config`` base.
    """
    overrides = overrides or {}
    choices = {k: v for k, v in overrides.items() if k in GROUPS and isinstance(v, str)}
    values = {k: v for k, v in overrides.items() if k not in choices}
    if isinstance(base, Config):
        if choices:
            raise ConfigError(f"{', '.join(choices)}: a config group is chosen by composing conf/; "
                              "pass base=None or a list of Hydra overrides, not a Config.")
        cfg = base
    else:
        for group, choice in choices.items():
            if choice not in group_options(group):
                raise ConfigError(f"{group} = {choice!r} is not a preset; choose one of: "
                                  f"{', '.join(group_options(group))}.")
        cfg = _composed((*(base or ()), *(f"{g}={c}" for g, c in choices.items())))
    return apply_overrides(cfg, values)


_COMPOSING = threading.Lock()  # Hydra's compose API keeps global state: one composition at a time


@functools.lru_cache(maxsize=64)
def _composed(overrides: tuple[str, ...]) -> Config:
    """Compose once per distinct override list (callers never mutate a Config in place)."""
    with _COMPOSING:
        return compose(list(overrides))


class _Leaf:
    """A value to set, with the key it was given under (for messages)."""

    def __init__(self, key: str, value: Any) -> None:
        self.key, self.value = key, value


def dotted_get(cfg: Any, key: str) -> Any:
    """The value at a dotted key of a typed config, e.g. ``dotted_get(cfg, "adoption.imitation_q")``."""
    for part in key.split("."):
        cfg = getattr(cfg, part)
    return cfg


def apply_overrides(cfg: Config, overrides: Mapping[str, Any]) -> Config:
    """A copy of ``cfg`` with every dotted key set, then validated; ``cfg`` itself is unchanged.

    All keys are set before any section is checked, as when Hydra composes: a section's
    ``__post_init__`` runs once, after its children, on its final values (so a rule tying
    two keys, e.g. ``population.active_share_at_start`` and ``population.entry_hazard``,
    sees both new values whatever their order).
    """
    tree: dict[str, Any] = {}
    for key, value in overrides.items():
        *parents, last = key.split(".")
        node = tree
        for depth, part in enumerate(parents):
            node = node.setdefault(part, {})
            if isinstance(node, _Leaf):
                whole = ".".join(parents[:depth + 1])
                raise ConfigError(f"{key}: {whole} is also set as a whole; give one or the other.")
        if isinstance(node.get(last), dict):
            raise ConfigError(f"{key} is also given key by key; give one or the other.")
        node[last] = _Leaf(key, value)
    return _apply(cfg, Config, tree, "") if tree else cfg


def _apply(obj: Any, hint: Any, tree: dict[str, Any], prefix: str) -> Any:
    """``obj`` (of schema type ``hint``) with ``tree``'s values set: a new object, checked."""
    if dataclasses.is_dataclass(obj):
        hints = _hints(type(obj))
        changes = {}
        for name, sub in tree.items():
            if name not in hints:
                raise ConfigError(f"{prefix}{name}: unknown key; allowed: {', '.join(hints)}.")
            changes[name] = _value(getattr(obj, name), hints[name], sub, f"{prefix}{name}")
        try:
            return dataclasses.replace(obj, **changes)  # runs __post_init__: ranges, cross-field rules
        except ConfigError:
            raise
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{prefix.rstrip('.') or 'config'}: {exc}") from exc
    if isinstance(obj, dict):
        item_hint = typing.get_args(hint)[1] if typing.get_args(hint) else Any
        out = dict(obj)
        for name, sub in tree.items():
            if isinstance(sub, dict) and name not in obj:
                raise ConfigError(f"{prefix}{name}: unknown key; allowed: {', '.join(map(str, obj))}.")
            out[name] = _value(obj.get(name), item_hint, sub, f"{prefix}{name}")
        return out
    raise ConfigError(f"{prefix}{next(iter(tree))}: {prefix.rstrip('.')} is a value, not a section.")


def _value(current: Any, hint: Any, sub: _Leaf | dict[str, Any], key: str) -> Any:
    return _typed(sub.value, hint, sub.key) if isinstance(sub, _Leaf) else _apply(current, hint, sub, key + ".")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in typing.get_type_hints(cls).items() if k in names}


def _typed(value: Any, hint: Any, key: str) -> Any:
    """``value`` as the schema type ``hint``, by OmegaConf's conversion rules."""
    if isinstance(value, np.generic):  # EMA and NumPy hand over np.float64 / np.int64
        value = value.item()
    optional = type(None) in typing.get_args(hint)
    if optional:
        if value is None:
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if hint in _NODES:
        try:
            return _NODES[hint](value)._value()
        except OmegaConfBaseException:
            raise ConfigError(f"{key} = {value!r} is not of type {hint.__name__}.") from None
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint) and isinstance(value, hint):
        return value
    # a whole section, list or mapping: let OmegaConf type it against the schema
    box = _box(hint)
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(box), {"value": value})).value
    except ConfigError:
        raise
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{key}: {str(exc).splitlines()[0]}") from None


@functools.cache
def _box(hint: Any) -> type:
    return dataclasses.make_dataclass("Box", [("value", hint)])
