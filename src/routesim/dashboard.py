"""``routesim-dashboard``: explore one scenario against no routing in the browser (Solara).

Choose a scenario, the routing policy and the main parameters; the page runs the market
(:func:`routesim.run`, 2,000 enterprises by default) and, with the same seed and so the same
enterprises and draws, the ``no_routing`` counterfactual, and shows both side by side:
revenue by provider, revenue against usage (token) share by tier, enterprise savings and
adoption, break-even months, and the headline numbers of :func:`routesim.outcomes.scalar_outcomes`.

Plain Solara rather than Mesa's SolaraViz: SolaraViz steps one model and redraws it each
step, while this page compares two finished runs, recomputed whenever a control changes.
Needs the ``dashboard`` extra (``pip install -e '.[dashboard]'``); serves on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import io
import threading
import time
from typing import Any

from matplotlib.figure import Figure

try:
    import solara
    import solara.lab
except ImportError as exc:  # the core install has no Solara
    raise ImportError("the dashboard needs the dashboard extra: pip install -e '.[dashboard]'") from exc

from routesim.analysis.plots import TIER_COLORS
from routesim.calibration import prior_ranges
from routesim.outcomes import scalar_outcomes
from routesim.params import configure, group_options
from routesim.results import Results
from routesim.simulation import run

COUNTERFACTUAL = "no_routing"
END = "2030-12"


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the controls choose; the page recomputes when it changes."""

    scenario: str = "status_quo"
    router: str = "learned"
    seed: int = 0
    n_enterprises: int = 2000
    start: str = "2024-01"  # shown only; set from the config
    imitation_q: float | None = None  # None: the config's (fitted) value
    fee_share_of_spend: float | None = None
    price_elasticity: float | None = None

    def overrides(self) -> dict[str, Any]:
        """The run's parameters for :func:`routesim.run`."""
        out = {"scenario": self.scenario, "router": self.router, "seed": self.seed,
               "population.n_enterprises": self.n_enterprises, "end": END}
        for key, value in (("adoption.imitation_q", self.imitation_q),
                           ("router.fee_share_of_spend", self.fee_share_of_spend),
                           ("demand.price_elasticity", self.price_elasticity)):
            if value is not None:
                out[key] = value
        return out


@dataclasses.dataclass(frozen=True, eq=False)  # compared by identity: it holds DataFrames
class Comparison:
    """The chosen scenario and the no-routing counterfactual with the same seed."""

    settings: Settings
    chosen: Results
    counterfactual: Results
    seconds: float


def compare(settings: Settings) -> Comparison:
    """Run the chosen scenario and ``no_routing`` for the same settings."""
    started = time.perf_counter()
    chosen = run(settings.overrides())
    counterfactual = run({**settings.overrides(), "scenario": COUNTERFACTUAL})
    return Comparison(settings, chosen, counterfactual, time.perf_counter() - started)


# ------------------------------------------------------------------------------ content


def summary_rows(c: Comparison) -> list[tuple[str, str, float, float, str]]:
    """(id, label, chosen, counterfactual, unit) for the headline table; money in USD millions."""
    a, b = scalar_outcomes(c.chosen), scalar_outcomes(c.counterfactual)
    rows = []
    for key in a:
        if a[key] == b[key] == 0 and key != "enterprise_savings_usd":
            continue  # a lab selling nothing in either run
        share = "_usage_share_" in key
        label = ("enterprise savings, whole run" if key == "enterprise_savings_usd"
                 else key.replace("_usd", "").replace("_", " "))
        rows.append((key, label, a[key] * (100 if share else 1e-6), b[key] * (100 if share else 1e-6),
                     "%" if share else "USD M"))
    last = {name: float(r.market["adoption_share"].iloc[-1]) * 100
            for name, r in (("a", c.chosen), ("b", c.counterfactual))}
    rows.append(("adoption_share_end", f"enterprises routing, {END}", last["a"], last["b"], "%"))
    return rows


def summary_html(c: Comparison) -> str:
    """The headline numbers as a table; each cell has an id ``<row>-chosen`` / ``<row>-counterfactual``."""
    head = (f"<tr><th></th><th>{html.escape(c.settings.scenario)}</th><th>{COUNTERFACTUAL}</th>"
            "<th>difference</th><th></th></tr>")
    body = "".join(
        f"<tr><td>{html.escape(label)}</td><td id='{key}-chosen'>{x:,.2f}</td>"
        f"<td id='{key}-counterfactual'>{y:,.2f}</td><td>{x - y:+,.2f}</td><td>{unit}</td></tr>"
        for key, label, x, y, unit in summary_rows(c))
    return f"<table class='rs-summary'>{head}{body}</table>"


