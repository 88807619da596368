"""Chaos-free network."""

from __future__ import annotations

from keras import ops

from tagger.cells.base import RecurrentCell, register


@register
class CFNCell(RecurrentCell):
    """Chaos-free network (Laurent & von Brecht, 2017, arXiv:1612.06212).

    Equations::

        θ_t = σ(U_θ h_{t-1} + V_θ x_t + b_θ)        (forget gate)
        η_t = σ(U_η h_{t-1} + V_η x_t + b_η)        (input gate)
        h_t = θ_t ⊙ tanh(h_{t-1}) + η_t ⊙ tanh(W x_t)

    ``kernel`` holds ``[V_θ, V_η, W]``, ``recurrent_kernel`` holds
    ``[U_θ, U_η]`` and ``bias`` holds ``[b_θ, b_η]``. With
    ``unit_forget_bias=True`` (default) ``b_θ`` starts at 1 and ``b_η`` at -1,
    the initialization the paper uses. Without input the dynamics are
    contractive (no chaos): ``h`` decays monotonically to zero.

    Example:

    >>> layer = keras.layers.RNN(CFNCell(64), return_sequences=True)
    """

    input_blocks = 3
    recurrent_blocks = 2
    bias_blocks = 2  # W x_t has no bias in the equations

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _input_bias_initializer(self):
        base = self.bias_initializer
        units = self.units

        def initializer(shape, dtype=None):
            if not self.unit_forget_bias:
                return base(shape, dtype=dtype)
            return ops.concatenate(
                [ops.ones((units,), dtype=dtype), -ops.ones((units,), dtype=dtype)]
            )

        return initializer

    def project_inputs(self, inputs):
        """Returns ``[V_θ x + b_θ, V_η x + b_η, tanh(W x)]`` on the last axis."""
        gates, candidate = ops.split(ops.matmul(inputs, self.kernel), [2 * self.units], axis=-1)
        return ops.concatenate([gates + self.bias, ops.tanh(candidate)], axis=-1)

    def step(self, projected, states, weights, recurrent_mask=None):
        h = states[0]
        gates, candidate = ops.split(projected, [2 * self.units], axis=-1)
        h_in = self._recurrent_input(h, recurrent_mask)
        theta, eta = ops.split(
            ops.sigmoid(gates + ops.matmul(h_in, weights["recurrent_kernel"])), 2, axis=-1
        )
        h = theta * ops.tanh(h) + eta * candidate
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}
