"""Typed configuration: dataclass schemas registered in Hydra's ConfigStore, and validation.

The schemas give Hydra the types of every key, so a wrong type or an unknown key fails when
the config is composed. Range and cross-field rules live in ``__post_init__`` (run by
``OmegaConf.to_object``) and in :func:`validate`, and raise :class:`ConfigError`, whose
message names the key and the values it may take. Nothing here imports Mesa or simulates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

TIERS: tuple[str, ...] = ("frontier", "budget", "overseas")
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
    """Raise ConfigError unless ``low <= value <= high`` (``low < value`` if ``low_open``)."""
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and value > high
    if too_low or too_high or value != value:  # value != value catches NaN
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        bracket = "(" if low_open else "["
        raise ConfigError(f"{key} = {value!r} is out of range; allowed: {bracket}{lo}, {hi}].")


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
    """One model in the catalogue; see DESIGN section 3 for the meaning of each field."""

    provider: str = MISSING
    tier: str = MISSING
    release: str = MISSING
    retire: str | None = None
    price_in_usd_per_mtok: float = MISSING
    price_out_usd_per_mtok: float = MISSING
    capability: float = MISSING
    output_tokens_multiplier: float = 1.0
    # False for premium variants (Opus-class, "pro") that a single-vendor enterprise does not
    # use as its everyday model; they remain available to routers.
    flagship_eligible: bool = True
    price_changes: list[PriceChange] = field(default_factory=list)


@dataclass
class ProviderSpec:
    """A lab selling models: origin and cost structure."""

    origin: str = MISSING
    serving_cost_fraction: float = MISSING
    fixed_cost_usd_per_month: float = 0.0


@dataclass
class TierTrend:
    """Drift applied to every model of a tier after ``trends.start``."""

    price_change_per_year: float = 1.0
    capability_gain_per_year: float = 0.0


@dataclass
class TrendConfig:
    """Tier-specific trends beyond the last dated catalogue fact."""

    start: str = "2026-11"
    frontier: TierTrend = field(default_factory=TierTrend)
    budget: TierTrend = field(default_factory=TierTrend)
    overseas: TierTrend = field(default_factory=TierTrend)


@dataclass
class MarketConfig:
    """Providers, their models over time, and tier trends."""

    name: str = "default"
    providers: dict[str, ProviderSpec] = field(default_factory=dict)
    models: dict[str, ModelSpec] = field(default_factory=dict)
    trends: TrendConfig = field(default_factory=TrendConfig)

    def __post_init__(self) -> None:
        if not self.providers:
            raise ConfigError("market.providers is empty; the market needs at least one provider.")
        if not self.models:
            raise ConfigError("market.models is empty; the market needs at least one model.")
        for pid, prov in self.providers.items():
            key = f"market.providers.{pid}"
            _check_choice(f"{key}.origin", prov.origin, ORIGINS)
            _check_range(f"{key}.serving_cost_fraction", prov.serving_cost_fraction, 0.0, 10.0)
            _check_range(f"{key}.fixed_cost_usd_per_month", prov.fixed_cost_usd_per_month, 0.0)
        for mid, spec in self.models.items():
            key = f"market.models.{mid}"
            _check_choice(f"{key}.provider", spec.provider, sorted(self.providers))
            _check_choice(f"{key}.tier", spec.tier, TIERS)
            release = parse_month(spec.release, f"{key}.release")
            if spec.retire is not None and parse_month(spec.retire, f"{key}.retire") < release:
                raise ConfigError(f"{key}.retire ({spec.retire}) is before its release ({spec.release}).")
            _check_range(f"{key}.price_in_usd_per_mtok", spec.price_in_usd_per_mtok, 0.0, low_open=True)
            _check_range(f"{key}.price_out_usd_per_mtok", spec.price_out_usd_per_mtok, 0.0,
                         low_open=True)
            _check_range(f"{key}.capability", spec.capability, 0.0, 1.0)
            _check_range(f"{key}.output_tokens_multiplier", spec.output_tokens_multiplier, 0.0,
                         low_open=True)
            for j, change in enumerate(spec.price_changes):
                ckey = f"{key}.price_changes[{j}]"
                parse_month(change.month, f"{ckey}.month")
                _check_range(f"{ckey}.price_in_usd_per_mtok", change.price_in_usd_per_mtok, 0.0,
                             low_open=True)
                _check_range(f"{ckey}.price_out_usd_per_mtok", change.price_out_usd_per_mtok, 0.0,
                             low_open=True)
        parse_month(self.trends.start, "market.trends.start")
        for tier in TIERS:
            trend: TierTrend = getattr(self.trends, tier)
            _check_range(f"market.trends.{tier}.price_change_per_year", trend.price_change_per_year,
                         0.0, low_open=True)
            _check_range(f"market.trends.{tier}.capability_gain_per_year",
                         trend.capability_gain_per_year, -1.0, 1.0)


# ------------------------------------------------------------------------------- population


@dataclass
class IndustrySpec:
    """An industry: its share of enterprises, task-difficulty mix and overseas access."""

    weight: float = MISSING
    difficulty_alpha: float = MISSING
    difficulty_beta: float = MISSING
    overseas_allowed_share: float = MISSING


@dataclass
class PopulationConfig:
    """The enterprises: how many, how big, what they need and whom they prefer."""

    n_enterprises: int = 10_000
    n_segments: int = 8
    size_median_tasks_per_month: float = MISSING
    size_sigma: float = MISSING
    requirement_low: float = MISSING
    requirement_high: float = MISSING
    industries: dict[str, IndustrySpec] = field(default_factory=dict)
    preferred_vendor_weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_range("population.n_enterprises", self.n_enterprises, 1, 10_000_000)
        _check_range("population.n_segments", self.n_segments, 1, 1000)
        _check_range("population.size_median_tasks_per_month", self.size_median_tasks_per_month,
                     0.0, low_open=True)
        _check_range("population.size_sigma", self.size_sigma, 0.0, 5.0)
        _check_range("population.requirement_low", self.requirement_low, 0.0, 1.0)
        _check_range("population.requirement_high", self.requirement_high, self.requirement_low, 1.0)
        if not self.industries:
            raise ConfigError("population.industries is empty; give at least one industry.")
        for name, ind in self.industries.items():
            key = f"population.industries.{name}"
            _check_range(f"{key}.weight", ind.weight, 0.0)
            _check_range(f"{key}.difficulty_alpha", ind.difficulty_alpha, 0.0, low_open=True)
            _check_range(f"{key}.difficulty_beta", ind.difficulty_beta, 0.0, low_open=True)
            _check_range(f"{key}.overseas_allowed_share", ind.overseas_allowed_share, 0.0, 1.0)
        if sum(ind.weight for ind in self.industries.values()) <= 0:
            raise ConfigError("population.industries: the weights sum to 0; at least one must be > 0.")
        if not self.preferred_vendor_weights:
            raise ConfigError("population.preferred_vendor_weights is empty; name at least one provider.")
        for name, w in self.preferred_vendor_weights.items():
            _check_range(f"population.preferred_vendor_weights.{name}", w, 0.0)
        if sum(self.preferred_vendor_weights.values()) <= 0:
            raise ConfigError("population.preferred_vendor_weights sum to 0; at least one must be > 0.")


# ------------------------------------------------------------------ workload, demand, adoption


@dataclass
class WorkloadConfig:
    """Tokens per task and the item-response success model p = sigmoid(s * (c - d))."""

    success_slope: float = MISSING
    tokens_in_per_task: float = MISSING
    tokens_out_per_task: float = MISSING
    tokens_difficulty_slope: float = MISSING

    def __post_init__(self) -> None:
        _check_range("workload.success_slope", self.success_slope, 0.0, low_open=True)
        _check_range("workload.tokens_in_per_task", self.tokens_in_per_task, 0.0)
        _check_range("workload.tokens_out_per_task", self.tokens_out_per_task, 0.0)
        _check_range("workload.tokens_difficulty_slope", self.tokens_difficulty_slope, 0.0)
        if self.tokens_in_per_task + self.tokens_out_per_task <= 0:
            raise ConfigError("workload: tokens_in_per_task + tokens_out_per_task must be > 0.")


@dataclass
class DemandConfig:
    """Task volume: trend growth, a constant-elasticity price response, and usage spikes.

    A spike multiplies an enterprise's month of tasks by a Pareto(alpha) factor in
    [1, spike_max_multiple] (an agent loop left running, a launch): the heavy tail behind
    runaway-spend episodes.
    """

    growth_per_month: float = MISSING
    price_elasticity: float = 0.0
    spike_probability: float = 0.0
    spike_pareto_alpha: float = 1.5
    spike_max_multiple: float = 100.0

    def __post_init__(self) -> None:
        _check_range("demand.growth_per_month", self.growth_per_month, -0.5, 1.0)
        _check_range("demand.price_elasticity", self.price_elasticity, 0.0, 5.0)
        _check_range("demand.spike_probability", self.spike_probability, 0.0, 1.0)
        _check_range("demand.spike_pareto_alpha", self.spike_pareto_alpha, 0.0, 100.0, low_open=True)
        _check_range("demand.spike_max_multiple", self.spike_max_multiple, 1.0)


CAP_BEHAVIOURS: tuple[str, ...] = ("throttle", "overspend", "downgrade")


@dataclass
class BudgetConfig:
    """Monthly AI budgets and what an enterprise does when it reaches its cap.

    Budget = headroom x planned spend; headroom is log-normal per enterprise. Planned spend is
    re-set every ``replan_months`` to the mean monthly bill of the last period (the first
    period: start-month tasks at the start-month flagship cost per task), grown at
    ``demand.growth_per_month`` from the middle of that period. At the
    cap an enterprise throttles (the rest of its tasks go unmet), overspends (pays, counted
    as a breach), or downgrades (moves every segment to the cheapest eligible model, then
    throttles if still over; only routers can, others throttle). Spend above
    ``runaway_multiple`` x budget is a runaway episode.
    """

    enabled: bool = False
    headroom_median: float = 1.5
    headroom_sigma: float = 0.3
    behaviour_shares: dict[str, float] = field(default_factory=dict)  # behaviour -> share
    runaway_multiple: float = 3.0
    replan_months: int = 12

    def __post_init__(self) -> None:
        _check_range("budget.replan_months", self.replan_months, 1, 1200)
        _check_range("budget.headroom_median", self.headroom_median, 0.0, low_open=True)
        _check_range("budget.headroom_sigma", self.headroom_sigma, 0.0, 5.0)
        _check_range("budget.runaway_multiple", self.runaway_multiple, 1.0)
        for name, share in self.behaviour_shares.items():
            _check_choice("budget.behaviour_shares (behaviour)", name, CAP_BEHAVIOURS)
            _check_range(f"budget.behaviour_shares.{name}", share, 0.0)
        if self.enabled and sum(self.behaviour_shares.values()) <= 0:
            raise ConfigError("budget.behaviour_shares sum to 0; give at least one behaviour a share > 0.")


@dataclass
class AccessConfig:
    """Overseas models: how allowed enterprises discount them, and a dated ban."""

    overseas_risk_premium: float = 0.0  # perceived cost markup, e.g. 1.0 = seen as twice the price
    overseas_quality_discount: float = 0.0  # perceived capability discount on the 0-1 scale
    ban_start: str | None = None  # from this month a share of allowed enterprises lose access
    ban_share: float = 1.0

    def __post_init__(self) -> None:
        _check_range("access.overseas_risk_premium", self.overseas_risk_premium, 0.0, 100.0)
        _check_range("access.overseas_quality_discount", self.overseas_quality_discount, 0.0, 1.0)
        if self.ban_start is not None:
            parse_month(self.ban_start, "access.ban_start")
        _check_range("access.ban_share", self.ban_share, 0.0, 1.0)


@dataclass
class SwitchingConfig:
    """Vendor loyalty: enterprises re-evaluate their preferred vendor every few months.

    At a re-evaluation an enterprise scores every provider's flagship by
    quality_weight x mean success on its segments - price_weight x ln(cost per task), adds
    switching_cost to its current vendor, and draws its vendor from the logit probabilities.
    """

    enabled: bool = False
    reevaluation_months: int = 6
    quality_weight: float = 20.0
    price_weight: float = 1.0
    switching_cost: float = 0.5

    def __post_init__(self) -> None:
        _check_range("switching.reevaluation_months", self.reevaluation_months, 1, 120)
        _check_range("switching.quality_weight", self.quality_weight, 0.0)
        _check_range("switching.price_weight", self.price_weight, 0.0)
        _check_range("switching.switching_cost", self.switching_cost, 0.0)


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
    # threshold: segments with difficulty <= this go to the cheapest acceptable model.
    threshold_difficulty: float = 0.5
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

    def __post_init__(self) -> None:
        from routesim.routing import POLICIES  # local import: routing imports nothing from here

        _check_choice("router.policy", self.policy, (*POLICIES, "mix"))
        if self.policy == "mix":
            if not self.mix or sum(self.mix.values()) <= 0:
                raise ConfigError("router.mix: policy 'mix' needs policy weights, e.g. "
                                  "router.mix={cost_optimal: 0.5, threshold: 0.5}.")
            for name, w in self.mix.items():
                _check_choice("router.mix (policy)", name, tuple(POLICIES))
                _check_range(f"router.mix.{name}", w, 0.0)
        _check_range("router.threshold_difficulty", self.threshold_difficulty, 0.0, 1.0)
        _check_range("router.cascade_first_success", self.cascade_first_success, 0.0, 1.0)
        _check_range("router.learned_noise_sd", self.learned_noise_sd, 0.0, 1.0)
        _check_range("router.learned_margin_sds", self.learned_margin_sds, -5.0, 5.0)
        _check_range("router.logit_quality_weight", self.logit_quality_weight, 0.0)
        _check_range("router.logit_price_weight", self.logit_price_weight, 0.0)
        _check_range("router.logit_loyalty", self.logit_loyalty, -100.0, 100.0)
        _check_range("router.fee_share_of_spend", self.fee_share_of_spend, 0.0, 1.0)
        _check_range("router.fee_usd_per_1k_requests", self.fee_usd_per_1k_requests, 0.0)
        _check_range("router.integration_cost_usd", self.integration_cost_usd, 0.0)

    def policy_weights(self) -> dict[str, float]:
        """Policy name -> share of adopters using it."""
        return dict(self.mix) if self.policy == "mix" else {self.policy: 1.0}


@dataclass
class ScenarioConfig:
    """A named world; later scenarios add shocks and policy switches."""

    name: str = "status_quo"
    description: str = ""
    routing_allowed: bool = True


# ------------------------------------------------------------------------------------ root


@dataclass
class OutputConfig:
    """What a run writes besides the five tables."""

    enterprise_panel: bool = False
    plots: bool = True


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
    output: OutputConfig = field(default_factory=OutputConfig)

    def __post_init__(self) -> None:
        _check_range("seed", self.seed, 0, 2**63 - 1)
        if parse_month(self.end, "end") < parse_month(self.start, "start"):
            raise ConfigError(f"end ({self.end}) is before start ({self.start}).")
        providers = sorted(self.market.providers)
        for name in self.population.preferred_vendor_weights:
            _check_choice(f"population.preferred_vendor_weights.{name} (provider)", name, providers)
        for name, w in self.population.preferred_vendor_weights.items():
            has_frontier = any(m.provider == name and m.tier == "frontier" and m.flagship_eligible
                               for m in self.market.models.values())
            if w > 0 and not has_frontier:
                raise ConfigError(
                    f"population.preferred_vendor_weights.{name}: provider '{name}' sells no "
                    "flagship-eligible frontier model, so it cannot be a preferred vendor; give it "
                    "weight 0 or add such a model to market.models."
                )


def register_configs() -> None:
    """Register the schemas so YAML presets are type-checked at compose time."""
    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)


def to_config(cfg: Config | DictConfig | dict[str, Any]) -> Config:
    """Turn a composed DictConfig (or a plain dict) into a validated :class:`Config`."""
    if isinstance(cfg, Config):
        return cfg
    try:
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


def _omegaconf_message(exc: Exception) -> str:
    key = getattr(exc, "full_key", None)
    msg = str(exc).splitlines()[0]
    if isinstance(exc.__cause__, ConfigError):
        return str(exc.__cause__)
    return f"{key}: {msg}" if key else msg
