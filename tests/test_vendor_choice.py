"""The vendor logit draw (``routesim.vendors.choose_vendor``) against its closed form."""

from __future__ import annotations

import numpy as np

from routesim.vendors import choose_vendor


def test_draws_follow_the_logit_with_the_switching_cost_on_the_lab_held():
    utility = np.array([[0.0, np.log(2.0), -np.inf, 0.5], [1.0, 1.0, 1.0, -np.inf]])  # (G=2, P=4)
    n = 200_000
    rng = np.random.default_rng(3)
    group = np.repeat([0, 1], n // 2)
    current = np.zeros(n, dtype=np.int64)  # every enterprise holds lab 0
    chosen = choose_vendor(utility, group, current, 1.0, rng.random(n))
    for g in (0, 1):
        u = utility[g].copy()
        u[0] += 1.0
        p = np.exp(u - u[np.isfinite(u)].max())
        p /= p.sum()
        freq = np.bincount(chosen[group == g], minlength=4) / (n // 2)
        np.testing.assert_allclose(freq, p, atol=0.005)
        assert freq[~np.isfinite(utility[g])].sum() == 0  # never a lab without an everyday model


def test_edge_draws_and_groups_without_candidates():
    utility = np.array([[0.0, 2.0, -np.inf], [-np.inf, -np.inf, -np.inf]])
    group = np.array([0, 0, 1])
    current = np.array([2, 0, 1])
    chosen = choose_vendor(utility, group, current, np.array([0.0, 3.0, 0.0]),
                           np.array([np.nextafter(1.0, 0.0), 0.0, 0.5]))
    assert chosen[0] == 1  # a draw at the top lands on the last lab with a model, not on lab 2
    assert chosen[1] == 0  # the first bin: the lab held, with its switching cost
    assert chosen[2] == 1  # no candidate in its group: it keeps its vendor
