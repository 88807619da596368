"""Bidirectional recurrent sentence classifier (sentiment, question type, topic).

Architecture, from raw token strings::

    tokens ─ TokenFeatures ─┬─ words ─ WordDropout ─ Embedding ─┐  (GloVe at start)
                            ├─ chars ─ CharEncoder (CNN / BiRNN) ┼─ concat ─ Dropout
                            └─ casing ─ Embedding ──────────────┘
      ─ [make_rnn(cell, bidirectional=True) ─ Dropout] × layers
      ─ pooling over real steps (max / mean / attention, or the last states)
      ─ Dense(classes) logits

Characters and casing are the tagger's token features, optional like there
(``--char-encoder none``, ``--casing-dim 0`` give a words-only classifier).
"""

from __future__ import annotations

import keras

from tagger.cells import make_rnn
from tagger.layers.token_encoders import MaskedPooling
from tagger.models.base import StringInputModel, token_vectors


@keras.saving.register_keras_serializable(package="tagger")
class SentenceClassifier(StringInputModel):
    """A functional classifier (built by :func:`build_sentence_classifier`)."""


def build_sentence_classifier(config, features, class_names, word_vectors=None) -> keras.Model:
    """Builds the classifier described by ``config`` (a TrainConfig).

    ``word_vectors``: the initial word embedding (``[vocab, dim]``), or None.
    """
    # --- layers
    last_only = config.pooling == "last"
    encoders = [
        make_rnn(config.cell, config.units, bidirectional=True,
                 return_sequences=not (last_only and i == config.layers - 1),
                 recurrent_dropout=config.recurrent_dropout, name=f"birnn_{i}")
        for i in range(config.layers)
    ]
    pooling = None if last_only else MaskedPooling(config.pooling, name="pooling")
    logits_layer = keras.layers.Dense(len(class_names), name="logits")

    # --- functional model
    tokens = keras.Input(shape=(None,), dtype="string", name="tokens")
    feats = features(tokens)
    mask = keras.ops.not_equal(feats["words"], 0)  # explicit, as in the tagger
    x = token_vectors(config, features, feats, word_vectors)
    x = keras.layers.Dropout(config.dropout, seed=config.seed, name="embedding_dropout")(x)
    for i, encoder in enumerate(encoders):
        x = encoder(x, mask=mask)
        x = keras.layers.Dropout(config.dropout, seed=config.seed + i + 1,
                                 name=f"birnn_{i}_dropout")(x)
    if pooling is not None:
        x = pooling(x, mask=mask)
    logits = logits_layer(x)

    # --- model
    return SentenceClassifier(tokens, logits, name="sentence_classifier")
