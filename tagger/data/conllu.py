"""Reader for CoNLL-U files (Universal Dependencies), for UPOS tagging.

Ten tab-separated columns ``ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS
MISC``; ``#`` comment lines (``# sent_id``, ``# text``); sentences end with a
blank line. Only syntactic words (integer IDs) are tokens: multiword-token
ranges (``3-4``, the surface form ``don't`` of the words ``do`` + ``n't``) and
empty nodes (``8.1``, enhanced-graph copies) are validated and skipped.

Checked per line: the column count, the ID form, word IDs counting 1, 2, 3...
in each sentence, a non-empty FORM and a UPOS among the 17 universal tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tagger.data.errors import DataFormatError, read_lines

UPOS_TAGS = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
    "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X",
)
_UPOS = frozenset(UPOS_TAGS)
_COLUMNS = "ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC"
_RANGE = re.compile(r"[1-9][0-9]*-[1-9][0-9]*")
_EMPTY = re.compile(r"(?:0|[1-9][0-9]*)\.[1-9][0-9]*")


@dataclass(frozen=True)
class UDSentence:
    """The syntactic words of one sentence (multiword ranges and empty nodes left out)."""

    sent_id: str
    text: str
    tokens: tuple[str, ...]
    lemmas: tuple[str, ...]
    upos: tuple[str, ...]
    xpos: tuple[str, ...]
    heads: tuple[str, ...]
    deprels: tuple[str, ...]
    line: int  # line number of the first word
    # Every token line as TFDS's conllu-based builder stores it (words, ranges,
    # empty nodes), each as (ID, FORM, LEMMA, UPOS, XPOS, HEAD, DEPREL).
    all_lines: tuple[tuple[str, ...], ...] = ()


def read_conllu(path: str | Path, keep_all_lines: bool = False) -> list[UDSentence]:
    """Reads and validates a CoNLL-U file; errors name the file and line.

    Args:
        keep_all_lines: also keep range and empty-node lines in ``all_lines``
            (what the TFDS builder needs).
    """
    lines = read_lines(path, f"a CoNLL-U file ({_COLUMNS}, tab-separated)")
    sentences: list[UDSentence] = []
    words: list[list[str]] = []
    every: list[tuple[str, ...]] = []
    meta: dict[str, str] = {}
    start = pending = 0  # pending: token lines (of any kind) in the current sentence
    for number, line in enumerate(lines, 1):
        if not line.strip():
            if pending:
                sentences.append(_sentence(path, words, every, meta, start, number))
            words, every, meta, pending = [], [], {}, 0
            continue
        if line.startswith("#"):
            key, sep, value = line[1:].partition("=")
            if sep:
                meta.setdefault(key.strip(), value.strip())
            continue
        fields = line.split("\t")
        if len(fields) != 10:
            raise DataFormatError(
                path, number,
                f"expected 10 tab-separated columns ({_COLUMNS}), got {len(fields)}: {line!r}",
            )
        id_ = fields[0]
        pending += 1
        if id_.isdigit() and id_[0] != "0":
            if int(id_) != len(words) + 1:
                raise DataFormatError(
                    path, number, f"expected word ID {len(words) + 1}, got {id_!r}"
                )
            if not fields[1]:
                raise DataFormatError(path, number, "expected a non-empty FORM column")
            if fields[3] not in _UPOS:
                raise DataFormatError(
                    path, number,
                    f"expected a UPOS tag ({' '.join(UPOS_TAGS)}), got {fields[3]!r}",
                )
            if not words:
                start = number
            words.append(fields)
        elif not (_RANGE.fullmatch(id_) or _EMPTY.fullmatch(id_)):
            raise DataFormatError(
                path, number,
                f"expected an ID like 7 (word), 3-4 (multiword token) or 8.1 (empty node), "
                f"got {id_!r}",
            )
        if keep_all_lines:
            every.append(tuple(fields[i] for i in (0, 1, 2, 3, 4, 6, 7)))
    if pending:
        sentences.append(_sentence(path, words, every, meta, start, len(lines) + 1))
    if not sentences:
        raise DataFormatError(path, None, f"no sentences found, expected {_COLUMNS} lines")
    return sentences


def _sentence(path, words, every, meta, start, end_line) -> UDSentence:
    if not words:
        raise DataFormatError(path, end_line - 1, "expected a sentence with at least one word")
    cols = list(zip(*words, strict=True))
    return UDSentence(
        sent_id=meta.get("sent_id", ""),
        text=meta.get("text", " ".join(cols[1])),
        tokens=cols[1], lemmas=cols[2], upos=cols[3], xpos=cols[4],
        heads=cols[6], deprels=cols[7], line=start, all_lines=tuple(every),
    )
