"""The base class of our models: Keras models whose input is token strings."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras import ops

from tagger.layers.token_encoders import CharEncoder, WordDropout


class StringInputModel(keras.Model):
    """A functional ``keras.Model`` that can be trained under ``tf.distribute``.

    Two workarounds for Keras 3's TensorFlow trainer, everything else is
    Keras' own code path:

    - it builds a model symbolically before ``fit`` by *averaging* one
      distributed batch across replicas (``strategy.reduce("MEAN")``), which
      fails for string inputs: we build from the first replica's share;
    - under ``MultiWorkerMirroredStrategy`` it reduces each step's scalar logs
      with ``strategy.reduce("MEAN", v, axis=0)``, which fails on scalars
      (tensorflow/tensorflow#72388): we hand it shape ``[1]`` logs, which that
      reduction turns back into scalars.
    """

    def train_step(self, data):
        logs = super().train_step(data)
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            logs = {key: tf.reshape(value, [1]) for key, value in logs.items()}
        return logs

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = getattr(self, "_distribute_strategy", None)
        if strategy is None or iterator is None:
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            batch = next(batches)
            local = tf.nest.map_structure(
                lambda value: strategy.experimental_local_results(value)[0]
                if isinstance(value, tf.distribute.DistributedValues) else value,
                batch,
            )
            break
        return super()._maybe_symbolic_build(data_batch=local)


def embed_words(config, features, word_ids, initial=None):
    """Word ids ``[B, T]`` -> vectors ``[B, T, dim]``: word dropout, embedding, projection.

    ``initial`` (``float32 [vocab, dim]``, from pretrained vectors) starts the
    ``word_embedding`` table; ``config.freeze_embeddings`` keeps it fixed;
    ``config.project_embeddings`` adds ``x W`` with ``W`` starting at the
    identity (a trainable map of a frozen space, e.g.). ``config.static_embeddings``
    concatenates a frozen copy of ``initial``: ``[E_tuned[w] ; E_0[w]]``, so words
    that training moves keep their pretrained neighbours in view, and words it
    never saw (their tuned row is still ``E_0[w]``) are read against both.
    """
    from tagger.config import DEFAULT_WORD_DIM

    dim = config.word_dim or (initial.shape[1] if initial is not None else DEFAULT_WORD_DIM)
    if initial is not None and initial.shape != (features.word_vocab_size, dim):
        raise ValueError(f"initial word vectors of shape {initial.shape}, expected "
                         f"{(features.word_vocab_size, dim)}")
    # --- layers
    word_dropout = WordDropout(config.word_dropout, oov_id=1, seed=config.seed,
                               name="word_dropout")
    embedding = keras.layers.Embedding(features.word_vocab_size, dim, mask_zero=True,
                                       weights=initial, name="word_embedding")
    embedding.trainable = not config.freeze_embeddings
    # --- functional
    dropped = word_dropout(word_ids)
    x = embedding(dropped)
    if config.project_embeddings:
        x = keras.layers.Dense(dim, use_bias=False, kernel_initializer="identity",
                               name="word_projection")(x)
    if config.static_embeddings and initial is not None and not config.freeze_embeddings:
        static = keras.layers.Embedding(features.word_vocab_size, dim, weights=initial,
                                        trainable=False, name="static_word_embedding")
        x = keras.layers.Concatenate(name="word_channels")([x, static(dropped)])
    return x


def token_vectors(config, features, feats, word_vectors=None):
    """One vector per token: ``[words ; characters ; casing]`` (``token_vectors``).

    Words through :func:`embed_words`; characters through a :class:`CharEncoder`
    (``--char-encoder``, once per distinct token when ``feats`` has
    ``distinct_chars``); casing classes through an embedding (``--casing-dim``,
    0 = none).
    """
    parts = [embed_words(config, features, feats["words"], word_vectors)]
    if config.char_encoder != "none":
        char_encoder = CharEncoder(features.char_vocab_size, config.char_dim, config.char_units,
                                   kind=config.char_encoder, cell=config.cell,
                                   name="char_encoder")
        if "distinct_chars" in feats:  # once per distinct token
            distinct_vectors = char_encoder(feats["distinct_chars"])
            parts.append(ops.take(distinct_vectors, feats["token_index"], axis=0))
        else:
            parts.append(char_encoder(feats["chars"]))
    if config.casing_dim > 0:
        casing = keras.layers.Embedding(features.casing_vocab_size, config.casing_dim,
                                        name="casing_embedding")
        parts.append(casing(feats["casing"]))
    return keras.layers.Concatenate(name="token_vectors")(parts) if len(parts) > 1 else parts[0]
