"""Calibration as inference: the moments' covariance, the distance, J, the checks, parameter recovery."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from scipy import stats

from routesim.calibration import (
    TARGETS_FILE,
    Target,
    load_targets,
    priors,
    search_ranges,
)
from routesim.config import ConfigError
from routesim.inference import (
    Moments,
    Simulator,
    data_moments,
    hansen_j,
    leave_one_out,
    predictive_table,
    quadratic_distance,
    seed_for,
    systematic_resample,
    time_split,
    weight_matrix,
    weighted_quantiles,
)


def _target(tid: str, value: float, sampling: dict, dated: str = "2025-07") -> Target:
    return Target(id=tid, description="", table="providers", column="usage_share", value=value, tolerance=0.1,
                  kind="fit", source="", start="2025-06", end="2025-07", dated=dated, sampling=sampling)


def test_a_survey_wave_has_the_multinomial_covariance_plus_its_mapping_error():
    wave = {"survey": "w", "n": 100, "design_effect": 2.0, "halfwidth": 0.03}
    moments = data_moments([_target("a", 0.5, wave), _target("b", 0.3, wave),
                            _target("c", 0.2, {**wave, "survey": "other"}),
                            _target("usd", 1e9, {"relative_halfwidth": 0.25}),
                            _target("bound", 0.025, {"bound": [0.0, 0.05]})])
    cov = moments.cov
    assert cov[0, 0] == pytest.approx(2 * 0.5 * 0.5 / 100 + 0.03**2 / 3)
    assert cov[0, 1] == cov[1, 0] == pytest.approx(-2 * 0.5 * 0.3 / 100)  # same wave: negative
    assert cov[0, 2] == 0 and cov[1, 2] == 0  # another survey: independent
    assert cov[3, 3] == pytest.approx((0.25e9) ** 2 / 3)
    assert cov[4, 4] == pytest.approx(0.05**2 / 12)
    assert np.all(np.linalg.eigvalsh(cov) > 0)


def test_a_renormalised_share_is_a_share_among_the_respondents_it_keeps():
    """p = raw / (the realised part of the sample kept, ~c).

    Variance d p (1 - p) / (n c), covariance -d p_i p_j / (n c).
    """
    n, c, d = 150, 0.78, 1.0
    wave = {"survey": "w", "n": n, "design_effect": d, "halfwidth": 0.0, "renormalised_by": c}
    moments = data_moments([_target("a", 0.41, wave), _target("b", 0.32, wave)])
    counts = np.random.default_rng(0).multinomial(n, [0.41 * c, 0.32 * c, 0.27 * c, 1 - c], size=400_000)
    shares = counts[:, :2] / counts[:, :3].sum(axis=1, keepdims=True)  # renormalised by the realised named part
    np.testing.assert_allclose(moments.cov, np.cov(shares, rowvar=False), rtol=0.03)
    plain = data_moments([_target("a", 0.41, {**wave, "renormalised_by": 1.0})])
    assert moments.cov[0, 0] > 1.2 * plain.cov[0, 0]  # the old rule understated it


def test_the_shipped_moments_are_the_fit_targets_and_their_covariance_is_positive_definite():
    targets = load_targets(TARGETS_FILE)
    moments = data_moments(targets)
    assert moments.ids == tuple(t.id for t in targets if t.kind == "fit")
    assert not {t.id for t in targets if t.kind == "check"} & set(moments.ids)
    assert np.all(np.linalg.eigvalsh(moments.cov) > 0)
    # more moments than parameters estimated without an informative prior: J can test something
    free = sum(p.dist == "uniform" for p in priors().values())
    assert len(moments.ids) > free


def test_the_targets_that_hold_by_construction_are_checks():
    kinds = {t.id: t.kind for t in load_targets(TARGETS_FILE)}
    for tid in ("menlo_2023_openai_share", "menlo_2023_anthropic_share", "menlo_2023_google_share",
                "menlo_mid2025_overseas_tier_share", "frontier_usage_share_pre_routing"):
        assert kinds[tid] == "check", tid


@pytest.mark.parametrize(("sampling", "message"), [
    ("", "sampling missing is not valid"),
    ("sampling: {n: 100}", "allowed: sampling: {survey, n, design_effect, halfwidth[, renormalised_by]}"),
    ("sampling: {survey: s, n: 0, design_effect: 1, halfwidth: 0}", "n >= 1"),
    ("sampling: {bound: [0, 1]}", "a bound's value at its midpoint"),
    ("sampling: {relative_halfwidth: -1}", "is not valid"),
])
def test_a_fit_target_without_a_valid_sampling_error_fails_naming_it(tmp_path, sampling, message):
    path = tmp_path / "targets.yaml"
    path.write_text(textwrap.dedent(f"""\
        targets:
          - id: my_target
            table: market
            column: total_spend_usd
            month: "2024-01"
            value: 0.3
            tolerance: 0.1
            kind: fit
            dated: "2024-01"
            {sampling}
        """))
    with pytest.raises(ConfigError, match="my_target") as info:
        load_targets(path)
    assert message in str(info.value)


def test_the_priors_uniform_ranges_are_the_point_search_box():
    box = search_ranges()
    table = priors()
    assert set(box) == set(table)
    for key, prior in table.items():
        if prior.dist == "uniform":
            assert (prior.low, prior.high) == box[key], key
        else:  # an informative prior: its 99% interval lies inside the model's allowed range
            assert 0 < prior.low < prior.median < prior.high


def test_a_bad_priors_file_names_the_parameter_and_the_allowed_forms(tmp_path):
    path = tmp_path / "priors.yaml"
    path.write_text("priors:\n  adoption.imitation_q: {dist: beta, a: 1}\n")
    with pytest.raises(ConfigError, match=r"priors.adoption.imitation_q: dist 'beta' is not one of uniform, lognormal"):
        priors(path)


def test_hansen_j_is_chi_square_under_the_model():
    """Moments drawn from the model's own distribution: J over S seeds is chi-square(M - P)."""
    rng = np.random.default_rng(7)
    m = 6
    a = rng.normal(size=(m, m))
    data_cov = a @ a.T / m + 0.1 * np.eye(m)
    sim_cov = 0.5 * np.eye(m)
    truth = rng.normal(size=m)
    js = []
    for _ in range(600):
        observed = rng.multivariate_normal(truth, data_cov)
        sims = rng.multivariate_normal(truth, sim_cov, size=50)
        js.append(hansen_j(sims, Moments(tuple("abcdef"), observed, data_cov), n_params=0)["J"])
    assert stats.kstest(js, stats.chi2(m).cdf).pvalue > 0.01
    assert np.isnan(hansen_j(sims, Moments(tuple("abcdef"), observed, data_cov), n_params=m)["p_value"])  # df 0


