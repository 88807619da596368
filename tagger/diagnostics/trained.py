"""Trained models: find their first recurrent cell and measure ‖∂L/∂x_k‖.

A ``.keras`` model is loaded with its Python classes (``tagger.cells`` is
imported, so the registered cells deserialize). The first recurrent layer is
the first ``tagger.cells.SequenceRNN`` (or ``keras.layers.RNN`` /
``Bidirectional`` around a ``tagger.cells`` cell) in depth-first layer order;
its forward cell is what ``∂h_T/∂s_k`` is measured on.

``∂L/∂x_k``: ``x_k`` is the input of that recurrent layer at step ``k`` (the
word representation: embedding, plus character features when the model has
them), captured by wrapping the layer's ``call`` on this one loaded instance
so the gradient tape can watch it. ``L`` is the cross-entropy of the model's
own prediction at the sentence's last token (taggers) or of its predicted
class (classifiers): no gold labels are needed, and the gradient measures how
much the decision at the end depends on each earlier word.
"""

from __future__ import annotations

import contextlib
import importlib
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import tagger.cells  # noqa: F401  (registers the cell classes for loading)
from tagger.cells import CELLS, SequenceRNN


class UnsupportedModelError(ValueError):
    """The model cannot be diagnosed; the message says why and what to do."""


def cell_name(cell) -> str:
    for name, cls in CELLS.items():
        if type(cell) is cls:
            return name
    return type(cell).__name__


def _is_tagger_cell(cell) -> bool:
    return any(type(cell) is cls for cls in CELLS.values())


def _walk(layer):
    yield layer
    for child in getattr(layer, "layers", []) or []:
        if child is not layer:
            yield from _walk(child)


def first_recurrent_layer(model):
    """``(layer, forward_cell)`` of the first recurrent layer with a ``tagger.cells`` cell."""
    for layer in _walk(model):
        if isinstance(layer, SequenceRNN):
            return layer, layer.cell
        if isinstance(layer, keras.layers.Bidirectional):
            cell = getattr(layer.forward_layer, "cell", None)
            if _is_tagger_cell(cell):
                return layer, cell
        if isinstance(layer, keras.layers.RNN) and _is_tagger_cell(layer.cell):
            return layer, layer.cell
    raise UnsupportedModelError("the model has no recurrent layer with a tagger.cells cell")


def _keras_files_beside(folder: Path) -> list[Path]:
    """``.keras`` files in a SavedModel folder or its parent; for ``models/<name>/``, in
    its version folders, newest first."""
    versions = sorted((p for p in folder.iterdir() if p.is_dir() and p.name.isdigit()),
                      key=lambda p: int(p.name), reverse=True)
    found = [k for v in versions for k in sorted(v.glob("*.keras"))]
    return found + sorted(folder.glob("*.keras")) + sorted(folder.parent.glob("*.keras"))


def _load_keras(path: Path):
    # The project's models, layers and features register their classes on import.
    for module in ("tagger.models", "tagger.layers", "tagger.data.features"):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    try:
        return keras.saving.load_model(path, compile=False)
    except (TypeError, ValueError) as error:
        raise UnsupportedModelError(f"cannot load {path}: {str(error)[:300]}") from None


def load_model(path):
    """Load a ``.keras`` model; for a SavedModel folder, use the ``.keras`` file beside it."""
    path = Path(path)
    if path.is_file() and path.suffix == ".keras":
        return _load_keras(path)
    if not path.is_dir():
        raise UnsupportedModelError(f"no .keras file or SavedModel folder at {path}")
    candidates = _keras_files_beside(path)
    if candidates:
        print(f"diagnose: {path} is not a .keras file; using the Keras model saved "
              f"beside it: {candidates[0]}")
        return _load_keras(candidates[0])
    raise UnsupportedModelError(
        f"{path} is an exported SavedModel without a .keras file beside it. A SavedModel "
        "keeps the serving graph but not the cell classes, so its recurrent weights cannot "
        "be put back into a cell: pass the .keras model saved at training time instead "
        "(--model path/to/model.keras)."
    )


@contextlib.contextmanager
def capture_inputs(layer, tape):
    """Within the block, every call of ``layer`` records (and the tape watches) its inputs."""
    captured = {}
    original = layer.call

    def call(sequences, *args, **kwargs):
        tape.watch(sequences)
        captured["inputs"] = sequences
        captured["mask"] = kwargs.get("mask")
        return original(sequences, *args, **kwargs)

    layer.call = call
    try:
        yield captured
    finally:
        del layer.call  # back to the class method


