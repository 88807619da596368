"""Training progress: a live bar on a terminal, one plain line per epoch in a log.

Keras' own bar writes carriage returns and colour codes whatever the output
is, and its total is the epoch's length even when ``--max-steps`` stops the
run sooner. This callback replaces it (``fit(verbose=0)``): on a terminal a
tqdm bar whose total is the number of steps this epoch will really run; on
anything else (a file, a pipe, CI) one line per epoch with no ``\\r`` and no
escape codes.
"""

from __future__ import annotations

import sys
import time

import keras


class Progress(keras.callbacks.Callback):
    """Shows training progress on ``stream`` (default ``sys.stderr``).

    Args:
        steps_per_epoch: batches in a full epoch.
        max_steps: the run stops after this many optimizer steps (0: no limit).
        stream: where to write; a bar only if it is a terminal.
    """

    def __init__(self, steps_per_epoch: int, max_steps: int = 0, stream=None):
        super().__init__()
        self.steps_per_epoch, self.max_steps = steps_per_epoch, max_steps
        self.stream = stream
        self.bar = None

    @property
    def _out(self):
        return self.stream or sys.stderr

    def _steps_this_epoch(self) -> int:
        done = int(self.model.optimizer.iterations.numpy())
        if self.max_steps:
            return max(0, min(self.steps_per_epoch, self.max_steps - done))
        return self.steps_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.started, self.total = epoch + 1, time.time(), self._steps_this_epoch()
        self.epochs, self.count = self.params.get("epochs"), 0
        if self._out.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc=f"epoch {self.epoch}/{self.epochs}",
                            unit="step", file=self._out, leave=False, dynamic_ncols=True)

    def on_train_batch_end(self, batch, logs=None):
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
            if logs and "loss" in logs:
                self.bar.set_postfix(loss=f"{float(logs['loss']):.4f}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        steps = self.count
        loss = (logs or {}).get("loss")
        shown = f", loss {float(loss):.4f}" if loss is not None else ""
        print(f"epoch {self.epoch}/{self.epochs}: {steps} steps in "
              f"{time.time() - self.started:.1f} s{shown}", file=self._out, flush=True)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
