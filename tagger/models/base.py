"""The base class of our models: Keras models whose input is token strings."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras import ops

from tagger.layers.adversarial import AdversarialPerturbation, add_gradients
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

    A model with an ``adversarial_perturbation`` layer (``--adversarial``)
    trains with :meth:`adversarial_train_step` instead of Keras' step.
    """

    def train_step(self, data):
        try:
            perturbation = self.get_layer("adversarial_perturbation")
        except ValueError:
            logs = super().train_step(data)
        else:
            logs = self.adversarial_train_step(data, perturbation)
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            logs = {key: tf.reshape(value, [1]) for key, value in logs.items()}
        return logs

    def adversarial_train_step(self, data, perturbation):
        """Keras' train step with a second, adversarial pass (``tagger.layers.adversarial``).

        Pass 1 gives the clean loss, its gradients and ``dL/dv`` at the token
        vectors ``v``; pass 2 the loss at ``v + r``; the optimizer applies the sum
        of both passes' gradients. The logged loss and metrics are the clean pass's.
        """
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        weights = self.trainable_weights
        probe = {}
        perturbation.set_probe(probe)
        try:
            with tf.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                          training=True)
                replicas = tf.distribute.get_strategy().num_replicas_in_sync
                self._loss_tracker.update_state(loss * replicas, sample_weight=tf.shape(x)[0])
                loss = self.optimizer.scale_loss(loss)
            *gradients, inputs_gradient = tape.gradient(loss, [*weights, probe["inputs"]])
            probe["perturbation"] = perturbation.perturbation(inputs_gradient,
                                                              tf.not_equal(x, ""))
            with tf.GradientTape() as tape:
                adversarial_pred = self(x, training=True)
                adversarial_loss = self.optimizer.scale_loss(self._compute_loss(
                    x=x, y=y, y_pred=adversarial_pred, sample_weight=sample_weight,
                    training=True))
            adversarial_gradients = tape.gradient(adversarial_loss, weights)
        finally:
            perturbation.set_probe(None)
        self.optimizer.apply_gradients(zip(
            [add_gradients(a, b) for a, b in zip(gradients, adversarial_gradients, strict=True)],
            weights))
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

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


def token_vectors(config, features, feats, word_vectors=None, lexicon=None):
    """One vector per token: ``[words ; characters ; casing ; lexicon]`` (``token_vectors``).

    Words through :func:`embed_words`; characters through a :class:`CharEncoder`
    (``--char-encoder``, once per distinct token when ``feats`` has
    ``distinct_chars``); casing classes through an embedding (``--casing-dim``,
    0 = none); ``lexicon`` (``float32 [vocab, tags]``, ``tagger.data.lexicon``):
    each word's tag shares, a frozen table read with the word id before word
    dropout (it is what other text says about the word, not a learned guess).
    """
    parts = [embed_words(config, features, feats["words"], word_vectors)]
    if config.char_encoder != "none":
        char_encoder = CharEncoder(features.char_vocab_size, config.char_dim, config.char_units,
                                   kind=config.char_encoder, cell=config.cell,
                                   width=config.char_width, name="char_encoder")
        if "distinct_chars" in feats:  # once per distinct token
            distinct_vectors = char_encoder(feats["distinct_chars"])
            parts.append(ops.take(distinct_vectors, feats["token_index"], axis=0))
        else:
            parts.append(char_encoder(feats["chars"]))
    if config.casing_dim > 0:
        casing = keras.layers.Embedding(features.casing_vocab_size, config.casing_dim,
                                        name="casing_embedding")
        parts.append(casing(feats["casing"]))
    if lexicon is not None:
        if lexicon.shape[0] != features.word_vocab_size:
            raise ValueError(f"a lexicon table of {lexicon.shape[0]} rows, expected "
                             f"{features.word_vocab_size} (one per word id)")
        table = keras.layers.Embedding(features.word_vocab_size, lexicon.shape[1],
                                       weights=[lexicon], trainable=False,
                                       name="lexicon_embedding")
        parts.append(table(feats["words"]))
    x = keras.layers.Concatenate(name="token_vectors")(parts) if len(parts) > 1 else parts[0]
    if config.adversarial > 0:  # marks the vectors that adversarial training perturbs
        x = AdversarialPerturbation(config.adversarial, name="adversarial_perturbation")(x)
    return x
