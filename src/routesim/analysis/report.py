"""``routesim-analyze``: a sweep folder -> stacked dataset, hypothesis table, figures, report."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from routesim.analysis.hypotheses import COLUMNS, by_year, evaluate, spec_hash
from routesim.analysis.plots import SWEEP_PLOTS
from routesim.analysis.sweep import DuplicateRunsError, MixedRunsError, Sweep, load_sweep
from routesim.results import EXPERIMENT_FILE, atomic_write

WORDS = {"less": "lower", "greater": "higher", "two-sided": "different"}
WORDS_CENSORED = {"less": "earlier", "greater": "later", "two-sided": "different"}


def human(value: float, unit: str = "") -> str:
    """A number as a reader wants it: USD in $ with B/M/k, the rest to 4 significant figures."""
    if value is None or not np.isfinite(value):
        return "n/a" if value is None or np.isnan(value) else ("never" if value > 0 else "-inf")
    if unit.startswith("USD"):
        for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= scale:
                return f"{'-' if value < 0 else ''}${abs(value) / scale:,.3g}{suffix}"
        return f"{'-' if value < 0 else ''}${abs(value):.3g}"
    if abs(value) >= 1e6:
        return f"{value:.3e}"
    return f"{value:,.4g}"


def paragraph(row: pd.Series) -> str:
    """The result of one claim in plain words, with units, the control's level and the % change."""
    head = f"**{row['hypothesis']}** — {row['claim']}"
    if row["verdict"] == "no data":
        return f"{head} The sweep has no paired runs for {row['comparison']} ({row['test']})."
    unit = row.get("unit") or ""
    if str(unit).startswith("ln"):  # a difference of logs: exp(estimate) - 1 is the relative change
        pct = f"a factor of {1 + row['relative']:.4f}" if pd.notna(row.get("relative")) else ""
    else:
        pct = f"{row['relative']:+.1%} of the control" if pd.notna(row.get("relative")) else "control level 0"
    if row.get("kind") == "censored":
        return (f"{head} Metric `{row['metric']}` ({unit}), {row['comparison']} over {row['n']} runs each: "
                f"the control reaches it in {row['control_mean']:.0%} of runs, the treatment "
                f"{row['control_mean'] + row['estimate']:.0%} ({row['estimate']:+.0%} points). {row['test']} "
                f"test p = {row['p']:.3g}, Holm-adjusted p = {row['p_adjusted']:.3g} across the report's "
                f"claims. The claim that the treatment's dates are {WORDS_CENSORED[row['alternative']]} is "
                f"**{row['verdict']}** at alpha = {row['alpha']}.")
    members = pd.notna(row.get("members", np.nan))
    units = (f"{row['n']} ensemble members (each the mean of its paired seeds)" if members
             else f"{row['n']} paired seeds")
    spread = (f" The effect lies in the claimed direction in {row['members_holding']:.0%} of the members "
              f"(members' 10th-90th percentiles {human(row['member_p10'], unit)} to {human(row['member_p90'], unit)});"
              f" {row['parameter_variance_share']:.0%} of its variance comes from the parameters, the rest from "
              "seed noise." if members else "")
    floor = 2.0 / 2 ** int(row["n"]) if row.get("test", "").startswith("sign-flip") else 0.0
    if floor > row["alpha"]:  # too few pairs for the test to ever reject
        spread += (f" With {row['n']} pairs the sign-flip test cannot give p below {floor:.3g} (two-sided): "
                   "undecided here means too few seeds, not no effect.")
    return (f"{head} Metric `{row['metric']}` in {unit or 'its own unit'}, {row['comparison']} over {units}: "
            f"the control averages {human(row['control_mean'], unit)}; the treatment differs by "
            f"{human(row['estimate'], unit)} ({pct}; 95% CI {human(row['ci_low'], unit)} to "
            f"{human(row['ci_high'], unit)}; d_z = {row['effect_size']:.2f}). {row['test']} test p = {row['p']:.3g}, "
            f"Holm-adjusted p = {row['p_adjusted']:.3g} across the report's claims. The claim that the treatment "
            f"is {WORDS[row['alternative']]} is **{row['verdict']}** at alpha = {row['alpha']}.{spread}")


