"""Incumbents and entrants: how far a lab's share can fall while few enterprises switch.

Menlo's shares (OpenAI 50% of enterprise usage at end-2023, 34% in Nov-2024) moved while only
~11% of builders switched vendor in a year. In routesim an enterprise buys from one primary
vendor at a time (and, with ``switching.specialist_family``, one task family from a specialist
lab), so a lab's share falls through switches, specialist choices, or entrants choosing others.
:func:`incumbent_split` steps the market to a month and splits it: the enterprises already
buying in the first month (incumbents) against those that entered since, with each group's
share of the month's tasks, its share on the lab, and the incumbents' switching. The lab's
share from incumbents alone is a floor that no entrant choice can lower (README
"Calibration", "Why Nov-2024 stays out of reach").

``python -m routesim.analysis.incumbents [--month 2024-11] [--lab openai] [--seeds 3]
[--agents 10000] [overrides]`` prints the split (mean over seeds).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd


def incumbent_split(month: str = "2024-11", lab: str = "openai", seed: int = 0, agents: int = 10000,
                    overrides: list[str] | None = None) -> dict[str, float]:
    """The incumbents' and entrants' part in ``lab``'s share of tasks in ``month`` (one seed).

    Shares are of real enterprises (agent weights, by primary vendor) or of their tasks that
    month (the lab's part: its primary's tasks less a specialist family placed elsewhere, plus
    that family where it is the specialist; routing ignored). ``floor`` is the lab's share of
    all tasks that comes from incumbents alone.
    """
    from routesim.compose import compose
    from routesim.config import ConfigError
    from routesim.model import MarketModel

    model = MarketModel(compose([f"population.n_enterprises={agents}", f"seed={seed}", "output.plots=false",
                                 f"end={month}", *(overrides or [])]))
    ids = model.catalog.provider_ids
    if lab not in ids:
        raise ConfigError(f"lab={lab!r}: not a provider of the catalogue; allowed: {', '.join(ids)}")
    k = ids.index(lab)
    incumbent = model.active.copy()  # buying in the first month
    model.step()  # month 0 draws the first vendors
    first = model.preferred.copy()
    while model.t < model.n_months:
        model.step()
    active, w = model.active, model.weight
    inc, ent = incumbent & active, ~incumbent & active
    primary = model.preferred == k
    # the lab's part of each enterprise's tasks: its primary's, less a specialist family placed elsewhere
    part = primary.astype(float)
    if model.split is not None:
        family = model.split[1].sum(axis=1)[model.population.industry]
        part = (1.0 - family) * primary + family * (model.specialist == k)
    tasks = w * model.tasks
    on_lab = primary

    def share(num: np.ndarray, den: np.ndarray) -> float:
        total = den.sum()
        return float(num.sum() / total) if total > 0 else float("nan")

    inc_tasks = share(tasks[inc], tasks[active])
    inc_on_lab = share((tasks * part)[inc], tasks[inc])
    return {
        "incumbents_share_of_enterprises": share(w[inc], w[active]),
        "incumbents_share_of_tasks": inc_tasks,
        "incumbents_on_lab_at_start": share(w[inc & (first == k)], w[inc]),
        "incumbents_on_lab_now": share(w[inc & on_lab], w[inc]),
        "incumbents_switched": share(w[inc & (model.preferred != first)], w[inc]),
        "incumbents_lab_share_of_their_tasks": inc_on_lab,
        "entrants_on_lab": share(w[ent & on_lab], w[ent]),
        "entrants_lab_share_of_their_tasks": share((tasks * part)[ent], tasks[ent]),
        "lab_share_of_tasks": share((tasks * part)[active], tasks[active]),
        "floor": inc_tasks * inc_on_lab,
    }


def main(argv: list[str] | None = None) -> None:
    """Print :func:`incumbent_split` averaged over seeds."""
    from routesim.cli import at_least

    parser = argparse.ArgumentParser(prog="python -m routesim.analysis.incumbents",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--month", default="2024-11", help="the month to split (YYYY-MM; 2024-11)")
    parser.add_argument("--lab", default="openai", help="the provider (openai)")
    parser.add_argument("--seeds", type=at_least(1), default=3, help="seeds 0..n-1 (3)")
    parser.add_argument("--agents", type=at_least(1), default=10000, help="agents (10000)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. switching.switching_cost=6")
    args = parser.parse_args(argv)
    from routesim.config import ConfigError

    try:
        rows = pd.DataFrame([incumbent_split(args.month, args.lab, s, args.agents, args.overrides)
                             for s in range(args.seeds)])
    except ConfigError as exc:
        parser.error(str(exc))
    print(f"{args.lab} in {args.month}, {args.agents} agents, seeds 0-{args.seeds - 1} (mean, min, max):")
    print(rows.agg(["mean", "min", "max"]).T.round(3).to_string())


if __name__ == "__main__":
    main()
