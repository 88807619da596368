"""Long-range dependency benchmark: which cell learns to recall across which distance.

Task ("first-token recall"): a sequence starts with a cue, one of
``classes`` symbols; then ``distance`` noise symbols follow, drawn uniformly
from ``noise`` other symbols. After the last one the model must output the
cue's class. Chance is ``1 / classes``; nothing but memory solves it.

Model: ``Embedding(vocabulary, embed) -> make_rnn(cell, units) -> Dense(classes)``.
The embedding is *fixed*: unit-variance random vectors (``input_scale``), like
pretrained word vectors, so every noise symbol really drives the state (with
Keras' default ±0.05 trainable embedding the inputs are so small that an
orthogonally initialized Elman network is almost linear and isometric, and
the task no longer tests memory under input drive). The model is
trained on freshly generated data with the same budget for every cell and
distance (steps, batch size, Adam learning rate, gradient clipping, seed).
Training stops early once the validation accuracy reaches ``stop_at``; the
score is the accuracy on a separate test set. A (cell, distance) is *solved*
when that accuracy is at least ``solved_at``.

Difficulty grows with distance, so by default a cell that fails a distance
is not trained on the longer ones (``--no-skip`` trains them anyway); the
table shows those as not run. Runs are resumable: each finished (cell, distance) is appended to
``OUT/results.jsonl`` (with its configuration); a rerun with the same
configuration skips those. ``OUT/long_range.csv``, ``OUT/long_range.md`` (the
table) and ``OUT/long_range.png`` are rewritten from all rows at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_CELLS = "elman,lstm,gru,minimal_rnn,cfn"


@dataclasses.dataclass(frozen=True)
class Budget:
    """Everything that is the same for every cell and distance."""

    units: int = 32
    embed: int = 16
    classes: int = 4
    noise: int = 8
    input_scale: float = 1.0
    steps: int = 800
    batch_size: int = 128
    learning_rate: float = 0.01
    clipnorm: float = 1.0
    check_every: int = 50
    stop_at: float = 0.99
    solved_at: float = 0.9
    test_size: int = 1000
    seed: int = 0


def recall_data(distance: int, size: int, classes: int, noise: int, seed: int):
    """``(tokens, labels)``: ``tokens`` ``(size, distance + 1)`` int32, cue first.

    Cue symbols are ``0..classes-1``, noise symbols ``classes..classes+noise-1``;
    ``labels[i] == tokens[i, 0]``.
    """
    if distance < 1:
        raise ValueError(f"`distance` must be at least 1. Received: distance={distance}")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=size)
    tokens = rng.integers(classes, classes + noise, size=(size, distance + 1))
    tokens[:, 0] = labels
    return tokens.astype(np.int32), labels.astype(np.int32)


def build_model(cell: str, budget: Budget):
    import keras

    from tagger.cells import make_rnn

    return keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(
            budget.classes + budget.noise, budget.embed, trainable=False,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=budget.input_scale),
        ),
        make_rnn(cell, budget.units),
        keras.layers.Dense(budget.classes, activation="softmax"),
    ])


def train_one(cell: str, distance: int, budget: Budget, verbose: int = 0) -> dict:
    """Train ``cell`` on ``distance`` under ``budget``; returns the result row."""
    import keras

    class StopWhenSolved(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if (logs or {}).get("val_accuracy", 0.0) >= budget.stop_at:
                self.model.stop_training = True

    # One stream of data per distance (shared by all cells), one model seed.
    data_seed = budget.seed * 1000 + distance
    x, y = recall_data(distance, budget.steps * budget.batch_size, budget.classes,
                       budget.noise, data_seed)
    x_val, y_val = recall_data(distance, 256, budget.classes, budget.noise, data_seed + 1)
    x_test, y_test = recall_data(distance, budget.test_size, budget.classes, budget.noise,
                                 data_seed + 2)
    keras.utils.set_random_seed(budget.seed)
    model = build_model(cell, budget)
    model.compile(
        optimizer=keras.optimizers.Adam(budget.learning_rate, clipnorm=budget.clipnorm),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    history = model.fit(
        x, y, batch_size=budget.batch_size, epochs=budget.steps // budget.check_every,
        steps_per_epoch=budget.check_every, validation_data=(x_val, y_val),
        callbacks=[StopWhenSolved()], verbose=verbose, shuffle=False,
    )
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=250, verbose=0)
    return {
        "cell": cell,
        "distance": distance,
        "accuracy": round(float(accuracy), 4),
        "loss": round(float(loss), 4),
        "solved": bool(accuracy >= budget.solved_at),
        "steps": len(history.history["loss"]) * budget.check_every,
        "seconds": round(seconds, 1),
    }


# ------------------------------------------------------------------ results
def _config_key(budget: Budget) -> dict:
    return dataclasses.asdict(budget)


def load_results(path: Path, budget: Budget) -> list[dict]:
    """Rows of ``path`` run with exactly this budget (others are ignored)."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            if record.get("budget") == _config_key(budget):
                rows.append(record["result"])
    return rows


