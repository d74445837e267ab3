"""``routesim-analyze``: a sweep folder -> stacked dataset, hypothesis table, figures, report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from routesim.analysis.hypotheses import evaluate
from routesim.analysis.plots import SWEEP_PLOTS
from routesim.analysis.sweep import DuplicateRunsError, Sweep, load_sweep
from routesim.results import atomic_write

WORDS = {"less": "lower", "greater": "higher", "two-sided": "different"}


def paragraph(row: pd.Series) -> str:
    """The result of one hypothesis in plain words."""
    if row["verdict"] == "no data":
        return f"**{row['hypothesis']}** ({row['claim']}): the sweep has no paired runs for {row['comparison']}."
    direction = WORDS[row["alternative"]]
    return (f"**{row['hypothesis']}** — {row['claim']} Metric `{row['metric']}`, {row['comparison']} over "
            f"{row['n']} seeds: mean difference {row['estimate']:.4g} (95% CI {row['ci_low']:.4g} to "
            f"{row['ci_high']:.4g}; effect size d_z = {row['effect_size']:.2f}), {row['test']} test, "
            f"p = {row['p']:.3g}, Holm-adjusted p = {row['p_adjusted']:.3g}. The claim that the treatment is "
            f"{direction} is **{row['verdict']}** at alpha = {row['alpha']}.")


def write_report(sweep: Sweep, table: pd.DataFrame, out: Path, command: str) -> Path:
    """report.md with the hypothesis table, one paragraph each, figures and the command."""
    lines = [f"# {sweep.experiment.get('name') or 'Sweep'}: results", "",
             f"{len(sweep.runs)} runs ({', '.join(sorted(sweep.runs['scenario'].dropna().unique()))}; "
             f"seeds {sweep.runs['seed'].min()}-{sweep.runs['seed'].max()}).", ""]
    if sweep.broken:
        lines += ["Broken runs, skipped:", ""] + [f"- `{f}`: {why}" for f, why in sweep.broken] + [""]
    if len(table):
        cols = ["hypothesis", "metric", "comparison", "estimate", "ci_low", "ci_high", "p", "p_adjusted", "verdict",
                "n"]
        lines += ["## Hypotheses", "", table[cols].to_markdown(index=False, floatfmt=".4g"), ""]
        for _, r in table.iterrows():
            lines += [paragraph(r), ""]
    lines += ["## Figures", ""] + [f"![{name}]({name}.png)" for name in SWEEP_PLOTS] + [""]
    lines += ["## Reproduce", "", "```bash", command, "```", ""]
    path = out / "report.md"
    atomic_write(path, lambda p: p.write_text("\n".join(lines)))
    return path


def analyze(sweep_dir: Path, out: Path | None = None, alpha: float | None = None) -> pd.DataFrame:
    """Stack, test, plot and report a sweep; returns the hypothesis table."""
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
    table = evaluate(sweep, hypotheses, alpha or sweep.experiment.get("alpha", 0.05)) if hypotheses else pd.DataFrame()
    atomic_write(out / "hypotheses.csv", lambda p: table.to_csv(p, index=False))
    for name, plot in SWEEP_PLOTS.items():
        plot(sweep).savefig(out / f"{name}.png", dpi=110)
    command = "routesim " + " ".join(_sweep_overrides(sweep_dir)) + f"\nroutesim-analyze {sweep_dir}"
    write_report(sweep, table, out, command)
    supported = int((table.get("verdict", pd.Series(dtype=str)) == "supported").sum())
    print(f"routesim-analyze: {len(sweep.runs)} runs, {len(sweep.broken)} broken, {len(table)} hypotheses "
          f"({supported} supported); wrote {out}")
    return table


def _sweep_overrides(sweep_dir: Path) -> list[str]:
    multirun = sweep_dir / "multirun.yaml"
    if not multirun.exists():
        return ["-m", "..."]
    import yaml

    task = yaml.safe_load(multirun.read_text()).get("hydra", {}).get("overrides", {}).get("task", [])
    return ["-m", *task]


def main(argv: list[str] | None = None) -> None:
    """Console script ``routesim-analyze <sweep folder>``."""
    parser = argparse.ArgumentParser(prog="routesim-analyze", description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="a sweep folder written by `routesim -m ...`")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default <sweep>/analysis)")
    parser.add_argument("--alpha", type=float, default=None, help="significance level (default: the experiment's)")
    args = parser.parse_args(argv)
    if not args.sweep.is_dir():
        parser.error(f"{args.sweep} is not a folder")
    if args.alpha is not None and not 0 < args.alpha < 1:
        parser.error(f"--alpha {args.alpha}: allowed: 0 < alpha < 1")
    out = args.out or args.sweep / "analysis"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.exit(2, f"routesim-analyze: --out {out}: {exc.strerror or exc}\n")
    try:
        analyze(args.sweep, args.out, args.alpha)
    except DuplicateRunsError as exc:
        print(f"routesim-analyze: {args.sweep}: {exc}.", file=sys.stderr)
        raise SystemExit(2) from None
