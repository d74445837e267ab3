"""Execute the experiment notebooks headless into .ipynb and HTML next to their results.

Usage: ``python experiments/run_notebooks.py [name ...] [--sweep FOLDER] [--out FOLDER]``.
Each ``experiments/<name>.py`` (a jupytext percent script) is converted, executed with
nbclient, and written as ``<name>.ipynb`` and ``<name>.html`` to ``--out`` (default: the
sweep's ``analysis/`` folder, or ``results/notebooks/``).
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: all)")
    parser.add_argument("--sweep", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    scripts = [HERE / f"{n}.py" for n in args.names] or sorted(p for p in HERE.glob("h*.py"))
    for script in scripts:
        out = args.out or (args.sweep / "analysis" if args.sweep else HERE.parent / "results" / "notebooks")
        print(f"executed {script.name} -> {execute(script, out, args.sweep)}")


if __name__ == "__main__":
    main()
