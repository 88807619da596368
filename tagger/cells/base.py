"""The shared shape of every recurrent cell in the library.

A cell splits its step into two parts so that sequence layers can run fast:

* ``project_inputs(x)`` holds every term that depends only on the input
  ``x_t`` (the input kernel products, input biases, input-only activations).
  It accepts ``(batch, features)`` or ``(batch, time, features)``, so a
  sequence layer computes it for all time steps in one matrix product.
* ``step(projected, states, weights, recurrent_mask)`` is the recurrence
  proper. It reads its recurrent weights from ``weights`` (a dict made by
  ``recurrent_weights()``) rather than from ``self``, so a bidirectional layer
  can pass both directions' weights stacked on a leading axis and run the two
  directions as one batched step.

``call(inputs, states, training)`` is simply ``step(project_inputs(inputs))``,
which makes every cell a regular Keras cell for ``keras.layers.RNN``.
"""

from __future__ import annotations

import keras
from keras import ops

SERIALIZATION_PACKAGE = "tagger"


def _check_units(units) -> int:
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(f"`units` must be a positive integer. Received: units={units!r}")
    return units


def _check_rate(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"`{name}` must be a float in [0, 1). Received: {name}={value!r}")
    return float(value)


class RecurrentCell(keras.layers.Layer):
    """Base class of the library's cells (not registered; use a subclass).

    Subclasses set ``input_blocks`` (how many ``units``-wide blocks the input
    kernel has), ``recurrent_blocks`` (same for the recurrent kernel) and
    ``state_count`` (1 for ``h``; 2 for LSTM's ``h, c``), and implement
    ``step``. They may override ``project_inputs``, ``recurrent_weights`` and
    ``_build_extra`` when their math needs it.

    Args:
        units: Positive integer, size of the hidden state.
        dropout: Fraction of the input units to drop, in ``[0, 1)``.
        recurrent_dropout: Fraction of ``h_{t-1}`` to drop in the recurrent
            products, in ``[0, 1)``. ``keras.layers.RNN`` draws fresh masks each
            step; ``make_rnn`` draws one mask per sequence (variational).
        kernel_initializer, recurrent_initializer, bias_initializer: Keras
            initializers for the input kernel, recurrent kernel and biases.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Optional
            Keras regularizers.
        seed: Optional integer seed for the dropout masks.
    """

    input_blocks = 1
    recurrent_blocks = 1
    bias_blocks = None  # defaults to input_blocks
    state_count = 1

    def __init__(
        self,
        units,
        dropout=0.0,
        recurrent_dropout=0.0,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = _check_units(units)
        self.dropout = _check_rate("dropout", dropout)
        self.recurrent_dropout = _check_rate("recurrent_dropout", recurrent_dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.state_size = self.units if self.state_count == 1 else [self.units] * self.state_count
        self.output_size = self.units

    # ----------------------------------------------------------------- build
    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} needs a known feature dimension. "
                f"Received: input_shape={input_shape}"
            )
        self.kernel = self.add_weight(
            shape=(input_dim, self.input_blocks * self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.recurrent_blocks * self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
        )
        self.bias = self.add_weight(
            shape=((self.bias_blocks or self.input_blocks) * self.units,),
            name="bias",
            initializer=self._input_bias_initializer(),
            regularizer=self.bias_regularizer,
        )
        self._build_extra(input_dim)

    def _input_bias_initializer(self):
        """Initializer of ``bias``; gated cells override it to set gate biases."""
        return self.bias_initializer

    def _build_extra(self, input_dim):
        """Hook for weights beyond kernel, recurrent kernel and bias."""

    def _vector_weight(self, name, initializer, size=None):
        return self.add_weight(
            shape=(size or self.units,),
            name=name,
            initializer=initializer,
            regularizer=self.bias_regularizer,
        )

    # ------------------------------------------------------------------ math
    def project_inputs(self, inputs):
        """Input-only terms for one step ``(B, F)`` or all steps ``(B, T, F)``."""
        return affine(inputs, self.kernel, self.bias)

    def recurrent_weights(self) -> dict:
        """The weights ``step`` reads, by name (stackable across directions)."""
        return {"recurrent_kernel": self.recurrent_kernel}

    def step(self, projected, states, weights, recurrent_mask=None):
        """One recurrence step: returns ``(output, new_states)``."""
        raise NotImplementedError

    @staticmethod
    def _recurrent_input(h, recurrent_mask):
        return h if recurrent_mask is None else h * recurrent_mask

    # ---------------------------------------------------------- Keras cell API
    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        states = list(states) if nested else [states]
        if training and self.dropout > 0:
            inputs = keras.random.dropout(inputs, self.dropout, seed=self.seed_generator)
        recurrent_mask = None
        if training and self.recurrent_dropout > 0:
            recurrent_mask = self.recurrent_dropout_mask(ops.shape(states[0])[0], states[0].dtype)
        output, new_states = self.step(
            self.project_inputs(inputs), states, self.recurrent_weights(), recurrent_mask
        )
        return output, (list(new_states) if nested else new_states[0])

    def recurrent_dropout_mask(self, batch_size, dtype):
        """A scaled keep-mask of shape ``(batch, units)`` for ``h_{t-1}``."""
        ones = ops.ones((batch_size, self.units), dtype=dtype)
        return keras.random.dropout(ones, self.recurrent_dropout, seed=self.seed_generator)

    def get_initial_state(self, batch_size=None):
        return [
            ops.zeros((batch_size, self.units), dtype=self.compute_dtype)
            for _ in range(self.state_count)
        ]

    def get_config(self):
        config = {
            "units": self.units,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": keras.regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


def register(cls):
    """Register a cell class for Keras serialization under package ``tagger``."""
    return keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)(cls)


def affine(x, kernel, bias):
    """``x @ kernel + bias``.

    On TensorFlow a 2-D ``x`` (what the sequence layers pass: packed steps)
    goes through ``tf.nn.bias_add``, which Grappler fuses with the product
    into one ``_FusedMatMul`` kernel; a plain add is a second pass over the
    output (the fused pair is ~15 % faster at tagger sizes, bench/RESULTS.md).
    """
    if keras.backend.backend() == "tensorflow" and len(x.shape) == 2:
        import tensorflow as tf

        return tf.nn.bias_add(ops.matmul(x, kernel), bias)
    return ops.matmul(x, kernel) + bias


def split_blocks(x, count):
    """Split the last axis into ``count`` equal blocks."""
    return ops.split(x, count, axis=-1)


def activation_name(activation):
    """Serialize an activation argument for get_config."""
    return keras.activations.serialize(keras.activations.get(activation))
