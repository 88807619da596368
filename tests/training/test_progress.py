"""Training progress lines: true step counts, plain text off a terminal."""

from __future__ import annotations

import io

import keras
import numpy as np

from tagger.training.callbacks import StopAfterSteps
from tagger.training.progress import Progress


def test_one_plain_line_per_epoch_with_the_steps_that_ran():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((40, 3), "float32"), np.zeros((40, 1), "float32")
    stream = io.StringIO()
    progress = Progress(steps_per_epoch=10, max_steps=14, stream=stream)
    model.fit(x, y, batch_size=4, epochs=3, verbose=0,
              callbacks=[StopAfterSteps(14), progress])
    lines = stream.getvalue().splitlines()
    assert [line.split(" in ")[0] for line in lines] == ["epoch 1/3: 10 steps",
                                                         "epoch 2/3: 4 steps"]
    assert progress.total == 4  # the second epoch was announced as 4 steps, not 10
    assert all(", loss " in line for line in lines)
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()
