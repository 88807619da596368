"""The time loop shared by the sequence layers.

This is the one place that uses TensorFlow directly instead of ``keras.ops``:
a ``tf.while_loop`` over ``TensorArray`` reads and writes is the cheapest
per-step loop the TensorFlow backend offers (``keras.ops.scan`` carries its
state through extra TensorArrays on this backend), and the per-step overhead
is what dominates small recurrent layers on a CPU.
"""

from __future__ import annotations

import tensorflow as tf


def run_time_loop(step, projected, mask, states, return_sequences, track_output=False):
    """Run ``step`` over the leading (time) axis of ``projected``.

    Args:
        step: ``step(projected_t, states) -> (output_t, new_states)``.
        projected: Time-major input projections ``(T, ..., P)``.
        mask: ``None`` or a boolean ``(T, ..., 1)`` tensor; where it is False
            the states keep their previous value.
        states: List of initial state tensors ``(..., units)``.
        return_sequences: Whether to collect the output of every step.
        track_output: Carry Keras' "previous output" separately from the
            state. Only needed when a mask is given and the initial state is
            not zero: otherwise the masked output equals the masked ``h``.

    Returns:
        ``(outputs, last_output, final_states)`` where ``outputs`` is
        ``(T, ..., units)`` (or ``None`` without ``return_sequences``).
    """
    length = tf.shape(projected)[0]
    inputs = tf.TensorArray(projected.dtype, size=length, element_shape=projected.shape[1:])
    inputs = inputs.unstack(projected)
    masks = None
    if mask is not None:
        masks = tf.TensorArray(tf.bool, size=length, element_shape=mask.shape[1:]).unstack(mask)
    state_shape = states[0].shape
    outputs = tf.TensorArray(states[0].dtype, size=length if return_sequences else 0,
                             element_shape=state_shape)
    previous = tf.zeros_like(states[0])

    def body(t, states, previous, outputs):
        output, new_states = step(inputs.read(t), list(states))
        if masks is not None:
            keep = masks.read(t)
            new_states = [tf.where(keep, new, old) for new, old in zip(new_states, states,
                                                                       strict=True)]
            output = tf.where(keep, output, previous) if track_output else new_states[0]
        if return_sequences:
            outputs = outputs.write(t, output)
        return t + 1, new_states, output, outputs

    _, final_states, last_output, outputs = tf.while_loop(
        lambda t, *_: t < length,
        body,
        (tf.constant(0), list(states), previous, outputs),
        shape_invariants=None,
    )
    stacked = outputs.stack() if return_sequences else None
    # With zero steps, the "last output" is the zero output, as in Keras.
    return stacked, last_output, list(final_states)
