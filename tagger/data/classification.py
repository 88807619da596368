"""Readers for the sentence-classification release files: SST-2 TSV and TREC.

Both releases are already tokenized (PTB style), so tokens are the text split
on whitespace. Labels use the names of the TFDS builders, so local files and
TFDS give the same examples: SST-2 ``0``/``1`` become ``negative``/``positive``
(``glue/sst2``); TREC labels are ``COARSE`` (TREC-6) or ``COARSE:fine``
(TREC-50, the fine name alone is ambiguous: ``ENTY:other`` vs ``NUM:other``).
"""

from __future__ import annotations

import re
from pathlib import Path

from tagger.data.errors import DataFormatError, MissingDataError, read_lines
from tagger.data.examples import TextExample

SST2_LABELS = {"0": "negative", "1": "positive"}
TREC_COARSE = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
_TREC_LABEL = re.compile(r"(ABBR|DESC|ENTY|HUM|LOC|NUM):([a-z]+)")
# The UIUC train_5500.label has one stray 0xF0 byte ("sister\xf0city"); TFDS
# replaces it with a space. A 0xF0 not followed by a continuation byte is never
# valid UTF-8, so only that kind of byte is repaired; other bad bytes still fail.
_STRAY_F0 = re.compile(rb"\xf0(?![\x80-\xbf])")


def read_sst2(path: str | Path) -> list[TextExample]:
    """Reads a GLUE SST-2 ``train.tsv``/``dev.tsv``: header ``sentence<TAB>label``.

    The file has no quoting: each line is split on its one tab.
    """
    what = "a GLUE SST-2 TSV file (header 'sentence<TAB>label', labels 0/1)"
    lines = read_lines(path, what)
    if lines[0].rstrip("\r") != "sentence\tlabel":
        raise DataFormatError(path, 1, f"expected the header 'sentence\\tlabel', got {lines[0]!r}")
    examples = []
    for number, line in enumerate(lines[1:], 2):
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataFormatError(
                path, number,
                f"expected 2 tab-separated columns (sentence label), got {len(fields)}: {line!r}",
            )
        tokens, label = tuple(fields[0].split()), SST2_LABELS.get(fields[1])
        if label is None:
            raise DataFormatError(path, number, f"expected the label 0 or 1, got {fields[1]!r}")
        if not tokens:
            raise DataFormatError(path, number, "expected a non-empty sentence")
        examples.append(TextExample(tokens, label))
    if not examples:
        raise DataFormatError(path, None, f"no examples after the header, expected {what}")
    return examples


def read_trec(path: str | Path, fine: bool = False) -> list[TextExample]:
    """Reads a TREC ``*.label`` file: ``COARSE:fine question tokens ...`` per line.

    Args:
        fine: label with ``COARSE:fine`` (50 classes) instead of ``COARSE`` (6).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(path, "expected a TREC question file ('COARSE:fine question')")
    data = _STRAY_F0.sub(b" ", path.read_bytes())
    lines = read_lines(path, "a TREC question file ('COARSE:fine question')", data=data)
    while lines and not lines[-1].strip():
        lines.pop()  # blank lines at the very end are harmless
    examples = []
    for number, line in enumerate(lines, 1):
        label, _, text = line.strip().partition(" ")
        match = _TREC_LABEL.fullmatch(label)
        if match is None:
            raise DataFormatError(
                path, number,
                f"expected a label COARSE:fine with COARSE in {'/'.join(TREC_COARSE)} and a "
                f"lower-case fine label, then the question; got {line[:60]!r}",
            )
        tokens = tuple(text.split())
        if not tokens:
            raise DataFormatError(path, number, f"expected a question after the label {label!r}")
        examples.append(TextExample(tokens, label if fine else match.group(1)))
    if not examples:
        raise DataFormatError(path, None, "no questions, expected a TREC question file "
                                          "('COARSE:fine question')")
    return examples
