"""Calibration targets: loading, scoring and the loss, on known cases."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pandas as pd
import pytest

from routesim import ConfigError, compose, simulate
from routesim.calibration import (
    TARGETS_FILE,
    Target,
    fit_loss,
    fit_table,
    load_targets,
    simulated_value,
    targets_horizon,
)


def target(**kw):
    base = dict(id="t", description="", table="market", column="total_spend_usd", value=1.0, tolerance=1.0,
                kind="fit", source="", start="2024-01", end="2024-01")
    return Target(**{**base, **kw})


@pytest.fixture(scope="module")
def runs():
    base = ["market=tiny", "population=tiny", "fitted=none", "end=2024-12"]
    return [simulate(compose([*base, f"seed={s}"])) for s in (0, 1, 2)]


def test_provider_share_targets_of_one_date_are_jointly_attainable():
    """Share targets of one period that name every provider the model gives a material share
    must sum to ~1 (the model's shares do): a set summing to 0.886 forced ~0.11 of misfit."""
    by_period: dict[tuple[str, str], list[Target]] = {}
    for t in load_targets(TARGETS_FILE):
        if t.table == "providers" and t.column == "usage_share" and t.kind in ("fit", "check"):
            by_period.setdefault((t.start, t.end), []).append(t)
    complete = {k: v for k, v in by_period.items() if {"openai", "anthropic", "google"}
                <= {t.filter["provider"] for t in v}}
    assert len(complete) >= 2  # end-2023 and mid-2025
    for period, targets in complete.items():
        total = sum(t.value for t in targets)
        assert abs(total - 1.0) <= 0.02, (period, total)


def test_survey_share_tolerances_cover_the_surveys_95_percent_sampling_interval():
    """A band narrower than 1.96 SE would fail a correct model on sampling noise alone."""
    shares = [t for t in load_targets(TARGETS_FILE)
              if t.id.startswith("menlo_") and t.id.endswith("_share") and t.kind in ("fit", "check")]
    assert len(shares) == 11
    for t in shares:
        n = 600 if t.id.startswith("menlo_2024_") else 150  # Menlo's Nov-2024 sample; 150 otherwise
        assert t.tolerance >= 1.96 * np.sqrt(t.value * (1 - t.value) / n), t.id


def test_shipped_targets_load_and_fit_targets_end_by_mid_2025():
    targets = load_targets(TARGETS_FILE)
    assert len({t.id for t in targets}) == len(targets)
    assert {t.kind for t in targets} == {"fit", "validate", "check"}
    # the rule: fit only on facts up to mid-2025; one stated exception, a budget fact (no share)
    late = [t for t in targets if t.kind == "fit" and t.end > "2025-07"]
    assert [t.id for t in late] == ["doit_2025_ai_budget_overrun_share"]
    assert all("share" not in t.filter.get("provider", "") and t.table == "enterprises" for t in late)
    assert targets_horizon([t for t in targets if t not in late]) <= "2025-07"


def test_period_mean_and_annualise(runs):
    market = runs[0].market.set_index("month")["total_spend_usd"]
    period = target(start="2024-03", end="2024-05", transform="annualise")
    assert simulated_value(runs[0], period) == pytest.approx(12 * market.loc["2024-03-01":"2024-05-01"].mean())
    one = target(start="2024-07", end="2024-07")
    assert simulated_value(runs[0], one) == pytest.approx(market.loc["2024-07-01"])


def test_filter_selects_rows(runs):
    share = target(table="providers", column="usage_share", filter={"provider": "labone"}, start="2024-02",
                   end="2024-02")
    providers = runs[0].providers
    want = providers[(providers.provider == "labone") & (providers.month == "2024-02-01")]["usage_share"].item()
    assert simulated_value(runs[0], share) == pytest.approx(want)


def test_break_even_year_is_censored_not_made_up(runs):
    year = target(table="providers", column="break_even_year", filter={"provider": "labone"})
    meta_month = runs[0].metadata["break_even"]["labone"]["month"]
    assert simulated_value(runs[0], year) == (np.inf if meta_month is None else int(meta_month[:4]))


def test_censored_break_even_passes_only_a_band_reaching_past_the_horizon():
    costly = ["market=tiny", "population=tiny", "fitted=none", "end=2024-12",
              "++market.providers.labone.fixed_cost_usd_per_month={anchors: [{month: '2024-01', value: 1e9}]}"]
    never = [simulate(compose([*costly, f"seed={s}"])) for s in (0, 1)]
    assert all(r.metadata["break_even"]["labone"]["month"] is None for r in never)
    late = target(id="late", table="providers", column="break_even_year", filter={"provider": "labone"},
                  value=2025, tolerance=1, kind="validate")
    early = target(id="early", table="providers", column="break_even_year", filter={"provider": "labone"},
                   value=2023, tolerance=1, kind="validate")
    table = fit_table(never, [late, early]).set_index("id")
    assert table.loc["late", "within_tolerance"] and not table.loc["early", "within_tolerance"]
    assert np.isnan(table.loc["late", "simulated_mean"])  # never a made-up year
    assert "not within the horizon" in table.loc["late", "note"]


def test_fit_table_interval_covers_mean_and_verdict(runs):
    values = [simulated_value(r, target()) for r in runs]
    mean = float(np.mean(values))
    near = target(value=mean * 1.01, tolerance=mean * 0.02)
    far = target(id="far", value=mean * 2, tolerance=mean * 0.1)
    table = fit_table(runs, [near, far])
    assert table.loc[0, "ci95_low"] < mean < table.loc[0, "ci95_high"]
    assert table["within_tolerance"].tolist() == [True, False]
    np.testing.assert_allclose(table["z"], [(mean - near.value) / near.tolerance, (mean - far.value) / far.tolerance])
    # half-width = t(0.975, n-1) * sd / sqrt(n) with n = 3
    half = 4.302652729911275 * np.std(values, ddof=1) / np.sqrt(3)
    assert table.loc[0, "ci95_high"] - mean == pytest.approx(half)


def test_loss_is_mean_squared_z_over_fit_targets_only():
    table = pd.DataFrame({"kind": ["fit", "fit", "validate"], "z": [1.0, -3.0, 100.0]})
    assert fit_loss(table) == pytest.approx(5.0)
    # the band penalty adds the mean squared excess beyond |z| = 1: ((0)^2 + (2)^2) / 2 = 2
    assert fit_loss(table, band_penalty=10.0) == pytest.approx(5.0 + 10.0 * 2.0)


def test_band_penalty_prefers_every_target_inside_its_band():
    inside = pd.DataFrame({"kind": ["fit"] * 2, "z": [0.95, 0.95]})
    one_out = pd.DataFrame({"kind": ["fit"] * 2, "z": [1.3, 0.0]})
    assert fit_loss(one_out) < fit_loss(inside)  # plain squared error prefers one target out ...
    assert fit_loss(one_out, band_penalty=20.0) > fit_loss(inside, band_penalty=20.0)  # ... the band loss not


@pytest.mark.parametrize("body, message", [
    ("targets: [{id: a, table: market, column: x, value: 1, tolerance: 1, kind: fit}]", "missing month"),
    ("targets: [{id: a, table: nowhere, column: x, value: 1, tolerance: 1, kind: fit, month: '2024-01'}]",
     "table 'nowhere'"),
    ("targets: [{id: a, table: market, column: x, value: 1, tolerance: 0, kind: fit, month: '2024-01'}]",
     "tolerance"),
    ("targets: [{id: a, table: market, column: x, value: 1, tolerance: 1, kind: maybe, month: '2024-01'}]",
     "kind 'maybe'"),
    ("targets: [{id: a, table: market, column: x, value: 1, tolerance: 1, kind: fit, month: '2024-13'}]",
     "YYYY-MM"),
    ("nothing: here", "not a targets file"),
])
def test_bad_targets_file_names_the_problem(tmp_path, body, message):
    path = tmp_path / "targets.yaml"
    path.write_text(textwrap.dedent(body))
    with pytest.raises(ConfigError, match=message):
        load_targets(path)


@pytest.mark.slow
def test_shipped_calibration_still_fits():
    """The shipped representative point fits the moments as well as when it was calibrated:
    Hansen's J on the same seeds (conf/fitted/posterior_check.json) has not grown."""
    import json

    from routesim.calibration import priors
    from routesim.compose import CONF_DIR
    from routesim.inference import Simulator, data_moments, hansen_j

    check = json.loads((CONF_DIR / "fitted" / "posterior_check.json").read_text())
    targets = [t for t in load_targets(TARGETS_FILE) if t.kind == "fit"]
    data = data_moments(targets)
    base = compose([f"end={check['horizon']}", f"population.n_enterprises={check['agents']}", "output.plots=false"])
    point = {k: float(v) for k, v in check["representative_point"].items()}
    shipped = compose([])
    for key, value in point.items():  # conf/fitted/default.yaml is that point
        node = shipped
        for part in key.split("."):
            node = getattr(node, part)
        assert node == pytest.approx(value, rel=1e-12), key
    sims = Simulator(base, targets, data.ids, seeds=int(check["j_seeds"]), salt=int(check["j_salt"])).runs(point)
    free = sum(p.dist == "uniform" for p in priors().values())
    now = hansen_j(sims, data, n_params=free)
    assert now["J"] <= 1.25 * check["J"]["J"] + 1.0, (now, check["J"])


def test_the_output_contract_lists_every_column_a_run_writes():
    from routesim import compose, simulate
    from routesim.results import TABLE_COLUMNS, TABLES

    res = simulate(compose(["market=tiny", "population=tiny", "fitted=none", "end=2024-02"]))
    for table in TABLES:
        assert tuple(getattr(res, table).columns) == TABLE_COLUMNS[table], table


@pytest.mark.parametrize(("change", "message"), [
    ({"column": "usage_sharee"}, "target T: table providers has no column 'usage_sharee'; allowed: provider, origin"),
    ({"filter": {"lab": "openai"}}, "target T: table providers cannot be filtered by 'lab'; allowed: provider, origin"),
    ({"filter": {"provider": "openia"}}, "target T: filter provider = 'openia' is not in this market; allowed: "),
    ({"table": "market", "column": "calls", "filter": {"provider": "openai"}},
     "cannot be filtered by 'provider'; allowed: nothing"),
    ({"column": "break_even_year", "filter": {}}, "target T: break_even_year needs filter {provider:"),
])
def test_a_target_naming_an_unknown_column_or_filter_fails_naming_its_id_before_simulating(change, message):
    from routesim import compose
    from routesim.calibration import Target, check_targets

    base = {"id": "T", "description": "", "table": "providers", "column": "usage_share", "value": 0.3,
            "tolerance": 0.1, "kind": "fit", "source": "", "start": "2024-12", "end": "2024-12",
            "filter": {"provider": "openai"}, "transform": "none"}
    cfg = compose([])
    check_targets([Target(**base)], cfg)  # the good one passes
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_targets([Target(**{**base, **change})], cfg)
