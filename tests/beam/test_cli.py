"""Without the Beam extra: `python -m tagger beam` says how to install it, and
`import tagger`, the Python API and every other command still work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter where `import apache_beam` fails as if it were not installed.
WITHOUT_BEAM = """
import sys
sys.modules["apache_beam"] = None  # import apache_beam -> ImportError
from tagger.cli import main
code = main(sys.argv[1:])
assert "apache_beam" not in [m for m in sys.modules if sys.modules[m] is not None]
sys.exit(code)
"""


def _run_without_beam(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_BEAM, *map(str, argv)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_beam_without_the_extra_says_how_to_install_it(tmp_path):
    (tmp_path / "a.txt").write_text("x\n", encoding="utf-8")
    done = _run_without_beam("beam", "models/ner-conll2003", tmp_path / "a.txt",
                             "--output", tmp_path / "out")
    assert done.returncode == 2
    assert "pip install -r requirements-beam.txt" in done.stderr
    assert "Traceback" not in done.stderr and not list(tmp_path.glob("out*"))


def test_help_and_other_commands_need_no_beam(tmp_path):
    assert _run_without_beam("beam", "--help").returncode == 0
    (tmp_path / "a.txt").write_text("Angela Merkel visited Paris .\n", encoding="utf-8")
    done = _run_without_beam("serve", "models/ner-conll2003", tmp_path / "a.txt",
                             "--output-format", "jsonl", "--input-format", "lines")
    assert done.returncode == 0, done.stderr
    assert '"type":"PER"' in done.stdout.replace(" ", "")
