"""Reader for CoNLL column files (CoNLL-2000, CoNLL-2003, WNUT-17).

One token per line, columns separated by one space or one tab, sentences
separated by blank lines (a line of only spaces/tabs counts as blank, as in
``wnut17train.conll``). ``-DOCSTART-`` lines mark documents and are not
tokens. The last sentence may end at the end of the file without a blank line.

Every line is checked: the number of columns, no empty column, and the form of
tags in columns that hold a tag scheme. IOB2 columns are also checked as
sequences (an ``I-X`` must continue a ``B-X``/``I-X``). IOB1 columns are only
checked tag by tag: the CoNLL-2003 release itself has two ``B-MISC`` tags that
strict IOB1 forbids, and conlleval reads them as entity starts. Errors name
the file and line (:class:`~tagger.data.errors.DataFormatError`); no sentence
is ever dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tagger.data.errors import DataFormatError, read_lines
from tagger.data.schemes import find_scheme_error, is_valid_tag


@dataclass(frozen=True)
class ConllLayout:
    """The columns of a CoNLL file.

    Attributes:
        names: feature name of each column, as TFDS names them
            (``tokens``, ``pos``, ``chunks``, ``ner``).
        titles: the columns in words, for error messages.
        separator: ``" "`` or ``"\\t"``.
        schemes: column name -> tag scheme it holds (validated).
    """

    names: tuple[str, ...]
    titles: tuple[str, ...]
    separator: str
    schemes: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        kind = "tab" if self.separator == "\t" else "space"
        return f"{len(self.names)} {kind}-separated columns ({' '.join(self.titles)})"


CONLL2003 = ConllLayout(
    ("tokens", "pos", "chunks", "ner"), ("token", "POS", "chunk", "NER"), " ",
    {"chunks": "IOB1", "ner": "IOB1"},
)
CONLL2000 = ConllLayout(("tokens", "pos", "chunks"), ("token", "POS", "chunk"), " ",
                        {"chunks": "IOB2"})
WNUT17 = ConllLayout(("tokens", "ner"), ("token", "tag"), "\t", {"ner": "IOB2"})


@dataclass(frozen=True)
class ConllSentence:
    """One sentence: ``columns[name]`` is a tuple with one entry per token."""

    columns: dict[str, tuple[str, ...]]
    line: int  # line number of the first token, for messages

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))


def read_conll(path: str | Path, layout: ConllLayout) -> list[ConllSentence]:
    """Reads and validates a CoNLL column file.

    Raises:
        MissingDataError: no such file.
        DataFormatError: the file is empty, not UTF-8, has no sentence, or a
            line is malformed; the message names the file and line.
    """
    lines = read_lines(path, f"a CoNLL file with {layout.describe()}")
    n = len(layout.names)
    sentences: list[ConllSentence] = []
    rows: list[list[str]] = []
    start = 0
    for number, line in enumerate(lines, 1):
        if not line.strip(" \t") or line.startswith("-DOCSTART-"):
            if rows:
                sentences.append(_sentence(path, layout, rows, start))
                rows = []
            continue
        fields = line.split(layout.separator)
        if len(fields) != n or "" in fields:
            got = f"{len(fields)}" + (" (one empty)" if len(fields) == n else "")
            raise DataFormatError(
                path, number, f"expected {layout.describe()}, got {got}: {line!r}"
            )
        if not rows:
            start = number
        rows.append(fields)
    if rows:
        sentences.append(_sentence(path, layout, rows, start))
    if not sentences:
        raise DataFormatError(path, None, f"no sentences found, expected {layout.describe()}")
    return sentences


def _sentence(path, layout: ConllLayout, rows: list[list[str]], start: int) -> ConllSentence:
    columns = dict(zip(layout.names, (tuple(c) for c in zip(*rows, strict=True)), strict=True))
    for name, scheme in layout.schemes.items():
        tags = columns[name]
        for i, tag in enumerate(tags):
            if not is_valid_tag(tag, scheme):
                raise DataFormatError(
                    path, start + i,
                    f"expected a {scheme} tag (O, B-TYPE or I-TYPE) in the "
                    f"{layout.titles[layout.names.index(name)]} column, got {tag!r}",
                )
        if scheme == "IOB2":
            problem = find_scheme_error(tags, scheme)
            if problem is not None:
                raise DataFormatError(path, start + problem[0], problem[1])
    return ConllSentence(columns, start)


def token_count(sentences: list[ConllSentence]) -> int:
    return sum(len(s) for s in sentences)
