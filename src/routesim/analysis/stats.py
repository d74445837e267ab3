"""Statistics for paired scenario comparisons (common random numbers: one pair per seed).

scipy.stats does the work: Shapiro-Wilk decides between a paired t-test and the Wilcoxon
signed-rank test, ``scipy.stats.bootstrap`` gives the confidence interval of the mean
difference, and Holm's step-down adjusts p-values when an experiment tests several claims.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

NORMALITY_ALPHA = 0.05


@dataclass(frozen=True)
class PairedResult:
    """The comparison of treatment and control over paired runs."""

    estimate: float  # mean of treatment - control
    ci_low: float
    ci_high: float
    p_value: float
    test: str  # "paired t" or "wilcoxon"
    effect_size: float  # Cohen's d_z: mean difference / sd of differences
    n: int


def paired_test(treatment: np.ndarray, control: np.ndarray, alternative: str = "two-sided",
                confidence: float = 0.95, seed: int = 0) -> PairedResult:
    """Test treatment - control over pairs; the interval is a BCa bootstrap of the mean."""
    diff = np.asarray(treatment, float) - np.asarray(control, float)
    n = len(diff)
    if n < 2:
        raise ValueError(f"a paired test needs at least 2 pairs, got {n}")
    sd = diff.std(ddof=1)
    if sd == 0:  # identical pairs: nothing to test, no spread to bootstrap
        mean = float(diff.mean())
        p = 1.0 if mean == 0 else 0.0
        return PairedResult(mean, mean, mean, p, "degenerate", 0.0 if mean == 0 else np.inf * np.sign(mean), n)
    normal = n < 3 or stats.shapiro(diff).pvalue > NORMALITY_ALPHA
    if normal:
        p = stats.ttest_1samp(diff, 0.0, alternative=alternative).pvalue
        test = "paired t"
    else:
        p = stats.wilcoxon(diff, alternative=alternative).pvalue
        test = "wilcoxon"
    boot = stats.bootstrap((diff,), np.mean, confidence_level=confidence, n_resamples=9999,
                           method="BCa" if n >= 5 else "percentile", random_state=np.random.default_rng(seed))
    return PairedResult(float(diff.mean()), float(boot.confidence_interval.low),
                        float(boot.confidence_interval.high), float(p), test, float(diff.mean() / sd), n)


def holm(p_values: np.ndarray | list[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), in the input order."""
    p = np.asarray(p_values, float)
    m = len(p)
    order = np.argsort(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[i])
        adjusted[i] = min(1.0, running)
    return adjusted
