"""Sentence splitting, pieces, offsets, spans, and robust line reading (no TensorFlow)."""

from __future__ import annotations

import io
import re

import pytest

from tagger.serving.inputs import ReadStats, read_lines, read_units
from tagger.serving.text import (
    align_tokens,
    entity_spans,
    safe_field,
    split_pieces,
    split_sentences,
)


def _sentences(text):
    return [text[a:b] for a, b in split_sentences(text)]


@pytest.mark.parametrize("text, expected", [
    ("Mr. Smith arrived. He left!  Then?", ["Mr. Smith arrived.", "He left!", "Then?"]),
    ("Dr. J. Watson met e.g. friends. Then.", ["Dr. J. Watson met e.g. friends.", "Then."]),
    ('He said "Stop." Then left...  And ok', ['He said "Stop."', "Then left...", "And ok"]),
    ("version 2.0 is out. it is lower case", ["version 2.0 is out. it is lower case"]),
    ("東京に行った。大阪も。", ["東京に行った。", "大阪も。"]),
    ("   ", []),
    ("no terminator", ["no terminator"]),
])
def test_split_sentences(text, expected):
    assert _sentences(text) == expected


def test_split_pieces_bounds_words_and_chars():
    text = " ".join(f"w{i}" for i in range(1000)) + " " + "x" * 25_000
    pieces = split_pieces(text, max_words=100, max_chars=5000)
    assert all(len(text[a:b].split()) <= 100 for a, b in pieces)
    assert all(b - a <= 5000 for a, b in pieces[:-1])
    assert text[slice(*pieces[-1])] == "x" * 25_000  # a huge word stays one token
    assert "".join(text[a:b] for a, b in pieces).replace(" ", "") == text.replace(" ", "")
    assert split_pieces("short one", 100, 5000) == [(0, 9)]


def test_align_tokens_tolerates_normalised_tokens():
    text = "Hi, “Bob” said Über-Café."
    tokens = ["Hi", ",", '"', "Bob", '"', "said", "über", "-", "Café", ".", "MISSING"]
    spans = align_tokens(text, tokens)
    assert spans[:2] == [(0, 2), (2, 3)] and spans[2] is None and spans[4] is None
    assert text[slice(*spans[3])] == "Bob" and text[slice(*spans[5])] == "said"
    assert text[slice(*spans[6])] == "Über"  # case-insensitive fallback
    assert spans[-1] is None and spans[-2] == (len(text) - 1, len(text))
    assert align_tokens("", []) == []


