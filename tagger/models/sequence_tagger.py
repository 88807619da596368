"""Bidirectional recurrent sequence tagger (NER, POS, chunking).

Architecture (Lample et al. 2016; Ma & Hovy 2016), from raw token strings::

    tokens ─ TokenFeatures ─┬─ words ─ WordDropout ─ Embedding ─┐  (GloVe at start)
                            ├─ chars ─ CharEncoder (CNN / BiRNN) ┼─ concat ─ Dropout
                            └─ casing ─ Embedding ──────────────┘
      ─ [make_rnn(cell, bidirectional=True) ─ Dropout] × layers ─ Dense(tags)
      ─ CRF (transitions, Viterbi) or softmax

With ``TokenFeatures(distinct=True)`` (what training builds) the characters
of each distinct token of a batch are encoded once.

The model maps ``tokens`` (``tf.string [batch, time]``, "" = padding) to
per-tag emission scores; ``decode`` turns them into tag ids and per-token
confidences (CRF marginals or softmax probabilities).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from tagger.cells import make_rnn
from tagger.layers.crf import CRF
from tagger.models.base import StringInputModel, token_vectors


@keras.saving.register_keras_serializable(package="tagger")
class SequenceTagger(StringInputModel):
    """A functional tagger whose loss and decoding know its head (CRF or softmax).

    Built by :func:`build_sequence_tagger`. Loss: mean negative CRF
    log-likelihood per sentence, or mean softmax cross-entropy per real token;
    plus any regularization losses.
    """

    @property
    def crf(self) -> CRF | None:
        try:
            return self.get_layer("crf")
        except ValueError:
            return None

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        mask = tf.not_equal(x, "")
        tags = ops.cast(y, "int32")
        if self.crf is not None:
            loss = self.crf.crf_loss(y_pred, tags, mask)
        else:
            per_token = keras.losses.sparse_categorical_crossentropy(
                tags, ops.cast(y_pred, "float32"), from_logits=True
            )
            weights = ops.cast(mask, "float32")
            loss = ops.sum(per_token * weights) / ops.maximum(ops.sum(weights), 1.0)
        if self.losses:
            loss = loss + ops.cast(ops.sum(self.losses), loss.dtype)
        # Keras sums replica losses under tf.distribute: pre-divide, as its own losses do.
        return loss / tf.distribute.get_strategy().num_replicas_in_sync

    def decode(self, tokens):
        """``(tag_ids int32 [B, T], scores float32 [B, T])``; padding gets id 0, score 0."""
        mask = tf.not_equal(tokens, "")
        emissions = self(tokens, training=False)
        if self.crf is not None:
            return self.crf.decode(emissions, mask)
        tags, probabilities, _ = self.posteriors_of(emissions, mask)
        return tags, ops.max(probabilities, axis=-1)  # 0 on padding (rows zeroed there)

    def posteriors(self, tokens, temperature=1.0):
        """Best tags and their posteriors: ``(tags [B, T], marginals, conditionals [B, T, K])``.

        CRF: Viterbi tags, forward-backward marginals and the path's step-wise
        conditionals (:meth:`CRF.posteriors`); softmax: argmax tags, and the
        tag probabilities as both (tags are independent). ``temperature``
        divides every score before normalising (1: the model as trained).
        """
        mask = tf.not_equal(tokens, "")
        return self.posteriors_of(self(tokens, training=False), mask, temperature)

    def posteriors_of(self, emissions, mask, temperature=1.0):
        """:meth:`posteriors` from emissions already computed (calibration reuses them)."""
        if self.crf is not None:
            return self.crf.posteriors(emissions, mask, temperature)
        probabilities = ops.softmax(ops.cast(emissions, "float32") / temperature, axis=-1)
        probabilities = probabilities * ops.cast(mask, "float32")[:, :, None]
        tags = ops.cast(ops.argmax(probabilities, axis=-1), "int32") * ops.cast(mask, "int32")
        return tags, probabilities, probabilities


def build_sequence_tagger(config, features, tag_names, scheme=None,
                          word_vectors=None) -> SequenceTagger:
    """Builds the tagger described by ``config`` (a :class:`tagger.config.TrainConfig`).

    Args:
        config: hyperparameters (cell, units, layers, dims, dropout, head, ...).
        features: a built ``tagger.data.features.TokenFeatures`` layer.
        tag_names: the tag vocabulary; output index i is ``tag_names[i]``.
        scheme: ``"IOB2"``/``"BIOES"`` to constrain CRF transitions, or None.
        word_vectors: the initial word embedding (``[vocab, dim]``), or None.
    """
    # --- layers
    encoders = [
        make_rnn(config.cell, config.units, bidirectional=True, return_sequences=True,
                 recurrent_dropout=config.recurrent_dropout, name=f"birnn_{i}")
        for i in range(config.layers)
    ]
    emissions_layer = keras.layers.Dense(len(tag_names), name="emissions")

    # --- functional model
    tokens = keras.Input(shape=(None,), dtype="string", name="tokens")
    feats = features(tokens)
    # The mask is passed explicitly: Concatenate would OR it with the unmasked
    # char and casing parts, and padding would then reach the recurrent layers.
    mask = ops.not_equal(feats["words"], 0)
    x = token_vectors(config, features, feats, word_vectors)
    x = keras.layers.Dropout(config.dropout, seed=config.seed, name="embedding_dropout")(x)
    for i, encoder in enumerate(encoders):
        x = encoder(x, mask=mask)
        x = keras.layers.Dropout(config.dropout, seed=config.seed + i + 1,
                                 name=f"birnn_{i}_dropout")(x)
    emissions = emissions_layer(x)
    if config.head == "crf":
        crf_scheme = scheme.lower() if scheme else None
        emissions = CRF(len(tag_names), tag_names=list(tag_names), scheme=crf_scheme,
                        name="crf")(emissions, mask=mask)

    # --- model
    return SequenceTagger(tokens, emissions, name="sequence_tagger")


def rebuild_sequence_tagger(model, config, tag_names, scheme=None) -> SequenceTagger:
    """The same weights in the graph :func:`build_sequence_tagger` builds today.

    For taggers saved by older versions (e.g. before characters were encoded
    once per distinct token): every layer is rebuilt from ``config`` and takes
    the weights of the saved layer with the same name.
    """
    from tagger.data.features import CASING_CLASSES, TokenFeatures

    features_config = model.get_layer("token_features").get_config()
    features = TokenFeatures.from_config({**features_config, "distinct": True})
    features.casing_vocab_size = len(CASING_CLASSES)
    rebuilt = build_sequence_tagger(config, features, tag_names, scheme)
    for layer in model.layers:
        if layer.weights:
            rebuilt.get_layer(layer.name).set_weights(layer.get_weights())
    return rebuilt
