"""Model ability on one logit scale, from several public benchmarks (a one-factor item-response model).

Accuracy on a benchmark saturates near 1 (GPQA-Diamond: 0.92-0.95 for every 2026 frontier
model), so it cannot serve as the capability scale: budget models end up within a few
points of the frontier and trend extrapolation runs into the cap, where models tie. routesim
puts every model on an unbounded ability scale instead. Each benchmark b maps a score s to
logits:

    accuracy (share correct, chance c):  y = logit((s - c) / (1 - c))
    index (0-100, e.g. an aggregate):    y = logit(s / 100)
    elo (arena rating):                  y = (s - 1000) ln(10) / 400

and y = slope_b (ability - offset_b) + error, with error variance residual_sd_b^2 (how much
a model's standing on this benchmark departs from its general ability) plus, for an accuracy
on n items, the binomial sampling variance. GPQA-Diamond fixes the scale (slope 1, offset 0),
so an ability of 0 is a model answering half the GPQA questions it cannot guess.

Two steps, kept apart on purpose:

* :func:`fit_scale` estimates every benchmark's slope, offset and residual sd jointly with the
  abilities of a catalogue's models (alternating weighted least squares). It is run once on
  the default catalogue; its result is stored in ``conf/market/default.yaml``
  (``market.benchmarks``), and a test checks that the stored scale is the fit of the stored
  catalogue, so neither drifts alone.
* :func:`abilities` puts each model on that fixed scale from its own scores (a weighted mean
  of its per-benchmark estimates, in closed form). A model's ability does not depend on which
  other models a run has, so a scenario adding a model leaves the others untouched.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import special

from routesim.config import SKILLS, BenchmarkSpec, ModelSpec

ELO_LOGITS_PER_POINT = np.log(10.0) / 400.0


def to_logit(score: float, bench: BenchmarkSpec) -> float:
    """A benchmark score on the logit scale of its own items."""
    if bench.kind == "elo":
        return (score - 1000.0) * ELO_LOGITS_PER_POINT
    share = score / 100.0 if bench.kind == "index" else (score - bench.chance) / (1.0 - bench.chance)
    return float(special.logit(share))


def sampling_variance(score: float, bench: BenchmarkSpec) -> float:
    """Variance of ``to_logit(score)`` from the benchmark's finite number of items (0 if unknown)."""
    if bench.kind != "accuracy" or bench.items <= 0:
        return 0.0
    share = (score - bench.chance) / (1.0 - bench.chance)
    var_share = score * (1.0 - score) / bench.items / (1.0 - bench.chance) ** 2
    return float(var_share / (share * (1.0 - share)) ** 2)  # delta method


def _estimate(scores: Mapping[str, float], scale: Mapping[str, BenchmarkSpec]) -> tuple[float, float]:
    """(ability, its variance) of one model from its scores, given the benchmarks' scale."""
    num = den = 0.0
    for name, score in scores.items():
        bench = scale[name]
        y = to_logit(score, bench)
        # y / slope + offset estimates the ability with variance var(y) / slope^2
        var = (bench.residual_sd**2 + sampling_variance(score, bench)) / bench.slope**2
        weight = 1.0 / max(var, 1e-12)
        num += weight * (y / bench.slope + bench.offset)
        den += weight
    return num / den, 1.0 / den


def ability(spec: ModelSpec, scale: Mapping[str, BenchmarkSpec]) -> float:
    """A catalogue entry's ability: given directly, or estimated from its benchmark scores."""
    if spec.ability is not None:
        return float(spec.ability)
    return _estimate(spec.benchmarks, scale)[0]


def abilities(models: Mapping[str, ModelSpec], scale: Mapping[str, BenchmarkSpec]) -> dict[str, float]:
    """Every model's (general) ability on the market's benchmark scale."""
    return {mid: ability(spec, scale) for mid, spec in models.items()}


def skill_names(scale: Mapping[str, BenchmarkSpec] | None = None) -> tuple[str, ...]:
    """The skills a model has an ability at (``config.SKILLS``; ``general`` first)."""
    return SKILLS


def skill_ability(spec: ModelSpec, scale: Mapping[str, BenchmarkSpec], skill: str) -> float:
    """A model's ability at ``skill``: its general ability, moved towards what its skill benchmarks say.

    A one-factor scale leaves each benchmark a residual (a model better or worse at what that
    benchmark tests than its general ability predicts). For a skill benchmark (SWE-bench for
    coding) that residual is partly real skill: the skill ability is the ability its other
    benchmarks give plus the skill benchmarks' departure from it, shrunk by
    residual_sd^2 / (residual_sd^2 + sampling variance), the share of the departure that is not
    sampling noise. Without a skill score it is the general ability; a model scored only on
    the skill's benchmarks sits where they put it.
    """
    if spec.ability is not None:
        return float(spec.ability)
    own = {b: x for b, x in spec.benchmarks.items() if scale[b].skill == skill}
    rest = {b: x for b, x in spec.benchmarks.items() if scale[b].skill != skill}
    if not own:
        return ability(spec, scale)
    said, said_var = _estimate(own, scale)
    if not rest:
        return said
    base, _ = _estimate(rest, scale)
    # of the departure's variance (residual plus sampling, on the ability scale), the residual's share
    real = float(np.mean([scale[b].residual_sd ** 2 / scale[b].slope ** 2 for b in own]))
    return base + min(real / said_var, 1.0) * (said - base)


