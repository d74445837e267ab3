"""Bass-type diffusion of routing among enterprises.

A non-adopter adopts in a month with probability 1 - exp(-(p + q * F)), where F is the
adopter share among its peers (its industry, or the whole market); ``MarketModel._adopt``
adds the cap-hit push to p and the net-savings check. With q = 0 the expected share of
adopters after t months is 1 - (1 - F0) * exp(-p * t), the continuous Bass form.
"""

from __future__ import annotations

import numpy as np


def peer_adopter_share(adopted: np.ndarray, group: np.ndarray, n_groups: int,
                       among: np.ndarray | None = None, weight: np.ndarray | None = None) -> np.ndarray:
    """Each enterprise's share of adopters in its peer group, shape (N,).

    ``among`` (N,) bool restricts the peers to those enterprises (the ones already buying:
    a firm that has not entered the market is nobody's peer yet). ``weight`` (N,) is the
    number of real enterprises each agent stands for (1 each if not given).
    """
    w = np.ones(len(group)) if weight is None else weight
    if among is not None:
        w = w * among
    members = np.bincount(group, weights=w, minlength=n_groups)
    adopters = np.bincount(group, weights=w * adopted, minlength=n_groups)
    share = np.divide(adopters, members, out=np.zeros(n_groups), where=members > 0)
    return share[group]


def adoption_probability(innovation_p: float, imitation_q: float, peer_share: np.ndarray) -> np.ndarray:
    """Monthly probability that a non-adopter adopts."""
    return -np.expm1(-(innovation_p + imitation_q * peer_share))
