"""How far back gradients reach: ‖∂h_T/∂s_k‖ and ‖∂L/∂x_k‖ against the distance T − k.

``state_jacobian_norms`` drives a cell step by step (its Keras ``call(x_t,
states)``) over a sequence and measures, for every step ``k``, the Jacobian
of the last output ``h_T`` with respect to the full recurrent state ``s_k``
after step ``k`` (``h_k``; for the LSTM family ``[h_k, c_k]``, since the
memory path runs through ``c``).

The norm is exact for up to ``EXACT_UP_TO`` units: each sequence is repeated ``units`` times
and copy ``i`` back-propagates the unit vector ``e_i`` from ``h_T``, so one
backward pass yields every row of every Jacobian. The state after each step
gets a zero perturbation ``δ_k`` and ``∂(e_iᵀh_T)/∂δ_k`` is row ``i`` of
``∂h_T/∂s_k``. Reported value::

    grad_norm(d) = mean over sequences of ‖∂h_T/∂s_{T-d}‖_F / sqrt(units)

so distance 0 (the identity on ``h``) is 1, and 1e-6 at distance 50 means
the typical singular value of the 50-step Jacobian is a millionth.

Wide cells (more than ``EXACT_UP_TO`` units, e.g. a trained 200-unit tagger)
use Hutchinson's estimator instead: ``E‖vᵀJ‖² = ‖J‖²_F`` for ``v ~ N(0, I)``,
with ``PROJECTIONS`` random ``v`` per sequence (relative error about
``sqrt(2 / (PROJECTIONS · sequences))`` on the mean; invisible on a log plot).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

# Rows (sequence copies) back-propagated at once; bounds memory.
_MAX_ROWS = 512
EXACT_UP_TO = 64
PROJECTIONS = 16


def _state_list(states):
    return list(states) if isinstance(states, (list, tuple)) else [states]


@tf.function(reduce_retracing=True)
def _row_gradients(cell, inputs, seeds, state_count):
    """Gradients of ``seedsᵀ h_T`` w.r.t. the state after each step, ``(T+1, N, S·units)``."""
    batch, length = tf.shape(inputs)[0], tf.shape(inputs)[1]
    deltas = tf.zeros((length + 1, batch, state_count * cell.units), inputs.dtype)
    time_major = tf.transpose(inputs, (1, 0, 2))
    with tf.GradientTape() as tape:
        tape.watch(deltas)
        states = tf.split(deltas[0], state_count, axis=-1)

        def body(t, *states):
            _, new_states = cell.call(time_major[t], list(states))
            perturbed = tf.split(deltas[t + 1], state_count, axis=-1)
            new_states = [s + p for s, p in zip(_state_list(new_states), perturbed, strict=True)]
            return (t + 1, *new_states)

        _, h_last, *_ = tf.while_loop(lambda t, *_: t < length, body, (tf.constant(0), *states))
        target = tf.reduce_sum(seeds * h_last)  # every cell's output is its first state
    return tape.gradient(target, deltas)


def float64_copy(cell, features):
    """A float64 twin of ``cell`` (same config and weights, built for ``features`` inputs).

    Jacobians over 100+ steps fall below float32's range (1e-38); float64 keeps
    them measurable down to 1e-300.
    """
    twin = type(cell).from_config({**cell.get_config(), "dtype": "float64"})
    twin.build((None, features))
    if cell.built:
        twin.set_weights(cell.get_weights())
    return twin


def state_jacobian_norms(cell, inputs, progress=None) -> np.ndarray:
    """``grad_norm`` for distances ``0..T`` (index = distance) for one cell.

    Args:
        cell: A ``tagger.cells`` cell (built: its weights are used; unbuilt: fresh
            weights from its initializers). It is copied to float64 first.
        inputs: ``(sequences, T, features)`` array of inputs to the cell.
        progress: Optional callable ``progress(n_sequences_done)`` (e.g. a tqdm update).

    Returns:
        Float64 array of length ``T + 1``: mean over sequences of
        ``‖∂h_T/∂s_{T-d}‖_F / sqrt(units)`` at distance ``d``.
    """
    inputs = tf.convert_to_tensor(inputs, tf.float64)
    count, _, features = inputs.shape
    cell = float64_copy(cell, features)
    units = cell.units
    state_count = len(_state_list(cell.state_size))
    exact = units <= EXACT_UP_TO
    copies = units if exact else PROJECTIONS
    rng = np.random.default_rng(0)
    per_chunk = max(1, _MAX_ROWS // copies)
    norms = []
    for start in range(0, count, per_chunk):
        chunk = inputs[start : start + per_chunk]
        n = chunk.shape[0]
        rows = tf.repeat(chunk, copies, axis=0)  # copy i of sequence b is row b*copies + i
        if exact:  # back-propagate every unit vector e_i
            seeds = tf.tile(tf.eye(units, dtype=tf.float64), (n, 1))
        else:  # Hutchinson: random Gaussian v, averaged
            seeds = tf.constant(rng.standard_normal((n * copies, units)))
        grads = _row_gradients(cell, rows, seeds, state_count)  # (T+1, n*copies, S)
        squared = tf.reduce_sum(tf.reshape(tf.square(grads), (grads.shape[0], n, -1)), axis=-1)
        if not exact:
            squared = squared / copies  # the estimate is the mean over the projections
        norms.append(tf.sqrt(squared).numpy() / np.sqrt(units))  # (T+1, n), index = step k
        if progress is not None:
            progress(n)
    per_step = np.concatenate(norms, axis=1).mean(axis=1)
    return per_step[::-1].astype(np.float64)  # index k -> distance T - k


def random_inputs(sequences, length, features, seed, scale=1.0) -> np.ndarray:
    """Standard-normal input sequences (times ``scale``), reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal((sequences, length, features))).astype(np.float32)
