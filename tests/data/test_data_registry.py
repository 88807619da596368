"""Registry and carving on hand-written release folders (no real data needed)."""

import pytest

from tagger.data.carve import carve_dev, carve_sst2_dev, sentence_rows
from tagger.data.errors import DataFormatError, MissingDataError
from tagger.data.examples import TaggedSentence, TextExample
from tagger.data.registry import (
    DATASETS,
    find_local_folder,
    load_dataset,
    read_release_file,
    repeat_sentences,
)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides the shared fixture: no Keras here, so skip its clear_session (a gc pass)."""
    yield


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A data root with tiny hand-written releases of several datasets."""
    monkeypatch.delenv("TAGGER_DATA_DIR", raising=False)
    c3 = tmp_path / "conll2003"
    c3.mkdir()
    (c3 / "eng.train").write_text(
        "-DOCSTART- -X- O O\n\nAnna NNP I-NP I-PER\nmet VBD I-VP O\nBo NNP I-NP B-PER\n\n"
        "Rain NN I-NP O\nin IN I-PP O\nNew NNP I-NP I-LOC\nYork NNP I-NP I-LOC\n"
    )
    (c3 / "eng.testa").write_text("Hi UH I-INTJ O\nOslo NNP I-NP I-LOC\n")
    c2 = tmp_path / "conll2000"
    c2.mkdir()
    (c2 / "train.txt").write_text(
        "".join(f"w{i} NN B-NP\nv{i} VB B-VP\n\n" for i in range(20)))
    trec = tmp_path / "trec"
    trec.mkdir()
    labels = ["HUM:ind"] * 10 + ["NUM:date"] * 10 + ["LOC:city"] * 10 + ["LOC:other"] * 10
    (trec / "train_5500.label").write_text(
        "".join(f"{lab} Question number {i} ?\n" for i, lab in enumerate(labels)))
    return tmp_path


def test_conll2003_is_converted_to_iob2(root):
    data = load_dataset("conll2003", data_dir=root)
    assert data.source == "local" and data.scheme == "IOB2" and data.task == "ner"
    assert list(data.splits) == ["train", "dev"]  # eng.testb absent
    assert data.splits["train"][0] == TaggedSentence(("Anna", "met", "Bo"),
                                                     ("B-PER", "O", "B-PER"))
    assert data.splits["train"][1].tags == ("O", "O", "B-LOC", "I-LOC")
    assert data.labels == ("B-LOC", "B-PER", "I-LOC", "O")  # sorted, over all splits
    assert data.files["eng.train"] == {"split": "train", "sentences": 2, "tokens": 7}
    assert data.carve is None
    pos = load_dataset("conll2003", "pos", data_dir=root)
    assert pos.scheme is None and pos.splits["dev"][0].tags == ("UH", "NNP")
    chunk = load_dataset("conll2003", "chunk", data_dir=root)
    assert chunk.splits["train"][1].tags == ("B-NP", "B-PP", "B-NP", "I-NP")


def test_dataset_folder_itself_and_env_var(root, monkeypatch):
    assert find_local_folder("conll2003", root / "conll2003") == root / "conll2003"
    monkeypatch.setenv("TAGGER_DATA_DIR", str(root))
    assert load_dataset("conll2003").location == str(root / "conll2003")


def test_missing_local_data(root, monkeypatch, tmp_path_factory):
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(MissingDataError, match="eng.train: not found"):
        load_dataset("conll2003", data_dir=empty)  # explicit: no silent TFDS fallback
    monkeypatch.setenv("TAGGER_DATA_DIR", str(empty))
    assert find_local_folder("conll2003") is None  # env var without files: TFDS
    with pytest.raises(MissingDataError, match="wnut17 has no TFDS release"):
        find_local_folder("wnut17")
    with pytest.raises(MissingDataError, match="wnut17train.conll: not found"):
        load_dataset("wnut17", data_dir=empty)


def test_unknown_names(root):
    with pytest.raises(ValueError, match="unknown dataset 'conll'"):
        load_dataset("conll")
    with pytest.raises(ValueError, match=r"has no task 'ner'; choose one of \['chunk', 'pos'\]"):
        load_dataset("conll2000", "ner", data_dir=root)


def test_malformed_file_propagates_with_line(root):
    (root / "conll2003" / "eng.testa").write_text("Hi UH I-INTJ O\nOslo NNP\n")
    with pytest.raises(DataFormatError, match=r"eng\.testa:2: expected 4"):
        load_dataset("conll2003", data_dir=root)


