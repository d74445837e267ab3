"""Vendors and everyday models: which lab an enterprise buys from, and which of its models it uses.

One utility rates a model for an enterprise: quality_weight x its mean success on the
enterprise's industry's segments - price_weight x ln(its cost per task), as the enterprise's
overseas-access class perceives them (an overseas model carries the risk premium and quality
discount). Everything is a table over groups, a group being an (access class, industry) pair:

* a lab's **everyday model** for a group is its candidate of highest utility among its
  flagship-eligible models on offer that the group may use: by default
  (``switching.everyday_from: frontier_first``) its frontier models, or, for a lab with none
  on offer, its others (Google's Gemini 1.0 Pro in early 2024, Mistral's budget line, a CN
  lab's overseas models); ``any_tier`` lets every tier compete (GPT-3.5 Turbo could then be
  OpenAI's everyday model, as Gemini 1.0 Pro is Google's). A lab's new model becomes the
  everyday one when it is worth its price to that industry, not merely because it is the
  most able (GPT-5.5 at twice GPT-5.4's price does not take every customer);
* at a **re-evaluation** an enterprise rates each lab by its everyday model's utility, adds a
  switching cost to the lab it has, and draws its vendor from the logit probabilities (a
  random-utility choice: the same offer does not make every firm switch at once);
* a **specialist lab** (``switching.specialist_family``, e.g. coding): an enterprise that does
  not route buys that family's tasks from a lab of its own choosing, drawn at the same
  re-evaluations by the same logit on the labs' everyday models for that family alone (its
  primary may win it too); the rest of its work goes to its primary.

Re-evaluating all enterprises is a gather, a softmax and an inverse-CDF draw.
"""

from __future__ import annotations

import numpy as np

from routesim.config import TIERS, ConfigError

FRONTIER = TIERS.index("frontier")


