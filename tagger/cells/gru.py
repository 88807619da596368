"""Gated recurrent unit."""

from __future__ import annotations

from keras import ops

from tagger.cells.base import RecurrentCell, register, split_blocks


@register
class GRUCell(RecurrentCell):
    """Gated recurrent unit (Cho et al., 2014), both reset placements.

    Equations (blocks of ``kernel`` in the order z, r, h as in Keras)::

        z_t = σ(W_z x_t + U_z h_{t-1} + b_z)
        r_t = σ(W_r x_t + U_r h_{t-1} + b_r)
        ĥ_t = tanh(W_h x_t + U_h (r_t ⊙ h_{t-1}) + b_h)       reset_after=False
        ĥ_t = tanh(W_h x_t + r_t ⊙ (U_h h_{t-1} + b'_h) + b_h)  reset_after=True
        h_t = z_t ⊙ h_{t-1} + (1 - z_t) ⊙ ĥ_t

    ``reset_after=True`` (default, the cuDNN form) adds a recurrent bias
    ``recurrent_bias`` (``b'``, 3 blocks); it matches ``keras.layers.GRUCell``
    whose ``bias`` is ``[bias, recurrent_bias]`` stacked.

    Example:

    >>> layer = keras.layers.RNN(GRUCell(64, reset_after=False))
    """

    input_blocks = recurrent_blocks = 3

    def __init__(self, units, reset_after=True, **kwargs):
        if not isinstance(reset_after, bool):
            raise ValueError(f"`reset_after` must be a bool. Received: reset_after={reset_after!r}")
        super().__init__(units, **kwargs)
        self.reset_after = reset_after

    def _build_extra(self, input_dim):
        if self.reset_after:
            self.recurrent_bias = self._vector_weight(
                "recurrent_bias", self.bias_initializer, 3 * self.units
            )

    def recurrent_weights(self):
        if self.reset_after:
            return {
                "recurrent_kernel": self.recurrent_kernel,
                "recurrent_bias": self.recurrent_bias,
            }
        # Reset-before needs h's product for z, r before r is known for ĥ.
        zr_kernel, h_kernel = ops.split(self.recurrent_kernel, [2 * self.units], axis=-1)
        return {"recurrent_kernel_zr": zr_kernel, "recurrent_kernel_h": h_kernel}

    def step(self, projected, states, weights, recurrent_mask=None):
        h = states[0]
        h_in = self._recurrent_input(h, recurrent_mask)
        x_zr, x_h = ops.split(projected, [2 * self.units], axis=-1)
        if self.reset_after:
            inner = ops.matmul(h_in, weights["recurrent_kernel"]) + weights["recurrent_bias"]
            inner_zr, inner_h = ops.split(inner, [2 * self.units], axis=-1)
            z, r = split_blocks(ops.sigmoid(x_zr + inner_zr), 2)
            candidate = ops.tanh(x_h + r * inner_h)
        else:
            z, r = split_blocks(
                ops.sigmoid(x_zr + ops.matmul(h_in, weights["recurrent_kernel_zr"])), 2
            )
            candidate = ops.tanh(x_h + ops.matmul(r * h_in, weights["recurrent_kernel_h"]))
        h = candidate + z * (h - candidate)  # = z h + (1 - z) ĥ, one op fewer
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}
