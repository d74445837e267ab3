"""Typed configuration: dataclass schemas registered in Hydra's ConfigStore, and validation.

The schemas give Hydra the types of every key, so a wrong type or an unknown key fails when
the config is composed. Range and cross-field rules live in ``__post_init__`` (run by
``OmegaConf.to_object``) and in :func:`validate`, and raise :class:`ConfigError`, whose
message names the key and the values it may take. Nothing here imports Mesa or simulates.

Ranges. Every numeric key has a finite range, written where it is checked (the
``_check_range`` calls in each schema's ``__post_init__``); +-inf and NaN are refused for every
numeric key, checked or not (``_refuse_non_finite``). Open-ended quantities get a bound far
beyond any plausible value that keeps a run's arithmetic finite: money up to 1e12 USD per
item or 1e13 USD per month, list prices 1e-6 .. 1e4 USD per 1M tokens, weights and multipliers
up to 1e6, logit weights up to 1e3. What no single key can bound (a compounding of growth,
trends, shocks and elasticity over the horizon) is checked on the whole run by
:mod:`routesim.preflight` before anything is simulated. Names that become paths
(``scenario.name``, ``experiment.name``) are limited to letters, digits, ``_``, ``-`` and ``.``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

TIERS: tuple[str, ...] = ("frontier", "budget", "overseas")
EVERYDAY_FROM: tuple[str, ...] = ("any_tier", "frontier_first")
VENDOR_CONSTANTS: tuple[str, ...] = ("none", "inverted")
BENCHMARK_KINDS: tuple[str, ...] = ("accuracy", "index", "elo")
# what a task family calls on and a benchmark measures: general ability, and coding beyond it
SKILLS: tuple[str, ...] = ("general", "coding")
ORIGINS: tuple[str, ...] = ("US", "CN", "EU")
PEER_GROUPS: tuple[str, ...] = ("industry", "global")

_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong kind or out of range."""


def parse_month(value: str, key: str) -> int:
    """Return a "YYYY-MM" string as an absolute month number (year * 12 + month - 1)."""
    match = _MONTH_RE.match(str(value))
    if not match:
        raise ConfigError(f"{key}: '{value}' is not a month; write it as \"YYYY-MM\", e.g. \"2024-01\".")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def format_month(absolute: int) -> str:
    """Inverse of :func:`parse_month`."""
    return f"{absolute // 12:04d}-{absolute % 12 + 1:02d}"


def _check_range(key: str, value: float, low: float | None = None, high: float | None = None,
                 low_open: bool = False) -> None:
    """Raise ConfigError unless ``value`` is finite and ``low <= value <= high`` (``low < value`` if ``low_open``).

    +-inf and NaN are out of range for every key, whatever its bounds: no run can use them.
    """
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and value > high
    if too_low or too_high or not math.isfinite(value):
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        bracket = "(" if low_open else "["
        finite = "a finite number in " if low is None or high is None else ""
        raise ConfigError(f"{key} = {value!r} is out of range; allowed: {finite}{bracket}{lo}, {hi}].")


def _refuse_non_finite(value: Any, key: str) -> None:
    """Raise ConfigError naming the first number under ``value`` (a schema object) that is +-inf or NaN.

    Covers every numeric key of every schema, including keys without a range of their own.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _refuse_non_finite(getattr(value, f.name), f"{key}.{f.name}" if key else f.name)
    elif isinstance(value, dict):
        for k, v in value.items():
            _refuse_non_finite(v, f"{key}.{k}")
    elif isinstance(value, list):
        for j, v in enumerate(value):
            _refuse_non_finite(v, f"{key}[{j}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key} = {value!r} is out of range; allowed: a finite number.")


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(key: str, value: str, allow_empty: bool = False) -> None:
    """Refuse a name that becomes part of a path unless it is 1-64 safe characters.

    Safe: letters, digits, ``_``, ``-`` and ``.``, starting with a letter or digit; so no
    ``/``, no ``..`` component and no hidden file can move a run's output elsewhere.
    """
    if allow_empty and value == "":
        return
    if not _NAME_RE.match(str(value)):
        raise ConfigError(f"{key} = {value!r} is not a usable name; allowed: 1-64 letters, digits, '_', '-' "
                          "or '.', starting with a letter or digit (it becomes part of a folder name).")


def _check_series(key: str, series: DatedSeries, low: float | None, high: float | None) -> None:
    for j, anchor in enumerate(series.anchors):
        parse_month(anchor.month, f"{key}.anchors[{j}].month")
        _check_range(f"{key}.anchors[{j}].value", anchor.value, low, high)
    _check_range(f"{key}.growth_per_year", series.growth_per_year, 0.0, 10.0)


def _check_choice(key: str, value: str, allowed: tuple[str, ...] | list[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key} = {value!r} is not allowed; choose one of: {', '.join(allowed)}.")


# ----------------------------------------------------------------------------------- market


@dataclass
class PriceChange:
    """A dated change of a model's list prices (USD per 1M tokens)."""

    month: str = MISSING
    price_in_usd_per_mtok: float = MISSING
    price_out_usd_per_mtok: float = MISSING


@dataclass
class ModelSpec:
    """One model in the catalogue; README "The model" and docs/sources.md give each field's meaning and source."""

    provider: str = MISSING
    tier: str = MISSING
    release: str = MISSING
    retire: str | None = None
    price_in_usd_per_mtok: float = MISSING
    price_out_usd_per_mtok: float = MISSING
    # Ability on the common logit scale (routesim.ability): estimated from ``benchmarks``
    # (published scores, benchmark name -> score) with the market's benchmark scale, or given
    # directly as ``ability`` (toy markets). Exactly one of the two.
    benchmarks: dict[str, float] = field(default_factory=dict)
    ability: float | None = None
    output_tokens_multiplier: float = 1.0
    # False for premium variants (Opus-class, "pro") that a single-vendor enterprise does not
    # use as its everyday model; they remain available to routers.
    flagship_eligible: bool = True
    price_changes: list[PriceChange] = field(default_factory=list)


def model_spec(value: Any, key: str) -> ModelSpec:
    """Build a :class:`ModelSpec` from a catalogue entry (a mapping), checking it as OmegaConf would.

    Unknown and missing fields and values of the wrong type raise ConfigError naming
    ``key.<field>``; numbers given as strings and integers for floats are converted.
    """
    return _from_mapping(ModelSpec, value, key)


