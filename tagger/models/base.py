"""The base class of our models: Keras models whose input is token strings."""

from __future__ import annotations

import keras
import tensorflow as tf


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