def test_the_distance_is_zero_at_the_data_and_weights_by_precision():
    data = Moments(("x", "y"), np.array([1.0, 1.0]), np.diag([0.01, 1.0]))
    w = weight_matrix(data, np.zeros((2, 2)), 1)
    assert quadratic_distance(data.value, data, w) == 0
    # the same miss costs 100x more on the precise moment
    assert quadratic_distance(np.array([1.1, 1.0]), data, w) == pytest.approx(
        100 * quadratic_distance(np.array([1.0, 1.1]), data, w))
    assert quadratic_distance(np.array([np.nan, 1.0]), data, w) == np.inf


def test_the_distance_does_not_depend_on_the_moments_units():
    """Dollars beside shares: a miss of one sd costs the same whatever the unit (a raw-scale
    pseudo-inverse once dropped every share next to the spend moments)."""
    cov = np.array([[0.03**2, -0.0002], [-0.0002, 0.02**2]])
    shares = Moments(("a", "b"), np.array([0.4, 0.3]), cov)
    miss = np.array([0.43, 0.28])
    base = quadratic_distance(miss, shares, weight_matrix(shares, 0.1 * cov, 1))
    for factor in (1e9, 1e-6):
        scale = np.diag([factor, 1.0])
        scaled = Moments(("a", "b"), scale @ shares.value, scale @ cov @ scale)
        assert quadratic_distance(scale @ miss, scaled, weight_matrix(scaled, scale @ (0.1 * cov) @ scale, 1)) == \
            pytest.approx(base, rel=1e-9)


