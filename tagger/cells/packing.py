"""Packing a masked batch so the time loop only computes real steps.

Like cuDNN's packed sequences: rows are sorted by decreasing length, so the
rows still running at step ``t`` are always the first ``n_t`` of them, and the
real (unmasked) steps of each direction are laid out time-major and
contiguous, one direction after the other (each direction runs its own loop)::

    packed row of (direction d, step t, sorted row j < n_t) = d·N + off_t + j

with ``off_t = n_0 + ... + n_{t-1}`` and ``N`` real steps per direction. A row's k-th real
step is its k-th unmasked position in processing order, so any mask works
(right padding is merely the common case) and a masked step leaves the state
unchanged, as in ``keras.layers.RNN``.

Everything here is small integer index arithmetic on ``(batch, time)``
tensors, done once per call outside the loop; the loop and the un-packing are
then one gather each. TensorFlow is used directly (as in ``loop.py``) because
the sort, ``where`` and gathers have no cheaper ``keras.ops`` form.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf


class Packing(NamedTuple):
    order: tf.Tensor  # (B,) original row of sorted row j (decreasing length)
    lengths: tf.Tensor  # (B,) real steps per original row
    steps: tf.Tensor  # () longest row: the number of loop iterations
    sizes: tf.Tensor  # (steps,) n_t, rows running at step t
    total: tf.Tensor  # () N, real steps per direction
    sources: list  # per direction, (N,) flat index b·T + position of each packed step
    output_index: list  # per direction, (B, T) packed row per processing step, or D·N (zero)
    last_index: list  # per direction, (B,) packed row of each row's last real step


def pack(mask, backwards, zero_output):
    """The packing plan for a ``(B, T)`` boolean mask.

    Args:
        mask: Boolean ``(batch, time)`` tensor, True at real steps.
        backwards: One bool per direction: whether it runs from the end.
        zero_output: Masked steps output zeros (else the previous output, or
            zeros before the first real step, as ``keras.layers.RNN`` does).
    """
    D = len(backwards)
    T = tf.shape(mask)[1]
    m = tf.cast(mask, tf.int32)
    lengths = tf.reduce_sum(m, axis=1)
    order = tf.argsort(lengths, direction="DESCENDING", stable=True)
    rank = tf.math.invert_permutation(order)  # sorted position of each original row
    sorted_lengths = tf.gather(lengths, order)
    steps = tf.reduce_max(tf.concat([sorted_lengths, [0]], 0))
    running = tf.range(steps)[:, None] < sorted_lengths[None, :]  # (steps, B), row prefixes
    sizes = tf.reduce_sum(tf.cast(running, tf.int32), axis=1)
    offsets = tf.cumsum(sizes, exclusive=True)
    total = tf.reduce_sum(lengths)

    # Packed steps of one direction, in (t, j) order: t = real-step count, j = sorted row.
    tj = tf.cast(tf.where(running), tf.int32)
    t_k, row_k = tj[:, 0], tf.gather(order, tj[:, 1])

    # Index of a row's k-th real step (k < steps) in the packed (d, t, j) layout.
    off_ext = tf.concat([offsets, [0]], 0)

    def packed_row(direction, k, rows):
        return direction * total + tf.gather(off_ext, tf.clip_by_value(k, 0, steps)) + rows

    zero_row = D * total
    sources, output_index, last_index = [], [], []
    for d, back in enumerate(backwards):
        m_d = tf.reverse(m, axis=[1]) if back else m  # processing order
        real_s = tf.argsort(1 - m_d, axis=1, stable=True)  # real steps first, in order
        s_k = tf.gather_nd(real_s, tf.stack([row_k, t_k], axis=1))
        sources.append(row_k * T + (T - 1 - s_k if back else s_k))

        count = tf.cumsum(m_d, axis=1)  # real steps up to and including s
        rows = packed_row(d, count - 1, rank[:, None])
        keep = (m_d > 0) if zero_output else (count > 0)
        output_index.append(tf.where(keep, rows, zero_row))
        last = packed_row(d, lengths - 1, rank)
        last_index.append(tf.where(lengths > 0, last, zero_row))

    return Packing(order, lengths, steps, sizes, total, sources, output_index, last_index)
