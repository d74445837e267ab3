"""Routing policies on hand-built menus: closed forms and a brute-force comparison."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from reference import cheapest_acceptable_one
from routesim import routing
from routesim.routing import (
    NO_MODEL,
    RouteRequest,
    RouterParams,
    cascade,
    cheapest_acceptable,
    cost_optimal,
    eligibility,
    learned,
    learned_requirement,
    logit,
    logit_shares,
    router_class,
    router_classes,
    single,
    threshold,
)


def request(costs, probs, requirement, overseas=None, access=1, flagship=0, easy=True,
            providers=None, preferred=0, noise=None, success_slope=15.0, **params):
    """One enterprise, one segment, M models; router class = its overseas access (0 or 1)."""
    m = len(costs)
    overseas = np.zeros(m, bool) if overseas is None else np.asarray(overseas)
    cost = np.array(costs, float).reshape(1, m)
    success = np.array(probs, float).reshape(1, m)
    return RouteRequest(
        cost=cost, success=success, perceived_cost=np.stack([cost, cost]),
        perceived_success=np.stack([success, success]), eligible=eligibility(np.ones(m, bool), overseas),
        easy=np.array([easy]), model_provider=np.arange(m) if providers is None else np.asarray(providers),
        router_class=np.array([access]), requirement=np.array([requirement]),
        flagship=np.array([flagship]), preferred=np.array([preferred]),
        learned_requirement=None if noise is None else learned_requirement(
            np.array([requirement]), np.array([[noise]]), np.array([success_slope])),
        params=RouterParams(**params))


def calls(plan):
    """{model: calls per task} of the single (enterprise, segment) row of ``plan``."""
    filled = plan.model[0, 0] >= 0
    return dict(zip(plan.model[0, 0][filled].tolist(), plan.weight[0, 0][filled].tolist(), strict=True))


def only_model(plan):
    (model, weight), = calls(plan).items()
    assert weight == 1.0
    return model


@pytest.mark.parametrize("requirement", [0.0, 0.5, 0.79, 0.8, 0.8000001, 0.9, 0.95, 0.99])
def test_cost_optimal_picks_cheap_model_exactly_when_it_meets_requirement(requirement):
    # model 0: strong and dear; model 1: weak and cheap with success 0.8
    req = request(costs=[1.0, 0.1], probs=[0.97, 0.8], requirement=requirement)
    choice = only_model(cost_optimal(req))
    assert choice == (1 if requirement <= 0.8 else 0)


def test_fallback_is_cheapest_of_the_most_successful():
    # no model meets 0.99 and the everyday model is not among the best: the cheaper of the best
    req = request(costs=[3.0, 2.0, 0.1], probs=[0.9, 0.9, 0.5], requirement=0.99, flagship=-1)
    assert only_model(cost_optimal(req)) == 1


def test_a_router_never_pays_more_than_its_everyday_model_to_beat_it():
    # the everyday model (1) misses the requirement; a dearer, better model (0) would meet it
    req = request(costs=[3.0, 1.0, 0.1], probs=[0.99, 0.9, 0.5], requirement=0.95, flagship=1)
    assert only_model(cost_optimal(req)) == 1  # the requirement is capped at the everyday model's 0.9
    # with a cheaper model as good as the everyday one, that one
    req = request(costs=[3.0, 1.0, 0.1], probs=[0.99, 0.9, 0.9], requirement=0.95, flagship=1)
    assert only_model(cost_optimal(req)) == 2


def test_overseas_models_only_for_allowed_enterprises():
    costs, probs, overseas = [1.0, 0.05], [0.95, 0.95], [False, True]
    assert only_model(cost_optimal(request(costs, probs, 0.9, overseas, access=1))) == 1
    assert only_model(cost_optimal(request(costs, probs, 0.9, overseas, access=0))) == 0


def test_risk_premium_is_a_perceived_markup():
    req = request([1.0, 0.3], [0.95, 0.95], 0.9, overseas=[False, True])
    cost = req.cost
    # seen at 4x its price the overseas model (0.3 -> 1.2) is dearer than the domestic one
    fields = {k: v for k, v in req.__dict__.items() if k not in ("search_index", "group")}  # not the cached ones
    marked = RouteRequest(**{**fields, "perceived_cost": np.stack([cost, cost * [1.0, 4.0]])})
    assert only_model(cost_optimal(req)) == 1
    assert only_model(cost_optimal(marked)) == 0


def test_no_eligible_model_gives_no_calls():
    req = request([1.0], [0.9], 0.5, overseas=[True], access=0)
    assert cheapest_acceptable(req, np.array([[0.5]]))[0, 0] == NO_MODEL
    assert calls(cost_optimal(req)) == {}
    assert not cost_optimal(req).served.any()


def test_single_and_threshold():
    req = request(costs=[1.0, 0.1], probs=[0.97, 0.9], requirement=0.85, flagship=0, easy=True)
    assert only_model(single(req)) == 0
    assert only_model(threshold(req)) == 1  # easy segment: cheapest acceptable
    hard = request(costs=[1.0, 0.1], probs=[0.97, 0.9], requirement=0.85, flagship=0, easy=False)
    assert only_model(threshold(hard)) == 0  # hard segment: flagship, though the cheap one qualifies


def test_cascade_cost_and_success_closed_form():
    c_cheap, p_cheap, c_strong, p_strong = 0.1, 0.7, 1.0, 0.97
    req = request(costs=[c_strong, c_cheap], probs=[p_strong, p_cheap], requirement=0.9,
                  cascade_first_success=0.5)
    made = calls(cascade(req))
    assert made == {1: 1.0, 0: pytest.approx(1 - p_cheap)}
    cost = sum(w * req.cost[0, m] for m, w in made.items())
    success = sum(w * req.success[0, m] for m, w in made.items())
    assert cost == pytest.approx(c_cheap + (1 - p_cheap) * c_strong)
    assert success == pytest.approx(p_cheap + (1 - p_cheap) * p_strong)


def test_cascade_skips_a_first_try_that_does_not_pay():
    # c1 = 0.6 >= p1 * c2 = 0.55 * 1.0: trying first costs more than it saves
    req = request(costs=[1.0, 0.6], probs=[0.97, 0.55], requirement=0.9, cascade_first_success=0.5)
    assert only_model(cascade(req)) == 0
    # the first model already meets the requirement: no escalation
    req = request(costs=[1.0, 0.1], probs=[0.97, 0.92], requirement=0.9, cascade_first_success=0.5)
    assert only_model(cascade(req)) == 1


def test_learned_without_noise_is_cost_optimal_and_noise_shifts_choice():
    args = dict(costs=[1.0, 0.1], probs=[0.97, 0.85], requirement=0.9)
    assert only_model(learned(request(**args, noise=0.0))) == only_model(cost_optimal(request(**args)))
    # the router thinks the segment is easier than it is: picks the cheap model below the bar
    assert only_model(learned(request(**args, noise=-0.1, success_slope=15.0))) == 1
    assert only_model(learned(request(**args, noise=+0.1, success_slope=15.0))) == 0


def test_logit_shares_are_the_softmax_of_utilities():
    costs, probs = [1.0, 0.2, 0.05], [0.97, 0.9, 0.7]
    q, b, loyal = 12.0, 0.8, 0.5
    req = request(costs, probs, 0.9, providers=[0, 1, 2], preferred=1, logit_quality_weight=q,
                  logit_price_weight=b, logit_loyalty=loyal)
    util = q * np.array(probs) - b * np.log(costs) + loyal * (np.arange(3) == 1)
    np.testing.assert_allclose(logit_shares(req)[0, 0], special.softmax(util), rtol=1e-12)
    plan = logit(req)
    assert plan.weight.sum() == pytest.approx(1.0)
    # an ineligible model gets no share
    barred = request(costs, probs, 0.9, overseas=[False, False, True], access=0, logit_quality_weight=q,
                     logit_price_weight=b)
    assert logit_shares(barred)[0, 0, 2] == 0.0


@settings(max_examples=60)
@given(data=st.data(), n_models=st.integers(1, 6), n_ent=st.integers(1, 12), n_prov=st.integers(1, 3),
       premium=st.sampled_from([0.0, 0.5]))
def test_cheapest_acceptable_equals_brute_force(data, n_models, n_ent, n_prov, premium):
    n_seg = 3
    floats = st.floats(0.0, 1.0, allow_nan=False)
    size = n_seg * n_models
    cost = np.array(data.draw(st.lists(st.sampled_from([0.1, 0.2, 0.5, 1.0, 2.0]), min_size=size,
                                       max_size=size))).reshape(n_seg, n_models)
    success = np.array(data.draw(st.lists(floats, min_size=size, max_size=size))).reshape(cost.shape)
    available = np.array(data.draw(st.lists(st.booleans(), min_size=n_models, max_size=n_models)))
    overseas = np.array(data.draw(st.lists(st.booleans(), min_size=n_models, max_size=n_models)))
    provider = np.array(data.draw(st.lists(st.integers(0, n_prov - 1), min_size=n_models, max_size=n_models)))
    access = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n_ent, max_size=n_ent)))
    vendor = np.array(data.draw(st.lists(st.integers(0, n_prov - 1), min_size=n_ent, max_size=n_ent)))
    in_house = np.array(data.draw(st.lists(st.booleans(), min_size=n_ent, max_size=n_ent)))
    requirement = np.array(data.draw(st.lists(floats, min_size=n_ent * n_seg,
                                              max_size=n_ent * n_seg))).reshape(n_ent, n_seg)
    seen_cost, seen_success, eligible = router_classes(np.stack([cost, cost]), np.stack([success, success]),
                                                       eligibility(available, overseas), provider, n_prov, premium)
    req = RouteRequest(cost=cost, success=success, perceived_cost=seen_cost, perceived_success=seen_success,
                       eligible=eligible, easy=np.ones(n_seg, bool), model_provider=provider,
                       router_class=router_class(access, vendor, in_house, n_prov), requirement=requirement[:, 0],
                       flagship=np.zeros(n_ent, int), preferred=vendor)
    got = cheapest_acceptable(req, requirement)
    for e in range(n_ent):
        own = provider == vendor[e]
        elig = [bool(available[m] and (access[e] or not overseas[m]) and (own[m] or not in_house[e]))
                for m in range(n_models)]
        for k in range(n_seg):
            seen = [c * (1 + premium) if not (own[m] or in_house[e]) else c for m, c in enumerate(cost[k])]
            want = cheapest_acceptable_one(seen, list(success[k]), elig, float(requirement[e, k]))
            assert got[e, k] == want


@pytest.mark.parametrize("linear_steps", [0, 1000])
def test_both_searches_of_the_index_equal_brute_force(monkeypatch, linear_steps):
    """Counting steps level by level and the binary search over all steps (SearchIndex) agree.

    The menu has many steps (success mostly rises with cost) and exact ties: requirements
    equal to a model's success, equal costs, equal successes.
    """
    monkeypatch.setattr(routing, "LINEAR_SEARCH_STEPS", linear_steps)
    rng = np.random.default_rng(5)
    n_seg, n_models, n_ent, n_prov = 4, 40, 60, 3
    cost = rng.choice([0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0], size=(n_seg, n_models))
    success = np.round(np.clip(0.1 * np.log(cost) + 0.6 + rng.normal(0, 0.05, cost.shape), 0, 1), 2)
    available = rng.random(n_models) < 0.9
    overseas = rng.random(n_models) < 0.2
    provider = rng.integers(0, n_prov, n_models)
    access, vendor, in_house = rng.integers(0, 2, n_ent), rng.integers(0, n_prov, n_ent), rng.random(n_ent) < 0.3
    requirement = np.where(rng.random((n_ent, n_seg)) < 0.5, rng.choice(success.ravel(), (n_ent, n_seg)),
                           rng.uniform(0, 1, (n_ent, n_seg)))
    seen_cost, seen_success, eligible = router_classes(np.stack([cost, cost]), np.stack([success, success]),
                                                       eligibility(available, overseas), provider, n_prov, 0.2)
    req = RouteRequest(cost=cost, success=success, perceived_cost=seen_cost, perceived_success=seen_success,
                       eligible=eligible, easy=np.ones(n_seg, bool), model_provider=provider,
                       router_class=router_class(access, vendor, in_house, n_prov), requirement=requirement[:, 0],
                       flagship=np.zeros(n_ent, int), preferred=vendor)
    assert len(req.search_index.step_value) > 10
    assert (req.search_index.step_key is not None) == (linear_steps == 0)
    got = cheapest_acceptable(req, requirement)
    for e in range(n_ent):
        own = provider == vendor[e]
        elig = [bool(available[m] and (access[e] or not overseas[m]) and (own[m] or not in_house[e]))
                for m in range(n_models)]
        for k in range(n_seg):
            seen = [c * 1.2 if not (own[m] or in_house[e]) else c for m, c in enumerate(cost[k])]
            assert got[e, k] == cheapest_acceptable_one(seen, list(success[k]), elig, float(requirement[e, k]))
