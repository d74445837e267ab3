"""Calibration targets: public facts, what the simulation says about each, and a fit loss.

A target names a table, a column, a row filter, a month or a period (mean over months), an
optional transform (``annualise``: x12 for monthly USD flows), a value and a tolerance
(``conf/calibration/targets.yaml``). Across seeds the fit table reports the simulated mean,
its 95% t-interval and whether the mean lies within tolerance; the loss is the mean squared
tolerance-scaled error over the ``fit`` targets, plus a penalty on any excess beyond a band.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from routesim.compose import CONF_DIR
from routesim.config import Config, ConfigError, parse_month
from routesim.results import TABLES, Results

TARGETS_FILE = CONF_DIR / "calibration" / "targets.yaml"
PRIORS_FILE = CONF_DIR / "calibrate" / "priors.yaml"
SEARCH_FILE = CONF_DIR / "calibrate" / "default.yaml"
#: fit: in the loss; validate: judged only; check: holds by construction (left out of both)
KINDS = ("fit", "validate", "check")
#: how a fit target's sampling error is stated (one rule per kind of fact, targets.yaml header)
SAMPLING_FORMS = ("{survey, n, design_effect, halfwidth[, renormalised_by]}", "{relative_halfwidth}",
                  "{bound: [low, high]}")
TRANSFORMS = ("none", "annualise")


@dataclass(frozen=True)
class Target:
    """One public fact the baseline should reproduce."""

    id: str
    description: str
    table: str
    column: str
    value: float
    tolerance: float
    kind: str
    source: str
    start: str
    end: str
    filter: dict[str, Any] = field(default_factory=dict)
    transform: str = "none"
    dated: str = ""  # when the fact was published or surveyed ("YYYY-MM"); fit targets only
    sampling: dict[str, Any] = field(default_factory=dict)  # the fact's sampling error (fit targets)


def load_targets(path: str | Path = TARGETS_FILE) -> list[Target]:
    """Read and check a targets file; a bad entry fails naming the file, target and key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())["targets"]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f", line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{line}: YAML syntax error: {exc.problem or exc.context}.") from None
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        why = " ".join(str(exc).split())
        raise ConfigError(f"{path}: not a targets file with a 'targets:' list ({why}).") from None
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ConfigError(f"{path}: 'targets:' must be a list of mappings.")
    out = []
    for j, item in enumerate(raw):
        where = f"{path.name}: targets[{j}] ({item.get('id', '?')})"
        missing = {"id", "table", "column", "value", "tolerance", "kind", "month"} - set(item)
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(sorted(missing))}.")
        month = item["month"]
        start, end = (month["start"], month["end"]) if isinstance(month, dict) else (month, month)
        for key, m in (("month.start", start), ("month.end", end)):
            parse_month(str(m), f"{where} {key}")
        if item["table"] not in TABLES:
            raise ConfigError(f"{where}: table {item['table']!r} is not one of {', '.join(TABLES)}.")
        if item["kind"] not in KINDS:
            raise ConfigError(f"{where}: kind {item['kind']!r} is not one of {', '.join(KINDS)}.")
        transform = item.get("transform", "none")
        if transform not in TRANSFORMS:
            raise ConfigError(f"{where}: transform {transform!r} is not one of {', '.join(TRANSFORMS)}.")
        if float(item["tolerance"]) <= 0:
            raise ConfigError(f"{where}: tolerance must be > 0.")
        sampling = dict(item.get("sampling") or {})
        dated = str(item.get("dated", ""))
        if item["kind"] == "fit":
            if not dated:
                raise ConfigError(f"{where}: a fit target needs 'dated: YYYY-MM' (when the fact was published).")
            parse_month(dated, f"{where} dated")
            _check_sampling(sampling, float(item["value"]), where)
        out.append(Target(id=item["id"], description=item.get("description", ""), table=item["table"],
                          column=item["column"], value=float(item["value"]), tolerance=float(item["tolerance"]),
                          kind=item["kind"], source=item.get("source", ""), start=str(start), end=str(end),
                          filter=dict(item.get("filter") or {}), transform=transform, dated=dated,
                          sampling=sampling))
    return out