def break_even_html(c: Comparison) -> str:
    """Each provider's first month of positive operating income in both runs."""
    a, b = c.chosen.metadata["break_even"], c.counterfactual.metadata["break_even"]
    rows = "".join(f"<tr><td>{html.escape(p)}</td><td>{a[p]['month'] or 'not by ' + END}</td>"
                   f"<td>{b[p]['month'] or 'not by ' + END}</td></tr>" for p in a)
    return (f"<table class='rs-summary'><tr><th>break-even</th><th>{html.escape(c.settings.scenario)}</th>"
            f"<th>{COUNTERFACTUAL}</th></tr>{rows}</table>")


def _pair(title: str) -> tuple[Figure, Any]:
    # no layout engine: constrained layout doubles the cost of drawing, and a run must update fast
    fig = Figure(figsize=(11, 3.4), dpi=90)
    axes = fig.subplots(1, 2, sharey=True)
    fig.subplots_adjust(left=0.07, right=0.99, top=0.84, bottom=0.09, wspace=0.05)
    fig.suptitle(title)
    for ax in axes:
        ax.grid(True, alpha=0.3)
    return fig, axes


def revenue_figure(c: Comparison) -> Figure:
    """API revenue by provider, the chosen scenario and the counterfactual side by side."""
    fig, axes = _pair("API revenue by provider (USD millions per month)")
    for ax, res, name in zip(axes, (c.chosen, c.counterfactual), (c.settings.scenario, COUNTERFACTUAL), strict=True):
        wide = res.providers.pivot(index="month", columns="provider", values="revenue_usd") / 1e6
        for provider in wide.sum().sort_values(ascending=False).index:
            ax.plot(wide.index, wide[provider], label=provider, linewidth=1.5)
        ax.set_title(name, fontsize="medium")
    axes[0].legend(fontsize="small", ncols=2)
    return fig


def tier_figure(c: Comparison) -> Figure:
    """Spend share (solid) against usage share (share of calls, dashed) of each tier, side by side."""
    fig, axes = _pair("Spend share (solid) vs usage share of calls (dashed) by tier, % of the API market")
    for ax, res, name in zip(axes, (c.chosen, c.counterfactual), (c.settings.scenario, COUNTERFACTUAL), strict=True):
        for tier, frame in res.tiers.groupby("tier", sort=False):
            color = TIER_COLORS.get(str(tier))
            ax.plot(frame["month"], 100 * frame["spend_share"], color=color, linewidth=1.8, label=str(tier))
            ax.plot(frame["month"], 100 * frame["usage_share"], color=color, linestyle="--")
        ax.set_title(name, fontsize="medium")
        ax.set_ylim(0, 100)
    axes[0].legend(fontsize="small")
    return fig


def savings_figure(c: Comparison) -> Figure:
    """Enterprise savings against no routing, and the share of enterprises routing, in both runs."""
    fig = Figure(figsize=(11, 3.4), dpi=90)
    left, right = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.07, right=0.99, top=0.9, bottom=0.09, wspace=0.15)
    for res, name, style in ((c.chosen, c.settings.scenario, "-"), (c.counterfactual, COUNTERFACTUAL, "--")):
        ent = res.enterprises
        left.plot(ent["month"], ent["savings_usd"] / 1e6, linestyle=style, label=name)
        right.plot(ent["month"], 100 * ent["adopter_share"], linestyle=style, label=name)
    left.set_title("Enterprise savings vs no routing, net of router costs (USD millions per month)",
                   fontsize="medium")
    right.set_title("Enterprises routing (% of those buying)", fontsize="medium")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    return fig


FIGURES = (revenue_figure, tier_figure, savings_figure)


@dataclasses.dataclass(frozen=True, eq=False)
class View:
    """A comparison and its charts as PNG bytes, made in the task's thread, not while rendering."""

    comparison: Comparison
    charts: tuple[bytes, ...]


def view(settings: Settings) -> View:
    """Run the comparison for ``settings`` and draw its charts."""
    c = compare(settings)
    charts = []
    for figure in FIGURES:
        buffer = io.BytesIO()
        figure(c).savefig(buffer, format="png")
        charts.append(buffer.getvalue())
    return View(c, tuple(charts))


