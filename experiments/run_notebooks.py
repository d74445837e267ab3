"""Execute the experiment notebooks headless into .ipynb and HTML next to their results.

Usage: ``python experiments/run_notebooks.py [name ...] [--sweep FOLDER] [--out FOLDER]``.
Each ``experiments/<name>.py`` (a jupytext percent script) is converted, executed with
nbclient, and written as ``<name>.ipynb`` and ``<name>.html`` to ``--out`` (default: the
sweep's ``analysis/`` folder). Without ``--sweep`` each notebook reads the newest sweep of its
experiment under ``results/sweeps/<name>/``; a notebook whose experiment has no sweep yet is
skipped with the command that makes one.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

HERE = Path(__file__).resolve().parent


def execute(script: Path, out: Path, sweep: Path | None = None, timeout: int = 600) -> Path:
    """Run one notebook script; returns the executed .ipynb path."""
    nb = jupytext.read(script)
    if sweep is not None:
        os.environ["ROUTESIM_SWEEP"] = str(sweep.resolve())
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(HERE.parent)}}).execute()
    out.mkdir(parents=True, exist_ok=True)
    ipynb = out / f"{script.stem}.ipynb"
    nbformat.write(nb, ipynb)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (out / f"{script.stem}.html").write_text(html)
    return ipynb


def main() -> None:
    from nbclient.exceptions import CellExecutionError

    from routesim.analysis.sweep import latest_sweep

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: every h*.py)")
    parser.add_argument("--sweep", type=Path, default=None, help="the sweep to read (default: the newest)")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: <sweep>/analysis)")
    parser.add_argument("--sweeps", type=Path, default=HERE.parent / "results" / "sweeps",
                        help="where to look for the newest sweeps (default results/sweeps)")
    args = parser.parse_args()
    known = sorted(p.stem for p in HERE.glob("*.py") if p.stem != "run_notebooks")
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.exit(2, f"run_notebooks: no notebook {', '.join(unknown)}; allowed: {', '.join(known)}\n")
    if args.sweep is not None and not args.sweep.is_dir():
        parser.exit(2, f"run_notebooks: --sweep {args.sweep} is not a folder\n")
    scripts = [HERE / f"{n}.py" for n in args.names] or sorted(p for p in HERE.glob("h*.py"))
    failed, given = 0, os.environ.get("ROUTESIM_SWEEP")
    for script in scripts:
        if given is None:  # execute() sets it for the kernel: not for the next notebook's search
            os.environ.pop("ROUTESIM_SWEEP", None)
        sweep = args.sweep
        if sweep is None and script.stem.startswith("h"):
            try:
                sweep = latest_sweep(script.stem, args.sweeps)
            except FileNotFoundError:
                print(f"skipped {script.name}: no sweep of it yet; run `routesim +experiment={script.stem}` first")
                continue
        out = args.out or (sweep / "analysis" if sweep else HERE.parent / "results" / "notebooks")
        try:
            print(f"executed {script.name} -> {execute(script, out, sweep)}")
        except CellExecutionError as exc:
            failed += 1
            lines = [line for line in str(exc).splitlines() if line.strip()]
            print(f"failed {script.name}: {lines[-1] if lines else exc}")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
