"""NumPy reference step functions, one per cell, mirroring the docstring equations.

They are written from DESIGN.md §4 and the cell docstrings, independently of
the Keras code: plain float64 NumPy, one time step at a time, no hoisting.
``run_sequence`` reproduces ``keras.layers.RNN`` semantics around them
(masks, ``go_backwards``, the "previous output" at padded steps).
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def blocks(a, count):
    return np.split(a, count, axis=-1)


def elman(w, cfg, x, states):
    f = np.tanh if cfg.get("activation", "tanh") == "tanh" else (lambda v: np.maximum(v, 0))
    h = f(x @ w["kernel"] + states[0] @ w["recurrent_kernel"] + w["bias"])
    return h, [h]


def lstm(w, cfg, x, states):
    h, c = states
    W_i, W_f, W_g, W_o = blocks(w["kernel"], 4)
    U_i, U_f, U_g, U_o = blocks(w["recurrent_kernel"], 4)
    b_i, b_f, b_g, b_o = blocks(w["bias"], 4)
    i = sigmoid(x @ W_i + h @ U_i + b_i)
    f = sigmoid(x @ W_f + h @ U_f + b_f)
    g = np.tanh(x @ W_g + h @ U_g + b_g)
    o = sigmoid(x @ W_o + h @ U_o + b_o)
    c = f * c + i * g
    h = o * np.tanh(c)
    return h, [h, c]


def lstm_nfg(w, cfg, x, states):
    h, c = states
    W_i, W_g, W_o = blocks(w["kernel"], 3)
    U_i, U_g, U_o = blocks(w["recurrent_kernel"], 3)
    b_i, b_g, b_o = blocks(w["bias"], 3)
    i = sigmoid(x @ W_i + h @ U_i + b_i)
    g = np.tanh(x @ W_g + h @ U_g + b_g)
    o = sigmoid(x @ W_o + h @ U_o + b_o)
    c = c + i * g
    h = o * np.tanh(c)
    return h, [h, c]


def lstm_peephole(w, cfg, x, states):
    h, c_prev = states
    W_i, W_f, W_g, W_o = blocks(w["kernel"], 4)
    U_i, U_f, U_g, U_o = blocks(w["recurrent_kernel"], 4)
    b_i, b_f, b_g, b_o = blocks(w["bias"], 4)
    p_i, p_f, p_o = blocks(w["peephole"], 3)
    i = sigmoid(x @ W_i + h @ U_i + p_i * c_prev + b_i)
    f = sigmoid(x @ W_f + h @ U_f + p_f * c_prev + b_f)
    g = np.tanh(x @ W_g + h @ U_g + b_g)
    c = f * c_prev + i * g
    o = sigmoid(x @ W_o + h @ U_o + p_o * c + b_o)
    h = o * np.tanh(c)
    return h, [h, c]


def lstm_cifg(w, cfg, x, states):
    h, c = states
    W_i, W_g, W_o = blocks(w["kernel"], 3)
    U_i, U_g, U_o = blocks(w["recurrent_kernel"], 3)
    b_i, b_g, b_o = blocks(w["bias"], 3)
    i = sigmoid(x @ W_i + h @ U_i + b_i)
    g = np.tanh(x @ W_g + h @ U_g + b_g)
    o = sigmoid(x @ W_o + h @ U_o + b_o)
    c = (1 - i) * c + i * g
    h = o * np.tanh(c)
    return h, [h, c]


def gru(w, cfg, x, states):
    h = states[0]
    W_z, W_r, W_h = blocks(w["kernel"], 3)
    U_z, U_r, U_h = blocks(w["recurrent_kernel"], 3)
    b_z, b_r, b_h = blocks(w["bias"], 3)
    if cfg.get("reset_after", True):
        rb_z, rb_r, rb_h = blocks(w["recurrent_bias"], 3)
        z = sigmoid(x @ W_z + b_z + h @ U_z + rb_z)
        r = sigmoid(x @ W_r + b_r + h @ U_r + rb_r)
        candidate = np.tanh(x @ W_h + b_h + r * (h @ U_h + rb_h))
    else:
        z = sigmoid(x @ W_z + h @ U_z + b_z)
        r = sigmoid(x @ W_r + h @ U_r + b_r)
        candidate = np.tanh(x @ W_h + (r * h) @ U_h + b_h)
    h = z * h + (1 - z) * candidate
    return h, [h]


def minimal_rnn(w, cfg, x, states):
    h = states[0]
    z = np.tanh(x @ w["kernel"] + w["bias"])
    u = sigmoid(h @ w["recurrent_kernel"] + z @ w["latent_kernel"] + w["gate_bias"])
    h = u * h + (1 - u) * z
    return h, [h]


def cfn(w, cfg, x, states):
    h = states[0]
    V_theta, V_eta, W = blocks(w["kernel"], 3)
    U_theta, U_eta = blocks(w["recurrent_kernel"], 2)
    b_theta, b_eta = blocks(w["bias"], 2)
    theta = sigmoid(h @ U_theta + x @ V_theta + b_theta)
    eta = sigmoid(h @ U_eta + x @ V_eta + b_eta)
    h = theta * np.tanh(h) + eta * np.tanh(x @ W)
    return h, [h]


STEPS = {
    "elman": elman,
    "lstm": lstm,
    "lstm_nfg": lstm_nfg,
    "lstm_peephole": lstm_peephole,
    "lstm_cifg": lstm_cifg,
    "gru": gru,
    "minimal_rnn": minimal_rnn,
    "cfn": cfn,
}

STATE_COUNT = {name: 2 if name.startswith("lstm") else 1 for name in STEPS}


def cell_weights(cell) -> dict[str, np.ndarray]:
    """The cell's weights by their Keras name, as float64 arrays."""
    return {v.name: np.asarray(v.numpy(), dtype=np.float64) for v in cell.weights}


def run_sequence(name, weights, config, x, mask=None, go_backwards=False, zero_output=False):
    """``keras.layers.RNN(cell, return_sequences=True)`` semantics in NumPy.

    Returns ``(outputs (B, T, U), final_states)``; outputs are in processing
    order (reversed with ``go_backwards``), exactly as Keras returns them.
    """
    step = STEPS[name]
    batch, steps, _ = x.shape
    units = weights["recurrent_kernel"].shape[0]
    x = np.asarray(x, dtype=np.float64)
    mask = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    if go_backwards:
        x, mask = x[:, ::-1], mask[:, ::-1]
    states = [np.zeros((batch, units)) for _ in range(STATE_COUNT[name])]
    previous = np.zeros((batch, units))
    outputs = []
    for t in range(steps):
        out, new_states = step(weights, config, x[:, t], states)
        keep = mask[:, t : t + 1]
        states = [np.where(keep, n, s) for n, s in zip(new_states, states, strict=True)]
        out = np.where(keep, out, 0.0 if zero_output else previous)
        previous = out
        outputs.append(out)
    return np.stack(outputs, axis=1), states


def run_bidirectional(name, fw_weights, bw_weights, config, x, mask=None):
    """``Bidirectional(RNN(cell, return_sequences=True))`` in NumPy (concat, forward first)."""
    forward, _ = run_sequence(name, fw_weights, config, x, mask, zero_output=True)
    backward, _ = run_sequence(name, bw_weights, config, x, mask, go_backwards=True,
                               zero_output=True)
    return np.concatenate([forward, backward[:, ::-1]], axis=-1)