# field -> type for the dataclasses _from_mapping builds; [cls] is a list of cls
_FIELD_TYPES: dict[type, dict[str, Any]] = {
    ModelSpec: {"provider": str, "tier": str, "release": str, "retire": (str, None),
                "price_in_usd_per_mtok": float, "price_out_usd_per_mtok": float, "benchmarks": {str: float},
                "ability": (float, None), "output_tokens_multiplier": float, "flagship_eligible": bool,
                "price_changes": [PriceChange]},
    PriceChange: {"month": str, "price_in_usd_per_mtok": float, "price_out_usd_per_mtok": float},
}


def _from_mapping(cls: type, value: Any, key: str) -> Any:
    """An instance of dataclass ``cls`` from a mapping, each field checked and coerced (_coerce)."""
    if isinstance(value, cls):
        return value
    if isinstance(value, DictConfig):
        value = OmegaConf.to_container(value, resolve=True)
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping of {cls.__name__} fields, got {value!r}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out: dict[str, Any] = {}
    for name, raw in value.items():
        if name not in fields:
            raise ConfigError(f"{key}.{name}: unknown key; allowed: {', '.join(fields)}.")
        kind = _FIELD_TYPES[cls][name]
        if isinstance(kind, dict):
            if not isinstance(raw, dict):
                raise ConfigError(f"{key}.{name}: expected a mapping, got {raw!r}.")
            (value_kind,) = kind.values()
            out[name] = {str(k): _coerce(v, value_kind, f"{key}.{name}.{k}") for k, v in raw.items()}
        elif isinstance(kind, list):
            if not isinstance(raw, list):
                raise ConfigError(f"{key}.{name}: expected a list, got {raw!r}.")
            out[name] = [_from_mapping(kind[0], item, f"{key}.{name}[{j}]") for j, item in enumerate(raw)]
        else:
            out[name] = _coerce(raw, kind, f"{key}.{name}")
    for name, f in fields.items():
        if name not in out and f.default is MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key}.{name}: missing; a {cls.__name__} needs {', '.join(fields)}.")
    return cls(**out)


def _coerce(raw: Any, kind: Any, key: str) -> Any:
    """``raw`` as ``kind`` (float, str, bool, or (str|float, None) for optional ones), else ConfigError."""
    if isinstance(kind, tuple):
        return None if raw is None else _coerce(raw, kind[0], key)
    if raw is None or raw == MISSING:
        raise ConfigError(f"{key}: missing; give a value.")
    if kind is float and not isinstance(raw, bool):
        try:
            return float(raw)
        except (TypeError, ValueError):
            pass
    elif kind is bool:
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("true", "false"):
            return str(raw).lower() == "true"
    elif kind is str and isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
        return str(raw)
    raise ConfigError(f"{key} = {raw!r} is not a {kind.__name__}.")


PRICE_RANGE: tuple[float, float] = (1e-6, 1e4)  # USD per 1M tokens: far below and above any list price


@dataclass
class Anchor:
    """A dated value of a series."""

    month: str = MISSING
    value: float = MISSING


@dataclass
class DatedSeries:
    """A monthly series from dated anchors.

    Interpolated log-linearly between anchors (linearly if ``linear`` or where a value is 0),
    held flat before the first anchor, and grown by ``growth_per_year`` after the last.
    No anchors means 0 throughout.
    """

    anchors: list[Anchor] = field(default_factory=list)
    growth_per_year: float = 1.0
    linear: bool = False


SCOPES: tuple[str, ...] = ("company", "api_segment")


@dataclass
class ProviderSpec:
    """A lab selling models: origin, the cost structure of its API business, pricing.

    Every provider's books have one scope, its model-API business (the revenue the simulation
    gives it): API revenue - serving cost - the fixed cost allocated to the API. ``scope``
    says what ``fixed_cost_usd_per_month`` covers as sourced: the whole company (``company``;
    ``api_share_of_fixed_cost`` of it is allocated to the API business) or already only the
    model-API business of a larger group (``api_segment``, e.g. Google's Gemini API; share 1).
    """

    origin: str = MISSING
    scope: str = "company"
    # serving cost per token = fraction x the model's launch list price, falling by
    # serving_cost_change_per_year (a multiplier), never below the floor fraction
    serving_cost_fraction: float = MISSING
    serving_cost_change_per_year: float = 1.0
    serving_cost_fraction_floor: float = 0.0
    fixed_cost_usd_per_month: DatedSeries = field(default_factory=DatedSeries)
    api_share_of_fixed_cost: float = 1.0
    pricing: str = "scheduled"


@dataclass
class TierTrend:
    """Drift applied to every model of a tier after ``trends.start``."""

    price_change_per_year: float = 1.0
    ability_gain_per_year: float = 0.0  # additive, on the ability (logit) scale


@dataclass
class TrendConfig:
    """Tier-specific trends beyond the last dated catalogue fact."""

    start: str = "2026-11"
    frontier: TierTrend = field(default_factory=TierTrend)
    budget: TierTrend = field(default_factory=TierTrend)
    overseas: TierTrend = field(default_factory=TierTrend)


@dataclass
class BenchmarkSpec:
    """A public benchmark on the common ability scale (see ``routesim.ability``).

    A score s is put on the logit scale as y = logit((s - chance) / (1 - chance)) for an
    ``accuracy`` (share correct, 0-1), y = logit(s / 100) for an ``index`` (0-100) and
    y = (s - 1000) ln(10) / 400 for an ``elo`` rating; then y = slope (ability - offset) +
    error, with error sd ``residual_sd`` (plus, for an accuracy, the binomial sampling error of
    ``items`` questions). GPQA-Diamond defines the scale (slope 1, offset 0). ``skill`` names
    what the benchmark measures beyond general ability (``coding`` for SWE-bench): a model's
    ability at that skill leans on its scores there (``routesim.ability.skill_abilities``).
    """

    kind: str = "accuracy"
    skill: str = "general"
    chance: float = 0.0
    items: int = 0
    slope: float = 1.0
    offset: float = 0.0
    residual_sd: float = 0.5


