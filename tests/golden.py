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
# the same run with one lab for all of a firm's work: its tables are those of the model before
# the coding specialist (stored at 3aa7db2), which `switching.specialist_family=null` must keep
VARIANTS = {"": [], "null_specialist_": ["switching.specialist_family=null"]}


def golden_results(variant: str = ""):
    return simulate(compose([*GOLDEN_OVERRIDES, *VARIANTS[variant]]))


if __name__ == "__main__":
    for variant in VARIANTS:
        res = golden_results(variant)
        for name in GOLDEN_TABLES:
            getattr(res, name).to_csv(GOLDEN_DIR / f"golden_{variant}{name}.csv", index=False, float_format="%.17g")
    print(f"wrote {', '.join(GOLDEN_TABLES)} of {len(VARIANTS)} variants to {GOLDEN_DIR}")
