"""The README's Python API example runs as printed, in a fresh isolated process."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO_ROOT


def readme_block(marker: str) -> str:
    """The fenced block that follows ``<!-- marker -->`` in the README."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(rf"<!-- {marker} -->\n```[a-z]*\n(.*?)```", text, re.S)
    assert found, f"README.md has no block after <!-- {marker} -->"
    return found.group(1)


def test_readme_api_example_prints_what_the_readme_shows():
    code = readme_block("api-example")
    # -I: no PYTHONPATH, no user site, no current folder; only the package source is added
    script = f"import sys\nsys.path.insert(0, {str(REPO_ROOT)!r})\n" + code
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == readme_block("api-output")
