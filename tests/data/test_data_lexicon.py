"""Tag lexicons (``--lexicon``): the file format, dataset sources, keys, the table, coverage."""

from __future__ import annotations

from collections import Counter
from functools import partial

import numpy as np
import pytest

from tagger.data.errors import DataFormatError, MissingDataError
from tagger.data.features import normalize_token
from tagger.data.lexicon import (
    check_sources,
    load_lexicon,
    read_lexicon_file,
    split_sources,
)
from tests import synthetic

KEY = partial(normalize_token, lowercase=True, normalize_digits=True)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_file_entries_with_and_without_counts(tmp_path):
    path = write(tmp_path / "lex.tsv", "# a comment\nrun\tVB\t3\n\nrun\tNN\nRun\tNN\t2\n")
    assert list(read_lexicon_file(path)) == [("run", "VB", 3), ("run", "NN", 1),
                                             ("Run", "NN", 2)]


@pytest.mark.parametrize("line, expected", [
    ("run", "expected word<TAB>tag"),
    ("run VB", "expected word<TAB>tag"),  # spaces are not the separator
    ("run\tVB\t3\textra", "expected word<TAB>tag"),
    ("\tVB", "expected word<TAB>tag"),
    ("run\t", "expected word<TAB>tag"),
    ("run\tVB\tmany", "expected a count >= 1 in the third field, got 'many'"),
    ("run\tVB\t0", "expected a count >= 1 in the third field, got '0'"),
])
def test_a_malformed_line_names_file_and_line(tmp_path, line, expected):
    path = write(tmp_path / "lex.tsv", f"the\tDT\n# fine\n{line}\n")
    with pytest.raises(DataFormatError) as caught:
        load_lexicon(str(path), KEY)
    assert caught.value.line == 3 and str(caught.value).startswith(f"{path}:3: ")
    assert expected in str(caught.value)


def test_an_empty_or_comment_only_file_is_an_error(tmp_path):
    with pytest.raises(DataFormatError, match="file is empty"):
        load_lexicon(str(write(tmp_path / "empty.tsv", "")), KEY)
    with pytest.raises(DataFormatError, match="expected lexicon entries, found none"):
        load_lexicon(str(write(tmp_path / "comments.tsv", "# nothing\n")), KEY)


def test_keys_pool_counts_and_the_table_holds_tag_shares(tmp_path):
    path = write(tmp_path / "lex.tsv",
                 "Monitoring\tNN\t3\nmonitoring\tVBG\nmonitoring\tNN\n1990\tCD\n1991\tCD\n")
    lexicon = load_lexicon(str(path), KEY)
    assert lexicon.tags == ["CD", "NN", "VBG"]
    assert lexicon.counts == {"monitoring": Counter(NN=4, VBG=1), "0000": Counter(CD=2)}
    assert lexicon.sources == {str(path): {"tokens": 7}}
    table = lexicon.matrix(["0000", "monitoring", "unseen"])
    # ids: 0 padding, 1 OOV, then the vocabulary
    np.testing.assert_array_equal(table, np.array(
        [[0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 0.8, 0.2], [0, 0, 0]], np.float32))


def test_dataset_sources_read_training_splits_only(tmp_path):
    data = synthetic.write_conll2003(tmp_path / "data", train=20, dev=5)
    extra = write(tmp_path / "lex.tsv", "team\tVB\t20\n")
    lexicon = load_lexicon(f"conll2003:pos, {extra}", KEY, data)
    tokens = sum(1 for line in (data / "conll2003" / "eng.train").read_text().splitlines()
                 if line and not line.startswith("-DOCSTART-"))
    assert lexicon.sources == {"conll2003:pos": {"tokens": tokens}, str(extra): {"tokens": 20}}
    assert lexicon.counts["mr"] == Counter(NNP=20)  # every synthetic sentence starts "Mr"
    assert lexicon.counts["team"]["VB"] == 20 and lexicon.counts["team"]["NN"] > 0
    assert {"NNP", "VBD", "DT", "NN", "IN", "RB", ".", "VB"} == set(lexicon.tags)


