"""Predicting with a Keras model over a dataset, and scoring the predictions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from tagger.data.pipeline import classification_dataset, tagging_dataset
from tagger.data.schemes import bioes_to_iob2, is_bioes
from tagger.evaluation.metrics import classification_metrics, tagging_metrics


class Predictor:
    """Compiled prediction for a tagger (``model.decode``) or classifier (argmax).

    One ``tf.function`` with an unknown-shape string signature, so evaluating
    bucketed batches of any length never retraces.
    """

    def __init__(self, model, kind: str):
        self.model, self.kind = model, kind
        signature = [tf.TensorSpec([None, None], tf.string)]
        if kind == "tagging":
            self._fn = tf.function(lambda tokens: model.decode(tokens)[0],
                                   input_signature=signature)
        else:
            self._fn = tf.function(
                lambda tokens: tf.argmax(model(tokens, training=False), axis=-1,
                                         output_type=tf.int32),
                input_signature=signature,
            )

    def __call__(self, tokens) -> np.ndarray:
        return self._fn(tokens).numpy()


def evaluate_examples(predictor: Predictor, examples: Sequence, labels: Sequence[str],
                      task: str, batch_size: int = 128) -> tuple[dict, list, list]:
    """Scores ``predictor`` on ``examples``; returns ``(metrics, gold, predicted)``.

    Gold labels come from the same batches the model sees, so bucketing may
    reorder examples without misaligning anything.
    """
    labels = list(labels)
    if predictor.kind == "tagging":
        data = tagging_dataset(examples, labels, batch_size, shuffle=False, bucket=True)
        gold, predicted = [], []
        for tokens, tag_ids in data:
            lengths = tf.reduce_sum(tf.cast(tf.not_equal(tokens, ""), tf.int32), axis=1).numpy()
            decoded = predictor(tokens)
            tag_ids = tag_ids.numpy()
            for row, length in enumerate(lengths):
                gold.append([labels[i] for i in tag_ids[row, :length]])
                predicted.append([labels[i] for i in decoded[row, :length]])
        if is_bioes(labels):  # scored, like the exported model's outputs, in IOB2
            gold = [bioes_to_iob2(tags) for tags in gold]
            predicted = [bioes_to_iob2(tags) for tags in predicted]
        return tagging_metrics(gold, predicted, task), gold, predicted
    data = classification_dataset(examples, labels, batch_size, shuffle=False, bucket=True)
    gold, predicted = [], []
    for tokens, label_ids in data:
        gold += [labels[i] for i in label_ids.numpy()]
        predicted += [labels[i] for i in predictor(tokens)]
    return classification_metrics(gold, predicted, labels), gold, predicted

