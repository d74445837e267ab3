"""Routing policies on hand-built menus: closed forms and a brute-force comparison."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import _cheapest_acceptable
from routesim.routing import NO_MODEL, RouteRequest, cost_optimal, eligibility, single, threshold


def one_segment(costs, probs, requirement, overseas=None, access=1, flagship=0, difficulty=0.5,
                threshold_difficulty=0.5):
    m = len(costs)
    overseas = np.zeros(m, bool) if overseas is None else np.asarray(overseas)
    return RouteRequest(
        cost=np.array(costs, float).reshape(1, 1, m),
        success=np.array(probs, float).reshape(1, 1, m),
        difficulty=np.array([[difficulty]]),
        eligible=eligibility(np.ones(m, bool), overseas),
        industry=np.array([0]), access=np.array([access]), requirement=np.array([requirement]),
        flagship=np.array([flagship]), threshold_difficulty=threshold_difficulty,
    )


@pytest.mark.parametrize("requirement", [0.0, 0.5, 0.79, 0.8, 0.8000001, 0.9, 0.95, 0.99])
def test_cost_optimal_picks_cheap_model_exactly_when_it_meets_requirement(requirement):
    # model 0: strong and dear; model 1: weak and cheap with success 0.8
    req = one_segment(costs=[1.0, 0.1], probs=[0.97, 0.8], requirement=requirement)
    choice = cost_optimal(req)[0, 0]
    if requirement <= 0.8:
        assert choice == 1
    else:
        assert choice == 0  # the strong model meets it, or is the most successful fallback


def test_fallback_is_cheapest_of_the_most_successful():
    req = one_segment(costs=[3.0, 2.0, 0.1], probs=[0.9, 0.9, 0.5], requirement=0.99)
    assert cost_optimal(req)[0, 0] == 1


def test_overseas_models_only_for_allowed_enterprises():
    costs, probs, overseas = [1.0, 0.05], [0.95, 0.95], [False, True]
    assert cost_optimal(one_segment(costs, probs, 0.9, overseas, access=1))[0, 0] == 1
    assert cost_optimal(one_segment(costs, probs, 0.9, overseas, access=0))[0, 0] == 0


def test_no_eligible_model_gives_no_model():
    req = one_segment([1.0], [0.9], 0.5, overseas=[True], access=0)
    assert cost_optimal(req)[0, 0] == NO_MODEL


def test_single_and_threshold():
    req = one_segment(costs=[1.0, 0.1], probs=[0.97, 0.9], requirement=0.85, flagship=0,
                      difficulty=0.4)
    assert single(req)[0, 0] == 0
    assert threshold(req)[0, 0] == 1  # easy segment: cheapest acceptable
    hard = one_segment(costs=[1.0, 0.1], probs=[0.97, 0.9], requirement=0.85, flagship=0,
                       difficulty=0.6)
    assert threshold(hard)[0, 0] == 0  # hard segment: flagship, though the cheap one qualifies


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n_models=st.integers(1, 6), n_ent=st.integers(1, 12))
def test_cost_optimal_equals_brute_force(data, n_models, n_ent):
    n_ind, n_seg = 2, 3
    floats = st.floats(0.0, 1.0, allow_nan=False)
    cost = np.array(data.draw(st.lists(st.sampled_from([0.1, 0.2, 0.5, 1.0, 2.0]),
                                       min_size=n_ind * n_seg * n_models,
                                       max_size=n_ind * n_seg * n_models))).reshape(n_ind, n_seg, n_models)
    success = np.array(data.draw(st.lists(floats, min_size=cost.size, max_size=cost.size)))
    success = success.reshape(cost.shape)
    available = np.array(data.draw(st.lists(st.booleans(), min_size=n_models, max_size=n_models)))
    overseas = np.array(data.draw(st.lists(st.booleans(), min_size=n_models, max_size=n_models)))
    industry = np.array(data.draw(st.lists(st.integers(0, n_ind - 1), min_size=n_ent, max_size=n_ent)))
    access = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n_ent, max_size=n_ent)))
    requirement = np.array(data.draw(st.lists(floats, min_size=n_ent, max_size=n_ent)))
    req = RouteRequest(cost=cost, success=success, difficulty=np.zeros((n_ind, n_seg)),
                       eligible=eligibility(available, overseas), industry=industry, access=access,
                       requirement=requirement, flagship=np.zeros(n_ent, int))
    got = cost_optimal(req)
    for e in range(n_ent):
        elig = [bool(available[m] and (access[e] or not overseas[m])) for m in range(n_models)]
        for k in range(n_seg):
            want = _cheapest_acceptable(list(cost[industry[e], k]), list(success[industry[e], k]),
                                        elig, float(requirement[e]))
            assert got[e, k] == want
