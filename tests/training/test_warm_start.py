"""--init-from: another run's weights copied where they fit, embeddings row by row."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tagger.config import TrainConfig
from tagger.data.features import CASING_CLASSES, TokenFeatures
from tagger.models import build_sequence_tagger
from tagger.training.warm_start import (
    check_label_map,
    copy_labels,
    copy_rows,
    label_map,
    parse_label_map,
    row_map,
    source_model_path,
    warm_start,
)


def features(words, chars):
    layer = TokenFeatures(words, chars, lowercase=True, distinct=True, name="token_features")
    layer.casing_vocab_size = len(CASING_CLASSES)
    return layer


def tagger(words, chars, tags, seed, static=False):
    keras.utils.set_random_seed(seed)
    config = TrainConfig(units=6, word_dim=4, char_units=3, char_dim=2, seed=seed,
                         static_embeddings=static)
    vectors = np.random.default_rng(seed).normal(size=(len(words) + 2, 4)).astype("float32")
    return build_sequence_tagger(config, features(words, chars), tags, "IOB2",
                                 word_vectors=vectors)


def test_row_map_and_copy_rows_against_a_loop():
    rows = row_map(["b", "z", "a"], ["a", "b", "c"])
    assert rows.tolist() == [0, 1, 3, -1, 2]  # padding, OOV, then b, z (absent), a
    source = np.arange(10, dtype="float32").reshape(5, 2)
    target = -np.ones((5, 2), dtype="float32")
    out = copy_rows(target, source, rows)
    for i, j in enumerate(rows):
        np.testing.assert_array_equal(out[i], source[j] if j >= 0 else target[i])


@pytest.mark.parametrize("static", [False, True])
def test_a_tagger_starts_from_another_with_other_words_and_tags(static, tmp_path):
    source = tagger(["oslo", "anna", "met"], list("oslanmet"), ["B-PER", "B-LOC", "O"], 0, static)
    path = tmp_path / "run" / "model.keras"
    path.parent.mkdir()
    source.save(path)
    target = tagger(["met", "lima", "oslo", "x"], list("metliaosx"),
                    ["B-person", "I-person", "B-location", "O"], 1, static)
    before = {w.path: np.asarray(w) for w in target.weights}
    (path.parent / "dataset.json").write_text('{"labels": ["B-PER", "B-LOC", "O"]}')
    summary = warm_start(target, str(path.parent), ["B-person", "I-person", "B-location", "O"])

    words = target.get_layer("word_embedding").get_weights()[0]
    source_words = source.get_layer("word_embedding").get_weights()[0]
    # ids: 0 pad, 1 OOV, 2 met, 3 lima, 4 oslo, 5 x; in the source: 2 oslo, 3 anna, 4 met
    for i, j in ((0, 0), (1, 1), (2, 4), (4, 2)):
        np.testing.assert_array_equal(words[i], source_words[j])
    np.testing.assert_array_equal(words[[3, 5]], before["word_embedding/embeddings"][[3, 5]])
    chars = target.get_layer("char_encoder").embedding.get_weights()[0]
    source_chars = source.get_layer("char_encoder").embedding.get_weights()[0]
    before_chars = before["char_encoder/char_embedding/embeddings"]
    for i, char in enumerate("metliaosx", start=2):
        expected = (source_chars[2 + "oslanmet".index(char)] if char in "oslanmet"
                    else before_chars[i])
        np.testing.assert_array_equal(chars[i], expected)
    for name in ("birnn_0", "casing_embedding"):
        for mine, theirs in zip(target.get_layer(name).get_weights(),
                                source.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(mine, theirs)
    # four tags against three: the tag layer and the CRF start as they were
    np.testing.assert_array_equal(target.get_layer("emissions").get_weights()[0],
                                  before["emissions/kernel"])
    assert {"emissions", "crf"} <= set(summary["fresh"])
    assert {"birnn_0", "char_encoder", "casing_embedding"} <= set(summary["copied"])
    assert summary["mapped"]["word_embedding/embeddings"] == 2  # met, oslo
    if static:
        np.testing.assert_array_equal(
            target.get_layer("static_word_embedding").get_weights()[0][4],
            source.get_layer("static_word_embedding").get_weights()[0][2])


def test_a_runs_own_lexicon_table_is_never_copied(tmp_path):
    """Same shapes, other lexicon: the target keeps the table its own sources gave."""
    tables = [np.random.default_rng(seed).random((5, 3)).astype("float32") for seed in (0, 1)]
    models = []
    for seed, table in enumerate(tables):
        keras.utils.set_random_seed(seed)
        config = TrainConfig(units=6, word_dim=4, char_units=3, char_dim=2, seed=seed)
        words = features(["oslo", "anna", "met"], list("oslanmet"))
        models.append(build_sequence_tagger(config, words, ["B-PER", "O"], "IOB2",
                                            lexicon=table))
    path = tmp_path / "run" / "model.keras"
    path.parent.mkdir()
    models[0].save(path)
    (path.parent / "dataset.json").write_text('{"labels": ["B-PER", "O"]}')
    summary = warm_start(models[1], str(path.parent), ["B-PER", "O"])
    assert "lexicon_embedding" in summary["fresh"] and "birnn_0" in summary["copied"]
    np.testing.assert_array_equal(models[1].get_layer("lexicon_embedding").get_weights()[0],
                                  tables[1])


def test_label_layers_are_copied_only_for_the_same_labels(tmp_path):
    tags = ["B-PER", "B-LOC", "O"]
    source = tagger(["oslo"], list("osl"), tags, 0)
    source.save(tmp_path / "model.keras")
    for written, labels, copied in ((tags, tags, True), (tags, ["B-A", "B-B", "O"], False),
                                    (None, tags, False)):
        if written:
            (tmp_path / "dataset.json").write_text(f'{{"labels": {written!r}}}'.replace("'", '"'))
        else:
            (tmp_path / "dataset.json").unlink()
        target = tagger(["oslo"], list("osl"), labels, 1)
        summary = warm_start(target, str(tmp_path / "model.keras"), labels)
        same = np.array_equal(target.get_layer("crf").get_weights()[0],
                              source.get_layer("crf").get_weights()[0])
        assert same == copied and ("crf" in summary["copied"]) == copied
        assert ("emissions" in summary["fresh"]) == (not copied)


def test_a_missing_source_fails_with_its_path(tmp_path):
    with pytest.raises(ValueError, match="--init-from .*nowhere: no model.keras there"):
        source_model_path(str(tmp_path / "nowhere"))


def test_label_map_pairs_span_prefixes_and_same_names():
    types = parse_label_map("person=PER, group=ORG,corporation=ORG")
    assert types == {"person": "PER", "group": "ORG", "corporation": "ORG"}
    source = ["B-LOC", "B-PER", "E-PER", "O", "S-ORG"]
    target = ["B-person", "E-person", "O", "S-group", "S-corporation", "B-product", "B-LOC"]
    # two types may start from one; unmapped types find their own name or nothing
    assert label_map(target, source, types).tolist() == [1, 2, 3, 4, 4, -1, 0]
    assert label_map(["positive", "negative"], ["pos", "neg"],
                     {"positive": "pos"}).tolist() == [0, -1]


@pytest.mark.parametrize("text", ["person", "person=", "=PER", "person=PER,,", "a=B,a=C"])
def test_a_malformed_label_map_fails_with_the_entry(text):
    with pytest.raises(ValueError, match="--init-label-map: "):
        parse_label_map(text)


def test_a_label_map_naming_an_unknown_type_fails_with_the_known_ones():
    source, target = ["B-PER", "I-PER", "O"], ["B-person", "O"]
    check_label_map({"person": "PER"}, source, target)
    with pytest.raises(ValueError, match=r"the source run has no label type \['ORG'\]; "
                                         r"it has \['O', 'PER'\]"):
        check_label_map({"person": "ORG"}, source)
    with pytest.raises(ValueError, match=r"this run has no label type \['human'\]"):
        check_label_map({"human": "PER"}, source, target)


def test_copy_labels_against_a_loop():
    rng = np.random.default_rng(0)
    labels = np.array([2, -1, 0, 2])
    square, target = rng.normal(size=(3, 3)), rng.normal(size=(4, 4))
    out = copy_labels(target, square, labels, axes=(0, 1))
    for i in range(4):
        for j in range(4):
            mapped = labels[i] >= 0 and labels[j] >= 0
            assert out[i, j] == (square[labels[i], labels[j]] if mapped else target[i, j])
    kernel, columns = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))
    out = copy_labels(columns, kernel, labels, axes=(1,))
    for j in range(4):
        np.testing.assert_array_equal(out[:, j], kernel[:, labels[j]] if labels[j] >= 0
                                      else columns[:, j])
    with pytest.raises(ValueError, match="do not fit"):
        copy_labels(rng.normal(size=(6, 4)), kernel, labels, axes=(1,))


def test_mapped_labels_start_from_the_source_labels_weights(tmp_path):
    source_tags = ["B-PER", "B-LOC", "O"]
    source = tagger(["oslo", "anna"], list("oslan"), source_tags, 0)
    source.save(tmp_path / "model.keras")
    (tmp_path / "dataset.json").write_text('{"labels": ["B-PER", "B-LOC", "O"]}')
    tags = ["B-person", "I-person", "B-location", "O"]
    target = tagger(["oslo"], list("osl"), tags, 1)
    before = {layer: target.get_layer(layer).get_weights() for layer in ("emissions", "crf")}
    summary = warm_start(target, str(tmp_path), tags, {"person": "PER", "location": "LOC"})
    assert summary["labels"] == {"emissions": 3, "crf": 3}  # I-person has no source tag
    rows = [0, -1, 1, 2]
    kernel, bias = target.get_layer("emissions").get_weights()
    source_kernel, source_bias = source.get_layer("emissions").get_weights()
    for i, j in enumerate(rows):
        expected = (source_kernel[:, j], source_bias[j]) if j >= 0 else (
            before["emissions"][0][:, i], before["emissions"][1][i])
        np.testing.assert_array_equal(kernel[:, i], expected[0])
        assert bias[i] == expected[1]
    transitions = target.get_layer("crf").get_weights()[0]
    source_transitions = source.get_layer("crf").get_weights()[0]
    assert transitions[0, 2] == source_transitions[0, 1]  # B-person -> B-location
    assert transitions[3, 0] == source_transitions[2, 0]  # O -> B-person
    assert transitions[1, 0] == before["crf"][0][1, 0]  # from I-person: its own start
    assert "emissions" not in summary["fresh"] and "crf" not in summary["fresh"]
    with pytest.raises(ValueError, match=r"this run has no label type \['human'\]"):
        warm_start(tagger(["oslo"], list("osl"), tags, 1), str(tmp_path), tags,
                   {"human": "PER"})