LIMITATIONS = """- One calibrated point: the shipped fit meets 14 of its 15 fitting targets on held-out seeds
  (README "Calibration"); the seeds measure Monte Carlo noise only. Across the calibration's
  priors (`fitted=prior_draws`) the effects spread widely (README "Across parameter uncertainty").
- Budgets: from 2026 nearly every simulated budget year overruns (budgets are set from one survey
  year and forecasts do not learn), which makes throttling and the cap-hit push on adoption
  stronger than a market that learns would show.
- Usage share is the share of model calls; spend share the share of API dollars. Revenue is
  the API business the model simulates, not the labs' whole companies."""


def conclusion(table: pd.DataFrame) -> str:
    """One sentence per claim, every number taken from ``table`` (``evaluate``'s output).

    What it compares, the effect with its unit and interval, the relative change, Holm p, verdict.
    """
    lines = []
    for _, r in table.iterrows():
        unit = r.get("unit") if isinstance(r.get("unit"), str) else ""
        if r["verdict"] == "no data":
            lines.append(f"- **{r['hypothesis']}** ({r['claim']}) could not be tested: {r['test']}.")
            continue
        if r.get("kind") == "censored":
            effect = (f"the share of runs reaching it by the horizon goes from {r['control_mean']:.0%} to "
                      f"{r['control_mean'] + r['estimate']:.0%}")
        else:
            rel = f", {r['relative']:+.1%}" if pd.notna(r.get("relative")) else ""
            effect = (f"{r['comparison']} = {human(r['estimate'], unit)} {unit}{rel} (95% CI "
                      f"{human(r['ci_low'], unit)} to {human(r['ci_high'], unit)}; control "
                      f"{human(r['control_mean'], unit)})")
        lines.append(f"- **{r['hypothesis']}**: {r['claim']} Here {effect}; Holm p = {r['p_adjusted']:.2g}: "
                     f"**{r['verdict']}**.")
    return "\n".join(lines)


def claims_markdown(table: pd.DataFrame) -> str:
    """The claims table for a report: units, control level, effect, % change, interval, p, verdict."""
    shown = pd.DataFrame({
        "claim": table["hypothesis"], "metric [unit]": table["metric"] + " [" + table["unit"].fillna("") + "]",
        "control": [human(v, u) for v, u in zip(table["control_mean"], table["unit"].fillna(""), strict=True)],
        "effect": [human(v, u) for v, u in zip(table["estimate"], table["unit"].fillna(""), strict=True)],
        "% of control": [f"{v:+.1%}" if pd.notna(v) else "" for v in table["relative"]],
        "95% CI": [f"{human(lo, u)} to {human(hi, u)}" if pd.notna(lo) else ""
                   for lo, hi, u in zip(table["ci_low"], table["ci_high"], table["unit"].fillna(""), strict=True)],
        "test": table["test"], "Holm p": [f"{p:.3g}" if pd.notna(p) else "" for p in table["p_adjusted"]],
        "verdict": table["verdict"], "n": table["n"]})
    if "members" in table:  # an ensemble sweep: what parameter uncertainty does to the effect
        units = table["unit"].fillna("")
        shown["members in the claimed direction"] = [f"{h:.0%} of {m:.0f}" if pd.notna(m) else ""
                                                     for h, m in zip(table["members_holding"], table["members"],
                                                                     strict=True)]
        shown["member effects p10 to p90"] = [f"{human(lo, u)} to {human(hi, u)}" if pd.notna(lo) else ""
                                              for lo, hi, u in zip(table["member_p10"], table["member_p90"], units,
                                                                   strict=True)]
        shown["variance from parameters"] = [f"{v:.0%}" if pd.notna(v) else ""
                                             for v in table["parameter_variance_share"]]
    return shown.to_markdown(index=False)


