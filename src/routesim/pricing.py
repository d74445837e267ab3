"""Provider pricing strategies, chosen per provider by name (``market.providers.*.pricing``).

A strategy looks at the market's recent history and sets the provider's price multiplier on
each tier it sells in; the catalogue's list prices (and any scenario shocks) are multiplied
by it. Add a strategy by writing a class with ``update`` (and ``reacts = False`` if it never changes
a multiplier) and registering it in ``PRICING``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PricingState:
    """What strategies see and change; tiers are indexed as in ``config.TIERS``."""

    t: int
    multiplier: np.ndarray  # (P, tiers) current price multipliers, changed in place
    floor: np.ndarray  # (P, tiers) lowest multiplier allowed (serving cost x (1 + markup))
    token_share: np.ndarray  # (t, P, tiers) past months' within-tier token shares
    cut_last_month: np.ndarray  # (P, tiers) bool: the provider cut that tier last month
    last_cut: np.ndarray  # (P, tiers) month of the last cut, -inf if never
    sells: np.ndarray  # (P, tiers) bool: the provider has a model on offer in the tier


class Scheduled:
    """Catalogue prices and tier trends as given: no reaction."""

    reacts = False  # never changes a multiplier: the model need not build the state for it

    def __init__(self, params: object) -> None:
        self.params = params

    def update(self, provider: int, state: PricingState) -> None:
        """Leave the multipliers as they are."""


class Reactive:
    """Cut a tier's prices when losing share in it or when a rival cut it last month."""

    reacts = True

    def __init__(self, params: object) -> None:
        self.params = params

    def update(self, provider: int, state: PricingState) -> None:
        """Apply at most one cut per tier per cooldown, floored at serving cost."""
        p = self.params
        for tier in np.flatnonzero(state.sells[provider]):
            if state.t - state.last_cut[provider, tier] < p.cooldown_months:
                continue
            losing = False
            if state.t > p.window_months:
                history = state.token_share[:, provider, tier]
                losing = history[-1 - p.window_months] - history[-1] >= p.share_drop
            rivals = np.delete(state.cut_last_month[:, tier], provider)
            if losing or (p.follow_rivals and rivals.any()):
                cut = state.multiplier[provider, tier] * (1.0 - p.cut_fraction)
                new = max(cut, state.floor[provider, tier])
                if new < state.multiplier[provider, tier]:
                    state.multiplier[provider, tier] = new
                    state.last_cut[provider, tier] = state.t


PRICING: dict[str, type] = {"scheduled": Scheduled, "reactive": Reactive}
