"""The cell contract, checked for every registered cell (thinc-style).

Adding a cell to ``tagger.cells.CELLS`` (and a reference step to
``tests/reference.py``) gives it every check in this file.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from tagger.cells import CELLS, make_cell, make_rnn
from tests import reference

# Every registered cell with default arguments, plus the non-default forms.
VARIANTS = [(name, {}) for name in CELLS] + [
    ("elman", {"activation": "relu"}),
    ("gru", {"reset_after": False}),
]
VARIANT_IDS = [name + "".join(f"-{k}={v}" for k, v in kw.items()) for name, kw in VARIANTS]
SHAPES = [(1, 1, 3), (4, 7, 5)]  # (batch, time, features)
UNITS = 6
ATOL = 1e-5


def random_mask(batch, steps, rng):
    """Right-padded mask with lengths 1..steps (first row full length)."""
    lengths = rng.integers(1, steps + 1, size=batch)
    lengths[0] = steps
    return np.arange(steps)[None, :] < lengths[:, None]


def randomize(layer, rng, scale=0.5):
    """Random weights (not the initializers' structure, to exercise every term)."""
    layer.set_weights([rng.normal(0, scale, w.shape).astype("float32")
                       for w in layer.get_weights()])


def rnn_and_cell(name, kwargs, shape, **rnn_kwargs):
    cell = make_cell(name, UNITS, **kwargs)
    rnn = keras.layers.RNN(cell, return_sequences=True, **rnn_kwargs)
    rnn.build(shape)
    return rnn, cell


def sequence_layer(name, kwargs, shape, **layer_kwargs):
    layer = make_rnn(name, UNITS, return_sequences=True, **kwargs, **layer_kwargs)
    layer.build(shape)
    return layer


def test_registry_names():
    assert sorted(CELLS) == sorted(
        ["elman", "lstm", "lstm_nfg", "lstm_peephole", "lstm_cifg", "gru", "minimal_rnn", "cfn"]
    )


# --------------------------------------------------------------- references
@pytest.mark.parametrize(("name", "kwargs"), VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
def test_matches_numpy_reference(name, kwargs, shape, masked):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype("float32")
    mask = random_mask(shape[0], shape[1], rng) if masked else None
    rnn, cell = rnn_and_cell(name, kwargs, shape)
    randomize(rnn, rng)
    fast = sequence_layer(name, kwargs, shape)
    fast.set_weights(rnn.get_weights())

    expected, _ = reference.run_sequence(name, reference.cell_weights(cell), kwargs, x, mask)
    np.testing.assert_allclose(rnn(x, mask=mask), expected, atol=ATOL)
    np.testing.assert_allclose(fast(x, mask=mask), expected, atol=ATOL)


@pytest.mark.parametrize(("name", "kwargs"), VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
def test_last_output_and_states_match_reference(name, kwargs, go_backwards):
    rng = np.random.default_rng(1)
    shape = (4, 6, 3)
    x = rng.normal(size=shape).astype("float32")
    mask = random_mask(4, 6, rng)
    fast = make_rnn(name, UNITS, return_state=True, go_backwards=go_backwards, **kwargs)
    fast.build(shape)
    randomize(fast, rng)
    outputs, states = reference.run_sequence(
        name, reference.cell_weights(fast.cell), kwargs, x, mask, go_backwards=go_backwards
    )
    last, *final = fast(x, mask=mask)
    np.testing.assert_allclose(last, outputs[:, -1], atol=ATOL)
    for got, want in zip(final, states, strict=True):
        np.testing.assert_allclose(got, want, atol=ATOL)


@pytest.mark.parametrize(("name", "kwargs"), VARIANTS, ids=VARIANT_IDS)
def test_bidirectional_matches_reference_and_keras_wrapper(name, kwargs):
    rng = np.random.default_rng(2)
    shape = (4, 7, 5)
    x = rng.normal(size=shape).astype("float32")
    mask = random_mask(4, 7, rng)
    wrapped = keras.layers.Bidirectional(
        keras.layers.RNN(make_cell(name, UNITS, **kwargs), return_sequences=True)
    )
    wrapped.build(shape)
    randomize(wrapped, rng)
    fused = sequence_layer(name, kwargs, shape, bidirectional=True)
    fused.set_weights(wrapped.get_weights())
    wrapped_fast = keras.layers.Bidirectional(
        make_rnn(name, UNITS, return_sequences=True, **kwargs)
    )
    wrapped_fast.build(shape)
    wrapped_fast.set_weights(wrapped.get_weights())

    expected = reference.run_bidirectional(
        name,
        reference.cell_weights(wrapped.forward_layer.cell),
        reference.cell_weights(wrapped.backward_layer.cell),
        kwargs,
        x,
        mask,
    )
    np.testing.assert_allclose(wrapped(x, mask=mask), expected, atol=ATOL)
    np.testing.assert_allclose(fused(x, mask=mask), expected, atol=ATOL)
    np.testing.assert_allclose(wrapped_fast(x, mask=mask), expected, atol=ATOL)


# ------------------------------------------------------- Keras' own cells
KERAS_TWINS = [
    ("elman", {}, lambda: keras.layers.SimpleRNNCell(UNITS)),
    ("lstm", {}, lambda: keras.layers.LSTMCell(UNITS)),
    ("gru", {"reset_after": True}, lambda: keras.layers.GRUCell(UNITS, reset_after=True)),
    ("gru", {"reset_after": False}, lambda: keras.layers.GRUCell(UNITS, reset_after=False)),
]


def _flatten_keras_weights(name, kwargs, keras_weights):
    """Keras' GRU (reset_after) keeps [input bias; recurrent bias] as one (2, 3U) array."""
    if name == "gru" and kwargs["reset_after"]:
        kernel, recurrent, bias = keras_weights
        return [kernel, recurrent, bias[0], bias[1]]
    return keras_weights


@pytest.mark.parametrize(
    ("name", "kwargs", "twin"), KERAS_TWINS,
    ids=["elman", "lstm", "gru-reset_after", "gru-reset_before"],
)
def test_matches_keras_builtin_cell_outputs_and_gradients(name, kwargs, twin):
    import tensorflow as tf

    rng = np.random.default_rng(3)
    shape = (3, 6, 4)
    x = tf.constant(rng.normal(size=shape).astype("float32"))
    mask = tf.constant(random_mask(3, 6, rng))
    theirs = keras.layers.RNN(twin(), return_sequences=True)
    theirs.build(shape)
    randomize(theirs, rng)
    ours = keras.layers.RNN(make_cell(name, UNITS, **kwargs), return_sequences=True)
    ours.build(shape)
    ours.set_weights(_flatten_keras_weights(name, kwargs, theirs.get_weights()))
    fast = sequence_layer(name, kwargs, shape)
    fast.set_weights(ours.get_weights())

    def value_and_grads(layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, mask=mask)
            loss = tf.reduce_sum(y * tf.cos(y))
        grads = tape.gradient(loss, [x, *layer.trainable_variables])
        return y, grads

    y_theirs, g_theirs = value_and_grads(theirs)
    g_theirs = [g_theirs[0], *_flatten_keras_weights(name, kwargs, g_theirs[1:])]
    for layer in (ours, fast):
        y, grads = value_and_grads(layer)
        np.testing.assert_allclose(y, y_theirs, atol=ATOL)
        for got, want in zip(grads, g_theirs, strict=True):
            np.testing.assert_allclose(got, want, atol=1e-4)


# ------------------------------------------------------------------ masks
@pytest.mark.parametrize("name", sorted(CELLS))
def test_padding_never_changes_real_steps_or_final_state(name):
    rng = np.random.default_rng(4)
    real = rng.normal(size=(1, 4, 3)).astype("float32")
    layer = make_rnn(name, UNITS, return_sequences=True, return_state=True)
    layer.build((None, None, 3))
    randomize(layer, rng)
    outputs, *states = layer(real)
    for pad in (1, 5):
        garbage = rng.normal(size=(1, pad, 3)).astype("float32") * 10
        padded = np.concatenate([real, garbage], axis=1)
        mask = np.arange(4 + pad)[None, :] < 4
        padded_out, *padded_states = layer(padded, mask=mask)
        np.testing.assert_allclose(padded_out[:, :4], outputs, atol=ATOL)
        for got, want in zip(padded_states, states, strict=True):
            np.testing.assert_allclose(got, want, atol=ATOL)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_backwards_and_bidirectional_respect_each_length(name):
    """Each row of a padded batch gives what the row alone, unpadded, gives."""
    rng = np.random.default_rng(5)
    lengths = [5, 2, 3]
    x = rng.normal(size=(3, 5, 3)).astype("float32")
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    backwards = make_rnn(name, UNITS, go_backwards=True)
    bidirectional = make_rnn(name, UNITS, bidirectional=True, return_sequences=True)
    for layer in (backwards, bidirectional):
        layer.build((None, None, 3))
        randomize(layer, rng)
    batch_back = backwards(x, mask=mask)
    batch_bi = bidirectional(x, mask=mask)
    for row, length in enumerate(lengths):
        alone = x[row : row + 1, :length]
        np.testing.assert_allclose(batch_back[row], backwards(alone)[0], atol=ATOL)
        np.testing.assert_allclose(batch_bi[row, :length], bidirectional(alone)[0], atol=ATOL)
        np.testing.assert_allclose(batch_bi[row, length:], 0.0)


# ------------------------------------------------------------ round trips
@pytest.mark.parametrize(("name", "kwargs"), VARIANTS, ids=VARIANT_IDS)
def test_config_json_round_trip(name, kwargs):
    cell = make_cell(name, UNITS, dropout=0.25, recurrent_dropout=0.1, seed=7, **kwargs)
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(cell)))
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(cell)
    assert clone.get_config() == cell.get_config()

    layer = make_rnn(name, UNITS, bidirectional=True, return_sequences=True, **kwargs)
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
    clone = keras.saving.deserialize_keras_object(config)
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize(("name", "kwargs"), VARIANTS, ids=VARIANT_IDS)
def test_keras_file_save_and_load(name, kwargs, tmp_path):
    rng = np.random.default_rng(6)
    inputs = keras.Input((None, 4))
    mask = keras.layers.Masking(0.0)(inputs)
    hidden = keras.layers.Bidirectional(
        keras.layers.RNN(make_cell(name, UNITS, **kwargs), return_sequences=True)
    )(mask)
    outputs = make_rnn(name, UNITS, bidirectional=True, **kwargs)(hidden)
    model = keras.Model(inputs, outputs)
    randomize(model, rng)
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    x[1, 3:] = 0.0
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


def test_savedmodel_reloads_without_tagger(tmp_path):
    """One SavedModel holding every cell reloads in a process that cannot import tagger."""
    import subprocess
    import sys

    rng = np.random.default_rng(7)
    inputs = keras.Input((None, 4))
    outputs = [
        make_rnn(name, UNITS, bidirectional=True, return_sequences=True, **kwargs)(inputs)
        for name, kwargs in VARIANTS
    ]
    model = keras.Model(inputs, keras.layers.Concatenate()(outputs))
    randomize(model, rng)
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    export_dir = tmp_path / "saved"
    model.export(str(export_dir), format="tf_saved_model", verbose=False)
    np.save(tmp_path / "x.npy", x)
    script = (
        "import sys, numpy as np, tensorflow as tf\n"
        "try:\n    import tagger\nexcept ImportError:\n    pass\n"
        "else:\n    sys.exit('tagger must not be importable here')\n"
        f"m = tf.saved_model.load({str(export_dir)!r})\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        f"np.save({str(tmp_path / 'y.npy')!r}, m.serve(tf.constant(x)).numpy())\n"
    )
    subprocess.run([sys.executable, "-I", "-c", script], cwd=tmp_path, check=True,
                   env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model(x), atol=1e-6)


# ------------------------------------------------------------- gradients
@pytest.mark.parametrize(("name", "kwargs"), VARIANTS, ids=VARIANT_IDS)
def test_backprop_through_time_matches_finite_differences(name, kwargs):
    import tensorflow as tf

    rng = np.random.default_rng(8)
    layer = make_rnn(name, 3, bidirectional=True, return_sequences=True, dtype="float64",
                     **kwargs)
    layer.build((2, 6, 2))
    randomize(layer, rng, scale=0.7)
    x = tf.Variable(rng.normal(size=(2, 6, 2)))
    mask = tf.constant(np.arange(6)[None, :] < np.array([[6], [4]]))
    probe = tf.constant(rng.normal(size=(2, 6, 6)))

    def loss():
        return tf.reduce_sum(layer(x, mask=mask) * probe)

    with tf.GradientTape() as tape:
        value = loss()
    variables = [x, *layer.trainable_variables]
    grads = tape.gradient(value, variables)
    eps = 1e-6
    for var, grad in zip(variables, grads, strict=True):
        flat = var.numpy().reshape(-1)
        for index in rng.choice(flat.size, size=min(4, flat.size), replace=False):
            original = flat[index]
            shifted = []
            for delta in (eps, -eps):
                flat[index] = original + delta
                var.assign(flat.reshape(var.shape))
                shifted.append(float(loss()))
            flat[index] = original
            var.assign(flat.reshape(var.shape))
            numeric = (shifted[0] - shifted[1]) / (2 * eps)
            analytic = np.asarray(grad).reshape(-1)[index]
            assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-7), (var.name, index)


