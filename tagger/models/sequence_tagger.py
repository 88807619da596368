"""Bidirectional recurrent sequence tagger (NER, POS, chunking).

Architecture (Lample et al. 2016; Ma & Hovy 2016), from raw token strings::

    tokens ─ TokenFeatures ─┬─ words ─ WordDropout ─ Embedding ─┐  (GloVe at start)
                            ├─ chars ─ CharEncoder (CNN / BiRNN) ┤
                            ├─ casing ─ Embedding ───────────────┼─ concat ─ Dropout
                            └─ words ─ lexicon table (frozen) ───┘  (--lexicon)
      ─ [make_rnn(cell, bidirectional=True) ─ Dropout] × layers ─ Dense(tags)
      ─ CRF (transitions, Viterbi) or softmax
                                                  └ Dense(auxiliary tags), softmax
                                                    (while training, --auxiliary-task)
    first BiRNN layer's states ─ next / previous word (while training,
                                 --language-model, tagger.layers.language_model)

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
from tagger.layers.language_model import LanguageModelObjective
from tagger.models.base import StringInputModel, token_vectors


@keras.saving.register_keras_serializable(package="tagger")
class SequenceTagger(StringInputModel):
    """A functional tagger whose loss and decoding know its head (CRF or softmax).

    Built by :func:`build_sequence_tagger`. Loss: mean negative CRF
    log-likelihood per sentence, or mean softmax cross-entropy per real token;
    plus any regularization losses. Training-only objectives are further
    outputs, after the emissions, named by their layers:

    - ``auxiliary_logits`` (an auxiliary task): the targets are ``[B, T, 2]``
      (tags, auxiliary tags), and the loss adds ``auxiliary_weight`` × the
      softmax cross-entropy of the auxiliary tags, in the main loss's units
      (summed per sentence beside a CRF, per real token beside a softmax);
    - ``language_model`` (its loss per sentence, ``[B]``): the loss adds
      ``language_model_weight`` × its mean over the batch's sentences.
    """

    auxiliary_weight = 1.0
    language_model_weight = 0.0

    def without_auxiliary_task(self) -> SequenceTagger:
        """The tagger alone, without training-only outputs (it shares every weight):
        what scores dev and is exported."""
        if len(self.outputs) == 1:
            return self
        return SequenceTagger(self.inputs, self.outputs[0], name="sequence_tagger")

    @property
    def crf(self) -> CRF | None:
        try:
            return self.get_layer("crf")
        except ValueError:
            return None

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        mask = tf.not_equal(x, "")
        tags = ops.cast(y, "int32")
        training_only = 0.0  # the auxiliary task's and language model's losses
        if len(self.outputs) > 1:
            extra = dict(zip(self.output_names[1:], y_pred[1:], strict=True))
            y_pred = y_pred[0]
            if "auxiliary_logits" in extra:
                tags, auxiliary_tags = tags[..., 0], tags[..., 1]
                # in the main loss's units: per sentence beside a CRF, else per token
                training_only = self.auxiliary_weight * _cross_entropy(
                    auxiliary_tags, extra["auxiliary_logits"], mask,
                    per_sentence=self.crf is not None)
            if "language_model" in extra:
                training_only = training_only + self.language_model_weight * ops.mean(
                    ops.cast(extra["language_model"], "float32"))
        if self.crf is not None:
            loss = self.crf.crf_loss(y_pred, tags, mask)
        else:
            loss = _cross_entropy(tags, y_pred, mask)
        loss = loss + training_only
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


def _cross_entropy(tags, logits, mask, per_sentence=False):
    """Softmax cross-entropy of the real tokens of a batch, summed, divided by the
    number of real tokens (or of sentences, ``per_sentence``)."""
    per_token = keras.losses.sparse_categorical_crossentropy(
        tags, ops.cast(logits, "float32"), from_logits=True)
    weights = ops.cast(mask, "float32")
    count = ops.cast(ops.shape(weights)[0], "float32") if per_sentence else ops.sum(weights)
    return ops.sum(per_token * weights) / ops.maximum(count, 1.0)


def build_sequence_tagger(config, features, tag_names, scheme=None,
                          word_vectors=None, auxiliary_tags=None, lexicon=None) -> SequenceTagger:
    """Builds the tagger described by ``config`` (a :class:`tagger.config.TrainConfig`).

    Args:
        config: hyperparameters (cell, units, layers, dims, dropout, head, ...).
        features: a built ``tagger.data.features.TokenFeatures`` layer.
        tag_names: the tag vocabulary; output index i is ``tag_names[i]``.
        scheme: ``"IOB2"``/``"BIOES"`` to constrain CRF transitions, or None.
        word_vectors: the initial word embedding (``[vocab, dim]``), or None.
        auxiliary_tags: the tag vocabulary of an auxiliary task (another task's
            tags of the same tokens, learned from the same BiRNN states), or
            None; the model then also outputs its logits (see
            :meth:`SequenceTagger.without_auxiliary_task`).
        lexicon: each word id's tag shares in a tag lexicon
            (``float32 [vocab, lexicon tags]``, ``--lexicon``), or None.

    With ``config.language_model > 0`` the model also outputs the
    language-model loss of the first BiRNN layer's states
    (:class:`tagger.layers.language_model.LanguageModelObjective`).
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
    x = token_vectors(config, features, feats, word_vectors, lexicon)
    x = keras.layers.Dropout(config.dropout, seed=config.seed, name="embedding_dropout")(x)
    extra_outputs = []
    for i, encoder in enumerate(encoders):
        x = encoder(x, mask=mask)
        if i == 0 and config.language_model > 0:
            language_model = LanguageModelObjective(
                min(config.language_model_vocab, features.word_vocab_size),
                name="language_model")
            extra_outputs.append(language_model(x, feats["words"], mask))
        x = keras.layers.Dropout(config.dropout, seed=config.seed + i + 1,
                                 name=f"birnn_{i}_dropout")(x)
    emissions = emissions_layer(x)
    if config.head == "crf":
        crf_scheme = scheme.lower() if scheme else None
        emissions = CRF(len(tag_names), tag_names=list(tag_names), scheme=crf_scheme,
                        name="crf")(emissions, mask=mask)

    if auxiliary_tags is not None:
        extra_outputs.insert(0, keras.layers.Dense(len(auxiliary_tags),
                                                   name="auxiliary_logits")(x))

    # --- model
    if not extra_outputs:
        return SequenceTagger(tokens, emissions, name="sequence_tagger")
    model = SequenceTagger(tokens, [emissions, *extra_outputs],
                           name="sequence_tagger_with_training_objectives")
    model.auxiliary_weight = config.auxiliary_weight
    model.language_model_weight = config.language_model
    return model


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
    lexicon = None
    if any(layer.name == "lexicon_embedding" for layer in model.layers):
        lexicon = model.get_layer("lexicon_embedding").get_weights()[0]
    rebuilt = build_sequence_tagger(config, features, tag_names, scheme, lexicon=lexicon)
    for layer in model.layers:
        if layer.weights:
            rebuilt.get_layer(layer.name).set_weights(layer.get_weights())
    return rebuilt