@dataclass
class MarketConfig:
    """Providers, their models over time, tier trends, and the benchmarks behind abilities."""

    name: str = "default"
    providers: dict[str, ProviderSpec] = field(default_factory=dict)
    benchmarks: dict[str, BenchmarkSpec] = field(default_factory=dict)
    # Entries become ModelSpec in __post_init__ (model_spec: same checks, same messages).
    # Untyped in the schema because typing ~60 entries at every Hydra composition costs
    # ~0.1 s per composition, and a run composes twice (issue 7's start-up budget).
    models: dict[str, Any] = field(default_factory=dict)
    trends: TrendConfig = field(default_factory=TrendConfig)

    def __post_init__(self) -> None:
        self.models = {mid: model_spec(spec, f"market.models.{mid}") for mid, spec in self.models.items()}
        if not self.providers:
            raise ConfigError("market.providers is empty; the market needs at least one provider.")
        if not self.models:
            raise ConfigError("market.models is empty; the market needs at least one model.")
        from routesim.pricing import PRICING  # local import: pricing needs nothing from here

        for pid, prov in self.providers.items():
            key = f"market.providers.{pid}"
            _check_choice(f"{key}.origin", prov.origin, ORIGINS)
            _check_choice(f"{key}.scope", prov.scope, SCOPES)
            _check_choice(f"{key}.pricing", prov.pricing, tuple(PRICING))
            _check_range(f"{key}.serving_cost_fraction", prov.serving_cost_fraction, 0.0, 10.0)
            _check_range(f"{key}.serving_cost_change_per_year", prov.serving_cost_change_per_year, 0.01, 10.0)
            _check_range(f"{key}.serving_cost_fraction_floor", prov.serving_cost_fraction_floor, 0.0,
                         prov.serving_cost_fraction)
            _check_series(f"{key}.fixed_cost_usd_per_month", prov.fixed_cost_usd_per_month, 0.0, 1e12)
            _check_range(f"{key}.api_share_of_fixed_cost", prov.api_share_of_fixed_cost, 0.0, 1.0)
            if prov.scope == "api_segment" and prov.api_share_of_fixed_cost != 1.0:
                raise ConfigError(f"{key}.api_share_of_fixed_cost = {prov.api_share_of_fixed_cost!r}: an "
                                  "api_segment's fixed cost is already the API business's; allowed: 1.")
        for name, bench in self.benchmarks.items():
            key = f"market.benchmarks.{name}"
            _check_choice(f"{key}.kind", bench.kind, BENCHMARK_KINDS)
            _check_choice(f"{key}.skill", bench.skill, SKILLS)
            _check_range(f"{key}.chance", bench.chance, 0.0, 0.99)
            _check_range(f"{key}.items", bench.items, 0, 10_000_000)
            _check_range(f"{key}.slope", bench.slope, 0.01, 100.0)
            _check_range(f"{key}.offset", bench.offset, -100.0, 100.0)
            _check_range(f"{key}.residual_sd", bench.residual_sd, 0.0, 10.0)
        for mid, spec in self.models.items():
            check_model(f"market.models.{mid}", spec, self.providers, self.benchmarks)
        parse_month(self.trends.start, "market.trends.start")
        for tier in TIERS:
            trend: TierTrend = getattr(self.trends, tier)
            # from 100x cheaper to 10x dearer a year (a16z: ~10x cheaper a year at equal capability)
            _check_range(f"market.trends.{tier}.price_change_per_year", trend.price_change_per_year,
                         0.01, 100.0)
            _check_range(f"market.trends.{tier}.ability_gain_per_year", trend.ability_gain_per_year,
                         -5.0, 5.0)


ABILITY_RANGE = (-20.0, 20.0)  # logit units: far beyond any model (GPT-3.5 ~ -2, 2026 frontier ~ 3)


def check_model(key: str, spec: ModelSpec, providers: dict[str, Any], benchmarks: dict[str, BenchmarkSpec]) -> None:
    """Check one catalogue entry (``market.models.<id>`` or ``scenario.new_models.<id>``).

    Ranges, scores and dates that agree: a model retires no earlier than its release, each
    price change falls between its release and its retirement, at most one per month; its
    ability comes from benchmark scores or is given, not both.
    """
    _check_choice(f"{key}.provider", spec.provider, sorted(providers))
    _check_choice(f"{key}.tier", spec.tier, TIERS)
    release = parse_month(spec.release, f"{key}.release")
    retire = None if spec.retire is None else parse_month(spec.retire, f"{key}.retire")
    if retire is not None and retire < release:
        raise ConfigError(f"{key}.retire ({spec.retire}) is before its release ({spec.release}).")
    _check_range(f"{key}.price_in_usd_per_mtok", spec.price_in_usd_per_mtok, *PRICE_RANGE)
    _check_range(f"{key}.price_out_usd_per_mtok", spec.price_out_usd_per_mtok, *PRICE_RANGE)
    _check_range(f"{key}.output_tokens_multiplier", spec.output_tokens_multiplier, 0.01, 100.0)
    if (spec.ability is None) == (not spec.benchmarks):
        raise ConfigError(f"{key}: give either benchmarks (published scores, e.g. benchmarks: {{gpqa_diamond: "
                          "0.5}}) or ability (a value on the logit scale), not both and not neither.")
    if spec.ability is not None:
        _check_range(f"{key}.ability", spec.ability, *ABILITY_RANGE)
    for name, score in spec.benchmarks.items():
        _check_choice(f"{key}.benchmarks ({name})", name, sorted(benchmarks))
        bench = benchmarks[name]
        low, high, low_open = {"accuracy": (bench.chance, 1.0, True), "index": (0.0, 100.0, True),
                               "elo": (100.0, 4000.0, False)}[bench.kind]
        _check_range(f"{key}.benchmarks.{name}", score, low, high, low_open=low_open)
        if bench.kind != "elo" and score >= high:
            raise ConfigError(f"{key}.benchmarks.{name} = {score!r}: a perfect score has no place on the "
                              f"logit scale; allowed: ({low:g}, {high:g}).")
    seen: dict[int, int] = {}
    for j, change in enumerate(spec.price_changes):
        ckey = f"{key}.price_changes[{j}]"
        month = parse_month(change.month, f"{ckey}.month")
        if month < release or (retire is not None and month > retire):
            raise ConfigError(f"{ckey}.month ({change.month}) is outside the model's life; allowed: "
                              f"{spec.release} .. {spec.retire or 'its last month'} (release .. retire).")
        if month in seen:
            raise ConfigError(f"{ckey}.month ({change.month}): price_changes[{seen[month]}] already changes "
                              "the prices that month; give one change per month.")
        seen[month] = j
        _check_range(f"{ckey}.price_in_usd_per_mtok", change.price_in_usd_per_mtok, *PRICE_RANGE)
        _check_range(f"{ckey}.price_out_usd_per_mtok", change.price_out_usd_per_mtok, *PRICE_RANGE)


# ------------------------------------------------------------------------------- population