# ------------------------------------------------------- mixed precision
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize(("name", "kwargs"), VARIANTS, ids=VARIANT_IDS)
def test_mixed_precision_builds_and_runs(name, kwargs, policy):
    keras.mixed_precision.set_dtype_policy(policy)
    x = np.random.default_rng(9).normal(size=(2, 5, 4)).astype("float32")
    mask = np.array([[True] * 5, [True] * 3 + [False] * 2])
    for layer in (
        keras.layers.RNN(make_cell(name, UNITS, **kwargs), return_sequences=True),
        make_rnn(name, UNITS, bidirectional=True, return_sequences=True, **kwargs),
    ):
        y = layer(x, mask=mask)
        assert keras.backend.standardize_dtype(y.dtype) == policy.split("_")[1]
        assert all(v.dtype == "float32" for v in layer.weights)
        assert np.all(np.isfinite(np.asarray(y, dtype="float32")))


# ------------------------------------------------------- arguments, dropout
@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [({"units": 0}, "units=0"), ({"units": 2.5}, "units=2.5"),
     ({"units": 4, "dropout": 1.0}, "dropout=1.0"),
     ({"units": 4, "recurrent_dropout": -0.1}, "recurrent_dropout=-0.1")],
)
def test_bad_arguments_name_the_value(name, kwargs, shown):
    kwargs = dict(kwargs)
    with pytest.raises(ValueError, match=shown.replace(".", r"\.")):
        make_cell(name, kwargs.pop("units"), **kwargs)


