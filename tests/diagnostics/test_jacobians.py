"""‖∂h_T/∂s_k‖: exact against the full Jacobian, and the acceptance ordering at init."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tagger.cells import make_cell
from tagger.diagnostics.jacobians import float64_copy, random_inputs, state_jacobian_norms


def _reference_norms(cell, inputs):
    """Per-distance mean ‖∂h_T/∂s_k‖_F/√units by the chain rule over one-step Jacobians."""
    cell = float64_copy(cell, inputs.shape[-1])
    state_count = 2 if isinstance(cell.state_size, list) else 1
    units = cell.units
    per_sequence = []
    for sequence in inputs.astype(np.float64):
        state = np.zeros(state_count * units)
        steps = []  # ∂s_{t+1}/∂s_t, (S, S)
        for x_t in sequence:
            s = tf.constant(state[None])
            with tf.GradientTape() as tape:
                tape.watch(s)
                _, new = cell.call(tf.constant(x_t[None]), tf.split(s, state_count, axis=-1))
                new = tf.concat(list(new) if isinstance(new, (list, tuple)) else [new], -1)
            steps.append(tape.jacobian(new, s)[0, :, 0, :].numpy())
            state = new.numpy()[0]
        product = np.eye(state_count * units)[:units]  # ∂h_T/∂s_T: h is the first state
        norms = [np.linalg.norm(product)]
        for jacobian in reversed(steps):
            product = product @ jacobian
            norms.append(np.linalg.norm(product))
        per_sequence.append(np.array(norms) / np.sqrt(units))
    return np.mean(per_sequence, axis=0)


@pytest.mark.parametrize("name", ["elman", "lstm"])  # one state, two states
def test_matches_full_jacobian(name):
    keras.utils.set_random_seed(3)
    cell = make_cell(name, 3)
    cell.build((None, 2))
    inputs = random_inputs(2, 5, 2, seed=3)
    got = state_jacobian_norms(cell, inputs)
    np.testing.assert_allclose(got, _reference_norms(cell, inputs), rtol=1e-9)
    assert got.shape == (6,)
    assert got[0] == pytest.approx(1.0)  # ∂h_T/∂h_T is the identity on h


def test_trained_weights_are_used():
    keras.utils.set_random_seed(0)
    cell = make_cell("elman", 4)
    cell.build((None, 3))
    inputs = random_inputs(2, 8, 3, seed=0)
    before = state_jacobian_norms(cell, inputs)
    cell.recurrent_kernel.assign(cell.recurrent_kernel * 0.1)
    after = state_jacobian_norms(cell, inputs)
    assert np.all(after[2:] < before[2:])


def test_elman_vanishes_orders_of_magnitude_faster_than_lstm():
    """Acceptance: at init (forget bias 1), elman at distance 50 < lstm / 100."""
    norms = {"elman": [], "lstm": []}
    for seed in range(3):
        inputs = random_inputs(4, 50, 16, seed=seed)
        for name in norms:
            keras.utils.set_random_seed(seed)
            norms[name].append(state_jacobian_norms(make_cell(name, 16), inputs)[50])
    elman, lstm = np.mean(norms["elman"]), np.mean(norms["lstm"])
    assert 0 < elman < lstm / 100, norms


def test_wide_cells_use_an_unbiased_estimate(monkeypatch):
    from tagger.diagnostics import jacobians

    keras.utils.set_random_seed(1)
    cell = make_cell("gru", 8)
    cell.build((None, 4))
    inputs = random_inputs(16, 12, 4, seed=1)
    exact = state_jacobian_norms(cell, inputs)
    monkeypatch.setattr(jacobians, "EXACT_UP_TO", 4)
    monkeypatch.setattr(jacobians, "PROJECTIONS", 8)
    estimate = state_jacobian_norms(cell, inputs)
    np.testing.assert_allclose(estimate, exact, rtol=0.25)