@dataclass
class IndustrySpec:
    """An industry: its share of enterprises, its mix of task families and overseas access.

    ``family_weights`` (family -> weight, normalised) is the share of the industry's tasks in
    each task family of ``workload.families``.
    """

    weight: float = MISSING
    family_weights: dict[str, float] = field(default_factory=dict)
    overseas_allowed_share: float = MISSING


@dataclass
class PopulationConfig:
    """The enterprises: how many agents, how many real firms they stand for, how big, whom they prefer.

    ``n_enterprises`` agents are a weighted sample of ``market_enterprises`` real enterprises
    (the number buying model APIs once every one has entered): every total (USD, tokens,
    tasks, enterprise counts) estimates the real market whatever ``n_enterprises`` is, which
    only sets the resolution. Sizes are drawn by stratified sampling from the size
    distribution and its size-weighted twin, so the few giant buyers are represented at
    small n (``routesim.population.draw_sizes``).
    """

    n_enterprises: int = 10_000
    market_enterprises: float = 10_000.0
    size_median_tasks_per_month: float = MISSING
    size_sigma: float = MISSING
    requirement_low: float = MISSING
    requirement_high: float = MISSING
    industries: dict[str, IndustrySpec] = field(default_factory=dict)
    preferred_vendor_weights: dict[str, float] = field(default_factory=dict)
    # entry: a share is buying at the start month, the rest start at a constant monthly hazard
    active_share_at_start: float = 1.0
    entry_hazard: float = 0.0

    def __post_init__(self) -> None:
        _check_range("population.n_enterprises", self.n_enterprises, 1, 10_000_000)
        _check_range("population.active_share_at_start", self.active_share_at_start, 0.0, 1.0, low_open=True)
        _check_range("population.entry_hazard", self.entry_hazard, 0.0, 1.0)
        if self.active_share_at_start < 1.0 and self.entry_hazard == 0.0:
            raise ConfigError(
                f"population.entry_hazard = 0 with population.active_share_at_start = "
                f"{self.active_share_at_start!r}: the other enterprises would never enter; set "
                "entry_hazard in (0, 1] or active_share_at_start = 1.")
        _check_range("population.market_enterprises", self.market_enterprises, 0.0, 1e9, low_open=True)
        _check_range("population.size_median_tasks_per_month", self.size_median_tasks_per_month,
                     0.0, 1e12, low_open=True)
        _check_range("population.size_sigma", self.size_sigma, 0.0, 5.0)
        _check_range("population.requirement_low", self.requirement_low, 0.0, 1.0)
        _check_range("population.requirement_high", self.requirement_high, self.requirement_low, 1.0)
        if not self.industries:
            raise ConfigError("population.industries is empty; give at least one industry.")
        for name, ind in self.industries.items():
            key = f"population.industries.{name}"
            _check_range(f"{key}.weight", ind.weight, 0.0, 1e6)
            for fam, w in ind.family_weights.items():
                _check_range(f"{key}.family_weights.{fam}", w, 0.0, 1e6)
            if not ind.family_weights or sum(ind.family_weights.values()) <= 0:
                raise ConfigError(f"{key}.family_weights: give each task family's share of the industry's "
                                  "tasks, e.g. {routine: 0.7, coding: 0.2, reasoning: 0.1}; at least one > 0.")
            _check_range(f"{key}.overseas_allowed_share", ind.overseas_allowed_share, 0.0, 1.0)
        if sum(ind.weight for ind in self.industries.values()) <= 0:
            raise ConfigError("population.industries: the weights sum to 0; at least one must be > 0.")
        if not self.preferred_vendor_weights:
            raise ConfigError("population.preferred_vendor_weights is empty; name at least one provider.")
        for name, w in self.preferred_vendor_weights.items():
            _check_range(f"population.preferred_vendor_weights.{name}", w, 0.0, 1e6)
        if sum(self.preferred_vendor_weights.values()) <= 0:
            raise ConfigError("population.preferred_vendor_weights sum to 0; at least one must be > 0.")


# ------------------------------------------------------------------ workload, demand, adoption


@dataclass
class FamilySpec:
    """A task family (routine work, coding, reasoning and agentic work, ...).

    Its tasks' difficulties are normal on the ability scale (mean, sd at the start month); a
    model of ability a solves a task of difficulty d with probability sigmoid(slope (a - d)).
    Tokens per task at the family's mean difficulty; harder tasks use more (see
    ``WorkloadConfig.tokens_difficulty_slope``).
    """

    difficulty_mean: float = MISSING
    difficulty_sd: float = MISSING
    success_slope: float = MISSING
    tokens_in_per_task: float = MISSING
    tokens_out_per_task: float = MISSING
    # the ability a model brings to these tasks: ``general``, or a skill some benchmark measures
    # (``coding``: SWE-bench Verified)
    skill: str = "general"


@dataclass
class WorkloadConfig:
    """Task families, their segments, and how task difficulty moves with the frontier."""

    families: dict[str, FamilySpec] = field(default_factory=dict)
    # each family is split into this many equally weighted difficulty segments (quantiles)
    segments_per_family: int = 4
    # tokens per task x exp(slope x (difficulty - the family's mean difficulty at the start))
    tokens_difficulty_slope: float = 0.0
    # tasks handed to models get harder as models improve: every segment's difficulty rises by
    # this share of the rise in the best frontier ability on offer since the start month
    difficulty_tracks_frontier: float = 0.0

    def __post_init__(self) -> None:
        if not self.families:
            raise ConfigError("workload.families is empty; give at least one task family.")
        for name, fam in self.families.items():
            key = f"workload.families.{name}"
            _check_range(f"{key}.difficulty_mean", fam.difficulty_mean, *ABILITY_RANGE)
            _check_range(f"{key}.difficulty_sd", fam.difficulty_sd, 0.0, 10.0)
            _check_range(f"{key}.success_slope", fam.success_slope, 0.0, 50.0, low_open=True)
            _check_range(f"{key}.tokens_in_per_task", fam.tokens_in_per_task, 0.0, 1e7)
            _check_range(f"{key}.tokens_out_per_task", fam.tokens_out_per_task, 0.0, 1e7)
            if fam.tokens_in_per_task + fam.tokens_out_per_task <= 0:
                raise ConfigError(f"{key}: tokens_in_per_task + tokens_out_per_task must be > 0.")
        _check_range("workload.segments_per_family", self.segments_per_family, 1, 100)
        _check_range("workload.tokens_difficulty_slope", self.tokens_difficulty_slope, 0.0, 2.0)
        _check_range("workload.difficulty_tracks_frontier", self.difficulty_tracks_frontier, 0.0, 1.5)


