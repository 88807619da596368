"""Elman network (simple recurrent network)."""

from __future__ import annotations

import keras
from keras import ops

from tagger.cells.base import RecurrentCell, activation_name, register

_ALLOWED_ACTIVATIONS = ("tanh", "relu")


@register
class ElmanCell(RecurrentCell):
    """Elman's simple recurrent cell (Elman, 1990, "Finding structure in time").

    Equations::

        h_t = f(W x_t + U h_{t-1} + b),     f = tanh (default) or relu

    ``W`` is ``kernel``, ``U`` is ``recurrent_kernel``, ``b`` is ``bias``; the
    same math and weight layout as ``keras.layers.SimpleRNNCell``.

    Example:

    >>> cell = ElmanCell(32, activation="relu")
    >>> layer = keras.layers.RNN(cell, return_sequences=True)
    """

    def __init__(self, units, activation="tanh", **kwargs):
        name = activation if isinstance(activation, str) else getattr(activation, "__name__", "")
        if name not in _ALLOWED_ACTIVATIONS:
            raise ValueError(
                f"`activation` must be one of {_ALLOWED_ACTIVATIONS}. "
                f"Received: activation={activation!r}"
            )
        super().__init__(units, **kwargs)
        self.activation = keras.activations.get(activation)

    def step(self, projected, states, weights, recurrent_mask=None):
        h = self._recurrent_input(states[0], recurrent_mask)
        output = self.activation(projected + ops.matmul(h, weights["recurrent_kernel"]))
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "activation": activation_name(self.activation)}
