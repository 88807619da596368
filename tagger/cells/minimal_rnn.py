"""MinimalRNN."""

from __future__ import annotations

import keras
from keras import ops

from tagger.cells.base import RecurrentCell, affine, register


@register
class MinimalRNNCell(RecurrentCell):
    """MinimalRNN (Chen, 2017, arXiv:1711.06788).

    Equations::

        z_t = tanh(W_x x_t + b_z)                       (input mapped to latent space)
        u_t = σ(U_h h_{t-1} + U_z z_t + b_u)            (update gate)
        h_t = u_t ⊙ h_{t-1} + (1 - u_t) ⊙ z_t

    ``kernel`` is ``W_x``, ``bias`` is ``b_z``, ``recurrent_kernel`` is
    ``U_h``, ``latent_kernel`` is ``U_z`` and ``gate_bias`` is ``b_u``. Both
    ``z_t`` and ``U_z z_t + b_u`` depend only on the input, so the step itself
    costs a single ``units × units`` product. With ``unit_forget_bias=True``
    (default) ``b_u`` starts at 1 so the cell starts out remembering, the
    analogue of the LSTM forget bias.

    This is not the toy ``MinimalRNNCell`` of the Keras RNN guide, which is an
    Elman cell.

    Example:

    >>> layer = keras.layers.RNN(MinimalRNNCell(64), return_sequences=True)
    """

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _build_extra(self, input_dim):
        self.latent_kernel = self.add_weight(
            shape=(self.units, self.units),
            name="latent_kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        gate_init = (
            keras.initializers.Constant(1.0) if self.unit_forget_bias else self.bias_initializer
        )
        self.gate_bias = self._vector_weight("gate_bias", gate_init)

    def project_inputs(self, inputs):
        """Returns ``[U_z z_t + b_u, z_t]`` concatenated on the last axis."""
        z = ops.tanh(affine(inputs, self.kernel, self.bias))
        gate_input = affine(z, self.latent_kernel, self.gate_bias)
        return ops.concatenate([gate_input, z], axis=-1)

    def step(self, projected, states, weights, recurrent_mask=None):
        h = states[0]
        gate_input, z = ops.split(projected, 2, axis=-1)
        h_in = self._recurrent_input(h, recurrent_mask)
        u = ops.sigmoid(gate_input + ops.matmul(h_in, weights["recurrent_kernel"]))
        h = z + u * (h - z)  # = u h + (1 - u) z, one op fewer
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}
