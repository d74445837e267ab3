"""Calibration as inference: simulated moments weighted by their uncertainty, a posterior, checks.

The ``kind: fit`` targets of ``conf/calibration/targets.yaml`` are the moments. Each carries
its sampling error (a survey wave's multinomial covariance with a design effect, a reported
figure's relative error, a derived bound's width), which gives Sigma_data; the seeds give
Sigma_sim. The distance between a simulation and the facts is the method of simulated moments'
quadratic form g' W g with W = (Sigma_data + Sigma_sim / S)^-1, g = simulated - observed
moments, S = seeds averaged per evaluation. With a correct model and S seeds, g' W g is
approximately chi-square with as many degrees of freedom as moments (Hansen's J subtracts
the parameters estimated).

The posterior over the parameters of ``conf/calibrate/priors.yaml`` is approximated by
ABC-SMC (pyabc) with that distance. A reference table of prior draws (one seed each) gives
the cheap checks: leave-one-target-out and the time split (fit on facts dated up to
2024-11, predict the later ones) by ABC rejection.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from routesim.calibration import Prior, Target, simulated_value
from routesim.config import Config, ConfigError
from routesim.params import apply_overrides
from routesim.simulation import simulate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Moments:
    """The observed moments: ids, values and their sampling covariance Sigma_data."""

    ids: tuple[str, ...]
    value: np.ndarray
    cov: np.ndarray

    def subset(self, ids: Sequence[str]) -> Moments:
        """The moments ``ids`` (in that order) with their block of the covariance."""
        index = [self.ids.index(i) for i in ids]
        return Moments(tuple(ids), self.value[index], self.cov[np.ix_(index, index)])

    @property
    def sd(self) -> np.ndarray:
        """Each moment's sampling standard deviation."""
        return np.sqrt(np.diag(self.cov))


def data_moments(targets: Sequence[Target]) -> Moments:
    """Sigma_data from each fit target's ``sampling`` (rules in the targets file's header).

    - survey share p from a wave with n respondents and design effect d: variance
      d p (1 - p) / n, covariance -d p_i p_j / n with the other shares of the same wave
      (multinomial), plus (halfwidth^2 / 3): a mapping or renormalisation error uniform on
      +- halfwidth, independent between shares; a share renormalised by c (the raw share
      over c, the part of the sample the renormalisation keeps: the named labs, or all but
      open source) is a multinomial share among those ~n c respondents: variance
      d p (1 - p) / (n c), covariance -d p_i p_j / (n c);
    - a reported figure with relative halfwidth r: uniform on value x (1 +- r), variance
      (r value)^2 / 3;
    - a derived bound [low, high]: uniform on it, variance (high - low)^2 / 12.
    """
    fit = [t for t in targets if t.kind == "fit"]
    if not fit:
        raise ConfigError("no kind: fit targets: nothing to calibrate against.")
    value = np.array([t.value for t in fit])
    cov = np.zeros((len(fit), len(fit)))
    for i, t in enumerate(fit):
        s = t.sampling
        if "survey" in s:
            n, d = float(s["n"]), float(s["design_effect"])
            c = float(s.get("renormalised_by", 1.0))
            cov[i, i] = d * t.value * (1 - t.value) / (n * c) + float(s["halfwidth"]) ** 2 / 3
            for j, u in enumerate(fit):
                if j != i and u.sampling.get("survey") == s["survey"]:
                    cov[i, j] = -d * t.value * u.value / (n * c)
        elif "relative_halfwidth" in s:
            cov[i, i] = (float(s["relative_halfwidth"]) * t.value) ** 2 / 3
        else:
            low, high = (float(x) for x in s["bound"])
            cov[i, i] = (high - low) ** 2 / 12
    return Moments(tuple(t.id for t in fit), value, cov)


def moment_vector(results: Any, targets: Sequence[Target], ids: Sequence[str]) -> np.ndarray:
    """The simulated value of each target in ``ids`` from one run."""
    by_id = {t.id: t for t in targets}
    return np.array([simulated_value(results, by_id[i]) for i in ids])


def weight_matrix(data: Moments, sim_cov: np.ndarray, seeds: int) -> np.ndarray:
    """W = (Sigma_data + Sigma_sim / S)^-1.

    Inverted on the scale of each moment's sampling sd: the moments mix dollars (variance
    ~1e17) and shares (~1e-3), and an inverse on the raw scale (a pseudo-inverse's cut-off is
    relative to the largest singular value) would drop every share.
    """
    scale = np.outer(data.sd, data.sd)
    corr = (data.cov + sim_cov / seeds) / scale
    try:
        return np.linalg.inv(corr) / scale
    except np.linalg.LinAlgError:
        return np.linalg.pinv(corr, hermitian=True) / scale


def quadratic_distance(sim: np.ndarray, data: Moments, weight: np.ndarray) -> float:
    """G' W g, g = simulated - observed moments (non-finite moments give +inf)."""
    g = sim - data.value
    if not np.all(np.isfinite(g)):
        return float("inf")
    return float(g @ weight @ g)


