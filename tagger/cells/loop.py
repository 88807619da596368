"""The time loop shared by the sequence layers, over packed steps.

This is the one place (with ``packing.py``) that uses TensorFlow directly
instead of ``keras.ops``: a ``tf.while_loop`` over ``TensorArray`` reads and
writes is the cheapest per-step loop the TensorFlow backend offers
(``keras.ops.scan`` carries its state through extra TensorArrays on this
backend), and ``TensorArray.split`` / ``concat`` let every step read and write
a different number of rows, which ``keras.ops`` cannot express.

At these sizes (batch 64, 128 units) a step is compute-bound, not
overhead-bound: a 40-step loop doing nothing costs ~0.5 ms, the same loop
doing a bidirectional LSTM's recurrent product ~22 ms on 2 cores. So the loop
does only real work: at step ``t`` it runs the ``n_t`` rows that still have
steps left (see ``packing.py``) instead of masking padded rows after
computing them.
"""

from __future__ import annotations

import tensorflow as tf


def run_time_loop(step, inputs, sizes, steps, states, keep_states=False):
    """Run ``step`` over the packed steps of one direction.

    Args:
        step: ``step(inputs_t, states, n) -> (output, new_states)`` on the
            ``n`` running rows; ``output`` must be ``new_states[0]`` (``h``).
        inputs: ``(N, P)`` projections packed in (step, row) order
            (``packing.pack``).
        sizes: ``(steps,)`` int32, running rows per step (non-increasing).
        steps: Scalar int32, number of steps.
        states: Initial states ``(B, units)``, rows sorted by decreasing length.
        keep_states: Also return every step's ``states[1:]`` (packed), for
            final states beyond ``h``.

    Returns:
        ``(outputs, histories)``: ``(N, units)`` outputs in packed order, and
        one such tensor per state after the first (empty unless
        ``keep_states``).
    """
    width, units = inputs.shape[-1], states[0].shape[-1]
    rows = tf.cast(sizes, tf.int64)
    reads = tf.TensorArray(inputs.dtype, size=steps, infer_shape=False,
                           element_shape=tf.TensorShape([None, width])).split(inputs, rows)

    def new_array(dtype):
        return tf.TensorArray(dtype, size=steps, infer_shape=False,
                              element_shape=tf.TensorShape([None, units]))

    outputs = new_array(states[0].dtype)
    histories = [new_array(s.dtype) for s in states[1:]] if keep_states else []

    def body(t, states, outputs, histories):
        n = sizes[t]
        x = reads.read(t)
        # Rows are sorted by length, so the finished ones are the tail: drop them.
        output, new_states = step(x, [s[:n] for s in states], n)
        outputs = outputs.write(t, output)
        histories = [a.write(t, s) for a, s in zip(histories, new_states[1:], strict=False)]
        return t + 1, list(new_states), outputs, histories

    batch_free = [tf.TensorShape([None, units]) for _ in states]
    _, _, outputs, histories = tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (tf.constant(0), list(states), outputs, histories),
        shape_invariants=(tf.TensorShape([]), batch_free, None, [None] * len(histories)),
        maximum_iterations=steps,
    )
    return outputs.concat(), [a.concat() for a in histories]
