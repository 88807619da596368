"""Adversarial training on token vectors (Goodfellow et al. 2015; Miyato et al. 2017).

Each training step also learns from the batch with every sentence's token
vectors ``v`` moved to ``v + r``, where ``r`` is the small step that raises
the loss most to first order (Yasunaga et al. 2018 for taggers)::

    g = dL/dv                                  (per sentence, [T, D])
    r = eps * sqrt(n) * g / ||g||_F            (n real tokens: on average eps per token)
    loss = L(v) + L(v + stop_gradient(r))

:class:`AdversarialPerturbation` marks where ``v`` is (after the token
vectors, before dropout); ``StringInputModel.train_step`` runs the two
passes. Outside that step the layer is the identity, so evaluation, export
and serving see the plain network.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tagger")
class AdversarialPerturbation(keras.layers.Layer):
    """Identity, except in the adversarial pass of a training step.

    The training step hands the layer a ``probe`` dict: in the clean pass the
    layer stores its input there (``"inputs"``, so the step can take the loss
    gradient with respect to it); when the probe holds a ``"perturbation"``,
    the layer adds it.
    """

    def __init__(self, epsilon, **kwargs):
        super().__init__(**kwargs)
        if epsilon <= 0:
            raise ValueError(f"`epsilon` must be > 0. Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)
        self.supports_masking = True
        self.set_probe(None)

    def set_probe(self, probe: dict | None) -> None:
        # bypasses Keras' and TF's attribute tracking: a per-step scratch dict, never saved
        object.__setattr__(self, "_probe", probe)

    def call(self, x, training=False):
        probe = self._probe
        if not training or probe is None:
            return x
        if "perturbation" in probe:
            return x + tf.cast(probe["perturbation"], x.dtype)
        probe["inputs"] = x
        return x

    def perturbation(self, gradient, mask):
        """``r`` from the loss gradient ``[B, T, D]`` and the real-token ``mask [B, T]``."""
        gradient = tf.cast(gradient, "float32") * tf.cast(mask, "float32")[:, :, None]
        tokens = tf.reduce_sum(tf.cast(mask, "float32"), axis=1)[:, None, None]
        norm = tf.sqrt(tf.reduce_sum(tf.square(gradient), axis=[1, 2], keepdims=True))
        return tf.stop_gradient(self.epsilon * tf.sqrt(tokens) * gradient
                                / tf.maximum(norm, 1e-12))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


def add_gradients(first, second):
    """``first + second`` for gradients that may be ``None`` or ``tf.IndexedSlices``
    (embedding rows: the rows of both are kept, the optimizer sums repeated rows)."""
    if first is None or second is None:
        return second if first is None else first
    if isinstance(first, tf.IndexedSlices) and isinstance(second, tf.IndexedSlices):
        return tf.IndexedSlices(tf.concat([first.values, second.values], 0),
                                tf.concat([first.indices, second.indices], 0),
                                first.dense_shape)
    return tf.convert_to_tensor(first) + tf.convert_to_tensor(second)
