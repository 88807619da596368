"""Bidirectional recurrent sentence classifier (sentiment, question type, topic).

Architecture, from raw token strings::

    tokens ─ TokenFeatures ─┬─ words ─ WordDropout ─ Embedding ─┐  (GloVe at start)
                            ├─ chars ─ CharEncoder (CNN / BiRNN) ┼─ concat ─ Dropout
                            └─ casing ─ Embedding ──────────────┘
      ─ [make_rnn(cell, bidirectional=True) ─ Dropout] × layers
      ─ pooling over real steps (max / mean / attention, or the last states)
      ─ Dense(classes) logits
        (or Dense(fine labels) ─ GroupLogits: a class's probability is the sum of
         its fine labels', for a coarse task learned from fine labels)

Characters and casing are the tagger's token features, optional like there
(``--char-encoder none``, ``--casing-dim 0`` give a words-only classifier).
"""

from __future__ import annotations

import keras

from tagger.cells import make_rnn
from tagger.layers.label_groups import GroupLogits
from tagger.layers.token_encoders import MaskedPooling
from tagger.models.base import StringInputModel, token_vectors


@keras.saving.register_keras_serializable(package="tagger")
class SentenceClassifier(StringInputModel):
    """A functional classifier (built by :func:`build_sentence_classifier`)."""

    def fine_label_model(self) -> SentenceClassifier:
        """The same network up to its fine-label logits (it shares every weight).

        Only for a classifier built with ``fine_labels``: training fits this
        model to the fine labels, while dev scoring and export use the classes.
        """
        return SentenceClassifier(self.inputs, self.get_layer("fine_logits").output,
                                  name="fine_label_classifier")


def build_sentence_classifier(config, features, class_names, word_vectors=None,
                              fine_labels=None, lexicon=None) -> keras.Model:
    """Builds the classifier described by ``config`` (a TrainConfig).

    ``word_vectors``: the initial word embedding (``[vocab, dim]``), or None.
    ``fine_labels``: ``{fine label: its class in class_names}``, in the order of
    the fine label ids; the model then scores the fine labels and sums their
    probabilities per class (:class:`GroupLogits`), and
    :meth:`SentenceClassifier.fine_label_model` is the model to train.
    ``lexicon``: each word id's tag shares in a tag lexicon (``--lexicon``), or None.
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
    if fine_labels is None:
        logits_layers = [keras.layers.Dense(len(class_names), name="logits")]
    else:
        groups = [list(class_names).index(label) for label in fine_labels.values()]
        logits_layers = [keras.layers.Dense(len(fine_labels), name="fine_logits"),
                         GroupLogits(groups, len(class_names), name="logits")]

    # --- functional model
    tokens = keras.Input(shape=(None,), dtype="string", name="tokens")
    feats = features(tokens)
    mask = keras.ops.not_equal(feats["words"], 0)  # explicit, as in the tagger
    x = token_vectors(config, features, feats, word_vectors, lexicon)
    x = keras.layers.Dropout(config.dropout, seed=config.seed, name="embedding_dropout")(x)
    for i, encoder in enumerate(encoders):
        x = encoder(x, mask=mask)
        x = keras.layers.Dropout(config.dropout, seed=config.seed + i + 1,
                                 name=f"birnn_{i}_dropout")(x)
    if pooling is not None:
        x = pooling(x, mask=mask)
    for layer in logits_layers:
        x = layer(x)
    logits = x

    # --- model
    return SentenceClassifier(tokens, logits, name="sentence_classifier")
