"""The pipeline's elements as plain Python: no Beam needed."""

from __future__ import annotations

import io

import pytest

from tagger.beam.records import (
    InputError,
    LineElement,
    error_record,
    parse,
    read_file_lines,
    record_counts,
)
from tagger.serving.inputs import Line


def _element(text: str, number: int = 3, **line) -> LineElement:
    return LineElement("corpus/a.txt", Line(number, text, **line))


def test_lines_are_read_with_numbers_and_utf8_validity():
    data = b"one\n\n\xff two\nlast"
    lines = list(read_file_lines("f.txt", io.BytesIO(data), 1 << 20))
    assert [(e.file, e.line.number, e.line.text) for e in lines] == [
        ("f.txt", 1, "one"), ("f.txt", 2, ""), ("f.txt", 3, "\ufffd two"), ("f.txt", 4, "last")]
    assert [e.line.valid_utf8 for e in lines] == [True, True, False, True]


def test_lines_input_gives_one_record_per_line():
    (source, unit), = parse(_element("Angela Merkel spoke ."), "lines")
    assert (source.file, source.line, source.has_id) == ("corpus/a.txt", 3, False)
    assert (unit.line, unit.text, unit.kind) == (3, "Angela Merkel spoke .", "tag")
    (_, empty), = parse(_element("   "), "lines")
    assert empty.kind == "empty"
    with pytest.raises(InputError, match="UTF-8"):
        list(parse(_element("\ufffd", valid_utf8=False), "lines"))


def test_jsonl_input_takes_text_or_tokens_and_keeps_the_id():
    (source, unit), = parse(_element('{"id": [7, "a"], "text": "Hi there"}'), "jsonl")
    assert (source.id, source.has_id, unit.text, unit.tokens) == ([7, "a"], True, "Hi there", None)
    (source, unit), = parse(_element('{"tokens": ["New", "York"]}'), "jsonl")
    assert (source.has_id, unit.text, unit.tokens) == (False, "New York", ["New", "York"])
    assert list(parse(_element("  "), "jsonl")) == []  # a blank line is no record


@pytest.mark.parametrize("line,reason", [
    ("not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object, got list"),
    ('{"id": 1}', 'expected a "text" string'),
    ('{"text": 5}', 'expected a "text" string'),
    ('{"tokens": ["a b"]}', "must not hold empty strings or spaces"),
    ('{"tokens": "a"}', "must be a list of strings"),
])
def test_malformed_jsonl_lines_raise_input_errors_with_a_reason(line, reason):
    with pytest.raises(InputError, match=reason) as error:
        list(parse(_element(line), "jsonl"))
    assert repr(error.value) == str(error.value)  # what Beam's dead letter keeps


def test_error_records_say_where_and_quote_a_bounded_input():
    record = error_record("corpus/a.txt", 3, "too long", "x" * 5000, part=2)
    assert (record["file"], record["line"], record["part"], record["reason"]) == (
        "corpus/a.txt", 3, 2, "too long")
    assert len(record["input"]) == 1000 and record["input_truncated"] is True


def test_record_counts_count_tokens_and_entities_by_type():
    record = {"tokens": ["a", "b", "c"], "entities": [{"type": "PER"}, {"type": "PER"},
                                                      {"type": "LOC"}]}
    assert record_counts(record) == {"records": 1, "tokens": 3, "entities_PER": 2,
                                     "entities_LOC": 1}
    assert record_counts({"text": "two words", "label": "positive"})["tokens"] == 2
