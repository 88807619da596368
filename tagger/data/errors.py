"""Errors raised by the data readers, and the one place that reads text files.

Every reader goes through :func:`read_lines`, so a missing file, an empty file
and a broken UTF-8 sequence fail the same way everywhere, with the file name
(and the line number where there is one)::

    eng.train:1234: expected 4 space-separated columns (token POS chunk NER), got 3: 'EU NNP I-NP'
"""

from __future__ import annotations

from pathlib import Path


class DataFormatError(ValueError):
    """A data file does not have the expected format.

    Attributes:
        path: the file, as given to the reader.
        line: 1-based line number, or None when the problem is the whole file.
        expected: what the reader expected there, in words.
    """

    def __init__(self, path: str | Path, line: int | None, expected: str):
        self.path = str(path)
        self.line = line
        self.expected = expected
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {expected}")

    def __reduce__(self):  # keep the fields when pickled (e.g. by pytest-xdist)
        return (type(self), (self.path, self.line, self.expected))


class MissingDataError(FileNotFoundError):
    """A data file or folder that a dataset needs is not there."""

    def __init__(self, path: str | Path, expected: str):
        self.path = str(path)
        self.expected = expected
        super().__init__(f"{self.path}: not found ({expected})")

    def __str__(self) -> str:
        return f"{self.path}: not found ({self.expected})"

    def __reduce__(self):
        return (type(self), (self.path, self.expected))


class DataSourceError(MissingDataError):
    """TFDS could not provide a dataset (no network, missing extra package...).

    A :class:`MissingDataError`: there are no local files and the download
    failed, so callers that handle missing data handle this too.
    """

    def __init__(self, source: str, message: str):
        super().__init__(source, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def decode_utf8(data: bytes, path: str | Path) -> str:
    """Decodes ``data`` strictly; a broken sequence fails with its line number."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        bad = data[err.start : err.end]
        raise DataFormatError(
            path, line, f"expected UTF-8 text, got the invalid byte sequence {bad!r}"
        ) from None


def read_lines(path: str | Path, what: str, *, data: bytes | None = None) -> list[str]:
    """The lines of a UTF-8 text file, without line ends (LF or CRLF).

    Args:
        path: the file.
        what: what the file should hold, for messages (``"a CoNLL-2003 file"``).
        data: the file's bytes when the caller has read (and repaired) them.

    Raises:
        MissingDataError: the file does not exist.
        DataFormatError: the file is empty or is not valid UTF-8.
    """
    path = Path(path)
    if data is None:
        if not path.is_file():
            raise MissingDataError(path, f"expected {what}")
        data = path.read_bytes()
    text = decode_utf8(data, path)
    if text.startswith("\ufeff"):  # a byte-order mark is not part of the first token
        text = text[1:]
    if not text.strip():  # str.strip: also the Unicode spaces and separators bytes.strip keeps
        raise DataFormatError(path, None, f"file is empty, expected {what}")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final line end
    if "\r" in text:
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    return lines