def hansen_j(sims: np.ndarray, data: Moments, n_params: int) -> dict[str, float]:
    """Hansen's J at one parameter point from ``sims`` (seeds x moments): J, df, p-value.

    J = g' (Sigma_data + Sigma_sim / S)^-1 g with g = the mean over the S seeds - observed,
    Sigma_sim the covariance over seeds; chi-square with (moments - n_params) degrees of
    freedom under the model. df <= 0 gives NaN for the p-value (nothing is left to test).
    """
    seeds = sims.shape[0]
    sim_cov = np.cov(sims, rowvar=False) if seeds > 1 else np.zeros_like(data.cov)
    j = quadratic_distance(sims.mean(axis=0), data, weight_matrix(data, sim_cov, seeds))
    df = len(data.ids) - n_params
    return {"J": j, "df": float(df), "p_value": float(stats.chi2.sf(j, df)) if df > 0 else float("nan"),
            "seeds": float(seeds)}


def seed_for(params: dict[str, float], salt: int = 0) -> int:
    """A simulation seed fixed by the parameter values (so an evaluation is reproducible)."""
    text = ",".join(f"{k}={params[k]!r}" for k in sorted(params)) + f"|{salt}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


class Simulator:
    """Parameters -> simulated moments (the model function ABC calls); picklable."""

    def __init__(self, base: Config, targets: Sequence[Target], ids: Sequence[str], seeds: int = 1,
                 salt: int = 0) -> None:
        self.base, self.targets, self.ids, self.seeds, self.salt = base, list(targets), tuple(ids), seeds, salt

    def config(self, params: dict[str, float], seed: int) -> Config:
        """The base config with ``params`` and ``seed`` applied (validated)."""
        return apply_overrides(self.base, {**{k: float(v) for k, v in params.items()}, "seed": seed})

    def runs(self, params: dict[str, float]) -> np.ndarray:
        """Seeds x moments, NaN rows for a parameter point the config refuses."""
        first = seed_for(params, self.salt)
        out = np.full((self.seeds, len(self.ids)), np.nan)
        for s in range(self.seeds):
            try:
                res = simulate(self.config(params, (first + s) & 0x7FFFFFFF))
            except ConfigError as exc:  # e.g. a draw the config's cross-field checks refuse
                log.warning("parameters refused: %s", exc)
                return out
            out[s] = moment_vector(res, self.targets, self.ids)
        return out

    def __call__(self, params: dict[str, float]) -> dict[str, float]:
        """{moment id: mean over the seeds}, the form pyabc's model functions return."""
        mean = self.runs(dict(params)).mean(axis=0)
        return {i: float(v) for i, v in zip(self.ids, mean, strict=True)}


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles of weighted samples (inverse of the weighted empirical CDF, midpoint rule)."""
    keep = weights > 0
    order = np.argsort(values[keep])
    v, w = values[keep][order], weights[keep][order] / weights[keep].sum()
    cdf = np.cumsum(w) - w / 2
    return np.interp(qs, cdf, v)


def predictive_table(sims: np.ndarray, weights: np.ndarray, data: Moments, rng: np.random.Generator,
                     level: float = 0.9) -> pd.DataFrame:
    """Posterior predictive intervals of what each source would report, and whether it did.

    ``sims`` (draws x moments) are simulated moments of posterior draws (one seed each, seeds
    not used by the fit); the source's own sampling error (Sigma_data) is added to each draw,
    since the fact is a noisy measurement too. A fact lies inside when it falls in the central
    ``level`` interval.
    """
    noise = rng.multivariate_normal(np.zeros(len(data.ids)), data.cov, size=sims.shape[0],
                                    check_valid="ignore")
    pred = sims + noise
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    rows = []
    for j, mid in enumerate(data.ids):
        ok = np.isfinite(pred[:, j])
        low, med, high = weighted_quantiles(pred[ok, j], weights[ok], [lo_q, 0.5, hi_q])
        sim_mean = float(np.average(sims[ok, j], weights=weights[ok]))
        rows.append({"id": mid, "value": float(data.value[j]), "data_sd": float(data.sd[j]),
                     "predictive_mean": sim_mean, "predictive_median": float(med),
                     f"p{round(100 * lo_q)}": float(low), f"p{round(100 * hi_q)}": float(high),
                     "inside": bool(low <= data.value[j] <= high)})
    return pd.DataFrame(rows)


def rejection(table: np.ndarray, data: Moments, weight: np.ndarray, keep: float) -> np.ndarray:
    """Indices of the ``keep`` share of reference-table rows nearest the data (ABC rejection)."""
    dist = np.array([quadratic_distance(row, data, weight) for row in table])
    n = max(2, int(round(keep * len(table))))
    return np.argsort(dist, kind="stable")[:n]


def leave_one_out(ref_sims: np.ndarray, data: Moments, sim_cov: np.ndarray, rng: np.random.Generator,
                  keep: float = 0.05, level: float = 0.9) -> pd.DataFrame:
    """For each moment: fit on the others by ABC rejection, predict it (90% interval), inside?"""
    rows = []
    for j, mid in enumerate(data.ids):
        others = [i for i in data.ids if i != mid]
        idx = [data.ids.index(i) for i in others]
        sub = data.subset(others)
        kept = rejection(ref_sims[:, idx], sub, weight_matrix(sub, sim_cov[np.ix_(idx, idx)], 1), keep)
        one = data.subset([mid])
        row = predictive_table(ref_sims[kept][:, [j]], np.ones(len(kept)), one, rng, level).iloc[0].to_dict()
        rows.append(row | {"accepted": len(kept)})
    return pd.DataFrame(rows)


def time_split(ref_sims: np.ndarray, targets: Sequence[Target], data: Moments, sim_cov: np.ndarray,
               rng: np.random.Generator, cutoff: str = "2024-11", keep: float = 0.05,
               level: float = 0.9) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Fit on the moments dated up to ``cutoff`` (ABC rejection), predict the later ones."""
    dated = {t.id: t.dated for t in targets if t.kind == "fit"}
    early = [i for i in data.ids if dated[i] <= cutoff]
    late = [i for i in data.ids if dated[i] > cutoff]
    if not early or not late:
        raise ConfigError(f"time split at {cutoff}: needs fit targets dated on both sides (early {early}, "
                          f"late {late}).")
    e_idx, l_idx = [data.ids.index(i) for i in early], [data.ids.index(i) for i in late]
    sub = data.subset(early)
    kept = rejection(ref_sims[:, e_idx], sub, weight_matrix(sub, sim_cov[np.ix_(e_idx, e_idx)], 1), keep)
    table = predictive_table(ref_sims[kept][:, l_idx], np.ones(len(kept)), data.subset(late), rng, level)
    return table.assign(accepted=len(kept)), early, late


