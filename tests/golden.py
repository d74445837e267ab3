"""The golden run: a tiny market whose tables are stored, to catch unintended changes.

Regenerate deliberately (after a change that is meant to move results) with
``python tests/golden.py`` and say why in the commit message.
"""

from __future__ import annotations

from pathlib import Path

from routesim import compose, simulate

GOLDEN_DIR = Path(__file__).parent / "data"
GOLDEN_OVERRIDES = ["market=tiny", "population=tiny", "fitted=none", "end=2025-12", "seed=11",
                    "adoption.initial_share=0.2", "demand.price_elasticity=0.5"]
GOLDEN_TABLES = ("market", "providers", "enterprises")


def golden_results():
    return simulate(compose(GOLDEN_OVERRIDES))


if __name__ == "__main__":
    res = golden_results()
    for name in GOLDEN_TABLES:
        getattr(res, name).to_csv(GOLDEN_DIR / f"golden_{name}.csv", index=False, float_format="%.17g")
    print(f"wrote {', '.join(GOLDEN_TABLES)} to {GOLDEN_DIR}")
