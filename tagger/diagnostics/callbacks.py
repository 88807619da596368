"""``GradientNormLogger``: gradient norms of a training model, in TensorBoard.

Keras 3 does not hand gradients to callbacks, so the callback computes them
itself: every ``every_n_batches`` optimizer steps it takes the gradient of the
model's own training objective (``model.compute_loss``, regularization
included, ``training=True``) on a *held* batch with ``tf.GradientTape``.

A fixed batch makes the curve comparable over time: it moves because the
weights move, not because the batch changed. The cost is one extra forward
and backward pass every ``every_n_batches`` steps (compiled once with
``tf.function``).

Scalars written (under ``LOG_DIR/gradients``, beside the ``train`` and
``validation`` runs of ``keras.callbacks.TensorBoard``), at step
``optimizer.iterations``:

* ``gradients/global_norm``: ``sqrt(Σ_v ‖g_v‖²)`` over trainable variables;
* ``gradients/global_norm_clipped``: the same after the optimizer's
  ``clipnorm`` (per variable) or ``global_clipnorm``, when one is set, so the
  effect of clipping is visible next to the raw norm;
* ``gradients/layer/<name>``: the norm over each top-level layer's variables
  (when ``per_layer``; a sum of per-variable squares, so it is cheap).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf


def _first_batch(data):
    if isinstance(data, tf.data.Dataset):
        data = next(iter(data.take(1)))
    elif not isinstance(data, (tuple, list)):
        raise ValueError(
            "`data` must be a tuple (x, y[, sample_weight]) or a tf.data.Dataset of them. "
            f"Received: {type(data).__name__}"
        )
    return keras.utils.unpack_x_y_sample_weight(tuple(data))


class GradientNormLogger(keras.callbacks.Callback):
    """Logs the global (and per-layer) gradient norm to TensorBoard during ``fit``.

    Args:
        log_dir: TensorBoard log folder (the scalars go to ``log_dir/gradients``).
        data: The held batch: ``(x, y)`` / ``(x, y, sample_weight)``, or a
            ``tf.data.Dataset`` whose first element is used.
        every_n_batches: Log every this many optimizer steps (and at step 0).
        per_layer: Also log the norm of each top-level layer's gradients.

    Attributes:
        history: ``[(step, global_norm), ...]`` as logged.

    Example:

    >>> logger = GradientNormLogger("logs/run1", data=(x_train[:64], y_train[:64]))
    >>> model.fit(x_train, y_train, callbacks=[logger, keras.callbacks.TensorBoard("logs/run1")])
    """

    def __init__(self, log_dir, data, every_n_batches=50, per_layer=True):
        super().__init__()
        if isinstance(every_n_batches, bool) or not isinstance(every_n_batches, int) or (
            every_n_batches < 1
        ):
            raise ValueError(
                f"`every_n_batches` must be a positive integer. Received: {every_n_batches!r}"
            )
        self.log_dir = os.fspath(log_dir)
        self.x, self.y, self.sample_weight = _first_batch(data)
        self.every_n_batches = every_n_batches
        self.per_layer = per_layer
        self.history = []
        self._writer = None
        self._gradients = None

    # ------------------------------------------------------------- internals
    def _layer_groups(self):
        """Index lists of ``trainable_variables`` per top-level layer."""
        position = {id(v): i for i, v in enumerate(self.model.trainable_variables)}
        groups = {}
        for layer in self.model.layers:
            indices = [position[id(v)] for v in layer.trainable_variables if id(v) in position]
            if indices:
                groups[layer.name] = indices
        return groups

    def _build_gradient_fn(self):
        model = self.model
        variables = model.trainable_variables

        @tf.function(reduce_retracing=True)
        def squared_norms(x, y, sample_weight):
            with tf.GradientTape() as tape:
                y_pred = model(x, training=True)
                loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                          training=True)
            grads = tape.gradient(loss, variables)
            return tf.stack([
                tf.reduce_sum(tf.square(tf.cast(tf.convert_to_tensor(g), tf.float32)))
                if g is not None else tf.constant(0.0)
                for g in grads
            ])

        return squared_norms

    def _clipped(self, squared):
        optimizer = self.model.optimizer
        global_clip = getattr(optimizer, "global_clipnorm", None)
        clip = getattr(optimizer, "clipnorm", None)
        norm = float(np.sqrt(squared.sum()))
        if global_clip:
            return min(norm, float(global_clip))
        if clip:
            return float(np.sqrt(np.minimum(squared, float(clip) ** 2).sum()))
        return None

    def log_now(self, step: int) -> float:
        """Compute the norms on the held batch, write them at ``step``; returns the global norm."""
        if self._gradients is None:
            self._gradients = self._build_gradient_fn()
            self._groups = self._layer_groups() if self.per_layer else {}
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "gradients"))
        squared = self._gradients(self.x, self.y, self.sample_weight).numpy().astype(np.float64)
        norm = float(np.sqrt(squared.sum()))
        clipped = self._clipped(squared)
        with self._writer.as_default(step=step):
            tf.summary.scalar("gradients/global_norm", norm)
            if clipped is not None:
                tf.summary.scalar("gradients/global_norm_clipped", clipped)
            for name, indices in self._groups.items():
                tf.summary.scalar(f"gradients/layer/{name}", float(np.sqrt(squared[indices].sum())))
        self.history.append((step, norm))
        return norm

    # -------------------------------------------------------------- hooks
    def on_train_begin(self, logs=None):
        self._gradients = None  # the model may have been rebuilt since the last fit
        if int(self.model.optimizer.iterations) == 0:
            self.log_now(0)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations)
        if step % self.every_n_batches == 0:
            self.log_now(step)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()
