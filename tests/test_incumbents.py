"""The incumbent/entrant split behind README "Why Nov-2024 stays out of reach"."""

from __future__ import annotations

import math

import pytest

from routesim.analysis.incumbents import incumbent_split, main


def test_without_entry_every_task_is_an_incumbents_and_the_floor_is_the_share():
    out = incumbent_split(agents=400, overrides=["population.active_share_at_start=1", "population.entry_hazard=0"])
    assert out["incumbents_share_of_tasks"] == pytest.approx(1.0)
    assert math.isnan(out["entrants_on_lab"])
    assert out["floor"] == pytest.approx(out["lab_share_of_tasks"])


def test_without_switching_incumbents_keep_their_first_vendor():
    out = incumbent_split(agents=400, overrides=["switching.enabled=false"])
    assert out["incumbents_switched"] == 0.0
    assert out["incumbents_on_lab_now"] == pytest.approx(out["incumbents_on_lab_at_start"])
    assert 0.0 < out["incumbents_share_of_tasks"] < 1.0  # the default market has entrants


def test_the_floor_never_exceeds_the_labs_share_and_more_switching_lowers_openais_floor():
    sticky = incumbent_split(agents=1000)
    loose = incumbent_split(agents=1000, overrides=["switching.switching_cost=2"])
    for out in (sticky, loose):
        assert out["floor"] <= out["lab_share_of_tasks"] + 1e-12
    assert loose["incumbents_switched"] > sticky["incumbents_switched"]
    assert loose["floor"] < sticky["floor"]


def test_a_lab_outside_the_catalogue_is_refused_in_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--lab", "acme", "--seeds", "1", "--agents", "50"])
    assert exc.value.code == 2
    assert "lab='acme'" in capsys.readouterr().err