@pytest.mark.parametrize("tags, spans", [
    (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
    (["I-PER", "I-PER", "I-ORG", "B-ORG"], [("PER", 0, 2), ("ORG", 2, 3), ("ORG", 3, 4)]),
    (["S-LOC", "B-PER", "E-PER", "O"], [("LOC", 0, 1), ("PER", 1, 3)]),
    (["O", "O"], []),
    ([], []),
])
def test_entity_spans(tags, spans):
    assert entity_spans(tags) == spans


def test_safe_field_keeps_columns_intact():
    assert safe_field("a\tb c\x00\u2028") == "a\ufffdb\ufffdc\ufffd\ufffd"
    assert safe_field("") == "_" and safe_field("😀👩‍👩‍👧") == "😀👩‍👩‍👧"


def _lines(data: bytes, limit=1 << 20):
    stats = ReadStats()
    return [(x.number, x.text, x.column, x.part) for x in read_lines(io.BytesIO(data), stats,
                                                                      limit)], stats


def test_read_lines_is_robust():
    data = b"\xef\xbb\xbfone\r\ntwo \xff\xfe bad\n\n\x00ctl\x07\nlast"
    lines, stats = _lines(data)
    assert [t for _, t, _, _ in lines] == ["one", "two \ufffd\ufffd bad", "", "\x00ctl\x07", "last"]
    assert [n for n, *_ in lines] == [1, 2, 3, 4, 5]
    assert stats.lines == 5 and stats.invalid_utf8_lines == 1 and stats.bytes == len(data)
    assert _lines(b"")[0] == []


def test_read_lines_cuts_overlong_lines_at_character_boundaries():
    line = "é" * 10  # 20 bytes
    lines, stats = _lines((line + "\nok\n").encode(), limit=7)
    parts = [x for x in lines if x[0] == 1]
    assert "".join(t for _, t, _, _ in parts) == line and len(parts) > 1
    assert [p for *_, p in parts] == list(range(len(parts)))
    assert parts[1][2] == len(parts[0][1])  # column of the second part
    assert lines[-1][:2] == (2, "ok") and stats.split_lines == 1 and stats.invalid_utf8_lines == 0



@pytest.mark.parametrize("data", [b"x" * 8, b"x" * 16, b"a\n" + b"x" * 8, b"x" * 8 + b"\n"])
def test_read_lines_counts_a_last_line_that_fills_the_limit(data):
    """A final line exactly as long as the read limit, with no newline, is one whole line."""
    lines, stats = _lines(data, limit=8)
    numbers = {n for n, *_ in lines}
    assert numbers == set(range(1, stats.lines + 1)) and stats.bytes == len(data)
    last = "".join(t for n, t, *_ in lines if n == stats.lines)
    assert last == data.rstrip(b"\n").split(b"\n")[-1].decode()

def test_units_per_format():
    data = b"A b.\n\nC d. E f\nwrapped g.\n"
    text = list(read_units(io.BytesIO(data), "text", ReadStats()))
    assert [(u.line, u.column, u.text) for u in text] == [
        (1, 0, "A b."), (3, 0, "C d."), (3, 5, "E f\nwrapped g.")]
    lines = list(read_units(io.BytesIO(data), "lines", ReadStats()))
    assert [u.kind for u in lines] == ["tag", "empty", "tag", "tag"]
    conll = b"-DOCSTART- -X- O\n\nEU NNP B-ORG\nrejects VBZ O\n\n\nPeter NNP B-PER"
    units = list(read_units(io.BytesIO(conll), "conll", ReadStats()))
    assert [u.kind for u in units] == ["docstart", "separator", "tag", "separator",
                                       "separator", "tag"]
    assert units[2].tokens == ["EU", "rejects"] and units[5].source == ["Peter NNP B-PER"]


@pytest.mark.parametrize("values", [
    ["EU", "rejects", "German"], [], [""], ["a b", "c"], ["tab\there", "x"], ["ok", ""],
    ["\u200e", "ü"], ["only"],
])
def test_joined_fields_equal_field_by_field_cleaning(values):
    from tagger.serving.formats import _joined_fields

    assert _joined_fields(values, "O") == " ".join(safe_field(v, "O") for v in values)


def test_decode_rows_cuts_each_row_to_its_length():
    import numpy as np

    from tagger.serving.batch import _decode_rows

    array = np.array([[b"EU", "Zürich".encode(), b""], [b"", b"", b""],
                      [b"\xff", b"a", b"b"]], dtype=object)
    assert _decode_rows(array, [2, 0, 3]) == [["EU", "Zürich"], [], ["\ufffd", "a", "b"]]


def test_offsets_skip_what_the_tokenizer_treats_as_space():
    from tagger.data.tokenizer import _SPACE as TOKENIZER_SPACE
    from tagger.serving.text import SEPARATORS

    ours, theirs = re.compile(f"[{SEPARATORS}]"), re.compile(TOKENIZER_SPACE)
    for code in [*range(0x3100), 0xFEFF]:
        assert bool(ours.fullmatch(chr(code))) == bool(theirs.fullmatch(chr(code))), hex(code)
    text = "Anna\x00Berg met\u2028Bob\x07."
    spans = align_tokens(text, ["Anna", "Berg", "met", "Bob", "."])
    assert [text[a:b] for a, b in spans] == ["Anna", "Berg", "met", "Bob", "."]
