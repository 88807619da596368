"""GroupLogits against a NumPy reference: class probabilities are sums of fine ones."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tagger.layers.label_groups import GroupLogits

GROUPS = [2, 0, 2, 1, 0, 2]  # six fine labels in three classes, out of order


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_softmax_of_group_logits_sums_fine_probabilities():
    logits = np.random.default_rng(0).normal(scale=4.0, size=(5, 7, len(GROUPS)))
    logits = logits.astype("float32")
    grouped = np.asarray(GroupLogits(GROUPS, 3)(logits))
    assert grouped.shape == (5, 7, 3)
    fine = softmax(logits.astype("float64"))
    expected = np.stack([fine[..., np.array(GROUPS) == c].sum(-1) for c in range(3)], -1)
    np.testing.assert_allclose(softmax(grouped.astype("float64")), expected, atol=1e-6)
    # each class logit is the log-sum-exp of its members' logits
    np.testing.assert_allclose(grouped[..., 1], np.log(np.exp(logits[..., [3]]).sum(-1)),
                               rtol=1e-6)


def test_gradients_are_finite_and_reach_only_members():
    logits = tf.constant(np.random.default_rng(1).normal(size=(4, len(GROUPS))), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        grouped = GroupLogits(GROUPS, 3)(logits)
        target = grouped[:, 1]  # class 1 has one member: fine label 3
    grad = tape.gradient(target, logits).numpy()
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad[:, 3], 1.0, atol=1e-6)
    np.testing.assert_allclose(np.delete(grad, 3, axis=1), 0.0, atol=1e-6)


@pytest.mark.parametrize("groups, count", [([0, 0, 2], 3), ([0, 1, 3], 3), ([0, -1], 2)])
def test_every_class_needs_members_and_no_label_lies_outside(groups, count):
    with pytest.raises(ValueError, match="needs a member"):
        GroupLogits(groups, count)


def test_config_round_trip():
    layer = GroupLogits(GROUPS, 3, name="logits")
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
    again = keras.saving.deserialize_keras_object(config)
    assert again.get_config() == layer.get_config()
    x = np.random.default_rng(2).normal(size=(2, len(GROUPS))).astype("float32")
    np.testing.assert_array_equal(again(x), layer(x))
