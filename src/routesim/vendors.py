"""Vendors and everyday models: which lab an enterprise buys from, and which of its models it uses.

One utility rates a model for an enterprise: quality_weight x its mean success on the
enterprise's industry's segments - price_weight x ln(its cost per task), as the enterprise's
overseas-access class perceives them (an overseas model carries the risk premium and quality
discount). Everything is a table over groups, a group being an (access class, industry) pair:

* a lab's **everyday model** for a group is its candidate of highest utility: its
  flagship-eligible frontier models on offer (or, for a lab with none on offer, its other
  flagship-eligible models: Google's Gemini 1.0 Pro in early 2024, Mistral's budget line, a
  CN lab's overseas models), among those the group may use. A lab's new model becomes the
  everyday one when it is worth its price to that industry, not merely because it is the
  most able (GPT-5.5 at twice GPT-5.4's price does not take every customer);
* at a **re-evaluation** an enterprise rates each lab by its everyday model's utility, adds a
  switching cost to the lab it has, and draws its vendor from the logit probabilities (a
  random-utility choice: the same offer does not make every firm switch at once).

Re-evaluating all enterprises is a gather, a softmax and an inverse-CDF draw.
"""

from __future__ import annotations

import numpy as np

from routesim.config import TIERS

FRONTIER = TIERS.index("frontier")


def model_tables(cost: np.ndarray, success: np.ndarray, segment_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(I, M) cost per task and mean success of every model on each industry's mix of segments."""
    return segment_weight @ cost, segment_weight @ success


def everyday_models(cost: np.ndarray, success: np.ndarray, usable: np.ndarray, model_provider: np.ndarray,
                    model_tier: np.ndarray, n_providers: int, quality_weight: float, price_weight: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Each lab's everyday model per group and its utility: (G, P) model index (-1: none) and (G, P) utility.

    ``cost`` and ``success`` are (G, M) per group and model as the group perceives them;
    ``usable`` (G, M) marks the models on offer, flagship-eligible and allowed to the group.
    A lab's candidates are its usable frontier models, or all its usable models if it has no
    usable frontier model. The highest utility wins; ties go to the cheaper, then the first.
    """
    n_groups = cost.shape[0]
    utility = quality_weight * success - price_weight * np.log(np.where(usable, cost, 1.0))
    mine = model_provider[None, :] == np.arange(n_providers)[:, None]  # (P, M)
    candidate = usable[:, None, :] & mine[None, :, :]  # (G, P, M)
    frontier = candidate & (model_tier == FRONTIER)[None, None, :]
    candidate = np.where(frontier.any(axis=2, keepdims=True), frontier, candidate)
    # lexicographic: utility (high), then cost (low), then index (low)
    score = np.where(candidate, utility[:, None, :], -np.inf)
    best = score.max(axis=2, keepdims=True)
    tied = candidate & (score == best)
    cheapest = np.where(tied, cost[:, None, :], np.inf).min(axis=2, keepdims=True)
    pick = tied & (cost[:, None, :] == cheapest)
    everyday = np.where(candidate.any(axis=2), pick.argmax(axis=2), -1)
    value = np.where(everyday >= 0, best[..., 0], -np.inf)
    assert value.shape == (n_groups, n_providers)
    return everyday, value


def choose_vendor(utility: np.ndarray, group: np.ndarray, current: np.ndarray, switching_cost: np.ndarray | float,
                  uniforms: np.ndarray) -> np.ndarray:
    """The preferred provider after re-evaluation, drawn from the logit probabilities.

    ``utility`` (G, P) rates each lab for each group (-inf: no everyday model); the lab an
    enterprise has gets ``switching_cost`` on top. One U(0, 1) per enterprise picks by
    inverse CDF; an enterprise with no candidate keeps its vendor.
    """
    util = utility[group].copy()
    util[np.arange(len(group)), current] += switching_cost
    has_any = np.isfinite(util).any(axis=1)
    top = np.max(np.where(has_any[:, None], util, 0.0), axis=1, keepdims=True)
    weight = np.exp(util - top)  # exp(-inf) = 0 for labs without an everyday model
    cdf = np.cumsum(weight, axis=1)
    chosen = (cdf <= uniforms[:, None] * cdf[:, -1:]).sum(axis=1)
    chosen = np.minimum(chosen, util.shape[1] - 1)
    # guard the last bin against rounding: never pick a provider without an everyday model
    chosen = np.where(np.isfinite(util[np.arange(len(group)), chosen]), chosen, np.argmax(util, axis=1))
    return np.where(has_any, chosen, current)
