"""Run every experiment, analyse it, execute its notebook and write the shipped results report.

Usage: ``python experiments/make_results.py [--experiments id ...] [--reuse]`` (``make results``).
For each experiment of ``conf/experiment/`` at its documented size: ``routesim
+experiment=<id>`` into ``results/sweeps/<id>/<date>_<time>/``, ``routesim-analyze`` on it, and
its notebook (``experiments/<id>.py``, when there is one). Then the curated output, small files
only, goes to ``results/report/`` (committed, so a clone shows the findings without running
anything): ``index.md`` and ``index.html`` (every claim with its verdict, effect with unit and
interval, Holm p within its report and across all claims, links), and per experiment its
``report.md``, ``hypotheses.csv``, figures and executed notebook (HTML). ``--reuse`` takes the
newest existing sweep of an experiment when the claims it was started with are today's (the
same spec hash) and its runs used today's calibrated parameters, instead of running it again.

Across parameter uncertainty: each experiment is also swept over ``--members`` members of the
posterior ensemble (``fitted=posterior``, one seed each, ``--member-agents`` agents) and
analysed with the members as units; ``index.md`` puts the share of members in which each
claim's effect has the claimed sign beside the verdict at the representative point.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent


def experiments() -> list[str]:
    """Every experiment id, H1-H8 first."""
    return sorted((p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml")),
                  key=lambda name: (not name.startswith("h"), name))


def current_hash(name: str) -> str:
    """The spec hash of experiment ``name`` as its file stands today."""
    import dataclasses

    from routesim import compose
    from routesim.analysis.hypotheses import spec_hash

    return spec_hash(dataclasses.asdict(compose([f"+experiment={name}"]).experiment))


def calibrated(config: dict) -> dict[str, float]:
    """The calibrated parameters' values in a run's config (dataclasses.asdict form)."""
    from routesim.calibration import priors

    out = {}
    for key in priors():
        node = config
        for part in key.split("."):
            node = node[part]
        out[key] = float(node)
    return out


def reusable(name: str, sweeps: Path, extra: tuple[str, ...] = (), tag: str = "") -> Path | None:
    """The newest complete sweep of ``name`` started with today's claims (and, when it ran the
    representative point, today's calibrated parameters), if any."""
    import dataclasses

    from routesim import compose

    wanted = current_hash(name)
    point = calibrated(dataclasses.asdict(compose([])))
    for record in sorted((sweeps / (name + tag)).glob("*/experiment.json"), key=lambda p: p.stat().st_mtime,
                         reverse=True):
        if json.loads(record.read_text()).get("hash") != wanted:
            continue
        runs = sorted(record.parent.glob("*/run.json"))
        if not runs:
            continue
        config = json.loads(runs[0].read_text())["config"]
        if extra or calibrated(config) == point:  # member sweeps carry their own parameters
            return record.parent
    return None


def run(cmd: list[str]) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def sweep_of(name: str, sweeps: Path, reuse: bool, extra: tuple[str, ...] = (), tag: str = "") -> Path:
    """Run (or reuse) and analyse the experiment's sweep; returns its folder.

    ``extra``: further overrides (the member sweep's); ``tag`` names such sweeps' folder.
    """
    where = sweeps / (name + tag)
    folder = reusable(name, sweeps, extra, tag) if reuse else None
    if folder is not None:
        print(f"reusing {folder} (started with today's claims)", flush=True)
    else:
        folder = where / dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        run([str(BIN / "routesim"), f"+experiment={name}", *extra, f"hydra.sweep.dir={folder}"])
    run([str(BIN / "routesim-analyze"), str(folder)])  # today's analysis, also of a reused sweep
    return folder


def member_columns(sweep: Path) -> pd.DataFrame:
    """Per claim, what the posterior members say: share holding the claimed sign, 10-90%."""
    table = pd.read_csv(sweep / "analysis" / "hypotheses.csv")
    # a censored claim (break-even) has no across-members columns: its test pools the runs
    columns = ["hypothesis", "verdict", "members", "members_holding", "member_p10", "member_p90",
               "parameter_variance_share"]
    return table.reindex(columns=columns).rename(columns={"verdict": "members_verdict"})


