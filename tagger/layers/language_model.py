"""A language-modelling objective beside a tagger (Rei 2017, "Semi-supervised
multitask learning for sequence labeling").

The first bidirectional layer's forward half has read ``w_1 … w_t`` and
predicts the next word; its backward half has read ``w_t … w_n`` and predicts
the previous one. Both through a small tanh layer and a softmax over the
``V`` most frequent training words (every other word is one "rare" class)::

    p(w_{t+1} | w_{≤t}) = softmax(W→ tanh(U→ h→_t + b→) + c→)
    p(w_{t-1} | w_{≥t}) = softmax(W← tanh(U← h←_t + b←) + c←)
    loss = −Σ_{t<n} log p(w_{t+1} | ·) − Σ_{t>1} log p(w_{t-1} | ·)   (per sentence)

Every token of every training sentence is then a target, not only its tag:
the recurrent layer learns which words go together, which helps most where
words are rare. The objective is used in training only; the tagger that is
scored and exported leaves it out (``SequenceTagger.without_auxiliary_task``).
Only the first layer can have it: a second layer's forward half reads the
first layer's backward half, which has already seen the word to predict.
"""

from __future__ import annotations

import keras
from keras import ops

RARE_WORD_ID = 1  # the word vocabulary's OOV id: every word outside the V most frequent


@keras.saving.register_keras_serializable(package="tagger")
class LanguageModelObjective(keras.layers.Layer):
    """``(states [B, T, 2u], word_ids [B, T], mask [B, T]) -> loss per sentence [B]``.

    ``states``: a bidirectional layer's outputs, forward half first;
    ``word_ids``: the word vocabulary's ids (0 padding, 1 OOV, then training
    words, most frequent first), which makes ids below ``vocab_size`` the
    ``vocab_size − 2`` most frequent training words.
    """

    def __init__(self, vocab_size: int, hidden: int = 50, **kwargs):
        super().__init__(**kwargs)
        if vocab_size < 3 or hidden < 1:
            raise ValueError("`vocab_size` must be >= 3 and `hidden` >= 1. "
                             f"Received: vocab_size={vocab_size!r}, hidden={hidden!r}")
        self.vocab_size, self.hidden = int(vocab_size), int(hidden)
        self.supports_masking = True  # the mask is an input; the output has none
        self.forward_hidden = keras.layers.Dense(self.hidden, activation="tanh",
                                                 name="forward_hidden")
        self.forward_words = keras.layers.Dense(self.vocab_size, name="forward_words")
        self.backward_hidden = keras.layers.Dense(self.hidden, activation="tanh",
                                                  name="backward_hidden")
        self.backward_words = keras.layers.Dense(self.vocab_size, name="backward_words")

    def _direction(self, direction):
        return getattr(self, f"{direction}_hidden"), getattr(self, f"{direction}_words")

    def build(self, states_shape, word_ids_shape=None, mask_shape=None):
        half = states_shape[-1] // 2
        for direction in ("forward", "backward"):
            hidden, words = self._direction(direction)
            hidden.build((None, None, half))
            words.build((None, None, self.hidden))

    def _cross_entropy(self, direction, states, targets, valid):
        hidden, words = self._direction(direction)
        logits = ops.cast(words(hidden(states)), "float32")
        per_token = keras.losses.sparse_categorical_crossentropy(targets, logits,
                                                                 from_logits=True)
        return ops.sum(per_token * ops.cast(valid, "float32"), axis=1)

    def call(self, states, word_ids, mask):
        half = ops.shape(states)[-1] // 2
        forward, backward = states[..., :half], states[..., half:]
        targets = ops.where(word_ids < self.vocab_size, word_ids, RARE_WORD_ID)
        # real token t+1 exists (masks are left-aligned: it implies t does too)
        valid = mask[:, 1:]
        return (self._cross_entropy("forward", forward[:, :-1], targets[:, 1:], valid)
                + self._cross_entropy("backward", backward[:, 1:], targets[:, :-1], valid))

    def compute_mask(self, states, previous_mask=None):
        return None

    def compute_output_shape(self, states_shape, word_ids_shape=None, mask_shape=None):
        return (states_shape[0],)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "hidden": self.hidden}