def model_tables(cost: np.ndarray, success: np.ndarray, segment_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(I, M) cost per task and mean success of every model on each industry's mix of segments."""
    return segment_weight @ cost, segment_weight @ success


def everyday_models(cost: np.ndarray, success: np.ndarray, usable: np.ndarray, model_provider: np.ndarray,
                    model_tier: np.ndarray, n_providers: int, quality_weight: float, price_weight: float,
                    frontier_first: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Each lab's everyday model per group and its utility: (G, P) model index (-1: none) and (G, P) utility.

    ``cost`` and ``success`` are (G, M) per group and model as the group perceives them;
    ``usable`` (G, M) marks the models on offer, flagship-eligible and allowed to the group.
    A lab's candidates are all its usable models (``frontier_first``: its usable frontier
    models, or all its usable models if it has none). The highest utility wins; ties go to the
    cheaper, then the first. Only the models some group may use are compared (a month offers
    about a third of the catalogue; the others are nobody's candidates).
    """
    n_groups = cost.shape[0]
    offered = np.flatnonzero(usable.any(axis=0))  # ascending: a first candidate stays the first
    if not len(offered):  # nothing usable: one column that is nobody's candidate
        offered = np.arange(1)
    cost, success, usable = cost.take(offered, axis=1), success.take(offered, axis=1), usable.take(offered, axis=1)
    model_provider, model_tier = model_provider.take(offered), model_tier.take(offered)
    utility = quality_weight * success - price_weight * np.log(np.where(usable, cost, 1.0))
    mine = model_provider[None, :] == np.arange(n_providers)[:, None]  # (P, M)
    candidate = usable[:, None, :] & mine[None, :, :]  # (G, P, M)
    if frontier_first:
        frontier = candidate & (model_tier == FRONTIER)[None, None, :]
        candidate = np.where(frontier.any(axis=2, keepdims=True), frontier, candidate)
    # lexicographic: utility (high), then cost (low), then index (low)
    score = np.where(candidate, utility[:, None, :], -np.inf)
    best = score.max(axis=2, keepdims=True)
    tied = candidate & (score == best)
    cheapest = np.where(tied, cost[:, None, :], np.inf).min(axis=2, keepdims=True)
    pick = tied & (cost[:, None, :] == cheapest)
    everyday = np.where(candidate.any(axis=2), offered.take(pick.argmax(axis=2)), -1)
    value = np.where(everyday >= 0, best[..., 0], -np.inf)
    assert value.shape == (n_groups, n_providers)
    return everyday, value


def vendor_constants(utility: np.ndarray, group_weight: np.ndarray, shares: np.ndarray,
                     iterations: int = 2000, tol: float = 1e-10, specialist_utility: np.ndarray | None = None,
                     specialist_weight: np.ndarray | None = None) -> np.ndarray:
    """(P,) each lab's constant in the vendor logit, inverted from observed shares (Berry 1994).

    ``utility`` (G, P) is each group's utility of each lab's everyday model in the month the
    shares describe (-inf: none), ``group_weight`` (G,) the groups' sizes and ``shares`` (P,)
    the labs' observed shares of enterprises (0: the lab is not anchored). The constants make
    the weighted logit choice *among the anchored labs* reproduce their shares (the shares
    observed are among them; a lab outside them on offer that month, e.g. Mistral in 2024-01,
    is not in the denominator and takes its logit share beside them): what the observed
    choices say about a lab beyond quality and price (brand, ecosystem, contracts), and
    whatever the utility index gets wrong about that month. Only differences matter: the
    smallest anchored constant is set to 0, and unanchored labs get 0 too (assumption: a lab
    without an observed share, or entering later, has no advantage over the anchored lab
    with the smallest constant). Groups with no weight or no anchored lab on offer are left
    out. Solved by BLP's contraction xi <- xi + ln(share) - ln(predicted share). With a
    specialist family, the shares observed are of tasks: a group's share ``specialist_weight``
    (G,) of tasks goes to the lab drawn from the logit on ``specialist_utility`` (G, P), the
    rest to its primary's (one constant per lab for both choices).

    Raises ConfigError when an anchored lab has nothing on offer to any group, or when the
    contraction has not converged.
    """
    anchored = shares > 0
    u = utility[:, anchored]
    offered = np.isfinite(u)
    keep = (group_weight > 0) & offered.any(axis=1)
    u, w = u[keep], group_weight[keep] / group_weight[keep].sum()
    if specialist_utility is not None and specialist_weight is not None:
        su, c = specialist_utility[:, anchored][keep], specialist_weight[keep][:, None]
        c = np.where(np.isfinite(su).any(axis=1, keepdims=True), c, 0.0)  # no specialist on offer: all primary
    else:
        su, c = None, 0.0
    lost = ~offered[keep].any(axis=0)
    if lost.any():
        names = np.flatnonzero(anchored)[lost].tolist()
        raise ConfigError(f"switching.vendor_constants=inverted: the labs at positions {names} have an initial "
                          "share (population.preferred_vendor_weights) but no everyday model on offer in the "
                          "first month; give them weight 0 or use switching.vendor_constants=none.")
    target = shares[anchored] / shares[anchored].sum()
    xi = np.zeros(anchored.sum())
    for _ in range(iterations):
        prob = _logit(u + xi)
        if su is not None:
            prob = (1.0 - c) * prob + c * _logit(su + xi)
        step = np.log(target) - np.log(w @ prob)
        xi += step
        if np.abs(step).max() < tol:
            break
    else:
        raise ConfigError("switching.vendor_constants=inverted: the inversion of the initial vendor shares did not "
                          f"converge in {iterations} steps (the utilities may be too far apart: lower "
                          "switching.quality_weight or switching.price_weight).")
    out = np.zeros(utility.shape[1])
    out[anchored] = xi - xi.min()
    return out


def _logit(v: np.ndarray) -> np.ndarray:
    """(G, P) choice probabilities of utilities ``v`` per row (-inf: not on offer; a row of -inf gives 0s)."""
    top = v.max(axis=1, keepdims=True)
    prob = np.exp(v - np.where(np.isfinite(top), top, 0.0))
    total = prob.sum(axis=1, keepdims=True)
    return np.divide(prob, total, out=np.zeros_like(prob), where=total > 0)


def choose_vendor(utility: np.ndarray, group: np.ndarray, current: np.ndarray, switching_cost: np.ndarray | float,
                  uniforms: np.ndarray) -> np.ndarray:
    """The preferred provider after re-evaluation, drawn from the logit probabilities.

    ``utility`` (G, P) rates each lab for each group (-inf: no everyday model); the lab an
    enterprise has gets ``switching_cost`` on top. One U(0, 1) per enterprise picks by
    inverse CDF; an enterprise with no candidate keeps its vendor.

    The arrays are laid out (P, n), labs by enterprises: a reduction over a handful of labs
    is then a few whole-row operations instead of a short loop per enterprise (3x faster).
    The exponentials are taken once per group, and the lab an enterprise has is scaled by
    exp(switching_cost) (<= e^100, config.py's bound): the same probabilities as the softmax
    of the utilities with the cost added, except that a lab more than ~745 utility units below
    its group's best (probability < e^-645 even with the cost) counts as 0.
    """
    n = len(group)
    rows = np.arange(n)
    offered = np.isfinite(utility)
    top = np.max(np.where(offered, utility, -np.inf), axis=1, initial=-np.inf)  # (G,)
    top = np.where(np.isfinite(top), top, 0.0)
    base = np.exp(utility - top[:, None])  # (G, P); exp(-inf) = 0 for labs without an everyday model
    weight = np.ascontiguousarray(base.T).take(group, axis=1)  # (P, n)
    weight[current, rows] *= np.exp(switching_cost)
    cdf = weight  # cumulated over the labs in place, as np.cumsum(weight, axis=0) would, lab after lab
    for lab in range(1, len(cdf)):
        cdf[lab] += cdf[lab - 1]
    total = cdf[-1]
    has_any = total > 0
    count = np.count_nonzero(cdf <= uniforms * total, axis=0)
    chosen = np.minimum(count, len(cdf) - 1)
    # a draw past the last bin (rounding) may land on a lab without an everyday model: the lab
    # of highest utility, switching cost included, instead (a draw inside the bins always lands
    # on a positive weight)
    past = np.flatnonzero((count >= len(cdf)) & has_any)
    if len(past):
        last_bad = past[~offered[group[past], chosen[past]]]
        util = utility[group[last_bad]]  # (k, P), the switching cost on the lab held
        util[np.arange(len(last_bad)), current[last_bad]] += np.broadcast_to(switching_cost, (n,))[last_bad]
        chosen[last_bad] = np.argmax(util, axis=1)
    return np.where(has_any, chosen, current)