@dataclass
class DemandConfig:
    """Task volume: trend growth, a constant-elasticity price response, and usage spikes.

    A spike multiplies an enterprise's month of tasks by a Pareto(alpha) factor in
    [1, spike_max_multiple] (an agent loop left running, a launch): the heavy tail behind
    runaway-spend episodes.
    """

    growth_per_month: float = MISSING
    # growth tapers from growth_per_month towards this rate with the given half-life
    # (None: constant growth)
    long_run_growth_per_month: float | None = None
    growth_half_life_months: float = 12.0
    price_elasticity: float = 0.0
    spike_probability: float = 0.0
    spike_pareto_alpha: float = 1.5
    spike_max_multiple: float = 100.0

    def __post_init__(self) -> None:
        _check_range("demand.growth_per_month", self.growth_per_month, -0.5, 1.0)
        if self.long_run_growth_per_month is not None:
            _check_range("demand.long_run_growth_per_month", self.long_run_growth_per_month, -0.5, 1.0)
        _check_range("demand.growth_half_life_months", self.growth_half_life_months, 0.0, 1200.0, low_open=True)
        _check_range("demand.price_elasticity", self.price_elasticity, 0.0, 5.0)
        _check_range("demand.spike_probability", self.spike_probability, 0.0, 1.0)
        _check_range("demand.spike_pareto_alpha", self.spike_pareto_alpha, 0.1, 100.0)
        _check_range("demand.spike_max_multiple", self.spike_max_multiple, 1.0, 1e6)


CAP_BEHAVIOURS: tuple[str, ...] = ("throttle", "overspend", "downgrade")
BUDGET_FORECASTS: tuple[str, ...] = ("rolling", "at_round")


@dataclass
class BudgetConfig:
    """Annual AI budgets, overrun episodes, and what an enterprise does at its cap.

    Each enterprise has a budget year of ``period_months`` starting at its own month (its
    entry month, or a drawn month for those buying from the start: fiscal years spread over
    the calendar). Its budget is forecast x exp(b), b drawn per enterprise-year at the round
    from N(``log_budget_to_forecast_mean``, ``log_budget_to_forecast_sd``): how far budgets
    fall short of (b < 0) or exceed what the firm expects to spend. ``forecast`` says of
    what: ``rolling`` (default), the year's bill as projected (demanded so far, then this
    month's run-rate grown at the market's trend), set so in the period's first month and
    afterwards only revised up, never once the cap is hit: a growing bill (volume, dearer
    models) is budgeted as it becomes visible, a falling one (routing, price cuts) leaves
    headroom; ``at_round``, the bill forecast at the round (last month's run-rate grown at the
    trend) and never revised, so every change of price, model or routing within the year adds
    to the overrun. The cap
    is hit in the month its spend so far this year would pass the budget (an overrun episode,
    at most one a year); from then to the next round it is at its cap and throttles (serves
    only what the budget has left, then nothing: a hard limit), overspends (pays, counted as
    overspend), or downgrades (routers move every segment to the cheapest eligible model for
    the rest of the year, then throttle if still over; non-routers throttle). A month's bill
    above ``runaway_multiple`` x the planned monthly rate (the budget as set at the round /
    period) is a runaway.
    """

    enabled: bool = False
    # what the budget is a ratio of: the year's bill as projected each month (rolling) or the
    # forecast made at the round (at_round)
    forecast: str = "rolling"
    log_budget_to_forecast_mean: float = 0.0
    log_budget_to_forecast_sd: float = 0.0
    behaviour_shares: dict[str, float] = field(default_factory=dict)  # behaviour -> share
    runaway_multiple: float = 3.0
    period_months: int = 12

    def __post_init__(self) -> None:
        _check_range("budget.period_months", self.period_months, 1, 120)
        _check_choice("budget.forecast", self.forecast, BUDGET_FORECASTS)
        _check_range("budget.log_budget_to_forecast_mean", self.log_budget_to_forecast_mean, -5.0, 5.0)
        _check_range("budget.log_budget_to_forecast_sd", self.log_budget_to_forecast_sd, 0.0, 5.0)
        _check_range("budget.runaway_multiple", self.runaway_multiple, 1.0, 1e6)
        for name, share in self.behaviour_shares.items():
            _check_choice("budget.behaviour_shares (behaviour)", name, CAP_BEHAVIOURS)
            _check_range(f"budget.behaviour_shares.{name}", share, 0.0, 1e6)
        if self.enabled and sum(self.behaviour_shares.values()) <= 0:
            raise ConfigError("budget.behaviour_shares sum to 0; give at least one behaviour a share > 0.")


@dataclass
class AccessConfig:
    """Overseas models: how allowed enterprises discount them, and a dated ban."""

    overseas_risk_premium: float = 0.0  # perceived cost markup, e.g. 1.0 = seen as twice the price
    overseas_quality_discount: float = 0.0  # perceived ability discount, logit units
    ban_start: str | None = None  # from this month a share of allowed enterprises lose access
    ban_share: float = 1.0

    def __post_init__(self) -> None:
        _check_range("access.overseas_risk_premium", self.overseas_risk_premium, 0.0, 100.0)
        _check_range("access.overseas_quality_discount", self.overseas_quality_discount, 0.0, 10.0)
        if self.ban_start is not None:
            parse_month(self.ban_start, "access.ban_start")
        _check_range("access.ban_share", self.ban_share, 0.0, 1.0)


@dataclass
class SwitchingConfig:
    """Vendor loyalty: enterprises re-evaluate their preferred vendor every few months.

    At a re-evaluation an enterprise scores every provider's flagship by
    quality_weight x mean success on its segments - price_weight x ln(cost per task) (+ the
    lab's constant, with ``vendor_constants: inverted``), adds switching_cost to its current
    vendor, and draws its vendor from the logit probabilities.

    A specialist lab: with ``specialist_family`` set (a task family, e.g. coding), an enterprise
    not routing buys that family's tasks from a lab chosen for them alone, at the same
    re-evaluations by the same logit on the labs' models for that family, with
    ``specialist_switching_cost`` on the lab it has; its primary vendor (the one a survey's
    "switched provider" counts) serves the rest. None: one lab for all its work.
    """

    enabled: bool = False
    reevaluation_months: int = 6
    quality_weight: float = 20.0
    price_weight: float = 1.0
    switching_cost: float = 0.5
    # which of a lab's flagship-eligible models can be its everyday model: any tier (the one of
    # highest utility), or its frontier models first (others only while it offers none)
    everyday_from: str = "frontier_first"
    # labs' constants in the vendor logit: none, or inverted from the initial vendor shares
    # (population.preferred_vendor_weights) at the first month's offers
    vendor_constants: str = "none"
    specialist_family: str | None = None
    specialist_switching_cost: float = 0.0

    def __post_init__(self) -> None:
        _check_range("switching.specialist_switching_cost", self.specialist_switching_cost, 0.0, 100.0)
        _check_choice("switching.everyday_from", self.everyday_from, EVERYDAY_FROM)
        _check_choice("switching.vendor_constants", self.vendor_constants, VENDOR_CONSTANTS)
        _check_range("switching.reevaluation_months", self.reevaluation_months, 1, 120)
        # logit utilities: beyond these weights a choice is already certain (e^100 odds)
        _check_range("switching.quality_weight", self.quality_weight, 0.0, 1000.0)
        _check_range("switching.price_weight", self.price_weight, 0.0, 100.0)
        _check_range("switching.switching_cost", self.switching_cost, 0.0, 100.0)


