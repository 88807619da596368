"""What flows through the Beam pipeline, as plain Python (no Beam, no TensorFlow).

Elements, in order:

1. ``LineElement``: one physical line (or one part of an over-long line) of
   an input file, with the file it came from and its 1-based number.
2. ``(Source, Unit)``: the record to tag. ``Unit`` is exactly what
   ``serve.py`` builds from the same line, so the pipeline and ``serve.py``
   tag through one code path (``FileTagger.tag_units``); ``Source`` says
   where the record came from.
3. An output record: ``serve.py --output-format jsonl``'s record of the
   unit plus its ``file`` (and, for ``jsonl`` input, its ``id``), or an
   error record ``{"file", "line", "reason", "input"}`` for a line that
   could not be read.

Input formats:

lines  one record per line, as ``serve.py --input-format lines``; an empty
       line gives an empty record. A line that is not valid UTF-8 is an error
       record (``serve.py`` replaces the bytes and counts the line instead).
jsonl  one ``{"id": ..., "text": "..."}`` object per line (``id`` optional:
       any JSON value; ``tokens``, a list of strings, instead of ``text``
       for pre-tokenized input). Blank lines are skipped and counted; any
       other line that is not such an object is an error record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from tagger.serving.formats import jsonl_record
from tagger.serving.inputs import Line, ReadStats, Unit, read_lines, text_unit

INPUT_FORMATS = ("lines", "jsonl")
MAX_ERROR_INPUT_CHARS = 1000  # an error record quotes at most this much of its line


class InputError(ValueError):
    """A line that cannot become a record; its message is the error record's reason."""

    def __repr__(self) -> str:  # Beam's dead-letter output keeps repr(exception)
        return str(self)


@dataclass(frozen=True)
class LineElement:
    file: str
    line: Line


@dataclass(frozen=True)
class Source:
    """Where a record came from: its file and line, and the ``id`` of a JSONL input."""

    file: str
    line: int
    id: object = None
    has_id: bool = False


def read_file_lines(path: str, stream: BinaryIO, max_line_bytes: int) -> Iterator[LineElement]:
    """Every line of one input file (over-long lines in parts, as ``serve.py`` cuts them)."""
    for line in read_lines(stream, ReadStats(), max_line_bytes):
        yield LineElement(path, line)


def _checked_text(element: LineElement) -> str:
    line = element.line
    if not line.valid_utf8:
        raise InputError("the line is not valid UTF-8")
    return line.text


def parse_lines(element: LineElement) -> tuple[Source, Unit]:
    """``lines`` input: the line is the record (an empty line, an empty record)."""
    line = element.line
    text = _checked_text(element)
    unit = text_unit(line.number, text)
    unit.column, unit.part = line.column, line.part
    return Source(element.file, line.number), unit


def parse_jsonl(element: LineElement) -> Iterator[tuple[Source, Unit]]:
    """``jsonl`` input: one object per line; blank lines give nothing."""
    line = element.line
    text = _checked_text(element)
    if line.part:
        raise InputError("the rest of a line longer than the line limit (TagOptions."
                         "max_line_bytes): a JSON object must fit on one line")
    if not text.strip():
        return
    try:
        value = json.loads(text)
    except ValueError as error:
        raise InputError(f"not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise InputError(f"expected a JSON object, got {type(value).__name__}")
    source = Source(element.file, line.number, value.get("id"), "id" in value)
    if "tokens" in value and "text" not in value:
        tokens = value["tokens"]
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise InputError('"tokens" must be a list of strings')
        if any(len(t.split()) != 1 for t in tokens):
            raise InputError('"tokens" must not hold empty strings or spaces')
        unit = Unit(line.number, " ".join(tokens), tokens=list(tokens),
                    kind="tag" if tokens else "empty")
        yield source, unit
        return
    if not isinstance(value.get("text"), str):
        raise InputError('expected a "text" string (or a "tokens" list of strings)')
    yield source, text_unit(line.number, value["text"])


def parse(element: LineElement, input_format: str) -> Iterator[tuple[Source, Unit]]:
    """The records of one line in ``input_format`` (raises InputError for a bad line)."""
    if input_format == "lines":
        yield parse_lines(element)
    else:
        yield from parse_jsonl(element)


def output_record(source: Source, unit: Unit, is_tagger: bool, spans: bool) -> dict:
    """``serve.py``'s JSONL record of ``unit`` with its ``file`` (and ``id``) added."""
    record = jsonl_record(unit, is_tagger, spans, file_label=source.file)
    if source.has_id:
        record = {"id": source.id, **record}
    return record


def error_record(file: str, line: int, reason: str, text: str, *, part: int = 0,
                 source: Source | None = None) -> dict:
    """The error record of a line (or a JSONL object) that could not be read or tagged."""
    record: dict = {"file": file, "line": line}
    if part:
        record["part"] = part
    if source is not None and source.has_id:
        record["id"] = source.id
    record["reason"] = reason
    record["input"] = text[:MAX_ERROR_INPUT_CHARS]
    if len(text) > MAX_ERROR_INPUT_CHARS:
        record["input_truncated"] = True
    return record


def record_counts(record: dict) -> dict[str, int]:
    """The counters one output record adds: records, tokens, entities of each type."""
    counts = {"records": 1}
    tokens = record.get("tokens")
    counts["tokens"] = len(tokens) if tokens is not None else len(record.get("text", "").split())
    for entity in record.get("entities") or ():
        key = f"entities_{entity['type']}"
        counts[key] = counts.get(key, 0) + 1
    return counts