def test_unknown_cell_lists_the_choices():
    with pytest.raises(ValueError, match="Unknown cell 'lstmm'.*minimal_rnn"):
        make_cell("lstmm", 4)
    with pytest.raises(ValueError, match="activation='sigmoid'"):
        make_cell("elman", 4, activation="sigmoid")


@pytest.mark.parametrize("name", sorted(CELLS))
def test_dropout_only_in_training(name):
    x = np.random.default_rng(10).normal(size=(3, 5, 4)).astype("float32")
    layer = make_rnn(name, UNITS, bidirectional=True, return_sequences=True,
                     dropout=0.5, recurrent_dropout=0.3, seed=1)
    rnn = keras.layers.RNN(make_cell(name, UNITS, dropout=0.5, recurrent_dropout=0.3, seed=1))
    for model in (layer, rnn):
        inference = np.asarray(model(x, training=False))
        np.testing.assert_allclose(model(x, training=False), inference)
        trained = np.asarray(model(x, training=True))
        assert np.all(np.isfinite(trained))
        assert not np.allclose(trained, inference)


def test_gates_start_out_remembering():
    """Forget-style biases start at their documented values."""
    for name, block, value in [("lstm", 1, 1.0), ("lstm_peephole", 1, 1.0),
                               ("lstm_cifg", 0, -1.0)]:
        cell = make_cell(name, 4)
        cell.build((None, 3))
        np.testing.assert_allclose(np.split(cell.bias.numpy(), cell.input_blocks)[block], value)
    cell = make_cell("minimal_rnn", 4)
    cell.build((None, 3))
    np.testing.assert_allclose(cell.gate_bias.numpy(), 1.0)
    cell = make_cell("cfn", 4)
    cell.build((None, 3))
    np.testing.assert_allclose(cell.bias.numpy(), [1.0] * 4 + [-1.0] * 4)