@dataclass
class AdoptionConfig:
    """Bass diffusion of routing: hazard 1 - exp(-(p + q * peer adopter share)) per month."""

    initial_share: float = MISSING
    innovation_p: float = MISSING
    imitation_q: float = MISSING
    peer_group: str = "industry"
    # extra monthly hazard for an enterprise that hit its budget cap last month
    cap_hit_push: float = 0.0
    # adopt only if expected monthly net savings x payback_months cover the integration cost
    require_net_savings: bool = False
    payback_months: int = 12

    def __post_init__(self) -> None:
        _check_range("adoption.initial_share", self.initial_share, 0.0, 1.0)
        _check_range("adoption.innovation_p", self.innovation_p, 0.0, 1.0)
        _check_range("adoption.imitation_q", self.imitation_q, 0.0, 5.0)
        _check_choice("adoption.peer_group", self.peer_group, PEER_GROUPS)
        _check_range("adoption.cap_hit_push", self.cap_hit_push, 0.0, 5.0)
        _check_range("adoption.payback_months", self.payback_months, 1, 1200)


# ------------------------------------------------------------------------ router, scenario


@dataclass
class RouterConfig:
    """The routing policy adopters use (non-adopters use ``single``), and what a router costs.

    ``policy: mix`` gives each enterprise a policy drawn once from ``mix`` (name -> weight).
    """

    policy: str = "cost_optimal"
    mix: dict[str, float] = field(default_factory=dict)
    # threshold: segments whose difficulty at the start month (ability scale) is <= this go to
    # the cheapest acceptable model, the rest to the flagship (a fixed set of "easy" work).
    threshold_difficulty: float = 0.0
    # cascade: the first try is the cheapest model with at least this success probability.
    cascade_first_success: float = 0.5
    # learned: sd of the router's error in estimating a segment's difficulty (0 = oracle), and
    # the safety margin, in sds, it adds to its estimate to protect quality.
    learned_noise_sd: float = 0.0
    learned_margin_sds: float = 0.0
    # logit: utility = q * success - p * ln(cost per task) + loyalty to the preferred vendor.
    logit_quality_weight: float = 20.0
    logit_price_weight: float = 1.0
    logit_loyalty: float = 0.0
    # costs of routing, paid by adopters to the router vendor, not to model providers
    fee_share_of_spend: float = 0.0
    fee_usd_per_1k_requests: float = 0.0
    integration_cost_usd: float = 0.0
    # Vendor awareness: a share of routers is in-house (routes only among its vendor's models:
    # the vendor's own or its cloud marketplace's router); the rest are neutral (any vendor)
    # and see other vendors' models at a perceived markup (a committed-spend contract with the
    # vendor, loyalty), e.g. 0.2 = 20% dearer than list.
    in_house_share: float = 0.0
    neutral_other_vendor_premium: float = 0.0

    def __post_init__(self) -> None:
        from routesim.routing import POLICIES  # local import: routing imports nothing from here

        _check_choice("router.policy", self.policy, (*POLICIES, "mix"))
        if self.policy == "mix":
            if not self.mix or sum(self.mix.values()) <= 0:
                raise ConfigError("router.mix: policy 'mix' needs policy weights, e.g. "
                                  "router.mix={cost_optimal: 0.5, threshold: 0.5}.")
            for name, w in self.mix.items():
                _check_choice("router.mix (policy)", name, tuple(POLICIES))
                _check_range(f"router.mix.{name}", w, 0.0, 1e6)
        _check_range("router.threshold_difficulty", self.threshold_difficulty, *ABILITY_RANGE)
        _check_range("router.cascade_first_success", self.cascade_first_success, 0.0, 1.0)
        _check_range("router.learned_noise_sd", self.learned_noise_sd, 0.0, 10.0)
        _check_range("router.learned_margin_sds", self.learned_margin_sds, -5.0, 5.0)
        _check_range("router.logit_quality_weight", self.logit_quality_weight, 0.0, 1000.0)
        _check_range("router.logit_price_weight", self.logit_price_weight, 0.0, 100.0)
        _check_range("router.logit_loyalty", self.logit_loyalty, -100.0, 100.0)
        _check_range("router.fee_share_of_spend", self.fee_share_of_spend, 0.0, 1.0)
        _check_range("router.fee_usd_per_1k_requests", self.fee_usd_per_1k_requests, 0.0, 1e6)
        _check_range("router.integration_cost_usd", self.integration_cost_usd, 0.0, 1e12)
        _check_range("router.in_house_share", self.in_house_share, 0.0, 1.0)
        _check_range("router.neutral_other_vendor_premium", self.neutral_other_vendor_premium, 0.0, 100.0)

    def policy_weights(self) -> dict[str, float]:
        """Policy name -> share of adopters using it."""
        return dict(self.mix) if self.policy == "mix" else {self.policy: 1.0}


@dataclass
class PriceShock:
    """From ``month`` on, multiply the list prices and shift the ability (logit units) of the targets.

    ``target`` is ``tier:<tier>``, ``provider:<provider>`` or ``model:<model>``.
    """

    month: str = MISSING
    target: str = MISSING
    price_multiplier: float = 1.0
    ability_shift: float = 0.0