def write_report(sweep: Sweep, table: pd.DataFrame, out: Path, command: str, spec: dict | None = None,
                 figures: list[str] | None = None, attributed: dict[str, pd.DataFrame] | None = None) -> Path:
    """report.md: the claims with units and verdicts, one paragraph each, figures, spec hash, command."""
    spec = spec or {}
    title = sweep.experiment.get("name") or "sweep without an experiment"
    lines = [f"# {title}", "",
             f"{len(sweep.runs)} runs ({', '.join(sorted(sweep.runs['scenario'].dropna().unique()))}; "
             f"seeds {sweep.runs['seed'].min()}-{sweep.runs['seed'].max()}).", ""]
    if spec.get("hash"):
        lines += [f"Claims spec hash `{spec['hash']}`" + (
            f"; **at the sweep's start it was `{spec['started']}`: the claims were edited after the sweep began**"
            if spec.get("started") and spec["started"] != spec["hash"] else
            " (the same as at the sweep's start)" if spec.get("started") else
            " (no hash was recorded at the sweep's start)") + ".", ""]
    if spec.get("mixed"):
        lines += [f"**The runs carry {spec['mixed']} different claim specs**; the first run's is tested.", ""]
    if sweep.broken:
        lines += ["Broken runs, skipped:", ""] + [f"- `{f}`: {why}" for f, why in sweep.broken] + [""]
    if len(table):
        lines += ["## Claims", "", claims_markdown(table), ""]
        for _, r in table.iterrows():
            lines += [paragraph(r), ""]
            if r.get("kind") == "censored":
                spec_row = next(h for h in sweep.experiment["hypotheses"] if h["id"] == r["hypothesis"])
                shares = by_year(sweep, spec_row)
                lines += [f"Share of runs whose `{spec_row['column']}` falls by the end of each year:", "",
                          shares.to_markdown(floatfmt=".2f"), ""]
    else:
        lines += ["This sweep tests no claim (it was not started with `+experiment=...`).", ""]
    if attributed:
        lines += ["## Where the labs' revenue went", "",
                  "Routing's effect on each lab's revenue (status_quo minus no_routing, paired by seed, mean "
                  "over seeds; USD millions a year), split into parts that add up to it "
                  "(`routesim.analysis.attribution`).", ""]
        for lab, frame in attributed.items():
            lines += [f"**{lab}**", "", (frame / 1e6).to_markdown(floatfmt=",.0f"), ""]
        if figures is None or figures:
            lines += ["![attribution](attribution.png)", ""]
    figures = list(SWEEP_PLOTS) if figures is None else figures
    if figures:
        lines += ["## Figures", ""] + [f"![{name}]({name}.png)" for name in figures] + [""]
    lines += ["## Reproduce", "", "```bash", command, "```", ""]
    path = out / "report.md"
    atomic_write(path, lambda p: p.write_text("\n".join(lines)))
    return path


def analyze(sweep_dir: Path, out: Path | None = None, alpha: float | None = None, plots: bool = True
            ) -> pd.DataFrame:
    """Stack, test, plot (unless ``plots`` is false) and report a sweep; returns the claims table."""
    out = out or sweep_dir / "analysis"
    out.mkdir(parents=True, exist_ok=True)
    sweep = load_sweep(sweep_dir, progress=sys.stderr.isatty())
    if sweep.runs.empty:
        print(f"routesim-analyze: no complete run under {sweep_dir} ({len(sweep.broken)} broken)", file=sys.stderr)
        raise SystemExit(2)
    for name, frame in sweep.tables.items():
        atomic_write(out / f"{name}.parquet", lambda p, f=frame: f.to_parquet(p, index=False))
    atomic_write(out / "runs.csv", lambda p: sweep.runs.to_csv(p, index=False))
    if sweep.broken:
        atomic_write(out / "broken_runs.csv",
                     lambda p: pd.DataFrame(sweep.broken, columns=["folder", "reason"]).to_csv(p, index=False))
    hypotheses = sweep.experiment.get("hypotheses", [])
    table = (evaluate(sweep, hypotheses, alpha or sweep.experiment.get("alpha", 0.05)) if hypotheses
             else pd.DataFrame(columns=COLUMNS))
    spec = spec_record(sweep, sweep_dir)
    table["spec_hash"] = spec.get("hash", "")
    atomic_write(out / "hypotheses.csv", lambda p: table.to_csv(p, index=False))
    for name, plot in SWEEP_PLOTS.items() if plots else ():
        plot(sweep).savefig(out / f"{name}.png", dpi=110)
    attributed = write_attribution(sweep, out, plots)
    command = (" ".join(shlex.quote(a) for a in ["routesim", *_sweep_overrides(sweep_dir)])
               + f"\nroutesim-analyze {shlex.quote(str(sweep_dir))}")
    write_report(sweep, table, out, command, spec, figures=list(SWEEP_PLOTS) if plots else [],
                 attributed=attributed)
    supported = int((table.get("verdict", pd.Series(dtype=str)) == "supported").sum())
    print(f"routesim-analyze: {len(sweep.runs)} runs, {len(sweep.broken)} broken, {len(table)} hypotheses "
          f"({supported} supported); wrote {out}")
    return table


