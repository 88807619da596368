"""The language-modelling objective: its loss against NumPy, and what it may read."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tagger.layers.language_model import RARE_WORD_ID, LanguageModelObjective

VOCAB, UNITS = 6, 4
# word ids: 0 padding, 1 OOV; ids >= VOCAB are words outside the objective's vocabulary
WORD_IDS = np.array([[2, 7, 3, 5, 0, 0], [4, 1, 9, 2, 3, 2], [5, 0, 0, 0, 0, 0]])
MASK = WORD_IDS != 0


def layer_and_states(seed=0):
    rng = np.random.default_rng(seed)
    layer = LanguageModelObjective(VOCAB, hidden=3)
    states = rng.normal(size=(*WORD_IDS.shape, 2 * UNITS)).astype("float32")
    layer(states, WORD_IDS, MASK)  # build
    for weight in layer.weights:  # away from Keras' zero biases, so every term counts
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    return layer, states


def reference_loss(layer, states):
    """Σ −log p(next word | forward state) + Σ −log p(previous word | backward state)."""
    def log_softmax(direction, h):
        hidden, words = getattr(layer, f"{direction}_hidden"), getattr(layer, f"{direction}_words")
        a = np.tanh(h @ np.asarray(hidden.kernel) + np.asarray(hidden.bias))
        logits = a @ np.asarray(words.kernel) + np.asarray(words.bias)
        return logits - np.log(np.exp(logits).sum())

    targets = np.where(WORD_IDS < VOCAB, WORD_IDS, RARE_WORD_ID)
    losses = []
    for row, length in enumerate(MASK.sum(axis=1)):
        loss = 0.0
        for t in range(length - 1):
            loss -= log_softmax("forward", states[row, t, :UNITS])[targets[row, t + 1]]
        for t in range(1, length):
            loss -= log_softmax("backward", states[row, t, UNITS:])[targets[row, t - 1]]
        losses.append(loss)
    return np.array(losses)


def test_loss_per_sentence_matches_numpy():
    layer, states = layer_and_states()
    loss = np.asarray(layer(states, WORD_IDS, MASK))
    np.testing.assert_allclose(loss, reference_loss(layer, states), rtol=1e-5)
    assert loss[2] == 0.0  # one word: nothing to predict


def test_each_half_reads_only_what_its_direction_has_seen():
    """The forward half at the last word and the backward half at the first one predict
    nothing; padding neither. The loss gradient there is zero, everywhere else it is not."""
    layer, states = layer_and_states(seed=1)
    states = tf.constant(states)
    with tf.GradientTape() as tape:
        tape.watch(states)
        loss = tf.reduce_sum(layer(states, WORD_IDS, MASK))
    gradient = np.asarray(tape.gradient(loss, states))
    forward = np.abs(gradient[..., :UNITS]).sum(-1)
    backward = np.abs(gradient[..., UNITS:]).sum(-1)
    for row, length in enumerate(MASK.sum(axis=1)):
        assert np.all(forward[row, : length - 1] > 0) and np.all(forward[row, length - 1:] == 0)
        assert np.all(backward[row, 1:length] > 0)
        assert backward[row, 0] == 0 and np.all(backward[row, length:] == 0)


def test_padding_changes_nothing():
    layer, states = layer_and_states(seed=2)
    wider_ids = np.pad(WORD_IDS, [(0, 0), (0, 3)])
    junk = np.random.default_rng(3).normal(size=(3, 3, 2 * UNITS)).astype("float32")
    wider_states = np.concatenate([states, junk], axis=1)
    np.testing.assert_allclose(layer(wider_states, wider_ids, wider_ids != 0),
                               layer(states, WORD_IDS, MASK), rtol=1e-6)


def test_rejects_a_vocabulary_without_words():
    with pytest.raises(ValueError, match="`vocab_size` must be >= 3"):
        LanguageModelObjective(2)