@dataclass
class ScenarioConfig:
    """A named world: the switches and dated shocks that make it differ from the baseline.

    Scenario presets in ``conf/scenario/`` may also set keys elsewhere (``access.*``,
    ``budget.*``, ``pricing.*``): they are packaged at the top level.
    """

    name: str = "status_quo"
    description: str = ""
    routing_allowed: bool = True
    shocks: list[PriceShock] = field(default_factory=list)
    new_models: dict[str, ModelSpec] = field(default_factory=dict)
    # from this month, routers may only use their preferred vendor's models (built-in routers)
    in_house_routing_start: str | None = None

    def __post_init__(self) -> None:
        check_name("scenario.name", self.name)
        if self.in_house_routing_start is not None:
            parse_month(self.in_house_routing_start, "scenario.in_house_routing_start")
        for j, shock in enumerate(self.shocks):
            key = f"scenario.shocks[{j}]"
            parse_month(shock.month, f"{key}.month")
            kind, _, name = shock.target.partition(":")
            _check_choice(f"{key}.target kind", kind, ("tier", "provider", "model"))
            if not name:
                raise ConfigError(f"{key}.target = {shock.target!r}: write it as tier:<tier>, "
                                  "provider:<provider> or model:<model>.")
            _check_range(f"{key}.price_multiplier", shock.price_multiplier, 1e-3, 1e3)
            _check_range(f"{key}.ability_shift", shock.ability_shift, -10.0, 10.0)


@dataclass
class PricingConfig:
    """Parameters of the ``reactive`` pricing strategy (providers choose theirs by name).

    A reactive provider cuts a tier's prices by ``cut_fraction`` when its token share in that
    tier fell by ``share_drop`` or more over ``window_months``, or when a rival cut the same
    tier last month; at most once per ``cooldown_months``, never below serving cost x
    (1 + ``floor_markup``).
    """

    # if set, every provider uses this strategy instead of its own market.providers.*.pricing
    strategy: str | None = None
    # strategies act from this month on (None: from the start)
    start: str | None = None
    window_months: int = 3
    share_drop: float = 0.05
    cut_fraction: float = 0.5
    follow_rivals: bool = True
    cooldown_months: int = 12
    floor_markup: float = 0.3

    def __post_init__(self) -> None:
        from routesim.pricing import PRICING

        if self.strategy is not None:
            _check_choice("pricing.strategy", self.strategy, tuple(PRICING))
        if self.start is not None:
            parse_month(self.start, "pricing.start")
        _check_range("pricing.window_months", self.window_months, 1, 120)
        _check_range("pricing.share_drop", self.share_drop, 0.0, 1.0)
        # below 1: a cut to zero would price tokens at nothing (and make costs per task 0)
        _check_range("pricing.cut_fraction", self.cut_fraction, 0.0, 0.99)
        _check_range("pricing.cooldown_months", self.cooldown_months, 1, 1200)
        _check_range("pricing.floor_markup", self.floor_markup, 0.0, 100.0)


# ------------------------------------------------------------------------------------ root


@dataclass
class CalibrationConfig:
    """Calibration trials (``routesim +calibrate=default``, driven by ``routesim-calibrate``).

    When ``enabled`` a run simulates ``n_seeds`` seeds (from ``seed``), scores them against
    the targets and returns the fit loss to the Optuna sweeper.
    """

    enabled: bool = False
    n_seeds: int = 3
    targets: str = ""  # a targets file; empty: conf/calibration/targets.yaml
    # weight of the squared excess beyond the tolerance bands in the loss (calibration.fit_loss):
    # the done-when of a calibration is "every fit target within tolerance", so at 20 an
    # excess of 0.2 tolerances costs as much as z = 0.9 inside a band
    band_penalty: float = 20.0

    def __post_init__(self) -> None:
        _check_range("calibration.n_seeds", self.n_seeds, 1, 1000)
        if self.enabled and self.targets and not Path(self.targets).is_file():
            raise ConfigError(f"calibration.targets = {self.targets!r}: no such file; give a targets file "
                              "(empty: conf/calibration/targets.yaml).")
        _check_range("calibration.band_penalty", self.band_penalty, 0.0, 1e6)


ALTERNATIVES: tuple[str, ...] = ("less", "greater", "two-sided")
AGGREGATES: tuple[str, ...] = ("mean", "sum", "last")
CLAIM_KINDS: tuple[str, ...] = ("paired", "censored")
COMBINES: tuple[str, ...] = ("", "sum")


@dataclass
class HypothesisSpec:
    """One testable claim, compared between two scenarios.

    ``kind: paired``: the metric is ``column`` (a column of ``table`` or an expression of its
    columns, e.g. ``log(revenue_usd) - log(usage_share)``) on the rows matching ``filter`` (a
    value or a list of values per key; ``combine: sum`` adds the matching rows of a month up
    before the expression), aggregated over the months ``start`` .. ``end``; the test asks
    whether treatment minus control, over runs sharing a seed, is ``alternative`` (less /
    greater / two-sided) than zero. ``kind: censored``: ``column`` is a date of the runs
    table (``break_even_<provider>``), possibly beyond the horizon; ``alternative: greater``
    claims the treatment's dates come later. ``unit`` names the metric's unit in reports.
    """

    id: str = MISSING
    claim: str = ""
    kind: str = "paired"
    table: str = "market"
    column: str = MISSING
    unit: str = ""
    filter: dict[str, Any] = field(default_factory=dict)
    combine: str = ""
    start: str | None = None
    end: str | None = None
    aggregate: str = "mean"
    treatment: str = "status_quo"
    control: str = "no_routing"
    alternative: str = "two-sided"


@dataclass
class ExperimentConfig:
    """The hypotheses a sweep tests (``routesim-analyze`` reads them from the runs)."""

    name: str = ""
    alpha: float = 0.05
    hypotheses: list[HypothesisSpec] = field(default_factory=list)

    def __post_init__(self) -> None:
        from routesim.results import TABLES

        check_name("experiment.name", self.name, allow_empty=True)
        _check_range("experiment.alpha", self.alpha, 0.0, 1.0, low_open=True)
        for j, h in enumerate(self.hypotheses):
            key = f"experiment.hypotheses[{j}] ({h.id})"
            _check_choice(f"{key}.kind", h.kind, CLAIM_KINDS)
            _check_choice(f"{key}.table", h.table, ("runs",) if h.kind == "censored" else TABLES)
            _check_choice(f"{key}.combine", h.combine, COMBINES)
            if h.kind == "censored" and not h.column.startswith("break_even_"):
                raise ConfigError(f"{key}.column = {h.column!r}: a censored claim compares a date of the runs "
                                  "table; allowed: break_even_<provider>.")
            _check_choice(f"{key}.aggregate", h.aggregate, AGGREGATES)
            _check_choice(f"{key}.alternative", h.alternative, ALTERNATIVES)
            for name in ("start", "end"):
                if getattr(h, name) is not None:
                    parse_month(getattr(h, name), f"{key}.{name}")


