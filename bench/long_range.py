"""Long-range dependency benchmark: which cell learns to recall across which distance.

Runs ``python -m tagger diagnose long-range`` with the recorded defaults and
writes ``bench/long_range/`` (results.jsonl, long_range.csv/.md/.png). It is
resumable: rerun it after an interruption and only the missing (cell,
distance) runs train. Extra arguments are passed through, e.g.::

    python bench/long_range.py --cells all
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tagger.diagnostics.long_range import main  # noqa: E402

if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--out" not in argv:
        argv += ["--out", str(ROOT / "bench" / "long_range")]
    raise SystemExit(main(argv))
