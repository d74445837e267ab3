"""Vendor loyalty: which provider's flagship an enterprise uses as its everyday model.

At a re-evaluation an enterprise scores each provider's flagship on its own industry's
segments as its overseas-access class perceives them, utility = quality_weight x mean
success - price_weight x ln(cost per task), adds a switching cost to the vendor it has, and
picks a vendor by multinomial-logit probabilities (a random-utility choice: the same offer
does not make every firm switch at once). Everything is (group, provider) tables, a group
being an (access class, industry) pair, so re-evaluating all enterprises is a gather, a
softmax and an inverse-CDF draw.
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


def vendor_utility(cost_ip: np.ndarray, success_ip: np.ndarray, group: np.ndarray, current: np.ndarray,
                   quality_weight: float, price_weight: float, switching_cost: float) -> np.ndarray:
    """(n, P) utility of each provider's flagship for each enterprise; -inf where none."""
    table = quality_weight * success_ip - price_weight * np.log(cost_ip)  # (I, P)
    util = np.where(np.isnan(table), -np.inf, table)[group]
    util[np.arange(len(group)), current] += switching_cost
    return util


def choose_vendor(cost_ip: np.ndarray, success_ip: np.ndarray, group: np.ndarray, current: np.ndarray,
                  quality_weight: float, price_weight: float, switching_cost: float,
                  uniforms: np.ndarray) -> np.ndarray:
    """The preferred provider after re-evaluation, drawn from the logit probabilities.

    One U(0, 1) per enterprise picks by inverse CDF; one with no candidate keeps its vendor.
    """
    util = vendor_utility(cost_ip, success_ip, group, current, quality_weight, price_weight,
                          switching_cost)
    has_any = np.isfinite(util).any(axis=1)
    top = np.max(np.where(has_any[:, None], util, 0.0), axis=1, keepdims=True)
    weight = np.exp(util - top)  # exp(-inf) = 0 for providers without a flagship
    cdf = np.cumsum(weight, axis=1)
    chosen = (cdf <= uniforms[:, None] * cdf[:, -1:]).sum(axis=1)
    chosen = np.minimum(chosen, util.shape[1] - 1)
    # guard the last bin against rounding: never pick a provider without a flagship
    chosen = np.where(np.isfinite(util[np.arange(len(group)), chosen]), chosen,
                      np.argmax(util, axis=1))
    return np.where(has_any, chosen, current)