def _check_sampling(sampling: dict[str, Any], value: float, where: str) -> None:
    """A fit target's sampling error must take one of :data:`SAMPLING_FORMS`, with sane numbers."""
    keys = set(sampling)
    allowed = f"allowed: sampling: {' or '.join(SAMPLING_FORMS)}"
    try:
        if keys - {"renormalised_by"} == {"survey", "n", "design_effect", "halfwidth"}:
            c = float(sampling.get("renormalised_by", 1.0))
            ok = (float(sampling["n"]) >= 1 and float(sampling["design_effect"]) >= 1
                  and float(sampling["halfwidth"]) >= 0 and 0 <= value <= 1 and 0 < c <= 1)
        elif keys == {"relative_halfwidth"}:
            ok = float(sampling["relative_halfwidth"]) > 0
        elif keys == {"bound"}:
            low, high = (float(x) for x in sampling["bound"])
            ok = low < high and abs(value - (low + high) / 2) <= 1e-9 * max(1.0, abs(value))
        else:
            ok = False
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f"{where}: sampling {sampling or 'missing'} is not valid ({allowed}; n >= 1, "
                          "design_effect >= 1, halfwidth >= 0, a survey share in [0, 1], renormalised_by "
                          "in (0, 1], a bound's value "
                          "at its midpoint).")


def check_targets(targets: list[Target], cfg: Config) -> None:
    """Refuse, before simulating, a target naming a column, filter key or value the run cannot have.

    The error names the target's id and what is allowed.
    """
    from routesim.config import TIERS
    from routesim.results import TABLE_COLUMNS, TABLE_KEYS

    providers = sorted(cfg.market.providers)
    known = {"provider": providers, "tier": list(TIERS),
             "model": sorted({*cfg.market.models, *cfg.scenario.new_models}),
             "origin": sorted({p.origin for p in cfg.market.providers.values()})}
    for t in targets:
        if t.column == "break_even_year":  # from run.json, per provider
            if set(t.filter) != {"provider"} or t.filter["provider"] not in providers:
                raise ConfigError(f"target {t.id}: break_even_year needs filter {{provider: <one of "
                                  f"{', '.join(providers)}>}}, got {t.filter}.")
            continue
        if t.column not in TABLE_COLUMNS[t.table]:
            raise ConfigError(f"target {t.id}: table {t.table} has no column {t.column!r}; allowed: "
                              f"{', '.join(TABLE_COLUMNS[t.table][1:])}.")
        keys = [k for k in TABLE_KEYS[t.table] if k != "month"]
        for key, value in t.filter.items():
            if key not in keys:
                raise ConfigError(f"target {t.id}: table {t.table} cannot be filtered by {key!r}; allowed: "
                                  f"{', '.join(keys) or 'nothing (one row a month)'}.")
            if str(value) not in known[key]:
                raise ConfigError(f"target {t.id}: filter {key} = {value!r} is not in this market; allowed: "
                                  f"{', '.join(known[key])}.")


def simulated_value(results: Results, target: Target) -> float:
    """The number one run gives for ``target``.

    A break-even year that does not come within the run's horizon is censored: +inf ("later
    than the horizon"), never a made-up year.
    """
    if target.column == "break_even_year":
        month = results.metadata["break_even"][target.filter["provider"]]["month"]
        return np.inf if month is None else float(int(month[:4]))
    frame = getattr(results, target.table)
    for key, value in target.filter.items():
        frame = frame[frame[key] == value]
    if target.column not in frame:
        raise ConfigError(f"target {target.id}: table {target.table} has no column {target.column!r}.")
    months = frame["month"]
    window = (months >= pd.Timestamp(f"{target.start}-01")) & (months <= pd.Timestamp(f"{target.end}-01"))
    values = frame.loc[window, target.column]
    if values.empty:
        raise ConfigError(f"target {target.id}: no rows of {target.table} in {target.start}..{target.end} "
                          f"for {target.filter or 'all rows'}; is the run's horizon long enough?")
    value = float(values.mean())
    return 12.0 * value if target.transform == "annualise" else value