def test_predictive_intervals_cover_the_truth_at_their_nominal_rate():
    """A fact drawn from the model's predictive distribution lands inside its 90% interval ~90%."""
    rng = np.random.default_rng(3)
    hits = []
    for _ in range(300):
        centre = rng.normal()  # the posterior of the moment: N(centre, 0.3^2); the truth is one draw of it
        truth = centre + rng.normal(0, 0.3)
        data = Moments(("x",), np.array([truth + rng.normal(0, 0.2)]), np.array([[0.04]]))
        sims = centre + rng.normal(0, 0.3, size=(200, 1))
        hits.append(predictive_table(sims, np.ones(200), data, rng)["inside"].item())
    assert 0.85 <= np.mean(hits) <= 0.95


def test_weighted_quantiles_and_systematic_resampling():
    values = np.array([0.0, 1.0, 2.0, 3.0])
    assert weighted_quantiles(values, np.array([1, 1, 1, 1.0]), [0.5])[0] == pytest.approx(1.5)
    assert weighted_quantiles(values, np.array([0, 0, 0, 1.0]), [0.1, 0.9]).tolist() == [3.0, 3.0]
    picks = systematic_resample(np.array([0.5, 0.25, 0.25, 0.0]), 100, np.random.default_rng(0))
    counts = np.bincount(picks, minlength=4)
    assert counts.tolist() == [50, 25, 25, 0]


def _linear_reference(rng: np.random.Generator, n: int = 4000) -> tuple[np.ndarray, np.ndarray, Moments, list]:
    """A toy model: three moments, each a parameter plus noise; two dated early, one late."""
    theta = rng.uniform(0, 1, size=(n, 3))
    sims = theta + rng.normal(0, 0.05, size=(n, 3))
    truth = np.array([0.3, 0.6, 0.45])
    data = Moments(("a", "b", "c"), truth + rng.normal(0, 0.02, size=3), np.diag([0.02**2] * 3))
    return theta, sims, data, [_target("a", 0, {}, "2024-06"), _target("b", 0, {}, "2024-11"),
                               _target("c", 0, {}, "2025-07")]


def test_leave_one_out_and_time_split_on_a_toy_model():
    """Moments tied to each other are predicted from the rest; an independent one is not pinned down."""
    rng = np.random.default_rng(11)
    theta, sims, data, targets = _linear_reference(rng)
    # make c depend on a and b: then the early facts predict it
    sims[:, 2] = (theta[:, 0] + theta[:, 1]) / 2 + rng.normal(0, 0.02, size=len(sims))
    data = Moments(data.ids, np.array([0.3, 0.6, 0.45]), data.cov)
    sim_cov = np.diag([0.05**2, 0.05**2, 0.02**2])
    loo = leave_one_out(sims, data, sim_cov, rng, keep=0.02)
    assert loo["inside"].all()
    width_c = (loo["p95"] - loo["p5"]).iloc[2]
    assert width_c < 0.25  # c is pinned down by a and b
    table, early, late = time_split(sims, targets, data, sim_cov, rng, cutoff="2024-11", keep=0.02)
    assert early == ["a", "b"] and late == ["c"] and table["inside"].all()
    # a wrong fact far from what the early facts imply lands outside
    wrong = Moments(data.ids, np.array([0.3, 0.6, 0.95]), data.cov)
    assert not time_split(sims, targets, wrong, sim_cov, rng, cutoff="2024-11", keep=0.02)[0]["inside"].any()


def test_an_evaluation_is_reproducible_and_its_seed_follows_the_parameters():
    assert seed_for({"a": 1.0, "b": 2.0}) == seed_for({"b": 2.0, "a": 1.0})
    assert seed_for({"a": 1.0}) != seed_for({"a": 1.0000001})
    assert seed_for({"a": 1.0}, salt=1) != seed_for({"a": 1.0})


