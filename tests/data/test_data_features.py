"""Vocabularies and the TokenFeatures layer: ids, config, .keras and SavedModel round trips."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from tagger.data.features import (
    CASING_CLASSES,
    TokenFeatures,
    build_char_vocab,
    build_vocab,
    normalize_token,
)
from tagger.data.tokenizer import tokenize

SENTENCES = [["EU", "rejects", "German", "call"], ["The", "EU", "said", "1996"],
             ["the", "Call", "in", "1997", "."]]
BATCH = [["EU", "rejects", "the", "Ωmega", "", ""],
         ["iPhone", "U.S.", "1,000", "3rd", "...", "😀"]]


def test_build_vocab_frequency_order_and_filters():
    assert build_vocab(SENTENCES) == [
        "EU", ".", "1996", "1997", "Call", "German", "The", "call", "in", "rejects", "said", "the"]
    assert build_vocab(SENTENCES, min_freq=2) == ["EU"]
    lower = build_vocab(SENTENCES, lowercase=True, normalize_digits=True, max_size=3)
    assert lower == ["0000", "call", "eu"]  # ties (2 each) alphabetical
    assert build_vocab([["", "a"]]) == ["a"]
    assert build_char_vocab([["abb", "b"]]) == ["b", "a"]
    with pytest.raises(ValueError, match="min_freq"):
        build_vocab(SENTENCES, min_freq=0)


def make_layer(**kwargs):
    words = build_vocab(SENTENCES, lowercase=True, normalize_digits=True)
    return TokenFeatures(words, build_char_vocab(SENTENCES), lowercase=True,
                         normalize_digits=True, max_word_length=4, **kwargs)


def test_token_features_ids():
    layer = make_layer()
    out = {k: v.numpy() for k, v in layer(tf.constant(BATCH)).items()}
    words = layer.vocabulary
    expected = [[2 + words.index(normalize_token(t, True, True))
                 if normalize_token(t, True, True) in words else (0 if t == "" else 1)
                 for t in row] for row in BATCH]
    assert out["words"].tolist() == expected
    assert out["words"].dtype == np.int32 and out["chars"].dtype == np.int32
    assert out["chars"].shape == (2, 6, 4)  # longest word cut at max_word_length
    chars = layer.char_vocabulary
    eu = [2 + chars.index("E"), 2 + chars.index("U"), 0, 0]
    assert out["chars"][0, 0].tolist() == eu
    assert out["chars"][0, 4].tolist() == [0, 0, 0, 0]  # padding token
    assert out["chars"][1, 5].tolist() == [1, 0, 0, 0]  # unknown character
    names = [[CASING_CLASSES[i] for i in row] for row in out["casing"]]
    assert names == [["upper", "lower", "lower", "title", "<pad>", "<pad>"],
                     ["mixed", "upper", "numeric", "has_digit", "punct", "punct"]]


def test_distinct_tokens_index_the_per_token_features():
    layer = make_layer(distinct=True)
    assert "token_index" not in make_layer()(tf.constant([["the"]]))  # old models' outputs
    batch = tf.constant([["the", "cat", "the", ""], ["cat", "", "", ""]])
    out = {k: v.numpy() for k, v in layer(batch).items()}
    assert len(out["distinct_chars"]) == 3  # "the", "cat", ""
    np.testing.assert_array_equal(out["distinct_chars"][out["token_index"]], out["chars"])
    assert out["token_index"][0, 0] == out["token_index"][0, 2] == out["token_index"][1, 0] - 1
    single = {k: v.numpy() for k, v in layer(tf.constant([["cat"]])).items()}
    assert out["words"][1, 0] == single["words"][0, 0]
    assert out["casing"][1, 0] == single["casing"][0, 0]


def test_chars_at_least_one_column_and_validation():
    out = make_layer()(tf.constant([["", ""]]))
    assert out["chars"].shape == (1, 2, 1) and out["words"].numpy().tolist() == [[0, 0]]
    with pytest.raises(ValueError, match="distinct, non-empty"):
        TokenFeatures(["a", "a"])
    with pytest.raises(ValueError, match="max_word_length"):
        TokenFeatures(["a"], max_word_length=0)


def tiny_model():
    tokens = keras.Input(shape=(None,), dtype="string", name="tokens")
    features = make_layer(name="features")(tokens)
    embedded = keras.layers.Embedding(20, 3, name="embed")(features["words"])
    return keras.Model(tokens, {**features, "embedded": embedded})


def test_get_config_round_trip():
    layer = make_layer()
    clone = TokenFeatures.from_config(json.loads(json.dumps(layer.get_config())))
    for key, value in layer(tf.constant(BATCH)).items():
        np.testing.assert_array_equal(clone(tf.constant(BATCH))[key], value)


def test_keras_file_round_trip(tmp_path):
    model = tiny_model()
    before = model(tf.constant(BATCH))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    after = loaded(tf.constant(BATCH))
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])


def test_saved_model_reloads_without_tagger(tmp_path):
    """Exported with ExportArchive; reloaded by a Python that cannot import tagger."""
    model = tiny_model()
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", model.call,
                         input_signature=[tf.TensorSpec([None, None], tf.string)])
    archive.add_endpoint(
        "from_text", lambda texts: model.call(tokenize(texts).to_tensor(default_value="")),
        input_signature=[tf.TensorSpec([None], tf.string)])
    archive.write_out(str(tmp_path / "export"))
    texts = ["EU rejects 1,000 U.S. calls!", "", "the Ωmega 😀 isn't here."]
    expected = {
        "serve": {k: v.numpy().tolist() for k, v in model(tf.constant(BATCH)).items()},
        "from_text": {k: v.numpy().tolist() for k, v in
                      model(tokenize(tf.constant(texts)).to_tensor(default_value="")).items()},
    }
    code = textwrap.dedent(f"""
        import importlib.util, json
        assert importlib.util.find_spec("tagger") is None, "tagger must not be importable"
        import tensorflow as tf
        m = tf.saved_model.load({str(tmp_path / "export")!r})
        out = {{
            "serve": m.serve(tf.constant({BATCH!r})),
            "from_text": m.from_text(tf.constant({texts!r})),
        }}
        print(json.dumps({{e: {{k: v.numpy().tolist() for k, v in o.items()}}
                          for e, o in out.items()}}))
    """)
    env = {"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    for endpoint, outputs in expected.items():
        for key, value in outputs.items():
            np.testing.assert_allclose(got[endpoint][key], value, rtol=1e-6)


def test_in_graph_normalization_matches_build_vocab():
    """Every training token, lowercased and digit-normalized in the graph, is found."""
    tokens = ["ÉCOLE", "Straße", "ΟΔΟΣ", "İstanbul", "Ǆemal", "Ünal", "3.5", "ABC123", "Ωmega",
              "ÀÉÎÕÜ", "ǅ", "ﬁne", "ΣΊΣΥΦΟΣ"]
    layer = TokenFeatures(build_vocab([tokens], lowercase=True, normalize_digits=True),
                          lowercase=True, normalize_digits=True)
    ids = layer(tf.constant([tokens]))["words"].numpy()[0].tolist()
    assert all(i >= 2 for i in ids), [t for t, i in zip(tokens, ids, strict=True) if i < 2]
    assert len(set(ids)) == len(set(normalize_token(t, True, True) for t in tokens))
