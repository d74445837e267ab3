"""Same config and seed as the stored golden run give the same tables."""

from __future__ import annotations

import pandas as pd
import pytest

from golden import GOLDEN_DIR, GOLDEN_TABLES, VARIANTS, golden_results


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", GOLDEN_TABLES)
def test_golden_run_is_unchanged(name, variant):
    stored = pd.read_csv(GOLDEN_DIR / f"golden_{variant}{name}.csv", parse_dates=["month"])
    fresh = getattr(golden_results(variant), name)
    pd.testing.assert_frame_equal(fresh.reset_index(drop=True), stored, check_dtype=False,
                                  check_exact=False, rtol=1e-12, atol=1e-9)
