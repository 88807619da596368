"""Character encoder, word dropout and masked pooling against direct NumPy computations."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from tagger.layers.token_encoders import CharEncoder, MaskedPooling, WordDropout


def test_char_cnn_is_max_over_real_characters_only():
    rng = np.random.default_rng(0)
    chars = np.array([[[3, 4, 0, 0], [5, 0, 0, 0], [0, 0, 0, 0]]])  # words of 2, 1, 0 chars
    layer = CharEncoder(8, char_dim=4, units=6, kind="cnn")
    layer.build(chars.shape)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    out = np.asarray(layer(chars))
    vectors = np.asarray(layer.embedding(chars[0]))
    conv = np.asarray(layer.encoder(vectors))  # (words, chars, units), 'same' padding
    np.testing.assert_allclose(out[0, 0], conv[0, :2].max(axis=0), atol=1e-6)
    np.testing.assert_allclose(out[0, 1], conv[1, :1].max(axis=0), atol=1e-6)
    np.testing.assert_allclose(out[0, 2], 0.0)  # padding word


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5])
def test_char_cnn_inference_lookups_equal_the_training_convolution(width):
    """Inference computes the convolution as table lookups; training convolves."""
    rng = np.random.default_rng(width)
    layer = CharEncoder(12, char_dim=5, units=7, kind="cnn", width=width)
    chars = rng.integers(1, 12, size=(3, 4, 6))
    chars[rng.random(chars.shape) < 0.3] = 0  # padding anywhere, id 0's embedding included
    chars[0, 1] = 0  # an empty word
    layer.build(chars.shape)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    flat = chars.reshape(-1, chars.shape[-1])
    conv = layer.encoder
    right = width - 1 - (width - 1) // 2  # beyond the end: padding characters (id 0)
    padded = np.pad(flat, [(0, 0), (0, right)])
    np.testing.assert_allclose(
        conv.activation(layer._convolve_by_lookup(flat) + conv.bias),
        conv(layer.embedding(padded))[:, :flat.shape[1]], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer(chars, training=False), layer(chars, training=True),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("training", [False, True])
def test_char_cnn_word_does_not_depend_on_the_batch_width(training):
    """A word padded to a longer word of its batch encodes as it does alone."""
    layer = CharEncoder(8, char_dim=4, units=3, kind="cnn", width=3)
    alone = np.array([[[3, 4, 5]]])
    in_wide_batch = np.array([[[3, 4, 5, 0, 0, 0]]])
    np.testing.assert_allclose(layer(alone, training=training),
                               layer(in_wide_batch, training=training), atol=1e-6)


def test_char_rnn_ignores_padding_characters():
    layer = CharEncoder(8, char_dim=4, units=3, kind="rnn", cell="gru")
    short = np.array([[[3, 4, 0, 0, 0]]])
    longer = np.array([[[3, 4, 0, 0, 0, 0, 0, 0]]])
    np.testing.assert_allclose(layer(short), layer(longer), atol=1e-6)
    assert layer(short).shape == (1, 1, 6)


def test_word_dropout_only_in_training_and_never_on_padding():
    ids = np.array([[5, 6, 7, 0, 0]] * 200)
    layer = WordDropout(0.3, oov_id=1, seed=0)
    np.testing.assert_array_equal(layer(ids, training=False), ids)
    dropped = np.asarray(layer(ids, training=True))
    assert np.all(dropped[:, 3:] == 0)
    replaced = dropped[:, :3] == 1
    assert 0.2 < replaced.mean() < 0.4
    assert np.all((dropped[:, :3] == ids[:, :3]) | replaced)
    with pytest.raises(ValueError, match="rate=1.0"):
        WordDropout(1.0)


@pytest.mark.parametrize("mode", ["max", "mean", "attention"])
def test_pooling_uses_real_steps_only(mode):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    mask = np.array([[True] * 5, [True, True, False, False, False]])
    layer = MaskedPooling(mode)
    out = np.asarray(layer(x, mask=mask))
    garbage = x.copy()
    garbage[1, 2:] = 100.0
    np.testing.assert_allclose(layer(garbage, mask=mask), out, atol=1e-5)
    if mode == "max":
        np.testing.assert_allclose(out[1], x[1, :2].max(axis=0))
    if mode == "mean":
        np.testing.assert_allclose(out[1], x[1, :2].mean(axis=0), atol=1e-6)


@pytest.mark.parametrize("layer", [CharEncoder(9, kind="rnn", cell="cfn"), WordDropout(0.1),
                                   MaskedPooling("attention")], ids=lambda obj: type(obj).__name__)
def test_config_round_trip(layer):
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
    assert keras.saving.deserialize_keras_object(config).get_config() == layer.get_config()
