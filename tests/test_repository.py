"""The repository stands alone: no text sends a reader to documents outside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
OUTSIDE = re.compile(r"\bDESIGN\b(?!ed)|\.\./shared|shared/(calibration|mission)"
                     r"|facts(_world)?\.md|STYLE\.md|TOOLING\.md")


def test_no_readme_line_comment_or_docstring_points_outside_the_repository():
    files = [ROOT / "README.md", *ROOT.glob("*/README.md"), *ROOT.glob("conf/**/*.yaml"), *ROOT.glob("src/**/*.py"),
             *ROOT.glob("experiments/*.py"), *ROOT.glob("docs/*.md")]
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}" for path in files
             for n, line in enumerate(path.read_text().splitlines(), 1) if OUTSIDE.search(line)]
    assert not found, "\n".join(found[:20])
