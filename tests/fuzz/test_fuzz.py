"""Fuzz tests (Hypothesis): readers and the REST parser fail only with our own errors,
naming file and line (or a 400), and every reader either rejects an input or round-trips it.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tagger.data.errors import DataFormatError, MissingDataError
from tagger.data.registry import read_release_file
from tagger.serving.inputs import ReadStats, read_units
from tagger.serving.rest import RequestLimits, RestError, parse_predict

# TAGGER_FUZZ_EXAMPLES=5000 for a deeper search than the default suite affords
FUZZ = settings(max_examples=int(os.environ.get("TAGGER_FUZZ_EXAMPLES", 60)), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
READERS = [("conll2003", "ner"), ("conll2000", "chunk"), ("wnut17", "ner"),
           ("ud_english", "pos"), ("sst2", "classify"), ("trec", "coarse")]

# bytes that look like the formats often enough to reach their deeper checks
PIECES = st.sampled_from([b"EU", b"NNP", b"B-NP", b"I-PER", b"B-ORG", b"O", b"0", b"1", b"\t",
                          b" ", b"\n", b"\r\n", b"-DOCSTART-", b"_", b"NOUN", b"1\tx\tx\tNOUN",
                          b"LOC:city", b"sentence\tlabel", b"\xff", b"\xc3(", "\ufeff".encode(),
                          "Zürich".encode(), b"#", b"1-2", b"3.1", b"\x00"])
FILES = st.one_of(st.binary(max_size=300), st.lists(PIECES, max_size=60).map(b"".join))


def read(name: str, task: str, data: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.txt"
        path.write_bytes(data)
        try:
            return read_release_file(name, path, task), None
        except DataFormatError as error:
            return None, (error, str(path))


@pytest.mark.parametrize("name,task", READERS)
@FUZZ
@given(data=FILES)
@example(data=b"\x1c")  # whitespace to str.strip, not to bytes.strip
@example(data=b"\xef\xbb\xbf\n")  # a byte-order mark alone
def test_readers_return_examples_or_our_error_naming_the_file(name, task, data):
    examples, failure = read(name, task, data)
    if failure is not None:
        error, path = failure
        assert str(error).startswith(path), str(error)
        assert error.line is None or 1 <= error.line <= data.count(b"\n") + 1
    else:
        assert examples  # an accepted file has at least one example


WORDS = st.text(st.characters(codec="utf-8", exclude_categories=["Z", "C"]), min_size=1,
                max_size=8).filter(lambda w: w.strip() == w and w != "-DOCSTART-")


@st.composite
def chunked_sentences(draw):
    """Sentences with valid IOB2 chunk tags."""
    sentences = []
    for _ in range(draw(st.integers(1, 4))):
        tokens = draw(st.lists(WORDS, min_size=1, max_size=6))
        tags, previous = [], "O"
        for _ in tokens:
            kind = draw(st.sampled_from(["O", "B-NP", "B-VP", "I"]))
            if kind == "I":
                kind = "O" if previous == "O" else "I-" + previous[2:]
            tags.append(kind)
            previous = kind
        sentences.append((tokens, tags))
    return sentences


@FUZZ
@given(sentences=chunked_sentences())
def test_conll2000_round_trip(sentences):
    text = "\n\n".join("\n".join(f"{t} NN {g}" for t, g in zip(tokens, tags, strict=True))
                       for tokens, tags in sentences) + "\n"
    examples, failure = read("conll2000", "chunk", text.encode())
    assert failure is None, failure
    assert [(list(x.tokens), list(x.tags)) for x in examples] == sentences


@FUZZ
@given(sentences=st.lists(st.lists(st.tuples(WORDS, st.sampled_from(["NOUN", "VERB", "X"])),
                                   min_size=1, max_size=5), min_size=1, max_size=4))
def test_conllu_round_trip(sentences):
    blocks = ["\n".join(f"{i}\t{w}\t{w}\t{u}\t_\t_\t0\troot\t_\t_"
                        for i, (w, u) in enumerate(s, 1)) for s in sentences]
    examples, failure = read("ud_english", "pos", ("\n\n".join(blocks) + "\n\n").encode())
    assert failure is None, failure
    assert [list(zip(x.tokens, x.tags, strict=True)) for x in examples] == [
        [tuple(p) for p in s] for s in sentences]


@FUZZ
@given(rows=st.lists(st.tuples(st.lists(WORDS, min_size=1, max_size=6),
                               st.sampled_from(["0", "1"])), min_size=1, max_size=6))
def test_sst2_tsv_round_trip(rows):
    text = "sentence\tlabel\n" + "".join(f"{' '.join(w)} \t{y}\n" for w, y in rows)
    examples, failure = read("sst2", "classify", text.encode())
    assert failure is None, failure
    names = {"0": "negative", "1": "positive"}
    assert [(list(x.tokens), x.label) for x in examples] == [(w, names[y]) for w, y in rows]


@pytest.mark.parametrize("input_format", ["text", "lines", "tokens", "conll"])
@FUZZ
@given(data=FILES)
@example(data=b"\x00" * 64)  # a last line exactly as long as the read limit
def test_serving_inputs_never_fail_and_account_for_every_line(input_format, data):
    stats = ReadStats()
    units = list(read_units(io.BytesIO(data), input_format, stats, max_line_bytes=64))
    assert stats.bytes == len(data)
    if input_format in ("lines", "tokens"):
        lines = [u.line for u in units]
        assert lines == sorted(lines) and (not data or max(lines, default=0) >= 1)
        assert {u.line for u in units} == set(range(1, stats.lines + 1))


@FUZZ
@given(lines=st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\n\r"),
                              max_size=30), max_size=8))
def test_lines_input_round_trips(lines):
    data = "".join(line + "\n" for line in lines).encode()
    units = list(read_units(io.BytesIO(data), "lines", ReadStats()))
    assert [u.text for u in units] == [line.removeprefix("\ufeff") if i == 0 else line
                                       for i, line in enumerate(lines)]


class StubModel:
    """What parse_predict asks of a SavedModel: signatures and their input specs."""

    def __init__(self):
        import tensorflow as tf

        self.specs = {"serving_default": {"sentences": tf.TensorSpec([None], tf.string)},
                      "tag_tokens": {"tokens": tf.TensorSpec([None, None], tf.string)}}
        self.signatures = dict.fromkeys(self.specs)

    def input_specs(self, signature):
        return self.specs[signature]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(["instances", "inputs", "signature_name",
                                                       "b64", "sentences", "tokens", "x"]),
                                      inner, max_size=3), max_leaves=12)


@FUZZ
@given(body=JSON)
def test_rest_parser_answers_or_raises_a_400(body):
    try:
        signature, tensors, _ = parse_predict(StubModel(), body, RequestLimits(8, 16))
    except RestError as error:
        assert error.status == 400 and str(error)
    else:
        assert signature in ("serving_default", "tag_tokens") and tensors


def test_missing_file_is_our_error(tmp_path):
    with pytest.raises(MissingDataError):
        read_release_file("conll2003", tmp_path / "absent", "ner")