@pytest.fixture(scope="module")
def synthetic():
    """A synthetic market: the facts are the model's own moments at known parameters."""
    from routesim.calibration import targets_horizon
    from routesim.compose import compose

    targets = [t for t in load_targets(TARGETS_FILE) if t.kind == "fit"]
    real = data_moments(targets)
    base = compose([f"end={targets_horizon(targets)}", "population.n_enterprises=400", "output.plots=false"])
    truth = {k: float(_get(base, k)) for k in priors()}
    sim = Simulator(base, targets, real.ids, seeds=4, salt=5)
    runs = sim.runs(truth)
    data = Moments(real.ids, runs.mean(axis=0), real.cov)  # the facts: the truth's mean, the real errors
    return sim, truth, data, np.cov(runs, rowvar=False)


def _get(cfg, key):
    for part in key.split("."):
        cfg = getattr(cfg, part)
    return cfg


@pytest.mark.parametrize("key", ["demand.growth_per_month", "population.size_median_tasks_per_month",
                                 "population.active_share_at_start", "population.entry_hazard"])
def test_the_distance_is_lowest_at_the_true_parameters_of_a_synthetic_market(synthetic, key):
    """Parameter recovery, the fast part: moving an identified parameter to either end of its
    prior (fresh seeds) moves the simulated moments away from the facts it generated."""
    sim, truth, data, sim_cov = synthetic
    w = weight_matrix(data, sim_cov, sim.seeds)
    fresh = Simulator(sim.base, sim.targets, sim.ids, seeds=sim.seeds, salt=6)
    at_truth = quadratic_distance(fresh.runs(truth).mean(axis=0), data, w)
    prior = priors()[key]
    ends = [v for v in (prior.low, prior.high) if abs(v - truth[key]) > 0.25 * (prior.high - prior.low)]
    assert ends
    for value in ends:
        moved = quadratic_distance(fresh.runs({**truth, key: value}).mean(axis=0), data, w)
        assert moved > at_truth + 1.0, (key, value, moved, at_truth)


@pytest.mark.slow
def test_abc_recovers_the_true_parameters_of_a_synthetic_market(synthetic, tmp_path):
    """Parameter recovery, the whole of it: ABC-SMC on the synthetic facts puts each identified
    parameter's truth inside its 99% posterior interval.

    99%, not 90% (changed 2026-12-01 with a failure in view: at the refit's point, growth 0.161,
    one run gave 0.035-0.148 while the run before passed; the sampler runs on two processes, so
    runs differ). Three 90% intervals of a calibrated posterior all cover the truth only ~73% of
    the time; three 99% intervals ~97%. Two reruns then (development venv): growth 99% intervals
    0.022-0.194 and 0.020-0.241 with medians 0.081 and 0.087, scale medians 144k and 151k,
    against the truth's 0.161 and 74k: at this budget growth and scale trade along a ridge (the
    early spend pins their product), and this point sits at its high-growth end.
    """
    from routesim.posterior import run_abc

    sim, truth, data, sim_cov = synthetic
    one = Simulator(sim.base, sim.targets, sim.ids, seeds=1)
    particles, w, _ = run_abc(one, priors(), data, weight_matrix(data, sim_cov, 1), tmp_path, population=150,
                              generations=6, max_sims=4000, minutes=20, jobs=2)
    for key in ("demand.growth_per_month", "population.size_median_tasks_per_month",
                "population.active_share_at_start"):
        low, high = weighted_quantiles(particles[key].to_numpy(), w, [0.005, 0.995])
        assert low <= truth[key] <= high, (key, low, truth[key], high)
    # Weak on its own: on this small budget the intervals stay wide (tried 2026-11-30: 0.63 of the
    # prior range for growth, 0.8 for scale, against a uniform prior's 0.9), so an ABC returning its
    # prior would often pass too. The fast test above (the distance is lowest at the truth) is the
    # sharper check; a width bound needs a bigger budget here.


def _tiny_calibration(out, *extra):
    from routesim.cli import calibrate_main

    calibrate_main(["--population", "20", "--generations", "1", "--max-sims", "60", "--reference", "30",
                    "--members", "6", "--agents", "150", "--pilot-seeds", "2", "--j-seeds", "2", "--select-seeds", "2",
                    "--no-write",
                    "--no-profiles", "--out", str(out), *extra])


