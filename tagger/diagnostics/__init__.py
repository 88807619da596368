"""``python -m tagger diagnose``: gradient flow through time for each cell.

Two commands::

    python -m tagger diagnose --cells elman,lstm,gru,minimal_rnn,cfn --out DIR
    python -m tagger diagnose long-range --out DIR        (see tagger.diagnostics.long_range)

The first writes ``DIR/gradients.csv`` (columns ``cell,distance,grad_norm``)
and ``DIR/gradients.png``: for each cell, ``‖∂h_T/∂s_k‖_F / sqrt(units)``
against the distance ``T − k`` (see :mod:`tagger.diagnostics.jacobians`),
averaged over ``--samples`` random input sequences (standard normal,
``--units`` features), fresh weights from the cells' default initializers
(LSTM forget bias 1).

With ``--model PATH`` (a ``.keras`` model, or a SavedModel folder with the
``.keras`` file beside it) it adds the trained first recurrent layer's forward
cell, driven by the model's own word representations, as ``<cell> (trained)``,
and writes ``input_gradients.csv`` / ``input_gradients.png``: ``‖∂L/∂x_k‖``
against the distance from the last token (:mod:`tagger.diagnostics.trained`).
The last printed line is a JSON summary. May import: ``tagger.cells``,
``tagger.data`` (to drive a trained model with real sentences) and Keras.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from tagger.commands import command_parser

DEFAULT_CELLS = "elman,lstm,gru,minimal_rnn,cfn"


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "python -m tagger diagnose",
        "Gradient flow through time: ‖∂h_T/∂h_k‖ against T−k for each cell "
        "(fresh or trained), as gradients.csv and a log-scale plot. "
        "`python -m tagger diagnose long-range --help` runs the long-range benchmark.")
    parser.add_argument("--cells", default=None,
                        help=f"comma-separated cell names or 'all' (default: {DEFAULT_CELLS}; "
                        "with --model: only the model's cell, fresh, for comparison)")
    parser.add_argument("--model", help="a .keras model, or a SavedModel folder with its .keras "
                        "file beside it: also measure its trained first recurrent layer")
    parser.add_argument("--dataset", help="with --model: real sentences of this dataset for ∂L/∂x")
    parser.add_argument("--data-dir", help="folder with the datasets (default: $TAGGER_DATA_DIR)")
    parser.add_argument("--length", type=int, default=200, help="sequence length T (default 200)")
    parser.add_argument("--units", type=int, default=64, help="hidden units of fresh cells")
    parser.add_argument("--samples", type=int, default=16,
                        help="input sequences averaged over (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and inputs")
    parser.add_argument("--out", required=True, help="output folder")
    return parser


def parse_cells(text: str | None) -> list[str]:
    from tagger.cells import CELLS

    if text is None:
        return DEFAULT_CELLS.split(",")
    if text == "all":
        return list(CELLS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CELLS]
    if unknown:
        raise SystemExit(f"diagnose: unknown cell(s) {unknown}; choose from {', '.join(CELLS)}")
    return names


def write_curves_csv(curves, path) -> Path:
    """``cell,distance,grad_norm`` rows (distance 0..T; NaN rows, no data, are left out)."""
    path = Path(path)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["cell", "distance", "grad_norm"])
        for name, values in curves.items():
            for distance, value in enumerate(values):
                if value == value:  # not NaN
                    writer.writerow([name, distance, f"{value:.6g}"])
    return path


def _dataset_sentences(name, data_dir, notes):
    try:
        from tagger.data.registry import load_dataset
    except ImportError as error:
        notes.append(f"tagger.data is not available ({error}); using random inputs")
        return None
    loaded = load_dataset(name, data_dir=data_dir)
    split = "dev" if "dev" in loaded.splits else next(iter(loaded.splits))
    return [example.tokens for example in loaded.splits[split] if example.tokens]


def _trained_curves(args, notes):
    """``(state curves, input curves, cell name)`` for ``--model``."""
    import numpy as np

    from tagger.diagnostics import trained
    from tagger.diagnostics.jacobians import state_jacobian_norms

    model = trained.load_model(args.model)
    layer, cell = trained.first_recurrent_layer(model)
    label = f"{trained.cell_name(cell)} (trained)"
    sentences = _dataset_sentences(args.dataset, args.data_dir, notes) if args.dataset else None
    inputs, where = trained.model_inputs(model, args.samples, args.length, args.seed, sentences)
    notes.append(f"∂L/∂x and the trained cell's inputs come from {where}")
    input_curves = {label: trained.input_gradient_norms(model, layer, inputs, args.length)}
    # The trained cell sees the model's own word vectors, drawn in random order.
    vectors = trained.recurrent_inputs(model, layer, inputs)
    vectors = vectors.reshape(-1, vectors.shape[-1])
    vectors = vectors[np.abs(vectors).sum(axis=-1) > 0]  # drop padding
    rng = np.random.default_rng(args.seed)
    pooled = vectors[rng.integers(0, len(vectors), size=(args.samples, args.length))]
    return {label: state_jacobian_norms(cell, pooled)}, input_curves, trained.cell_name(cell)


def run_gradients(args) -> dict:
    import keras
    from tqdm import tqdm

    from tagger.cells import make_cell
    from tagger.diagnostics.jacobians import random_inputs, state_jacobian_norms
    from tagger.diagnostics.plots import plot_gradient_norms
    from tagger.diagnostics.trained import UnsupportedModelError

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    notes, curves, input_curves = [], {}, {}
    cells = parse_cells(args.cells)
    if args.model:
        try:
            curves, input_curves, model_cell = _trained_curves(args, notes)
        except UnsupportedModelError as error:
            raise SystemExit(f"diagnose: {error}") from None
        if args.cells is None:
            cells = [model_cell]
    inputs = random_inputs(args.samples, args.length, args.units, args.seed)
    with tqdm(total=len(cells) * args.samples, desc="∂h_T/∂h_k", unit="seq") as bar:
        for name in cells:
            bar.set_postfix_str(name)
            keras.utils.set_random_seed(args.seed)
            cell = make_cell(name, args.units)
            curves[name] = state_jacobian_norms(cell, inputs, progress=bar.update)

    summary = {"csv": str(write_curves_csv(curves, out / "gradients.csv"))}
    summary["plot"] = str(plot_gradient_norms(
        curves, out / "gradients.png", ylabel="‖∂h_T/∂h_k‖_F / √units",
        title=f"Gradient flow through time (T={args.length}, mean of {args.samples} sequences)",
    ))
    if input_curves:
        summary["input_csv"] = str(write_curves_csv(input_curves, out / "input_gradients.csv"))
        summary["input_plot"] = str(plot_gradient_norms(
            input_curves, out / "input_gradients.png", ylabel="‖∂L/∂x_k‖",
            title="Loss at the last token w.r.t. earlier word vectors",
        ))
    at = min(50, args.length)
    summary["distance"] = at
    summary["grad_norm"] = {name: float(f"{values[at]:.4g}") for name, values in curves.items()}
    if notes:
        summary["notes"] = notes
    return summary


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "long-range":
        from tagger.diagnostics.long_range import main as long_range_main

        return long_range_main(argv[1:])
    args = build_parser().parse_args(argv)
    for name in ("length", "units", "samples"):
        if getattr(args, name) < 1:
            raise SystemExit(f"diagnose: --{name} must be positive; got {getattr(args, name)}")
    summary = run_gradients(args)
    for note in summary.get("notes", []):
        print(f"note: {note}")
    print(json.dumps(summary))
    return 0
