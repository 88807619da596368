"""Output files that are never half-written and never clobber what they point at.

A regular file (or a path that does not exist yet) is written to a temporary
file in the same folder and renamed over the target when complete, keeping
the target's permission bits (a new file gets the usual ``0666 & ~umask``).
A symlink is followed: its target is written and the link stays a link.
Anything that is not a regular file (a FIFO another program reads, a
terminal, ``/dev/stdout``, ``/dev/null``) is written directly: there is
nothing to rename, and replacing a device node would break it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import TextIO

from tagger.files import default_mode


class SafeOutput:
    """One output path: ``open()`` a text stream, then ``commit()`` or ``abort()``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.stream: TextIO | None = None
        self.temp: Path | None = None
        self.done = False

    @property
    def direct(self) -> bool:
        """Whether the path is written in place (a FIFO, a device, a terminal...)."""
        try:
            return not stat.S_ISREG(os.stat(self.path).st_mode)
        except FileNotFoundError:
            return False

    def open(self) -> TextIO:
        if self.direct:
            self.stream = open(self.path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
            return self.stream
        real = Path(os.path.realpath(self.path))  # a symlink's target; else the path itself
        real.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = stat.S_IMODE(os.stat(real).st_mode)
        except FileNotFoundError:
            mode = default_mode()
        fd, temp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".part")
        os.chmod(temp, mode)
        self.temp, self.real = Path(temp), real
        self.stream = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        return self.stream

    def commit(self) -> None:
        """Flush, and (regular files) rename the finished temporary file into place."""
        if self.stream is None or self.done:
            return
        self.stream.flush()
        if self.temp is not None:
            os.fsync(self.stream.fileno())
        self.stream.close()
        if self.temp is not None:
            os.replace(self.temp, self.real)
        self.done = True

    def abort(self) -> None:
        """Close without publishing: the temporary file goes, the target is untouched."""
        if self.stream is not None and not self.done:
            with contextlib.suppress(OSError):  # disk full: the buffered tail cannot be written
                self.stream.close()
            if self.temp is not None:
                self.temp.unlink(missing_ok=True)
        self.done = True