def draw_prior(priors: dict[str, Prior], n: int, seed: int) -> pd.DataFrame:
    """``n`` independent draws from the priors (one column per key)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({k: p.frozen().rvs(size=n, random_state=rng) for k, p in priors.items()})


def medoid_point(particles: pd.DataFrame, weights: np.ndarray, scale: np.ndarray) -> int:
    """Row index of the posterior's medoid, the particle nearest all others.

    Nearest: the least weighted L1 distance, each parameter measured in units of ``scale``
    (the calibration passes the posterior's weighted sd, on the log scale for log-normal
    priors). Central like a median, but an actual particle, so its parameters are jointly
    plausible (a vector of marginal medians need not be). It was the representative point
    until :func:`best_fitting_point` replaced it; the report still gives its J for
    comparison. Before it, a kernel-density mode was tried and rejected: in 13 dimensions
    (the first posterior, 2026-11-30) with a few hundred particles it picked a particle at
    the edge of two marginals.
    """
    z = particles.to_numpy(dtype=float) / scale
    total = np.array([np.abs(z - row).sum(axis=1) @ weights for row in z])
    return int(np.argmin(total))


def best_fitting_point(sims: Sequence[np.ndarray], data: Moments, n_params: int) -> tuple[int, np.ndarray]:
    """The point whose simulations fit the data best: (its index, every point's J).

    ``sims`` holds one (seeds x moments) array per candidate point (the posterior's ensemble
    members, on seeds neither the fit nor the J check uses); each is scored by Hansen's J
    (:func:`hansen_j`: its mean moments against the data, weighted by the data's and its own
    simulation covariance, so a noisier point scores slightly lower for the same bias) and
    the least J wins. The representative point is an actual member (jointly plausible) that
    reproduces the facts as well as any. The medoid it replaced is central but fitted worse:
    on the posterior of run 2026-11-30_21-16-06 it had J 35.8 on the J seeds, and the four
    members with the least J on 4 other seeds had 20-24 on those J seeds (README
    "Calibration").
    """
    js = np.array([hansen_j(np.asarray(s, dtype=float), data, n_params)["J"] for s in sims])
    if not len(js) or not np.isfinite(js).any():
        raise ValueError("best_fitting_point: no candidate has finite simulated moments")
    return int(np.nanargmin(np.where(np.isfinite(js), js, np.nan))), js


def systematic_resample(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices drawn by systematic resampling (low variance), sorted."""
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    positions = (rng.random() + np.arange(n)) / n
    return np.searchsorted(np.cumsum(w), positions, side="right").clip(0, len(w) - 1)


def map_parallel(fn: Callable[[dict[str, float]], np.ndarray], points: list[dict[str, float]], jobs: int,
                 desc: str) -> list[np.ndarray]:
    """``fn`` over ``points`` on ``jobs`` processes, in order, with a progress bar."""
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    if jobs <= 1:
        return [fn(p) for p in tqdm(points, desc=desc, unit="run")]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(tqdm(pool.map(fn, points, chunksize=4), total=len(points), desc=desc, unit="run"))

