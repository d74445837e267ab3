"""Statistics for scenario comparisons: paired seeds (common random numbers) and censored dates.

* :func:`paired_test`: the mean paired difference, tested by a sign-flip permutation test
  (``scipy.stats.permutation_test``: under "no effect" each difference is as likely positive
  as negative; exact up to 2**13 pairs' flips, else 9,999 random flips), with a bootstrap
  interval of the same mean. One test, no normality pre-test: a two-stage choice between t and
  Wilcoxon would change the null hypothesis (Wilcoxon tests a pseudo-median) with the data.
* :func:`censored_test`: a date that may lie beyond the horizon (a break-even month), compared
  between two scenarios by the log-rank test on right-censored data (``scipy.stats.logrank``).
* :func:`holm`: Holm's step-down adjustment across every claim of a report
  (``statsmodels.stats.multitest.multipletests``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

N_RESAMPLES = 9999
EXACT_UP_TO = 13  # pairs: 2**13 = 8,192 sign patterns, fewer than N_RESAMPLES, so every one is used


@dataclass(frozen=True)
class PairedResult:
    """The comparison of treatment and control over paired runs."""

    estimate: float  # mean of treatment - control, in the metric's unit
    ci_low: float
    ci_high: float
    p_value: float
    test: str  # "sign-flip permutation" or "degenerate"
    effect_size: float  # Cohen's d_z: mean difference / sd of differences
    n: int
    control_mean: float  # the control's mean level, in the metric's unit

    @property
    def relative(self) -> float:
        """The estimate as a fraction of the control's level (nan when that is 0)."""
        return self.estimate / self.control_mean if self.control_mean else float("nan")


def paired_test(treatment: np.ndarray, control: np.ndarray, alternative: str = "two-sided",
                confidence: float = 0.95, seed: int = 0) -> PairedResult:
    """Test the mean of treatment - control over pairs; the interval is a bootstrap of that mean.

    ``alternative``: "less" claims treatment < control, "greater" treatment > control. The
    interval is BCa from 5 pairs, percentile below; ``seed`` fixes the random flips and
    resamples, so a report is reproducible.
    """
    treatment, control = np.asarray(treatment, float), np.asarray(control, float)
    diff = treatment - control
    n = len(diff)
    if n < 2:
        raise ValueError(f"a paired test needs at least 2 pairs, got {n}")
    mean, level = float(diff.mean()), float(control.mean())
    sd = diff.std(ddof=1)
    if sd == 0:  # identical differences: nothing to permute, no spread to bootstrap
        p = 1.0 if mean == 0 else 0.0
        return PairedResult(mean, mean, mean, p, "degenerate", 0.0 if mean == 0 else np.inf * np.sign(mean), n, level)
    rng = np.random.default_rng(seed)
    perm = stats.permutation_test((diff,), np.mean, permutation_type="samples", alternative=alternative,
                                  n_resamples=N_RESAMPLES, random_state=rng)
    boot = stats.bootstrap((diff,), np.mean, confidence_level=confidence, n_resamples=N_RESAMPLES,
                           method="BCa" if n >= 5 else "percentile", random_state=rng)
    return PairedResult(mean, float(boot.confidence_interval.low), float(boot.confidence_interval.high),
                        float(perm.pvalue), "sign-flip permutation", mean / float(sd), n, level)


@dataclass(frozen=True)
class CensoredResult:
    """Two scenarios' dates (months since a common origin), some beyond the horizon."""

    p_value: float
    test: str  # "log-rank" or why there is no test
    n_treatment: int
    n_control: int
    events_treatment: int  # runs whose date falls within the horizon
    events_control: int
    median_treatment: float  # Kaplan-Meier median, months; inf when fewer than half have the event
    median_control: float


def censored_test(treatment: np.ndarray, control: np.ndarray, horizon: float,
                  alternative: str = "two-sided") -> CensoredResult:
    """Compare dates ``treatment`` and ``control`` (nan or > ``horizon``: not within the horizon).

    ``alternative`` is about the dates: "greater" claims the treatment's come later. SciPy's
    log-rank statistic is negative when the first sample's events come later, so our
    "greater" is its "less" (a test holds the direction on a planted case).
    """
    def censored(dates: np.ndarray) -> tuple[stats.CensoredData, int]:
        dates = np.asarray(dates, float)
        seen = np.isfinite(dates) & (dates <= horizon)
        right = np.full(int((~seen).sum()), float(horizon))
        return stats.CensoredData(uncensored=dates[seen], right=right), int(seen.sum())

    (x, ex), (y, ey) = censored(treatment), censored(control)
    medians = [_km_median(d, e) for d, e in ((x, ex), (y, ey))]
    if ex + ey == 0:  # nobody has the event: the data cannot tell the scenarios apart
        return CensoredResult(1.0, "none within the horizon", len(treatment), len(control), 0, 0, *medians)
    flipped = {"greater": "less", "less": "greater", "two-sided": "two-sided"}[alternative]
    res = stats.logrank(x, y, alternative=flipped)
    return CensoredResult(float(res.pvalue), "log-rank", len(treatment), len(control), ex, ey, *medians)


def _km_median(data: stats.CensoredData, events: int) -> float:
    if events == 0:
        return float("inf")
    sf = stats.ecdf(data).sf
    below = np.flatnonzero(sf.probabilities <= 0.5)
    return float(sf.quantiles[below[0]]) if len(below) else float("inf")


def holm(p_values: np.ndarray | list[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), in the input order."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, float)
    if p.size == 0:
        return p
    return multipletests(p, method="holm")[1]
