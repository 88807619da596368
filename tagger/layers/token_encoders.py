"""Layers that turn token features into vectors: characters and word dropout."""

from __future__ import annotations

import keras
from keras import ops

from tagger.cells import make_rnn


@keras.saving.register_keras_serializable(package="tagger")
class CharEncoder(keras.layers.Layer):
    """Encodes each word from its characters.

    ``cnn`` (Ma & Hovy, 2016): ``max_c relu(Conv1D(E[c_1..c_C]))`` over the
    real characters. ``rnn`` (Lample et al., 2016): the final states of a
    bidirectional ``make_rnn(cell)`` over the characters, concatenated.

    Input: char ids ``(..., chars)``, 0 = padding: ``(batch, time, chars)``,
    or ``(words, chars)`` for a list of distinct words. Output: ``(...,
    units)`` for cnn, ``(..., 2 * units)`` for rnn.
    """

    def __init__(self, vocab_size, char_dim=30, units=50, kind="cnn", cell="lstm", width=3,
                 **kwargs):
        super().__init__(**kwargs)
        if kind not in ("cnn", "rnn"):
            raise ValueError(f"`kind` must be 'cnn' or 'rnn'. Received: kind={kind!r}")
        self.vocab_size, self.char_dim, self.units = vocab_size, char_dim, units
        self.kind, self.cell, self.width = kind, cell, width
        self.embedding = keras.layers.Embedding(vocab_size, char_dim, name="char_embedding")
        if kind == "cnn":
            self.encoder = keras.layers.Conv1D(units, width, padding="same", activation="relu",
                                               name="char_conv")
        else:
            self.encoder = make_rnn(cell, units, bidirectional=True, name="char_rnn")

    def build(self, input_shape):
        self.embedding.build(input_shape)
        self.encoder.build((None, None, self.char_dim))
        self.built = True

    def call(self, chars, training=False):
        shape = ops.shape(chars)
        flat = ops.reshape(chars, (-1, shape[-1]))  # one row per word
        mask = ops.not_equal(flat, 0)
        if self.kind == "cnn":
            # max over the real characters only (padding scored far below)
            penalty = ops.cast(ops.logical_not(mask), self.compute_dtype)[:, :, None] * -1e4
            if training:
                # beyond the word's end the window sees padding (id 0) however wide the
                # batch's longest word, as in _convolve_by_lookup: no batch dependence
                right = self.width - 1 - (self.width - 1) // 2
                padded = ops.pad(flat, [[0, 0], [0, right]])
                convolved = self.encoder(self.embedding(padded))[:, :shape[-1]]
                encoded = ops.max(convolved + penalty, axis=1)
            else:  # the same function, cheaper (bench/RESULTS.md); its gradient is not
                # relu(x + b) is monotone in x: take the max first, then add and clip
                encoded = ops.max(self._convolve_by_lookup(flat) + penalty, axis=1)
                encoded = self.encoder.activation(
                    encoded + ops.cast(self.encoder.bias, self.compute_dtype))
            encoded = encoded * ops.cast(ops.any(mask, axis=1), encoded.dtype)[:, None]
        else:
            encoded = self.encoder(self.embedding(flat), mask=mask, training=training)
        # a static width, so the layers after this one see a known feature size
        return ops.reshape(encoded, (*shape[:-1], self.output_width))

    def _convolve_by_lookup(self, chars):
        """``Conv1D(E[chars])`` with 'same' padding, before bias and activation.

        The convolution is linear in the embeddings: tap ``k`` adds
        ``E[c_{i+k-l}] W_k``, so the table ``P_k = E W_k`` (``[vocab,
        filters]``, one small product per call) turns it into ``width``
        lookups and adds per character instead of ``width * char_dim *
        filters`` multiply-adds. Row ``vocab`` of ``P_k`` is zero: the zero
        padding before the word's start. After its end the window always sees
        the padding character (id 0), whether the row is padded to a longer
        word of the batch or not, so a word's encoding never depends on the
        other words of its batch.
        """
        kernel = ops.cast(self.encoder.kernel, self.compute_dtype)  # (width, char_dim, filters)
        filters = kernel.shape[-1]
        taps = ops.reshape(ops.transpose(kernel, (1, 0, 2)), (self.char_dim, -1))
        table = ops.matmul(ops.cast(self.embedding.embeddings, self.compute_dtype), taps)
        table = ops.pad(table, [[0, 1], [0, 0]])  # (vocab + 1, width * filters)
        left = (self.width - 1) // 2
        padded = ops.pad(chars, [[0, 0], [left, 0]], constant_values=self.vocab_size)
        padded = ops.pad(padded, [[0, 0], [0, self.width - 1 - left]], constant_values=0)
        length = ops.shape(chars)[1]
        out = 0
        for k in range(self.width):
            out = out + ops.take(table[:, k * filters:(k + 1) * filters],
                                 padded[:, k:k + length], axis=0)
        return out

    @property
    def output_width(self) -> int:
        """Features per word: the CNN's filters, or both directions' final states."""
        return self.units if self.kind == "cnn" else 2 * self.units

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_width)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "char_dim": self.char_dim, "units": self.units, "kind": self.kind,
                "cell": self.cell, "width": self.width}


@keras.saving.register_keras_serializable(package="tagger")
class WordDropout(keras.layers.Layer):
    """Replaces word ids by the OOV id with probability ``rate`` while training.

    Teaches the model to use characters and casing for unseen words
    (Lample et al., 2016). Ids 0 (padding) are kept.
    """

    def __init__(self, rate=0.0, oov_id=1, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"`rate` must be in [0, 1). Received: rate={rate!r}")
        self.rate, self.oov_id, self.seed = float(rate), int(oov_id), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, ids, training=False):
        if not training or self.rate == 0.0:
            return ids
        drop = keras.random.uniform(ops.shape(ids), seed=self.seed_generator) < self.rate
        drop = ops.logical_and(drop, ops.not_equal(ids, 0))
        return ops.where(drop, ops.cast(self.oov_id, ids.dtype), ids)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "oov_id": self.oov_id,
                "seed": self.seed}


@keras.saving.register_keras_serializable(package="tagger")
class MaskedPooling(keras.layers.Layer):
    """Pools ``(batch, time, dim)`` over the real steps: ``max``, ``mean`` or ``attention``.

    ``attention``: ``a = softmax_t(w · tanh(W h_t))`` over real steps,
    output ``Σ_t a_t h_t`` (Yang et al., 2016, without the word level).
    """

    def __init__(self, mode="max", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("max", "mean", "attention"):
            raise ValueError(f"`mode` must be max, mean or attention. Received: {mode!r}")
        self.mode = mode
        self.supports_masking = True

    def build(self, input_shape):
        if self.mode == "attention":
            dim = input_shape[-1]
            self.projection = keras.layers.Dense(dim, activation="tanh", name="attention_proj")
            self.projection.build(input_shape)
            self.query = self.add_weight(shape=(dim,), name="query",
                                         initializer="glorot_uniform")
        self.built = True

    def call(self, x, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(x)[:2], dtype="bool")
        weights = ops.cast(mask, x.dtype)[:, :, None]
        if self.mode == "max":
            return ops.max(x + (1.0 - weights) * -1e4, axis=1)
        if self.mode == "mean":
            return ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
        scores = ops.sum(self.projection(x) * self.query, axis=-1)
        scores = ops.where(mask, scores, ops.cast(-1e4, scores.dtype))
        attention = ops.softmax(scores, axis=-1)[:, :, None]
        return ops.sum(attention * x, axis=1)

    def compute_mask(self, x, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