def test_source_names_are_checked_before_anything_is_read(tmp_path):
    assert split_sources("none") == []
    assert split_sources(" conll2000:pos ,x.tsv") == ["conll2000:pos", "x.tsv"]
    with pytest.raises(ValueError, match="an empty source"):
        split_sources("conll2000:pos,")
    with pytest.raises(ValueError, match="conll2003 has no tagging task 'upos'"):
        check_sources("conll2003:upos")
    with pytest.raises(ValueError, match="sst2 has no tagging task"):
        check_sources("sst2:classify")
    with pytest.raises(ValueError, match="nowhere.tsv: no such file"):
        check_sources(str(tmp_path / "nowhere.tsv"))
    assert load_lexicon("none", KEY) is None


def test_a_missing_source_dataset_names_the_lexicon_flag(tmp_path, monkeypatch):
    monkeypatch.delenv("TAGGER_DATA_DIR", raising=False)
    # CoNLL-2000 has no TFDS release: without its files the error says what asked for
    # it, from the checks made before anything is read as from the loader itself
    for data_dir in (None, tmp_path):
        for fails in (check_sources, partial(load_lexicon, normalize=KEY)):
            with pytest.raises(MissingDataError, match="conll2000 has no TFDS release.*"
                               "--lexicon conll2000:pos; --lexicon none trains without it"):
                fails("conll2000:pos", data_dir=data_dir)
    # a dataset with a TFDS release is left to TFDS when no data folder is named
    check_sources("conll2003:pos")
    with pytest.raises(MissingDataError, match="conll2003 training file.*--lexicon conll2003"):
        check_sources("conll2003:pos", tmp_path)


def test_coverage_counts_tokens_with_a_row_in_the_vocabulary(tmp_path):
    from types import SimpleNamespace

    from tagger.config import TrainConfig
    from tagger.data.examples import TaggedSentence
    from tagger.training.words import prepare_lexicon

    path = write(tmp_path / "lex.tsv", "the\tDT\ncat\tNN\ndog\tNN\n")
    loaded = SimpleNamespace(splits={
        "train": [TaggedSentence(("The", "cat", "sat"), ("D", "N", "V"))],
        "dev": [TaggedSentence(("the", "dog"), ("D", "N"))]})
    table, info = prepare_lexicon(TrainConfig(lexicon=str(path)), loaded, ["the", "cat", "sat"])
    assert info["token_coverage"] == {"train": pytest.approx(2 / 3, abs=1e-4), "dev": 0.5}
    assert info["vocabulary_rows"] == 2 and table.shape == (5, 2)  # "dog": no vocabulary row
    assert prepare_lexicon(TrainConfig(), loaded, ["the"]) == (None, None)


@pytest.mark.slow
def test_the_penn_treebank_lexicon_of_the_shared_data(data_dir):
    """CoNLL-2000 and CoNLL-2003's POS columns: one lexicon of Penn Treebank tags."""
    from tagger.data.registry import load_dataset

    lexicon = load_lexicon("conll2000:pos,conll2003:pos", KEY, data_dir)
    # CoNLL-2000 has no dev file: its training split is what the 10 % dev carve leaves
    carved = load_dataset("conll2000", "pos", data_dir).splits["train"]
    assert lexicon.sources == {"conll2000:pos": {"tokens": sum(len(x.tokens) for x in carved)},
                               "conll2003:pos": {"tokens": 203_621}}  # eng.train, all of it
    assert len(carved) < 8_936
    assert {"NN", "NNP", "VBG", "VBD", "JJ", "IN", "DT"} <= set(lexicon.tags)
    shares = lexicon.matrix(["the"])[2]
    assert shares[lexicon.tags.index("DT")] > 0.99 and shares.sum() == pytest.approx(1.0)
