"""Callbacks of the training loop: dev selection with early stopping, a step limit.

``DevSelection`` keeps its state (history, best score and epoch) in
``state.json`` so a resumed run continues the same selection.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import keras

from tagger.evaluation.predict import Predictor, evaluate_examples
from tagger.files import write_atomic


class DevSelection(keras.callbacks.Callback):
    """Scores dev after each epoch, keeps the best weights, stops early.

    Its state (history, best score and epoch) is saved in ``state.json`` so a
    resumed run continues the same selection. When the optimizer keeps a moving
    average of the weights (``use_ema``), the averaged weights are swapped in to
    be scored and kept, then swapped back for training to go on.
    """

    def __init__(self, run_dir: Path, predictor: Predictor, dev, labels, task, patience):
        super().__init__()
        self.run_dir, self.predictor, self.dev = run_dir, predictor, dev
        self.labels, self.task, self.patience = labels, task, patience
        self.state_path = run_dir / "state.json"
        self.best_path = run_dir / "best.weights.h5"
        self.state = {"status": "running", "history": [], "best": None, "best_epoch": None}
        if self.state_path.exists():
            self.state = json.loads(self.state_path.read_text())

    def on_epoch_end(self, epoch, logs=None):
        if not getattr(self.model.optimizer, "use_ema", False):
            self._select(epoch, logs)
            return
        swap = keras.callbacks.SwapEMAWeights()
        swap.set_model(self.model)
        swap.on_test_begin()
        try:
            self._select(epoch, logs)
        finally:
            swap.on_test_end()

    def _select(self, epoch, logs):
        started = time.time()
        metrics, _, _ = evaluate_examples(self.predictor, self.dev, self.labels, self.task)
        main = metrics["main"]
        entry = {"epoch": epoch + 1, "loss": float((logs or {}).get("loss", float("nan"))),
                 f"dev_{main}": metrics[main], "eval_seconds": round(time.time() - started, 1),
                 "learning_rate": float(keras.ops.convert_to_numpy(
                     self.model.optimizer.learning_rate))}
        history = [h for h in self.state["history"] if h["epoch"] < epoch + 1] + [entry]
        self.state["history"] = history
        improved = self.state["best"] is None or metrics[main] > self.state["best"]
        if improved:
            self.state.update(best=metrics[main], best_epoch=epoch + 1)
            tmp = self.run_dir / ".best.tmp.weights.h5"
            self.model.save_weights(tmp)
            os.replace(tmp, self.best_path)
        print(f"epoch {epoch + 1}: dev {main} {metrics[main]:.4f}"
              f"{' (best)' if improved else ''}", flush=True)
        write_atomic(self.state_path, json.dumps(self.state, indent=2))
        if epoch + 1 - self.state["best_epoch"] >= self.patience:
            self.model.stop_training = True


class StopAfterSteps(keras.callbacks.Callback):
    """Stops training after ``max_steps`` optimizer steps (counting resumed ones)."""

    def __init__(self, max_steps: int):
        super().__init__()
        self.max_steps = max_steps

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) >= self.max_steps:
            self.model.stop_training = True


