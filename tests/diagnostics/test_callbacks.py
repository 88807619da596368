"""GradientNormLogger writes gradient norms to TensorBoard event files."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.util import event_pb2

from tagger.cells import make_rnn
from tagger.diagnostics.callbacks import GradientNormLogger


def _scalars(log_dir):
    found = {}
    for path in tf.io.gfile.glob(str(log_dir / "gradients" / "events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(path):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                found.setdefault(value.tag, []).append(
                    (event.step, float(tf.make_ndarray(value.tensor)))
                )
    return found


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((7,), dtype="int32"),
        keras.layers.Embedding(10, 4, name="embedding"),
        make_rnn("elman", 6, name="rnn"),
        keras.layers.Dense(3, name="head"),
    ])
    model.compile(keras.optimizers.SGD(0.1, global_clipnorm=0.01),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_logs_global_clipped_and_per_layer_norms(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 10, (32, 7)), rng.integers(0, 3, 32)
    model = _model()
    logger = GradientNormLogger(tmp_path, data=(x[:8], y[:8]), every_n_batches=2)
    model.fit(x, y, batch_size=8, epochs=2, callbacks=[logger], verbose=0)

    assert [step for step, _ in logger.history] == [0, 2, 4, 6, 8]
    scalars = _scalars(tmp_path)
    steps_norms = scalars["gradients/global_norm"]
    np.testing.assert_allclose([n for _, n in steps_norms], [n for _, n in logger.history],
                               rtol=1e-5)
    assert all(c == pytest.approx(0.01) for _, c in scalars["gradients/global_norm_clipped"])
    layers = {tag.rsplit("/", 1)[1] for tag in scalars if tag.startswith("gradients/layer/")}
    assert layers == {"embedding", "rnn", "head"}
    # The global norm is the norm of the per-layer norms.
    per_layer = np.array([scalars[f"gradients/layer/{n}"][0][1] for n in sorted(layers)])
    assert np.sqrt((per_layer**2).sum()) == pytest.approx(steps_norms[0][1], rel=1e-5)


def test_global_norm_matches_a_direct_tape(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 10, (8, 7)), rng.integers(0, 3, 8)
    model = _model()
    model.build((None, 7))
    logger = GradientNormLogger(tmp_path, data=tf.data.Dataset.from_tensors((x, y)))
    logger.set_model(model)
    norm = logger.log_now(0)
    with tf.GradientTape() as tape:
        loss = model.loss(y, model(x, training=True))
    # Dense: the embedding's IndexedSlices repeat rows for repeated tokens.
    grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, model.trainable_variables)]
    assert norm == pytest.approx(float(tf.linalg.global_norm(grads)), rel=1e-5)


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="every_n_batches"):
        GradientNormLogger(tmp_path, data=(np.zeros((1, 7)), np.zeros(1)), every_n_batches=0)
    with pytest.raises(ValueError, match="tuple"):
        GradientNormLogger(tmp_path, data=np.zeros((1, 7)))