@dataclass
class OutputConfig:
    """What a run writes besides the five tables."""

    enterprise_panel: bool = False
    plots: bool = True
    # make the run raise before simulating: to test how sweeps handle a failed run
    fail_for_testing: bool = False


@dataclass
class FittedConfig:
    """Which ensemble member the fitted parameters come from (``routesim.ensemble``).

    Empty ``ensemble``: the fitted values are a single point (``fitted=default``).
    """

    ensemble: str = ""
    member: int = 0

    def __post_init__(self) -> None:
        _check_range("fitted.member", self.member, 0, 10**6)
        if self.ensemble:
            check_name("fitted.ensemble", self.ensemble)


@dataclass
class Config:
    """The whole run: one calibrated market, one population, one policy, one scenario, one seed."""

    seed: int = 0
    start: str = "2024-01"
    end: str = "2030-12"
    market: MarketConfig = MISSING
    population: PopulationConfig = MISSING
    router: RouterConfig = field(default_factory=RouterConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    workload: WorkloadConfig = MISSING
    demand: DemandConfig = MISSING
    adoption: AdoptionConfig = MISSING
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    access: AccessConfig = field(default_factory=AccessConfig)
    switching: SwitchingConfig = field(default_factory=SwitchingConfig)
    pricing: PricingConfig = field(default_factory=PricingConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    fitted: FittedConfig = field(default_factory=FittedConfig)

    def __post_init__(self) -> None:
        _refuse_non_finite(self, "")
        _check_range("seed", self.seed, 0, 2**63 - 1)
        if parse_month(self.end, "end") < parse_month(self.start, "start"):
            raise ConfigError(f"end ({self.end}) is before start ({self.start}).")
        providers = sorted(self.market.providers)
        for mid, spec in self.scenario.new_models.items():
            if mid in self.market.models:
                raise ConfigError(f"scenario.new_models.{mid}: the market already has a model of that name.")
            check_model(f"scenario.new_models.{mid}", spec, self.market.providers, self.market.benchmarks)
        for name, fam in self.workload.families.items():
            _check_choice(f"workload.families.{name}.skill", fam.skill, SKILLS)
        families = sorted(self.workload.families)
        for name, ind in self.population.industries.items():
            for fam in ind.family_weights:
                _check_choice(f"population.industries.{name}.family_weights ({fam})", fam, families)
        if self.switching.specialist_family is not None:
            _check_choice("switching.specialist_family", self.switching.specialist_family, families)
        targets = {"tier": TIERS, "provider": providers,
                   "model": sorted([*self.market.models, *self.scenario.new_models])}
        for j, shock in enumerate(self.scenario.shocks):
            kind, _, name = shock.target.partition(":")
            _check_choice(f"scenario.shocks[{j}].target ({kind})", name, targets[kind])
        for name in self.population.preferred_vendor_weights:
            _check_choice(f"population.preferred_vendor_weights.{name} (provider)", name, providers)
        for name, w in self.population.preferred_vendor_weights.items():
            has_everyday = any(m.provider == name and m.flagship_eligible for m in self.market.models.values())
            if w > 0 and not has_everyday:
                raise ConfigError(
                    f"population.preferred_vendor_weights.{name}: provider '{name}' sells no "
                    "flagship-eligible model, so it cannot be a preferred vendor; give it "
                    "weight 0 or add such a model to market.models."
                )
        from routesim.preflight import check_run  # local: preflight builds the catalogue from this config

        check_run(self)  # the catalogue's span, and a run whose scale stays finite and meaningful


def register_configs() -> None:
    """Register the schemas so YAML presets are type-checked at compose time."""
    from routesim.ensemble import register_resolver  # local: ensemble imports this module

    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)
    register_resolver()


def to_config(cfg: Config | DictConfig | dict[str, Any]) -> Config:
    """Turn a composed DictConfig (or a plain dict) into a validated :class:`Config`."""
    if isinstance(cfg, Config):
        return cfg
    from routesim.ensemble import register_resolver  # ensemble members resolve through it

    register_resolver()
    try:
        if isinstance(cfg, DictConfig) and OmegaConf.get_type(cfg) is Config:
            # composed against config_schema: already type-checked, so build it directly (0.01 s
            # instead of 0.17 s for re-merging the catalogue into a fresh schema), then refuse
            # keys a `+key=value` override added, which to_object would drop silently
            obj = OmegaConf.to_object(cfg)
            assert isinstance(obj, Config)
            _refuse_unknown_keys(OmegaConf.to_container(cfg, resolve=True), obj, "")
            return obj
        base = OmegaConf.structured(Config)
        plain = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
        merged = OmegaConf.merge(base, plain)
        obj = OmegaConf.to_object(merged)
    except ConfigError:
        raise
    except Exception as exc:  # OmegaConf validation errors: re-raise in our words, keep the key
        raise ConfigError(_omegaconf_message(exc)) from exc
    assert isinstance(obj, Config)
    return obj


def _refuse_unknown_keys(plain: Any, obj: Any, key: str) -> None:
    """Raise ConfigError naming the first key of ``plain`` that the schema of ``obj`` lacks."""
    if dataclasses.is_dataclass(obj) and isinstance(plain, dict):
        names = [f.name for f in dataclasses.fields(obj)]
        for k, value in plain.items():
            if k not in names:
                raise ConfigError(f"{key}{k}: unknown key; allowed: {', '.join(names)}.")
            _refuse_unknown_keys(value, getattr(obj, k), f"{key}{k}.")
    elif isinstance(obj, dict) and isinstance(plain, dict):  # free keys (model ids, weights, ...)
        for k, value in plain.items():
            _refuse_unknown_keys(value, obj.get(k), f"{key}{k}.")
    elif isinstance(obj, list) and isinstance(plain, list):
        for j, (p, o) in enumerate(zip(plain, obj, strict=True)):
            _refuse_unknown_keys(p, o, f"{key.rstrip('.')}[{j}].")


def _omegaconf_message(exc: Exception) -> str:
    key = getattr(exc, "full_key", None)
    msg = str(exc).splitlines()[0]
    cause = exc.__cause__ or exc.__context__
    while cause is not None:  # our own error raised inside OmegaConf (a resolver's): say it as it is
        if isinstance(cause, ConfigError):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    return f"{key}: {msg}" if key else msg
