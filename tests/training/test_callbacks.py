"""DevSelection: the weights it scores, keeps and leaves behind."""

from __future__ import annotations

import keras
import numpy as np

from tagger.config import TrainConfig
from tagger.training import callbacks
from tagger.training.loop import make_optimizer


def test_dev_selection_scores_and_keeps_the_moving_average(tmp_path, monkeypatch):
    """With ``--ema m`` the weights scored on dev and saved as best are
    a_t = m a_{t-1} + (1 - m) w_t (a_1 = w_1), recomputed here from the raw weights
    after each step; training then goes on from the raw weights, untouched."""
    momentum = 0.8
    optimizer = make_optimizer(TrainConfig(ema=momentum, warmup_steps=1), total_steps=100)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    rng = np.random.default_rng(0)
    average = None
    for _ in range(6):
        model.train_on_batch(rng.normal(size=(8, 3)), rng.normal(size=(8, 2)))
        raw = [w.copy() for w in model.get_weights()]
        average = raw if average is None else [
            momentum * a + (1 - momentum) * w for a, w in zip(average, raw, strict=True)]

    seen = []

    def fake_evaluate(predictor, dev, labels, task):
        seen.append([w.copy() for w in model.get_weights()])
        return {"main": "f1", "f1": 0.5}, None, None

    monkeypatch.setattr(callbacks, "evaluate_examples", fake_evaluate)
    selection = callbacks.DevSelection(tmp_path, None, [], [], "ner", patience=3)
    selection.set_model(model)
    selection.on_epoch_end(0, {"loss": 1.0})

    for scored, expected in zip(seen[0], average, strict=True):
        np.testing.assert_allclose(scored, expected, rtol=1e-5, atol=1e-6)
    for now, before in zip(model.get_weights(), raw, strict=True):  # swapped by adding: rounding
        np.testing.assert_allclose(now, before, rtol=1e-6, atol=1e-6)
    assert not np.allclose(raw[0], average[0])  # the two differ, so the checks above bite
    kept = keras.models.clone_model(model)
    kept.load_weights(selection.best_path)
    for best, expected in zip(kept.get_weights(), average, strict=True):
        np.testing.assert_allclose(best, expected, rtol=1e-5, atol=1e-6)


def test_without_ema_the_raw_weights_are_scored(tmp_path, monkeypatch):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=make_optimizer(TrainConfig(), total_steps=10), loss="mse")
    model.train_on_batch(np.ones((4, 3)), np.zeros((4, 2)))
    seen = []
    monkeypatch.setattr(callbacks, "evaluate_examples", lambda *a: (
        seen.append(model.get_weights()) or ({"main": "f1", "f1": 0.1}, None, None)))
    selection = callbacks.DevSelection(tmp_path, None, [], [], "ner", patience=3)
    selection.set_model(model)
    selection.on_epoch_end(0, {})
    for scored, now in zip(seen[0], model.get_weights(), strict=True):
        np.testing.assert_array_equal(scored, now)


def test_the_optimizer_takes_its_second_moment_decay_from_the_config():
    for name in ("adam", "nadam"):
        optimizer = make_optimizer(TrainConfig(optimizer=name, beta_2=0.9), total_steps=10)
        assert optimizer.beta_2 == 0.9
    assert make_optimizer(TrainConfig(), total_steps=10).beta_2 == 0.999