def fit_table(runs: list[Results], targets: list[Target]) -> pd.DataFrame:
    """One row per target: the fact, the simulated mean over runs, a 95% interval, the verdict."""
    rows = []
    for target in targets:
        sims = np.array([simulated_value(r, target) for r in runs])
        if target.column == "break_even_year":
            rows.append(_censored_row(target, sims, runs))
            continue
        mean = float(sims.mean())
        if len(sims) > 1 and sims.std(ddof=1) > 0:
            low, high = stats.t.interval(0.95, len(sims) - 1, loc=mean, scale=stats.sem(sims))
        else:
            low = high = mean
        rows.append({"id": target.id, "kind": target.kind, "value": target.value,
                     "tolerance": target.tolerance, "simulated_mean": mean, "ci95_low": float(low),
                     "ci95_high": float(high), "n_runs": len(sims),
                     "z": (mean - target.value) / target.tolerance,
                     "within_tolerance": abs(mean - target.value) <= target.tolerance,
                     "source": target.source})
    return pd.DataFrame(rows)


def _censored_row(target: Target, years: np.ndarray, runs: list[Results]) -> dict[str, Any]:
    """A break-even-year target against runs where it may not come within the horizon.

    The median year over runs (censored runs count as later than any year), and the share of
    runs breaking even within the horizon. Within tolerance when the median lies in the band;
    a censored median (most runs not within the horizon) is within tolerance when the band
    reaches past the horizon's last year, and is reported as NaN with ``censored`` set.
    """
    horizon = max(int(str(r.market["month"].max())[:4]) for r in runs)
    median = float(np.median(years))
    censored = not np.isfinite(median)
    low, high = target.value - target.tolerance, target.value + target.tolerance
    within = high > horizon if censored else low <= median <= high
    return {"id": target.id, "kind": target.kind, "value": target.value, "tolerance": target.tolerance,
            "simulated_mean": np.nan if censored else median, "ci95_low": np.nan, "ci95_high": np.nan,
            "n_runs": len(years), "z": np.nan if censored else (median - target.value) / target.tolerance,
            "within_tolerance": bool(within), "source": target.source,
            "note": (f"median not within the horizon ({horizon}); " if censored else "median over runs; ")
            + f"{np.isfinite(years).mean():.0%} of runs break even by {horizon}-12"}


def fit_loss(table: pd.DataFrame, band_penalty: float = 0.0) -> float:
    """Mean squared tolerance-scaled error over the fit targets (0 = every fact hit).

    ``band_penalty`` > 0 adds ``band_penalty`` x the mean squared excess beyond the band,
    max(|z| - 1, 0)^2: the tolerance is the acceptable error, so a fit that leaves one target
    outside its band costs more than one spreading the same squared error inside the bands.
    """
    fit = table[table["kind"] == "fit"]
    excess = np.maximum(fit["z"].abs() - 1.0, 0.0)
    return float((fit["z"] ** 2).mean() + band_penalty * (excess**2).mean())


def targets_horizon(targets: list[Target], kind: str = "fit") -> str:
    """The last month any target of ``kind`` needs, "YYYY-MM"."""
    ends = [t.end for t in targets if t.kind == kind and t.column != "break_even_year"]
    return max(ends, key=lambda m: parse_month(m, "end"))