LEAN_CSS = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
            "pre{background:#f6f6f6;padding:.5em;overflow-x:auto}table{border-collapse:collapse;font-size:13px}"
            "td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}")


def lean_html(ipynb: Path, target: Path) -> None:
    """The executed notebook as a small page: nbconvert's basic template and a few lines of CSS,
    not the ~3,000 lines of JupyterLab styles every full export repeats."""
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="basic").from_notebook_node(nbformat.read(ipynb, as_version=4))
    target.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(ipynb.stem)}</title>"
                      f"<style>{LEAN_CSS}</style></head><body>{body}</body></html>\n")


def curate(name: str, sweep: Path, out: Path) -> pd.DataFrame:
    """Copy the small, readable part of an analysed sweep to ``out/<name>/``; returns its claims."""
    target = out / name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    analysis = sweep / "analysis"
    for pattern in ("report.md", "hypotheses.csv", "attribution_*.csv", "*.png"):
        for path in analysis.glob(pattern):
            shutil.copy2(path, target / path.name)
    if (analysis / f"{name}.ipynb").exists():
        lean_html(analysis / f"{name}.ipynb", target / f"{name}.html")
    claims = pd.read_csv(analysis / "hypotheses.csv")
    claims.insert(0, "experiment", name)
    return claims


def commit_of(sweep: Path) -> str:
    """The commit a sweep's runs were simulated at (from its first run.json)."""
    for record in sorted((ROOT / sweep).glob("*/run.json")):
        return str(json.loads(record.read_text()).get("git_commit", "unknown"))[:12]
    return "unknown"


