"""TFDS path vs local path: the same files give the same examples.

The local TFDS builders run TFDS's own CoNLL machinery offline on the release
files (as manual_dir); :func:`splits_from_builder` is the conversion used for
real TFDS downloads. TFDS stores examples in a hashed order, so splits are
compared as sorted lists.
"""

import pytest
import tensorflow_datasets as tfds

from tagger.data.examples import TextExample
from tagger.data.registry import load_dataset, read_release_file
from tagger.data.tfds_local import LocalConll2003, LocalUDEnglish, build_local
from tagger.data.tfds_source import convert_example, splits_from_builder


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides the shared fixture: no Keras here, so skip its clear_session (a gc pass)."""
    yield


def ordered(items):
    return sorted(items, key=lambda x: (x.tokens, getattr(x, "tags", None)))


def assert_same(tfds_splits, local):
    assert set(tfds_splits) == set(local.splits)
    for split, items in local.splits.items():
        assert len(tfds_splits[split]) == len(items), split
        assert ordered(tfds_splits[split]) == ordered(items), split


CONLL03_TRAIN = (
    "-DOCSTART- -X- O O\n\n"
    "EU NNP I-NP I-ORG\nrejects VBZ I-VP O\nGerman JJ I-NP I-MISC\ncall NN I-NP O\n. . O O\n\n"
    "Peter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\n\n"
    "-DOCSTART- -X- O O\n\n"
    "In IN I-PP O\nthe DT I-NP O\nU.S. NNP I-NP I-LOC\nand CC O O\nFrance NNP I-NP I-LOC\n"
    "Paris NNP I-NP B-LOC\n( ( O O\n\" \" O O\n$ $ I-NP O\n1,000 CD I-NP O\n) ) O O\n"
)
CONLL03_DEV = "Rain NN I-NP O\nhit VBD I-VP O\nOslo NNP I-NP I-LOC\n\nYes UH B-INTJ O\n"


@pytest.mark.parametrize("task", ["ner", "pos", "chunk"])
def test_conll2003_builder_and_local_reader_agree(tmp_path_factory, task):
    root = tmp_path_factory.getbasetemp() / "conll_root"
    folder = root / "conll2003"
    if not folder.exists():
        folder.mkdir(parents=True)
        (folder / "eng.train").write_text(CONLL03_TRAIN)
        (folder / "eng.testa").write_text(CONLL03_DEV)
    builder = build_local(LocalConll2003, folder, root / "tfds")
    # TFDS's reader yields an extra empty example per file; the builder drops it
    assert builder.info.splits["train"].num_examples == 3
    assert builder.info.features["ner"].feature.names[:3] == ["O", "B-PER", "I-PER"]
    via_tfds = splits_from_builder("conll2003", task, builder)
    local = load_dataset("conll2003", task, data_dir=root)
    assert_same(via_tfds, local)
    if task == "ner":
        paris = [s for s in via_tfds["train"] if "Paris" in s.tokens][0]
        assert paris.tags[2:6] == ("B-LOC", "O", "B-LOC", "B-LOC")


CONLLU = (
    "# sent_id = a-1\n# text = I don't know.\n"
    "1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_\n"
    "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_\n"
    "4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_\n"
    "4.1\tknow\tknow\tVERB\tVB\t_\t_\t_\t0:root\tCopyOf=4\n"
    "5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_\n\n"
    "# sent_id = a-2\n1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_\n\n"
)


def test_ud_builder_and_local_reader_agree(tmp_path):
    folder = tmp_path / "ud_english"
    folder.mkdir()
    (folder / "en_ewt-ud-train.conllu").write_text(CONLLU)
    (folder / "en_ewt-ud-dev.conllu").write_text(CONLLU.split("\n\n")[1] + "\n")
    builder = build_local(LocalUDEnglish, folder, tmp_path / "tfds")
    raw = next(iter(tfds.as_numpy(builder.as_dataset(split="dev"))))
    assert raw["idx"] == b"a-2" and list(raw["head"]) == [b"0"]
    via_tfds = splits_from_builder("ud_english", "pos", builder)
    assert_same(via_tfds, load_dataset("ud_english", data_dir=tmp_path))
    first = [s for s in via_tfds["train"] if len(s.tokens) > 1][0]
    assert first.tokens == ("I", "do", "n't", "know", ".")  # no range, no empty node
    xpos = splits_from_builder("ud_english", "xpos", builder)
    assert_same(xpos, load_dataset("ud_english", "xpos", data_dir=tmp_path))
    assert [s for s in xpos["train"] if len(s.tokens) > 1][0].tags == (
        "PRP", "VBP", "RB", "VB", ".")
    deprel = splits_from_builder("ud_english", "deprel", builder)
    assert_same(deprel, load_dataset("ud_english", "deprel", data_dir=tmp_path))
    assert [s for s in deprel["train"] if len(s.tokens) > 1][0].tags == (
        "nsubj", "aux", "advmod", "root", "punct")


def test_classification_conversions_use_tfds_feature_names(tmp_path):
    """Feature specs come from the real TFDS builder classes (no download)."""
    def features(name):
        return tfds.builder(name, data_dir=str(tmp_path)).info.features

    sst2 = features("glue/sst2")
    ex = {"sentence": b"a gentle , funny film ", "label": 1, "idx": 0}
    assert convert_example("sst2", "classify", ex, sst2) == TextExample(
        ("a", "gentle", ",", "funny", "film"), "positive")
    trec = features("trec")
    ex = {"text": b"Who wrote Hamlet ?",
          "label-coarse": trec["label-coarse"].str2int("HUM"),
          "label-fine": trec["label-fine"].str2int("ind")}
    assert convert_example("trec", "fine", ex, trec).label == "HUM:ind"
    news = features("ag_news_subset")
    ex = {"title": b"Stocks rise", "description": b"Shares gained 2%.", "label": 2}
    assert convert_example("ag_news", "classify", ex, news) == TextExample(
        ("Stocks", "rise", "Shares", "gained", "2", "%", "."), "Business")
    imdb = features("imdb_reviews")
    ex = {"text": b"Great film, isn't it?", "label": 1}
    assert convert_example("imdb", "classify", ex, imdb).tokens[-4:] == ("is", "n't", "it", "?")


def test_tfds_failure_is_a_clear_error(monkeypatch, capsys):
    from tagger.data.errors import DataSourceError
    from tagger.data.inspect import main

    def offline(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'cogcomp.org'")

    monkeypatch.delenv("TAGGER_DATA_DIR", raising=False)
    monkeypatch.setattr(tfds, "builder", offline)
    with pytest.raises(DataSourceError, match=r"could not get trec from TFDS \(trec\): "
                       r"ConnectionError: .*pass --data-dir"):
        load_dataset("trec")
    assert main(["--dataset", "imdb"]) == 2
    assert "could not get imdb from TFDS (imdb_reviews)" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.ci
def test_conll2003_real_dev_file_through_tfds_equals_local(data_dir, tmp_path):
    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "eng.testa").symlink_to(data_dir / "conll2003" / "eng.testa")
    builder = build_local(LocalConll2003, folder, tmp_path / "tfds")
    assert list(builder.info.splits) == ["dev"]
    assert builder.info.splits["dev"].num_examples == 3250
    via_tfds = splits_from_builder("conll2003", "ner", builder)["dev"]
    local = read_release_file("conll2003", folder / "eng.testa", "ner")
    assert ordered(via_tfds) == ordered(local)


@pytest.mark.slow
def test_conll2003_real_release_through_tfds_equals_local(data_dir, tmp_path):
    builder = build_local(LocalConll2003, data_dir / "conll2003", tmp_path / "tfds")
    assert builder.info.splits["train"].num_examples == 14041
    assert builder.info.splits["dev"].num_examples == 3250
    assert_same(splits_from_builder("conll2003", "ner", builder),
                load_dataset("conll2003", "ner", data_dir=data_dir))


def test_unreachable_network_fails_within_seconds(tmp_path, monkeypatch):
    """Not prepared and no network: fail at once naming --data-dir (TFDS would retry for
    minutes)."""
    import time

    from tagger.data import tfds_source
    from tagger.data.errors import DataSourceError

    monkeypatch.setattr(tfds_source, "reachable", lambda *a, **k: False)
    started = time.perf_counter()
    with pytest.raises(DataSourceError, match="network is unreachable.*--data-dir"):
        tfds_source.load_splits("trec", "fine", "trec", tfds_data_dir=str(tmp_path))
    assert time.perf_counter() - started < 10


def test_reachable_gives_up_after_its_timeout():
    import socket
    import time

    from tagger.data.tfds_source import reachable

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now: refused at once
    started = time.perf_counter()
    assert reachable(("127.0.0.1", port), timeout=1.0) is False
    assert time.perf_counter() - started < 2
