"""Deterministic development splits for releases that have none.

- :func:`carve_dev`: a seeded random ``fraction`` of the items (CoNLL-2000,
  10% of train sentences), optionally stratified (TREC, 10% of each fine
  label, so coarse and fine tasks share one carve). The dev items keep their
  file order.
- :func:`carve_sst2_dev`: SST-2 rows are phrases of sentences (every node of
  each sentence's parse tree), so a random row split would put phrases of one
  sentence on both sides. Here the dev set is a seeded random ``fraction`` of
  the *sentences* (rows that are no contiguous token span of a longer row), and
  every other row that is a contiguous span of a dev sentence (or a duplicate
  of one) is dropped. No dev row then shares text with a train row, and
  ``train + dev + dropped`` accounts for every row.

Both use ``random.Random(seed)`` (default seed 0) on the items in file order,
so the same file and seed always give the same split.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


def carve_dev(
    items: Sequence[T],
    fraction: float = 0.1,
    seed: int = 0,
    stratify: Callable[[T], Hashable] | None = None,
) -> tuple[list[T], list[T]]:
    """Splits ``items`` into ``(train, dev)``; dev is ``round(fraction * n)`` per stratum."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    groups: dict[Hashable, list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(stratify(item) if stratify else None, []).append(i)
    rng = random.Random(seed)
    chosen: set[int] = set()
    for key in sorted(groups, key=repr):
        indices = groups[key]
        chosen.update(rng.sample(indices, round(len(indices) * fraction)))
    train = [x for i, x in enumerate(items) if i not in chosen]
    dev = [x for i, x in enumerate(items) if i in chosen]
    return train, dev


@dataclass(frozen=True)
class SentenceCarve:
    """Result of :func:`carve_sst2_dev` (rows as indices into the input)."""

    train: list[int]
    dev: list[int]
    dropped: list[int]
    sentences: int  # rows that are whole sentences (distinct token sequences)


def carve_sst2_dev(
    token_rows: Sequence[Sequence[str]], fraction: float = 0.1, seed: int = 0
) -> SentenceCarve:
    """Carves dev *sentences* out of phrase rows; see the module docstring."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    rows = [tuple(r) for r in token_rows]
    first = _first_rows(rows)
    sentences = [rows[i] for i in sentence_rows(rows)]  # file order: the seed alone decides
    dev_sentences = random.Random(seed).sample(sentences, round(len(sentences) * fraction))
    dev_rows = {first[s] for s in dev_sentences}
    near_dev: set[tuple[str, ...]] = set(dev_sentences)
    for sentence in dev_sentences:
        near_dev.update(_spans_in(sentence, first))
    train, dev, dropped = [], [], []
    for i, row in enumerate(rows):
        if i in dev_rows:
            dev.append(i)
        elif row in near_dev:
            dropped.append(i)
        else:
            train.append(i)
    return SentenceCarve(train, dev, dropped, len(sentences))


def sentence_rows(token_rows: Sequence[Sequence[str]]) -> list[int]:
    """Indices of the rows that are whole sentences, in file order.

    A whole sentence is a row that is no contiguous token span of a longer row;
    of duplicate rows only the first counts.
    """
    rows = [tuple(r) for r in token_rows]
    first = _first_rows(rows)
    # Longest first: a row is a sentence unless a sentence seen before contains it.
    inside: set[tuple[str, ...]] = set()
    found: list[int] = []
    for row in sorted(first, key=lambda r: (-len(r), first[r])):
        if row not in inside:
            found.append(first[row])
            inside.update(_spans_in(row, first))
    return sorted(found)


def _first_rows(rows: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
    first: dict[tuple[str, ...], int] = {}
    for i, row in enumerate(rows):
        first.setdefault(row, i)
    return first


def _spans_in(row: tuple[str, ...], known: dict) -> list[tuple[str, ...]]:
    """The proper contiguous sub-spans of ``row`` that are rows themselves."""
    n = len(row)
    spans = (row[i : i + k] for k in range(1, n) for i in range(n - k + 1))
    return [span for span in spans if span in known]
