"""Files that readers may open while they are written: write to a temporary name, rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def default_mode() -> int:
    """The permission bits a plain ``open(path, "w")`` would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file and a rename, with the mode
    a plain write would give (``mkstemp`` makes its files 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, default_mode())
    os.replace(tmp, path)


def json_line(value) -> str:
    """JSON text for one JSONL line: UTF-8 kept, but U+2028 and U+2029 escaped (JavaScript
    reads them as line ends and would break the line)."""
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")