def write_attribution(sweep: Sweep, out: Path, plot: bool = True) -> dict[str, pd.DataFrame]:
    """For a sweep with status_quo and no_routing runs: where OpenAI's and Anthropic's revenue went.

    Writes ``attribution_<lab>.csv`` (USD per year, mean over seeds) and ``attribution.png``;
    returns the tables (none when the sweep lacks the pair or the labs).
    """
    from routesim.analysis.attribution import attribution, subtitle, waterfall

    scenarios = set(sweep.runs["scenario"])
    if not {"status_quo", "no_routing"} <= scenarios or "models" not in sweep.tables:
        return {}
    labs = [lab for lab in ("openai", "anthropic") if lab in set(sweep.tables["models"]["provider"])]
    tables = {lab: attribution(sweep, lab) for lab in labs}
    for lab, frame in tables.items():
        atomic_write(out / f"attribution_{lab}.csv", lambda p, f=frame: f.to_csv(p))
    if plot and tables:
        fig = waterfall(tables, subtitle=subtitle(sweep, "status_quo", "no_routing"))
        fig.savefig(out / "attribution.png", dpi=110)
    return tables


def spec_record(sweep: Sweep, sweep_dir: Path) -> dict:
    """The claims' hash now and at the sweep's start, and how many different specs the runs carry.

    The start's hash is in ``experiment.json``, written by the launcher callback.
    """
    if not sweep.experiment.get("hypotheses"):
        return {}
    record = {"hash": spec_hash(sweep.experiment)}
    started = sweep_dir / EXPERIMENT_FILE
    if started.is_file():
        try:
            record["started"] = json.loads(started.read_text()).get("hash")
        except (json.JSONDecodeError, AttributeError):
            record["started"] = "unreadable"
    hashes = set(sweep.runs.get("spec_hash", pd.Series(dtype=str)).dropna())
    if len(hashes) > 1:
        record["mixed"] = len(hashes)
    return record


def _sweep_overrides(sweep_dir: Path) -> list[str]:
    multirun = sweep_dir / "multirun.yaml"
    if not multirun.exists():
        return ["-m", "..."]
    import yaml

    task = yaml.safe_load(multirun.read_text()).get("hydra", {}).get("overrides", {}).get("task", [])
    return ["-m", *task]


def not_a_sweep(path: Path) -> str | None:
    """Why ``path`` is not one sweep folder (a single run, or a parent of several sweeps), or None."""
    from routesim.results import RUN_FILE

    if (path / RUN_FILE).is_file() and not (path / "multirun.yaml").is_file():
        return ("is a single run; routesim-analyze compares the runs of a sweep: give the sweep folder "
                "(`routesim -m ...` writes one, holding multirun.yaml and numbered runs).")
    if (path / "multirun.yaml").is_file():
        return None
    nested = sorted(p.parent for p in path.glob("*/**/multirun.yaml"))
    if len(nested) > 1:
        names = ", ".join(str(p.relative_to(path)) for p in nested[:4]) + (", ..." if len(nested) > 4 else "")
        return f"holds {len(nested)} sweeps ({names}); give one of them."
    if len(nested) == 1:
        return f"holds one sweep, {nested[0].relative_to(path)}; give that folder."
    return None


def main(argv: list[str] | None = None) -> None:
    """Console script ``routesim-analyze <sweep folder>``."""
    parser = argparse.ArgumentParser(prog="routesim-analyze", description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="a sweep folder written by `routesim -m ...`")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default <sweep>/analysis)")
    parser.add_argument("--alpha", type=float, default=None, help="significance level (default: the experiment's)")
    args = parser.parse_args(argv)
    if not args.sweep.is_dir():
        parser.error(f"{args.sweep} is not a folder")
    problem = not_a_sweep(args.sweep)
    if problem:
        parser.exit(2, f"routesim-analyze: {args.sweep}: {problem}\n")
    if args.alpha is not None and not 0 < args.alpha < 1:
        parser.error(f"--alpha {args.alpha}: allowed: 0 < alpha < 1")
    out = args.out or args.sweep / "analysis"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.exit(2, f"routesim-analyze: --out {out}: {exc.strerror or exc}\n")
    try:
        analyze(args.sweep, args.out, args.alpha)
    except (DuplicateRunsError, MixedRunsError) as exc:
        print(f"routesim-analyze: {args.sweep}: {exc}.", file=sys.stderr)
        raise SystemExit(2) from None