def _last_step_loss(outputs, lengths):
    """Cross-entropy of the predicted class at each sequence's last real step, ``(batch,)``."""
    outputs = tf.cast(outputs, tf.float64)
    if outputs.shape.rank == 3:
        outputs = tf.gather(outputs, lengths - 1, axis=1, batch_dims=1)
    if outputs.shape.rank != 2:
        raise UnsupportedModelError(
            f"model output of shape {outputs.shape} is neither (batch, classes) nor "
            "(batch, time, classes); ∂L/∂x needs per-class scores"
        )
    is_probability = bool(tf.reduce_all(outputs >= 0)) and np.allclose(
        tf.reduce_sum(outputs, -1).numpy(), 1.0, atol=1e-3
    )
    log_p = tf.math.log(outputs + 1e-12) if is_probability else tf.nn.log_softmax(outputs)
    return -tf.reduce_max(log_p, axis=-1)  # the predicted class has the largest log p


def input_gradient_norms(model, layer, model_inputs, max_distance) -> np.ndarray:
    """Mean over sequences of ``‖∂L/∂x_k‖₂`` by distance from the last token (NaN: no data)."""
    with tf.GradientTape(persistent=True) as tape, capture_inputs(layer, tape) as captured:
        outputs = model(model_inputs, training=False)
        if isinstance(outputs, (list, tuple, dict)):
            raise UnsupportedModelError("∂L/∂x needs a model with a single output")
        x = captured["inputs"]
        mask = captured["mask"]
        length = tf.shape(x)[1]
        if mask is not None:
            lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        elif model_inputs.dtype == tf.string and model_inputs.shape.rank == 2:
            lengths = tf.reduce_sum(tf.cast(model_inputs != "", tf.int32), axis=1)  # "" pads
        else:
            lengths = tf.fill(tf.shape(x)[:1], length)
        loss = tf.reduce_sum(_last_step_loss(outputs, lengths))
    grads = tape.gradient(loss, x)
    del tape
    norms = tf.norm(tf.cast(grads, tf.float64), axis=-1).numpy()  # (batch, time)
    totals = np.zeros(max_distance + 1)
    counts = np.zeros(max_distance + 1)
    for row, n in zip(norms, lengths.numpy(), strict=True):
        distances = n - 1 - np.arange(n)
        keep = distances <= max_distance
        np.add.at(totals, distances[keep], row[:n][keep])
        np.add.at(counts, distances[keep], 1)
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


def recurrent_inputs(model, layer, model_inputs) -> np.ndarray:
    """The inputs the recurrent layer sees for ``model_inputs`` (real word representations)."""
    with tf.GradientTape() as tape, capture_inputs(layer, tape) as captured:
        model(model_inputs, training=False)
    return np.asarray(captured["inputs"], dtype=np.float32)


def _embedding_vocabulary(model) -> int | None:
    for layer in _walk(model):
        if isinstance(layer, keras.layers.Embedding):
            return int(layer.input_dim)
    return None


def model_inputs(model, samples, length, seed, sentences=None):
    """Inputs for ``model``: real sentences when given and the model reads strings, else random.

    Returns ``(inputs, description)``.
    """
    if len(model.inputs) != 1:
        raise UnsupportedModelError(
            f"∂L/∂x supports single-input models; this one has {len(model.inputs)} inputs"
        )
    spec = model.inputs[0]
    rng = np.random.default_rng(seed)
    if spec.dtype == "string":
        if not sentences:
            raise UnsupportedModelError(
                "the model reads raw strings: pass --dataset NAME (and --data-dir) for sentences"
            )
        chosen = [sentences[i] for i in rng.permutation(len(sentences))[:samples]]
        if len(spec.shape) == 1:
            return tf.constant([" ".join(s) for s in chosen]), "real sentences"
        width = max(len(s) for s in chosen)
        padded = [list(s) + [""] * (width - len(s)) for s in chosen]
        return tf.constant(padded), "real sentences"
    if "int" in str(spec.dtype):
        vocabulary = _embedding_vocabulary(model) or 1000
        ids = rng.integers(1, vocabulary, size=(samples, length))
        note = "random token ids" + (" (the model reads ids, not words)" if sentences else "")
        return tf.constant(ids, dtype=spec.dtype), note
    shape = (samples, length, *[d or 1 for d in spec.shape[2:]])
    return tf.constant(rng.standard_normal(shape), dtype=spec.dtype), "random inputs"