@dataclass(frozen=True)
class Prior:
    """One calibrated parameter's prior: uniform on [low, high], or log-normal (median, log_sd)."""

    key: str
    dist: str
    low: float
    high: float
    median: float = float("nan")
    log_sd: float = float("nan")

    def frozen(self) -> Any:
        """The scipy.stats distribution."""
        if self.dist == "uniform":
            return stats.uniform(loc=self.low, scale=self.high - self.low)
        return stats.lognorm(s=self.log_sd, scale=self.median)


PRIOR_DISTS = ("uniform", "lognormal")


def priors(path: str | Path = PRIORS_FILE) -> dict[str, Prior]:
    """The calibration's priors, {dotted key: Prior}, sorted by key (``conf/calibrate/priors.yaml``).

    A log-normal prior's range (low, high) is its 0.5% and 99.5% quantiles.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())["priors"]
        items = sorted(raw.items())
    except (OSError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not a priors file with a 'priors:' mapping ({exc}).") from None
    out = {}
    for key, spec in items:
        where = f"{path.name}: priors.{key}"
        dist = (spec or {}).get("dist") if isinstance(spec, dict) else None
        if dist not in PRIOR_DISTS:
            raise ConfigError(f"{where}: dist {dist!r} is not one of {', '.join(PRIOR_DISTS)}.")
        try:
            if dist == "uniform":
                low, high = float(spec["low"]), float(spec["high"])
                if not low < high:
                    raise ConfigError(f"{where}: low {low:g} must be below high {high:g}.")
                out[key] = Prior(key, dist, low, high)
            else:
                median, log_sd = float(spec["median"]), float(spec["log_sd"])
                if median <= 0 or log_sd <= 0:
                    raise ConfigError(f"{where}: median and log_sd must be > 0.")
                low, high = (float(median * np.exp(z * log_sd)) for z in stats.norm.ppf([0.005, 0.995]))
                out[key] = Prior(key, dist, low, high, median, log_sd)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc} (uniform needs low, high; lognormal needs median, log_sd).") from None
    return out


def prior_latin_hypercube(n: int, seed: int) -> pd.DataFrame:
    """``n`` Latin-hypercube draws from the calibration's priors (one column per dotted key, sorted).

    Each column is the prior's quantile function applied to a stratified uniform draw, so a
    log-normal prior is drawn as such, not as a box.
    """
    from scipy.stats import qmc

    table = priors()
    keys = list(table)
    unit = qmc.LatinHypercube(d=len(keys), seed=seed).random(n)
    return pd.DataFrame({k: table[k].frozen().ppf(unit[:, j]) for j, k in enumerate(keys)})


def prior_ranges(path: str | Path = PRIORS_FILE) -> dict[str, tuple[float, float]]:
    """The calibration's parameters and their ranges: {dotted key: (low, high)}.

    Exploratory tools (EMA Workbench, the dashboard, sensitivity, profiles) vary exactly what
    the calibration treats as unknown, over these ranges (a log-normal prior's 99% interval).
    """
    return {key: (p.low, p.high) for key, p in priors(path).items()}


_INTERVAL = re.compile(r"^\s*interval\(\s*([^,\s]+)\s*,\s*([^)\s]+)\s*\)\s*$")


def search_ranges(path: str | Path = SEARCH_FILE) -> dict[str, tuple[float, float]]:
    """The point-search sweep's box (``hydra.sweeper.params`` of ``conf/calibrate/default.yaml``).

    Only ``interval(low, high)`` is understood.
    """
    path = Path(path)
    try:
        params = yaml.safe_load(path.read_text())["hydra"]["sweeper"]["params"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: no hydra.sweeper.params search space ({exc}).") from exc
    out = {}
    for key, spec in params.items():
        match = _INTERVAL.match(str(spec))
        if not match:
            raise ConfigError(f"{path}: {key}: {spec!r} is not interval(low, high).")
        low, high = float(match.group(1)), float(match.group(2))
        if not low < high:
            raise ConfigError(f"{path}: {key}: interval({low:g}, {high:g}) is empty.")
        out[str(key)] = (low, high)
    return out
