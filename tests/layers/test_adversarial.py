"""The adversarial perturbation layer and its gradient sum, against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tagger.layers.adversarial import AdversarialPerturbation, add_gradients


def test_perturbation_is_the_normalised_gradient_of_the_real_tokens():
    rng = np.random.default_rng(0)
    gradient = rng.normal(size=(3, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], bool)
    r = np.asarray(AdversarialPerturbation(0.7).perturbation(gradient, mask))
    for row, real in enumerate(mask):
        expected = gradient[row] * real[:, None]
        norm = np.linalg.norm(expected)
        if norm:
            expected = 0.7 * np.sqrt(real.sum()) * expected / norm
        np.testing.assert_allclose(r[row], expected, rtol=1e-5, atol=1e-7)
    # on average eps per real token; nothing on padding
    assert np.linalg.norm(r[1]) == pytest.approx(0.7 * np.sqrt(5), rel=1e-5)
    assert not r[0, 3:].any() and not r[2].any()


def test_the_layer_is_the_identity_outside_the_adversarial_pass():
    layer = AdversarialPerturbation(0.5)
    x = tf.random.normal((2, 3, 4))
    np.testing.assert_array_equal(layer(x, training=True), x)  # no probe: identity
    probe = {}
    layer.set_probe(probe)
    np.testing.assert_array_equal(layer(x, training=False), x)
    np.testing.assert_array_equal(layer(x, training=True), x)  # clean pass: records x
    np.testing.assert_array_equal(probe["inputs"], x)
    probe["perturbation"] = tf.ones_like(x)
    np.testing.assert_array_equal(layer(x, training=True), x + 1.0)
    np.testing.assert_array_equal(layer(x, training=False), x)
    layer.set_probe(None)
    assert AdversarialPerturbation.from_config(layer.get_config()).epsilon == 0.5
    with pytest.raises(ValueError, match="epsilon"):
        AdversarialPerturbation(0.0)


def test_gradients_add_as_dense_tensors_whatever_their_form():
    rows = tf.IndexedSlices(tf.constant([[1.0, 2.0], [3.0, 4.0]]), tf.constant([0, 2]),
                            tf.constant([3, 2]))
    more = tf.IndexedSlices(tf.constant([[10.0, 10.0]]), tf.constant([2]), tf.constant([3, 2]))
    dense = tf.constant([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    expected = np.array([[1.0, 2.0], [0.0, 0.0], [13.0, 14.0]])
    np.testing.assert_array_equal(tf.convert_to_tensor(add_gradients(rows, more)), expected)
    np.testing.assert_array_equal(add_gradients(rows, dense), expected - [[0, 0], [0, 0], [10, 10]]
                                  + 1.0)
    assert add_gradients(None, dense) is dense and add_gradients(dense, None) is dense