# --------------------------------------------------------------------------------- page


def _defaults() -> Settings:
    cfg = configure({})
    return Settings(start=cfg.start, imitation_q=cfg.adoption.imitation_q,
                    fee_share_of_spend=cfg.router.fee_share_of_spend, price_elasticity=cfg.demand.price_elasticity)


@solara.component
def Page() -> None:  # noqa: N802 - Solara looks for a component named Page
    """The dashboard: controls on the left, the comparison on the right."""
    defaults = solara.use_memo(_defaults, dependencies=[])
    settings, set_settings = solara.use_state(defaults)
    result = solara.lab.use_task(lambda: view(settings), dependencies=[settings])
    q_low, q_high = prior_ranges()["adoption.imitation_q"]

    def update(**changes: Any) -> None:
        set_settings(dataclasses.replace(settings, **changes))

    solara.Title("routesim dashboard")
    solara.Style(".rs-summary td, .rs-summary th {padding: 2px 10px; text-align: right; white-space: nowrap}"
                 " .rs-summary td:first-child {text-align: left}")
    with solara.Sidebar():
        solara.Markdown("### routesim\nA scenario against no routing, same enterprises and seed. The agents are a "
                        "weighted sample of the market: dollars and shares estimate the whole market at any "
                        "number of agents, which only sets the resolution.")
        solara.Select("Scenario", values=[s for s in group_options("scenario") if s != COUNTERFACTUAL],
                      value=settings.scenario, on_value=lambda v: update(scenario=v))
        solara.Select("Routing policy", values=list(group_options("router")), value=settings.router,
                      on_value=lambda v: update(router=v))
        solara.InputInt("Seed", value=settings.seed, on_value=lambda v: update(seed=v))
        solara.SliderInt(f"Enterprises: {settings.n_enterprises:,}", value=settings.n_enterprises, min=500,
                         max=10_000, step=500, on_value=lambda v: update(n_enterprises=v))
        # text fields, not sliders: a slider snaps the calibrated value to its step
        solara.InputFloat(f"Bass imitation q, monthly (prior {q_low:g}..{q_high:g})", value=settings.imitation_q,
                          on_value=lambda v: update(imitation_q=v))
        solara.InputFloat("Router fee, share of spend", value=settings.fee_share_of_spend,
                          on_value=lambda v: update(fee_share_of_spend=v))
        solara.InputFloat("Demand price elasticity", value=settings.price_elasticity,
                          on_value=lambda v: update(price_elasticity=v))
    solara.ProgressLinear(result.pending)
    if result.error:
        solara.Error(f"The run failed: {result.exception}")
    latest: View | None = result.latest  # the last finished view, shown while the next one runs
    if latest is None:
        solara.Text("Running ...")
        return
    c, s = latest.comparison, latest.comparison.settings
    solara.HTML(tag="div", attributes={"id": "status", "data-state": "updating" if result.pending else "done"},
                unsafe_innerHTML=html.escape(
                    f"{s.scenario} vs {COUNTERFACTUAL}, router {s.router}, seed {s.seed}, {s.n_enterprises:,} "
                    f"enterprises, {s.start}..{END}, imitation q {s.imitation_q:g}, router fee "
                    f"{s.fee_share_of_spend:g}, elasticity {s.price_elasticity:g}: both runs took {c.seconds:.1f} s"))
    with solara.Columns([3, 2]):
        solara.HTML(tag="div", unsafe_innerHTML=summary_html(c))
        solara.HTML(tag="div", unsafe_innerHTML=break_even_html(c))
    for chart in latest.charts:
        solara.Image(chart)


def main(argv: list[str] | None = None) -> None:
    """Serve the dashboard (``routesim-dashboard [--host 127.0.0.1] [--port 8765]``)."""
    parser = argparse.ArgumentParser(description="Serve the routesim dashboard (Solara).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    # compose the first page's configs while the server starts (configure caches them)
    first = Settings()
    threading.Thread(target=lambda: [configure({}), *(configure({"scenario": name, "router": first.router})
                                                     for name in (first.scenario, COUNTERFACTUAL))],
                     daemon=True).start()
    from solara.__main__ import cli  # Solara's own command line: `solara run routesim.dashboard`

    cli(["run", "routesim.dashboard", "--host", args.host, "--port", str(args.port), "--production", "--no-open"])
