"""Vendor loyalty: which provider's flagship an enterprise uses as its everyday model.

At a re-evaluation an enterprise scores each provider's flagship on its own industry's
segments, utility = quality_weight x mean success - price_weight x ln(cost per task), adds a
switching cost to the vendor it has, and keeps the best. Everything is (industry, provider)
tables, so re-evaluating all enterprises is a gather and an argmax.
"""

from __future__ import annotations

import numpy as np


def flagship_tables(cost: np.ndarray, success: np.ndarray, segment_weight: np.ndarray,
                    flagships: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(I, P) cost per task and mean success of each provider's flagship; NaN where none."""
    has = flagships >= 0
    idx = np.where(has, flagships, 0)
    cost_ip = np.einsum("k,ikp->ip", segment_weight, cost[:, :, idx])
    success_ip = np.einsum("k,ikp->ip", segment_weight, success[:, :, idx])
    return np.where(has, cost_ip, np.nan), np.where(has, success_ip, np.nan)


def vendor_utility(cost_ip: np.ndarray, success_ip: np.ndarray, industry: np.ndarray, current: np.ndarray,
                   quality_weight: float, price_weight: float, switching_cost: float) -> np.ndarray:
    """(n, P) utility of each provider's flagship for each enterprise; -inf where none."""
    util = quality_weight * success_ip[industry] - price_weight * np.log(cost_ip[industry])
    util = np.where(np.isnan(util), -np.inf, util)
    util[np.arange(len(industry)), current] += switching_cost
    return util


def choose_vendor(cost_ip: np.ndarray, success_ip: np.ndarray, industry: np.ndarray, current: np.ndarray,
                  quality_weight: float, price_weight: float, switching_cost: float) -> np.ndarray:
    """The preferred provider after re-evaluation (the first best on ties)."""
    util = vendor_utility(cost_ip, success_ip, industry, current, quality_weight, price_weight,
                          switching_cost)
    best = np.argmax(util, axis=1)
    return np.where(np.isfinite(util[np.arange(len(industry)), best]), best, current)