def test_conll2000_dev_is_carved_deterministically(root):
    data = load_dataset("conll2000", data_dir=root)
    assert [len(data.splits[s]) for s in data.splits] == [18, 2]
    assert data.carve["train_before"] == 20 and data.carve["dropped"] == 0
    again = load_dataset("conll2000", data_dir=root)
    assert again.splits == data.splits
    other = load_dataset("conll2000", data_dir=root, seed=1)
    assert other.splits["dev"] != data.splits["dev"]
    train_tokens = {s.tokens for s in data.splits["train"]}
    assert not train_tokens & {s.tokens for s in data.splits["dev"]}


def test_trec_coarse_and_fine_share_one_stratified_carve(root):
    coarse = load_dataset("trec", data_dir=root)
    fine = load_dataset("trec", "fine", data_dir=root)
    assert coarse.labels == ("HUM", "LOC", "NUM")
    assert fine.labels == ("HUM:ind", "LOC:city", "LOC:other", "NUM:date")
    assert [x.tokens for x in coarse.splits["dev"]] == [x.tokens for x in fine.splits["dev"]]
    assert sorted(x.label for x in fine.splits["dev"]) == [
        "HUM:ind", "LOC:city", "LOC:other", "NUM:date"]  # 10% of each fine label
    assert load_dataset("trec", "classify", data_dir=root).task == "coarse"


def test_read_release_file(root):
    items = read_release_file("trec", root / "trec" / "train_5500.label", "fine")
    assert items[0] == TextExample(("Question", "number", "0", "?"), "HUM:ind")
    with pytest.raises(ValueError, match="TFDS only"):
        read_release_file("imdb", root / "x")


def test_carve_dev_stratified_and_validated():
    items = [("a", i) for i in range(30)] + [("b", i) for i in range(10)]
    train, dev = carve_dev(items, 0.1, seed=3, stratify=lambda x: x[0])
    assert sorted(x[0] for x in dev) == ["a", "a", "a", "b"]
    assert sorted(train + dev) == sorted(items) and dev == sorted(dev, key=items.index)
    with pytest.raises(ValueError, match="fraction"):
        carve_dev(items, 1.5)


def test_sst2_carve_keeps_phrases_of_a_sentence_together():
    sentences = [f"s{i} is a fine film number {i}".split() for i in range(30)]
    rows = []
    for s in sentences:  # each sentence with some of its phrases, as in SST
        rows += [s, s[1:], s[:2], s[-1:], s[2:5]]
    rows += [sentences[0]]  # a duplicate sentence
    carve = carve_sst2_dev(rows, fraction=0.2, seed=0)
    assert carve.sentences == 30
    assert sorted(carve.train + carve.dev + carve.dropped) == list(range(len(rows)))
    assert len(carve.dev) == 6
    dev_text = " | ".join(" ".join(rows[i]) for i in carve.dev)
    for i in carve.train:  # no train row is (a span of) a dev sentence
        assert f" {' '.join(rows[i])} " not in f" {dev_text.replace(' | ', '  ')} "
    assert carve_sst2_dev(rows, 0.2, seed=0) == carve


def test_whole_sentences_are_found_and_repeated_phrases_are_not():
    rows = [("a", "fine", "film"), ("fine", "film"), ("film",), ("a", "dull", "one"),
            ("dull",), ("a", "fine", "film"), ("so", "dull")]
    # "so dull" is a sentence: no longer row contains it; the duplicate counts once
    assert sentence_rows(rows) == [0, 3, 6]
    train = [TextExample(tokens, str(len(tokens) % 2)) for tokens in rows]
    repeated = repeat_sentences("sst2", train, 3)
    assert repeated[:len(train)] == train
    assert repeated[len(train):] == [train[0], train[3], train[6]] * 2
    assert repeat_sentences("sst2", train, 1) is train
    with pytest.raises(ValueError, match="trec has no phrase rows"):
        repeat_sentences("trec", train, 2)


def test_registry_contract():
    assert set(DATASETS) == {"conll2003", "conll2000", "ud_english", "wnut17", "sst2", "trec",
                             "imdb", "ag_news"}
    assert DATASETS["conll2003"].tfds_name == "conll2003"
    assert DATASETS["imdb"].tfds_name == "imdb_reviews" and not DATASETS["imdb"].files
    assert DATASETS["ag_news"].tfds_name == "ag_news_subset"
    assert DATASETS["ud_english"].tasks == ("pos", "xpos", "deprel")
