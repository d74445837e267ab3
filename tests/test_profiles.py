"""Loss profiles: the shipped value is on every profile, and a parameter the targets pin down
has a loss that rises away from it."""

from __future__ import annotations

import pytest

from routesim.analysis.profiles import FLAT, profiles, summary


def test_the_growth_profile_has_the_fit_on_it_and_rises_away_from_it():
    frame = profiles(points=3, seeds=1, extra=["population.n_enterprises=300"], n_jobs=1,
                     keys=["demand.growth_per_month"])
    fitted = frame["fitted_value"].iloc[0]
    assert len(frame) == 4 and (frame["value"] == fitted).any()  # the prior's ends, its middle, the fit
    at_fit = frame.loc[frame["value"] == fitted, "loss"].item()
    assert frame.loc[frame["value"] == frame["value"].max(), "loss"].item() > at_fit  # 25%/month: far too fast
    row = summary(frame).iloc[0]
    assert row["loss_range"] > FLAT and not row["flat"]
    assert row["most_targets_met"] >= frame.loc[frame["value"] == fitted, "targets_met"].item()


def test_a_profile_for_a_key_outside_the_calibration_box_is_refused():
    with pytest.raises(ValueError, match="demand.price_elasticity: not fitted by the calibration; allowed: access"):
        profiles(points=3, seeds=1, keys=["demand.price_elasticity"], n_jobs=1)
