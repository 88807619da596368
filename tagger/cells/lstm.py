"""Long short-term memory cells: the standard LSTM and three variants."""

from __future__ import annotations

import keras
from keras import ops

from tagger.cells.base import RecurrentCell, register, split_blocks


def _blockwise_bias(base_initializer, units, blocks, constants):
    """Initializer: ``base_initializer`` everywhere, ``constants[k]`` on block k."""

    def initializer(shape, dtype=None):
        parts = []
        for k in range(blocks):
            if k in constants:
                parts.append(ops.full((units,), constants[k], dtype=dtype))
            else:
                parts.append(base_initializer((units,), dtype=dtype))
        return ops.concatenate(parts)

    return initializer


class _LSTMBase(RecurrentCell):
    """Shared plumbing of the LSTM family (two states: ``h`` and ``c``)."""

    state_count = 2
    # block index -> initial bias when `unit_forget_bias` is on
    remember_bias = {}

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _input_bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        return _blockwise_bias(
            self.bias_initializer, self.units, self.input_blocks, self.remember_bias
        )

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


@register
class LSTMCell(_LSTMBase):
    """LSTM with a forget gate (Gers, Schmidhuber & Cummins, 2000).

    Equations (blocks of ``kernel`` in the order i, f, g, o as in Keras)::

        i_t = σ(W_i x_t + U_i h_{t-1} + b_i)
        f_t = σ(W_f x_t + U_f h_{t-1} + b_f)
        g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)
        o_t = σ(W_o x_t + U_o h_{t-1} + b_o)
        c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
        h_t = o_t ⊙ tanh(c_t)

    With ``unit_forget_bias=True`` (default) ``b_f`` starts at 1, so the cell
    remembers by default (Jozefowicz et al., 2015). Same weights and math as
    ``keras.layers.LSTMCell``.

    Example:

    >>> layer = keras.layers.RNN(LSTMCell(64), return_sequences=True)
    """

    input_blocks = recurrent_blocks = 4
    remember_bias = {1: 1.0}

    def step(self, projected, states, weights, recurrent_mask=None):
        h, c = states
        z = projected + ops.matmul(self._recurrent_input(h, recurrent_mask),
                                   weights["recurrent_kernel"])
        i, f, g, o = split_blocks(z, 4)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, [h, c]


@register
class LSTMNoForgetCell(_LSTMBase):
    """The original LSTM without a forget gate (Hochreiter & Schmidhuber, 1997).

    Equations (blocks in the order i, g, o)::

        i_t = σ(W_i x_t + U_i h_{t-1} + b_i)
        g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)
        o_t = σ(W_o x_t + U_o h_{t-1} + b_o)
        c_t = c_{t-1} + i_t ⊙ g_t            (the constant error carousel)
        h_t = o_t ⊙ tanh(c_t)

    ``unit_forget_bias`` is accepted for a uniform interface and has no effect.
    """

    input_blocks = recurrent_blocks = 3
    remember_bias = {}

    def step(self, projected, states, weights, recurrent_mask=None):
        h, c = states
        z = projected + ops.matmul(self._recurrent_input(h, recurrent_mask),
                                   weights["recurrent_kernel"])
        i, g, o = split_blocks(z, 3)
        c = c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, [h, c]


@register
class PeepholeLSTMCell(_LSTMBase):
    """LSTM with diagonal peephole connections (Gers & Schmidhuber, 2000).

    Equations (blocks in the order i, f, g, o; ``p_*`` are vectors)::

        i_t = σ(W_i x_t + U_i h_{t-1} + p_i ⊙ c_{t-1} + b_i)
        f_t = σ(W_f x_t + U_f h_{t-1} + p_f ⊙ c_{t-1} + b_f)
        g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)
        c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
        o_t = σ(W_o x_t + U_o h_{t-1} + p_o ⊙ c_t + b_o)
        h_t = o_t ⊙ tanh(c_t)

    ``peephole`` holds ``[p_i, p_f, p_o]`` (shape ``3 * units``), initialized by
    ``peephole_initializer`` (zeros: training starts from the plain LSTM).
    """

    input_blocks = recurrent_blocks = 4
    remember_bias = {1: 1.0}

    def __init__(self, units, peephole_initializer="zeros", **kwargs):
        super().__init__(units, **kwargs)
        self.peephole_initializer = keras.initializers.get(peephole_initializer)

    def _build_extra(self, input_dim):
        self.peephole = self._vector_weight("peephole", self.peephole_initializer, 3 * self.units)

    def recurrent_weights(self):
        return {"recurrent_kernel": self.recurrent_kernel, "peephole": self.peephole}

    def step(self, projected, states, weights, recurrent_mask=None):
        h, c = states
        z = projected + ops.matmul(self._recurrent_input(h, recurrent_mask),
                                   weights["recurrent_kernel"])
        i, f, g, o = split_blocks(z, 4)
        p_i, p_f, p_o = split_blocks(weights["peephole"], 3)
        c_new = ops.sigmoid(f + p_f * c) * c + ops.sigmoid(i + p_i * c) * ops.tanh(g)
        h = ops.sigmoid(o + p_o * c_new) * ops.tanh(c_new)
        return h, [h, c_new]

    def get_config(self):
        return {
            **super().get_config(),
            "peephole_initializer": keras.initializers.serialize(self.peephole_initializer),
        }


@register
class CIFGLSTMCell(_LSTMBase):
    """LSTM with coupled input and forget gates (Greff et al., 2017, "CIFG").

    Equations (blocks in the order i, g, o)::

        i_t = σ(W_i x_t + U_i h_{t-1} + b_i)
        g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)
        o_t = σ(W_o x_t + U_o h_{t-1} + b_o)
        c_t = (1 - i_t) ⊙ c_{t-1} + i_t ⊙ g_t
        h_t = o_t ⊙ tanh(c_t)

    The forget gate is ``1 - i_t``. With ``unit_forget_bias=True`` (default)
    ``b_i`` starts at -1, so the implied forget gate starts at σ(1), as the
    standard LSTM's does.
    """

    input_blocks = recurrent_blocks = 3
    remember_bias = {0: -1.0}

    def step(self, projected, states, weights, recurrent_mask=None):
        h, c = states
        z = projected + ops.matmul(self._recurrent_input(h, recurrent_mask),
                                   weights["recurrent_kernel"])
        i, g, o = split_blocks(z, 3)
        i = ops.sigmoid(i)
        c = c + i * (ops.tanh(g) - c)  # = (1 - i) c + i g, one op fewer
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, [h, c]