def fit_scale(models: Mapping[str, ModelSpec], scale: Mapping[str, BenchmarkSpec], anchor: str = "gpqa_diamond",
              iterations: int = 500, tol: float = 1e-9) -> dict[str, BenchmarkSpec]:
    """Estimate each benchmark's slope, offset and residual sd from the models scored on several benchmarks.

    Leave-one-benchmark-out alternating least squares: for benchmark b, every model scored on b
    and on at least one other benchmark is placed on the current scale by its *other* scores
    (ability x with variance v), and b's line y = slope (x - offset) is fitted by weighted least
    squares with weights 1 / (residual_sd^2 + sampling variance + slope^2 v); its residual sd is
    what the residuals' variance leaves after the sampling and placement variances. Estimating
    b from abilities that do not contain b's own scores avoids fitting the scale to itself (a
    model's ability partly *is* its score on b, which would shrink b's residuals). The ``anchor``
    benchmark keeps slope 1 and offset 0: it defines the scale. ``scale`` gives each
    benchmark's kind, chance and items, and the starting values. Iterates to a fixed point.
    """
    from dataclasses import replace

    current = {name: replace(spec) for name, spec in scale.items()}
    linked = {mid: spec.benchmarks for mid, spec in models.items() if len(spec.benchmarks) >= 2}
    previous = None
    for _ in range(iterations):
        for name, bench in current.items():
            rows = []
            for scores in linked.values():
                if name not in scores:
                    continue
                x, v = _estimate({b: s for b, s in scores.items() if b != name}, current)
                rows.append((x, v, to_logit(scores[name], bench), sampling_variance(scores[name], bench)))
            if len(rows) < 3:
                continue
            x, v, y, svar = (np.array(col) for col in zip(*rows, strict=True))
            if name == anchor:
                slope, intercept = 1.0, 0.0
            else:
                weight = 1.0 / (bench.residual_sd**2 + svar + bench.slope**2 * v)
                xm, ym = np.average(x, weights=weight), np.average(y, weights=weight)
                slope = float(np.sum(weight * (x - xm) * (y - ym)) / np.sum(weight * (x - xm) ** 2))
                slope = max(slope, 0.05)  # a benchmark never falls with ability
                intercept = ym - slope * xm
            resid = y - (slope * x + intercept)
            dof = max(len(rows) - (0 if name == anchor else 2), 1)
            tau2 = float(np.sum(resid**2) / dof - np.mean(svar + slope**2 * v))
            bench.slope, bench.offset = slope, -intercept / slope
            bench.residual_sd = float(np.sqrt(max(tau2, 0.01)))  # floor: 0.1 logit
        state = np.array([(b.slope, b.offset, b.residual_sd) for b in current.values()])
        if previous is not None and np.max(np.abs(state - previous)) < tol:
            break
        previous = state
    return current

def main(argv: list[str] | None = None) -> None:
    """``python -m routesim.ability [overrides]``: fit the benchmark scale of the composed catalogue.

    Prints the ``benchmarks:`` block for ``conf/market/<market>.yaml`` and every model's
    ability (with its standard error) on the fitted scale.
    """
    import sys

    from routesim.compose import compose

    cfg = compose(list(sys.argv[1:] if argv is None else argv))
    fitted = fit_scale(cfg.market.models, cfg.market.benchmarks)
    print("benchmarks:")
    for name, b in fitted.items():
        items = f" items: {b.items}," if b.items else ""
        chance = f" chance: {b.chance:g}," if b.kind == "accuracy" else ""
        skill = f" skill: {b.skill}," if b.skill != "general" else ""
        print(f"  {name}: {{kind: {b.kind},{skill}{chance}{items} slope: {b.slope:.4f}, offset: {b.offset:.4f}, "
              f"residual_sd: {b.residual_sd:.4f}}}")
    skills = skill_names(fitted)
    print(f"\n# ability (standard error) on this scale; then {', '.join(skills[1:])}")
    for mid, spec in cfg.market.models.items():
        if spec.benchmarks:
            value, var = _estimate(spec.benchmarks, fitted)
            extra = " ".join(f"{skill_ability(spec, fitted, s):7.3f}" for s in skills[1:])
            print(f"# {mid:24s} {value:7.3f} ({var ** 0.5:.3f}) {extra}  {sorted(spec.benchmarks)}")


if __name__ == "__main__":
    main()
