"""Streaming input for file tagging: robust line reading and the records ("units")
each ``--input-format`` makes of the lines.

Nothing here holds more than one record (a line, a paragraph or a CoNLL
sentence, each capped in size) in memory. Input is read as bytes: lines end
at ``\\n`` (a trailing ``\\r`` is dropped), invalid UTF-8 is replaced with
U+FFFD and counted, a leading BOM is dropped, and a physical line longer than
``max_line_bytes`` is cut into parts (``part`` 0, 1, ...) at a character boundary.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from tagger.serving.text import split_sentences

INPUT_FORMATS = ("text", "lines", "tokens", "conll")


@dataclass
class ReadStats:
    lines: int = 0
    bytes: int = 0
    invalid_utf8_lines: int = 0
    split_lines: int = 0


@dataclass
class Line:
    number: int  # 1-based
    text: str
    column: int = 0  # character offset of this part in its physical line
    part: int = 0
    valid_utf8: bool = True  # False: invalid bytes were replaced with U+FFFD


@dataclass
class Unit:
    """One output record: a sentence or line to tag, or an empty record."""

    line: int
    text: str = ""
    column: int = 0
    part: int = 0
    tokens: list[str] | None = None  # given tokens (tokens / conll input)
    source: list[str] | None = None  # conll: the original lines, echoed on output
    kind: str = "tag"  # "tag" | "empty" (an empty record) | "separator" (conll blank line)
    result: dict = field(default_factory=dict)  # filled by tagging


def text_unit(number: int, text: str) -> Unit:
    """One given text as a record: tagged, or an empty record when it is blank."""
    return Unit(number, text) if text.strip() else Unit(number, text, kind="empty")


def _decode(raw: bytes, stats: ReadStats) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        stats.invalid_utf8_lines += 1
        return raw.decode("utf-8", errors="replace")


def _char_boundary(data: bytes) -> int:
    """Length of the longest prefix of ``data`` that does not end inside a UTF-8 character."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return len(data)
        if byte >= 0xC0:  # a lead byte: is its sequence complete?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) if back >= need else len(data) - back
    return len(data)


def read_lines(stream: BinaryIO, stats: ReadStats, max_line_bytes: int = 1 << 20
               ) -> Iterator[Line]:
    """Lines of a binary stream, robustly decoded (see module docstring)."""
    number, part, column, carry = 0, 0, 0, b""
    raw = stream.readline(max_line_bytes)
    while raw or carry:
        stats.bytes += len(raw)
        data, carry = carry + raw, b""
        following = None
        complete = data.endswith(b"\n")
        if not complete:  # look ahead: a line without newline is whole only at end of file
            following = stream.readline(max_line_bytes)
            complete = not following
        if complete:
            body = data[:-1] if data.endswith(b"\n") else data
            body = body[:-1] if body.endswith(b"\r") else body
        else:
            cut = _char_boundary(data) or len(data)
            body, carry = data[:cut], data[cut:]
        invalid_before = stats.invalid_utf8_lines
        text = _decode(body, stats)
        if number == 0 and part == 0 and text.startswith("\ufeff"):
            text = text[1:]
        yield Line(number + 1, text, column, part, stats.invalid_utf8_lines == invalid_before)
        if complete:
            number, part, column = number + 1, 0, 0
            stats.lines += 1
        else:
            stats.split_lines += part == 0
            part, column = part + 1, column + len(text)
        raw = following if following is not None else stream.readline(max_line_bytes)


def _line_units(lines: Iterator[Line], tokens: bool) -> Iterator[Unit]:
    for line in lines:
        if not line.text.strip():
            yield Unit(line.number, line.text, line.column, line.part, kind="empty")
        else:
            yield Unit(line.number, line.text, line.column, line.part,
                       tokens=line.text.split() if tokens else None)


def _conll_units(lines: Iterator[Line], max_tokens: int) -> Iterator[Unit]:
    block: list[Line] = []

    def flush():
        if block:
            tokens = [line.text.split()[0] for line in block]
            yield Unit(block[0].number, " ".join(tokens), tokens=tokens,
                       source=[line.text for line in block])
            block.clear()

    for line in lines:
        if not line.text.strip():
            yield from flush()
            yield Unit(line.number, "", kind="separator")
        elif line.text.split()[0] == "-DOCSTART-":
            yield from flush()
            yield Unit(line.number, "-DOCSTART-", tokens=["-DOCSTART-"], source=[line.text],
                       kind="docstart")
        else:
            block.append(line)
            if len(block) >= max_tokens:  # no blank lines: cut, output is unchanged
                yield from flush()
    yield from flush()


def _text_units(lines: Iterator[Line], max_paragraph_chars: int) -> Iterator[Unit]:
    paragraph: list[Line] = []
    size = 0

    def flush():
        if not paragraph:
            return
        text = "\n".join(line.text for line in paragraph)
        starts, offset = [], 0  # paragraph offset where each line begins
        for line in paragraph:
            starts.append(offset)
            offset += len(line.text) + 1
        index = 0
        for start, end in split_sentences(text):
            while index + 1 < len(starts) and starts[index + 1] <= start:
                index += 1
            line = paragraph[index]
            yield Unit(line.number, text[start:end], line.column + start - starts[index],
                       line.part)
        paragraph.clear()

    for line in lines:
        if not line.text.strip():
            yield from flush()
            size = 0
            continue
        if line.part > 0 and paragraph:  # the rest of an over-long line: its own paragraph
            yield from flush()
            size = 0
        paragraph.append(line)
        size += len(line.text)
        if size >= max_paragraph_chars:
            yield from flush()
            size = 0
    yield from flush()


def read_units(stream: BinaryIO, input_format: str, stats: ReadStats, *,
               max_tokens: int = 512, max_line_bytes: int = 1 << 20) -> Iterator[Unit]:
    """The records of one input stream, in order."""
    lines = read_lines(stream, stats, max_line_bytes)
    if input_format == "lines":
        return _line_units(lines, tokens=False)
    if input_format == "tokens":
        return _line_units(lines, tokens=True)
    if input_format == "conll":
        return _conll_units(lines, max_tokens)
    if input_format == "text":
        return _text_units(lines, max_paragraph_chars=max(max_line_bytes // 4, 1000))
    raise ValueError(f"unknown input format {input_format!r}; expected one of {INPUT_FORMATS}")