def index(claims: pd.DataFrame, out: Path, commit: str, sources: dict[str, Path]) -> None:
    """index.md and index.html: every claim, its verdict and effect, Holm across all claims."""
    from routesim.analysis.report import human
    from routesim.analysis.stats import holm

    tested = claims["p"].notna()
    claims.loc[tested, "p_all"] = holm(claims.loc[tested, "p"].to_numpy(float))
    rows = []
    for r in claims.itertuples():
        unit = r.unit if isinstance(r.unit, str) else ""
        if r.kind == "censored":
            effect, control, interval = f"{r.estimate:+.0%} points", f"{r.control_mean:.0%} of runs", ""
        else:
            effect, control = human(r.estimate, unit), human(r.control_mean, unit)
            interval = f"{human(r.ci_low, unit)} to {human(r.ci_high, unit)}"
        row = {"claim": r.hypothesis, "experiment": r.experiment, "what is claimed": r.claim,
               "compares": r.comparison, "unit": unit, "control": control, "effect": effect,
               "relative": f"{r.relative:+.1%}" if pd.notna(r.relative) else "", "95% CI": interval,
               "Holm p (report)": f"{r.p_adjusted:.2g}" if pd.notna(r.p_adjusted) else "",
               "Holm p (all claims)": f"{r.p_all:.2g}" if pd.notna(r.p_all) else "", "verdict": r.verdict,
               "n": r.n}
        if "members_verdict" in claims and pd.notna(r.members_verdict):
            holding = spread = "pooled (censored)"  # a break-even claim pools the member runs in one log-rank test
            if pd.notna(r.members_holding):
                holding = f"{r.members_holding:.0%} of {int(r.members)}"
                spread = f"{human(r.member_p10, unit)} to {human(r.member_p90, unit)}"
            row |= {"posterior members holding": holding, "members' effect, 10-90%": spread,
                    "verdict over members": r.members_verdict}
        rows.append(row)
    table = pd.DataFrame(rows)
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    across = ""
    if "members_verdict" in claims and claims["members"].notna().any():
        n_members = int(claims["members"].max())
        across = (f" Across parameter uncertainty, each experiment is rerun on {n_members} members of the "
                  "calibration's posterior (`fitted=posterior`, one seed each, 2,000 agents): 'posterior members "
                  "holding' is the share of members in which the effect has the claimed sign, beside the members' "
                  "10th-90th percentiles and the test with members as units ('verdict over members').")
    head = (f"Every claim of `conf/experiment/`, tested on the default calibrated market (10,000 agents, "
            f"20 paired seeds each unless its file says otherwise), at the posterior's representative point."
            f"{across} Generated {stamp} at commit `{commit}` by "
            "`make results` (each sweep's own commit is listed under Reports); rerun it to reproduce. Holm's "
            "adjustment within each experiment's report "
            f"and, for reading across, over all {int(tested.sum())} tested claims. Relative: the effect as a "
            "fraction of the control; for a metric in ln points, exp(effect) - 1.")
    links = [f"- [{name}]({name}/report.md)" + (f" · [notebook]({name}/{name}.html)"
                                                   if (out / name / f"{name}.html").exists() else "")
             + f" · sweep `{sources[name]}` (simulated at commit `{commit_of(sources[name])}`)" for name in sources]
    md = ["# routesim results", "", head, "", table.to_markdown(index=False), "", "## Reports", "", *links, ""]
    if (out / "h1_frontier_revenue" / "attribution.png").exists():
        md += ["## Where OpenAI's and Anthropic's revenue went", "",
               "![attribution](h1_frontier_revenue/attribution.png)", ""]
    (out / "index.md").write_text("\n".join(md))
    page = ["<!doctype html><html><head><meta charset='utf-8'><title>routesim results</title>",
            "<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}"
            "th{background:#eee}img{max-width:100%}</style></head><body>",
            "<h1>routesim results</h1>", f"<p>{html.escape(head)}</p>",
            table.to_html(index=False, escape=True, border=0), "<h2>Reports</h2><ul>"]
    for name in sources:
        notebook = (out / name / f"{name}.html").exists()
        page.append(f"<li><a href='{name}/report.md'>{name}</a>"
                    + (f" · <a href='{name}/{name}.html'>notebook</a>" if notebook else "") + "</li>")
    page.append("</ul>")
    if (out / "h1_frontier_revenue" / "attribution.png").exists():
        page += ["<h2>Where OpenAI's and Anthropic's revenue went</h2>",
                 "<img src='h1_frontier_revenue/attribution.png' alt='attribution'>"]
    page.append("</body></html>")
    (out / "index.html").write_text("\n".join(page))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", nargs="+", default=None, help="ids (default: every experiment)")
    parser.add_argument("--reuse", action="store_true", help="reuse a finished sweep started with today's claims")
    parser.add_argument("--sweeps", type=Path, default=ROOT / "results" / "sweeps")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "report")
    parser.add_argument("--members", type=int, default=30,
                        help="posterior members to rerun each experiment on (0: skip; default 30)")
    parser.add_argument("--member-agents", type=int, default=2000, help="agents per member run (default 2000)")
    args = parser.parse_args()
    names = args.experiments or experiments()
    unknown = sorted(set(names) - set(experiments()))
    if unknown:
        parser.exit(2, f"make_results: no experiment {', '.join(unknown)}; allowed: {', '.join(experiments())}\n")
    from routesim.cli import git_commit

    args.out.mkdir(parents=True, exist_ok=True)
    frames, sources = [], {}
    for name in names:
        sweep = sweep_of(name, args.sweeps, args.reuse)
        if (HERE / f"{name}.py").exists():
            run([sys.executable, str(HERE / "run_notebooks.py"), name, "--sweep", str(sweep)])
        claims = curate(name, sweep, args.out)
        if args.members > 0:
            extra = ("fitted=posterior", f"fitted.member=range(0,{args.members})", "seed=range(0,1)",
                     f"population.n_enterprises={args.member_agents}", "output.plots=false")
            members = sweep_of(name, args.sweeps, args.reuse, extra, tag="_posterior")
            claims = claims.merge(member_columns(members), on="hypothesis", how="left")
        frames.append(claims)
        sources[name] = sweep.relative_to(ROOT) if sweep.is_relative_to(ROOT) else sweep
    index(pd.concat(frames, ignore_index=True), args.out, git_commit(), sources)
    print(f"wrote {args.out}/index.md and index.html")


if __name__ == "__main__":
    main()