def test_routesim_calibrate_writes_the_whole_report_and_leaves_conf_alone(tmp_path):
    """The pipeline end to end on a tiny budget: posterior, predictive check, J, time split,
    leave-one-out, figures; --no-write leaves the shipped fit untouched."""
    from routesim.compose import CONF_DIR

    shipped = {p.name: p.read_bytes() for p in (CONF_DIR / "fitted").iterdir()}
    _tiny_calibration(tmp_path / "cal", "--jobs", "1")
    report = (tmp_path / "cal" / "report.md").read_text()
    for heading in ("## Joint fit", "J-type statistic", "## Fit targets: posterior predictive", "## Time split",
                    "## Leave one target out", "## Validation and check targets"):
        assert heading in report, heading
    for name in ("posterior.png", "predictive.png", "time_split.png", "posterior_particles.csv", "abc.db",
                 "reference.parquet", "summary.json"):
        assert (tmp_path / "cal" / name).exists(), name
    assert {p.name: p.read_bytes() for p in (CONF_DIR / "fitted").iterdir()} == shipped
    summary = json.loads((tmp_path / "cal" / "summary.json").read_text())
    sel = summary["selection"]  # the representative point: the member of least J on its own seeds
    assert sel["seeds"] == 2 and sel["J"] == min(sel["members_J"])
    assert sel["member"] == int(np.argmin(sel["members_J"]))
    import pandas as pd

    members = pd.read_csv(tmp_path / "cal" / "ensemble_members.csv", index_col="member")
    chosen = members.loc[sel["member"], list(summary["representative_point"])]
    assert chosen.to_dict() == pytest.approx(summary["representative_point"])  # the point written is that member
    assert "least J on 2 seeds of its own" in report and "medoid_J_on_J_seeds" in sel
    with pytest.raises(SystemExit):  # a folder that is not empty is refused before anything runs
        _tiny_calibration(tmp_path / "cal", "--jobs", "1")


@pytest.mark.slow
def test_routesim_calibrate_runs_on_a_dask_cluster(tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        _tiny_calibration(tmp_path / "cal", "--dask", cluster.scheduler_address)
    assert "J-type statistic" in (tmp_path / "cal" / "report.md").read_text()


def test_the_representative_point_is_the_member_that_fits_best_and_skips_refused_ones():
    from routesim.inference import best_fitting_point

    data = Moments(("x", "y"), np.array([1.0, 2.0]), np.diag([0.01, 0.04]))
    rng = np.random.default_rng(0)
    near = data.value + rng.normal(0, 0.01, (4, 2))  # scatters tightly around the facts
    off_x = near + [0.5, 0.0]  # 5 sd off on x
    off_y = near + [0.0, 0.2]  # 1 sd off on y: nearer than off_x, farther than near
    refused = np.full((4, 2), np.nan)  # a point the config refused
    best, js = best_fitting_point([off_x, refused, off_y, near], data, n_params=0)
    assert best == 3
    assert js[3] < js[2] < js[0] and np.isinf(js[1])
    with pytest.raises(ValueError, match="no candidate"):
        best_fitting_point([refused], data, n_params=0)


def test_the_medoid_is_the_central_particle_and_ignores_an_outlier():
    import pandas as pd

    from routesim.inference import medoid_point

    particles = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 100.0], "b": [0.0, 1.0, 2.0, 3.0, 100.0]})
    assert medoid_point(particles, np.ones(5), np.array([1.0, 1.0])) == 2  # not the mean (21.2)
    # weights pull it: almost all the weight on the last two particles
    assert medoid_point(particles, np.array([1e-6, 1e-6, 1e-6, 1.0, 1.0]), np.array([1.0, 1.0])) in (3, 4)


def test_break_even_targets_over_the_ensemble_count_censored_members_separately():
    import pandas as pd

    from routesim.posterior import _other_targets

    t = Target(id="be", description="", table="providers", column="break_even_year", value=2030, tolerance=1,
               kind="validate", source="", start="2024-01", end="2030-12", filter={"provider": "openai"})
    pred = pd.DataFrame({"be": [2029.0, 2024.0, np.inf, np.inf]})
    row = _other_targets(pred, np.ones(4), [t]).iloc[0]
    assert row["in_band_share"] == pytest.approx(0.75)  # 2029 inside, two censored inside a band past 2030
    assert "25% inside the band by breaking even in it, 50% by not breaking even" in row["note"]