def markdown_table(rows: list[dict], budget: Budget, distances=None) -> str:
    """Cell × distance table of test accuracy; bold = solved (≥ ``solved_at``)."""
    distances = sorted(distances or {r["distance"] for r in rows})
    cells = list(dict.fromkeys(r["cell"] for r in rows))
    by_key = {(r["cell"], r["distance"]): r for r in rows}
    lines = [
        "| cell | " + " | ".join(f"d={d}" for d in distances) + " | longest solved |",
        "| --- | " + " | ".join("---:" for _ in distances) + " | ---: |",
    ]
    for cell in cells:
        cells_text, longest = [], "none"
        for d in distances:
            row = by_key.get((cell, d))
            if row is None:
                cells_text.append("—")
                continue
            text = f"{row['accuracy']:.2f}"
            if row["solved"]:
                text = f"**{text}** ({row['steps']})"
                longest = str(d)
            cells_text.append(text)
        lines.append(f"| {cell} | " + " | ".join(cells_text) + f" | {longest} |")
    lines.append("")
    lines.append(
        f"Test accuracy (chance {1 / budget.classes:.2f}). **Bold**: solved (≥ "
        f"{budget.solved_at}), with the training steps it took (checked every "
        f"{budget.check_every}, at most {budget.steps}). —: not run, the cell had failed a "
        "shorter distance."
    )
    return "\n".join(lines) + "\n"


def write_reports(rows: list[dict], budget: Budget, out: Path, distances=None) -> dict:
    import csv

    from tagger.diagnostics.plots import plot_long_range

    fields = ["cell", "distance", "accuracy", "loss", "solved", "steps", "seconds"]
    with (out / "long_range.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows({k: r[k] for k in fields} for r in rows)
    (out / "long_range.md").write_text(markdown_table(rows, budget, distances))
    plot_long_range(rows, out / "long_range.png", "accuracy", chance=1 / budget.classes,
                    distances=distances)
    return {"csv": str(out / "long_range.csv"), "table": str(out / "long_range.md"),
            "plot": str(out / "long_range.png")}


# ---------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tagger diagnose long-range",
        description="Train each cell to recall the first token's class after D noise steps, "
        "with one fixed budget; writes results.jsonl (resumable), long_range.csv/.md/.png.",
    )
    parser.add_argument("--cells", default=DEFAULT_CELLS, help="comma-separated names or 'all'")
    parser.add_argument("--distances", default="25,50,100,200", help="comma-separated")
    defaults = Budget()
    for field in dataclasses.fields(Budget):
        value = getattr(defaults, field.name)
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(value), default=value,
                            help=f"(default {value})")
    parser.add_argument("--no-skip", action="store_true",
                        help="also train distances longer than one the cell already failed")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--verbose", type=int, default=0,
                        help="Keras fit verbosity (any --verbose also shows TensorFlow's "
                             "log lines)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    from tagger.diagnostics import parse_cells

    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    budget = Budget(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Budget)})
    cells = parse_cells(args.cells)
    distances = [int(d) for d in args.distances.split(",") if d.strip()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    previous = {(r["cell"], r["distance"]): r for r in load_results(results, budget)}
    todo = [(c, d) for c in cells for d in sorted(distances) if (c, d) not in previous]
    failed = {}  # cell -> shortest distance it failed
    for (cell, distance), row in previous.items():
        if not row["solved"]:
            failed[cell] = min(failed.get(cell, distance), distance)
    for cell, distance in tqdm(todo, desc="long-range", unit="run"):
        if not args.no_skip and distance > failed.get(cell, distance):
            continue
        row = train_one(cell, distance, budget, verbose=args.verbose)
        if not row["solved"]:
            failed[cell] = min(failed.get(cell, distance), distance)
        with results.open("a") as f:
            f.write(json.dumps({"budget": _config_key(budget), "result": row}) + "\n")
        tqdm.write(json.dumps(row))
    rows = [r for r in load_results(results, budget)
            if r["cell"] in cells and r["distance"] in distances]
    summary = write_reports(rows, budget, out, distances)
    print(markdown_table(rows, budget, distances), end="")
    print(json.dumps({**summary, "rows": len(rows)}))
    return 0
