"""Start a model from another run's trained weights (``--init-from``): transfer learning.

A tagger trained on one dataset (CoNLL-2003 news) starts another (WNUT-17
posts) with its encoder already trained: every layer of the same name whose
weights have the same shapes is copied. The word, static word and character
embedding tables are copied row by row for the tokens both vocabularies
share (``target[i] = source[j]`` where token ``i`` of the new vocabulary is
token ``j`` of the old one; padding and OOV included), since the two runs
count their words and characters differently; rows of tokens the source never
had keep their own start (pretrained vectors, or random). The layers indexed
by labels (tag scores, CRF transitions, class logits) are copied only when the
source learned the same labels in the same order (its ``dataset.json``); else
they start fresh, as does every layer whose shapes differ.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# embedding tables indexed by the ids of TokenFeatures' word or character vocabulary
WORD_TABLES = ("word_embedding", "static_word_embedding")
CHAR_TABLES = ("char_embedding",)
RESERVED_IDS = 2  # 0: padding, 1: OOV, then the vocabulary
LABEL_LAYERS = ("emissions", "crf", "logits", "fine_logits", "auxiliary_logits")


def source_model_path(init_from: str) -> Path:
    """The ``model.keras`` of ``init_from`` (a run folder or the file itself); fails early."""
    path = Path(init_from)
    if path.is_dir():
        path = path / "model.keras"
    if not path.is_file():
        raise ValueError(f"--init-from {init_from}: no model.keras there (give a finished "
                         "run's folder, runs/<name>, or its model.keras)")
    return path


def row_map(target_vocabulary, source_vocabulary) -> np.ndarray:
    """For each id of the target table, the source id of the same token, or -1."""
    source_ids = {token: i + RESERVED_IDS for i, token in enumerate(source_vocabulary)}
    ids = [source_ids.get(token, -1) for token in target_vocabulary]
    return np.array(list(range(RESERVED_IDS)) + ids, dtype=np.int64)


def copy_rows(target: np.ndarray, source: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``target`` with ``target[i] = source[rows[i]]`` wherever ``rows[i] >= 0``."""
    if target.shape[1:] != source.shape[1:]:
        raise ValueError(f"rows of {target.shape[1:]} and {source.shape[1:]} differ")
    out = target.copy()
    found = rows >= 0
    out[found] = source[rows[found]]
    return out


def _table_rows(weight_path: str, layer_name: str, words, chars):
    if layer_name in WORD_TABLES:
        return words
    if any(name in weight_path for name in CHAR_TABLES):
        return chars
    return None


def source_labels(model_path: Path) -> list | None:
    """The labels the source run learned, from the ``dataset.json`` beside its model."""
    path = model_path.parent / "dataset.json"
    return json.loads(path.read_text())["labels"] if path.is_file() else None


def warm_start(model, init_from: str, labels) -> dict:
    """Copies the weights of the run ``init_from`` into ``model`` where they fit.

    ``labels``: what ``model`` learns (in the order of its output ids).

    Returns a summary for the run's report: the layers copied, the tables
    mapped row by row (with how many rows found their token in the source),
    and the layers left as they started.
    """
    import keras

    path = source_model_path(init_from)
    source = keras.saving.load_model(path)
    same_labels = source_labels(path) == list(labels)
    # the vocabularies the two models' ids index
    target_features = model.get_layer("token_features")
    source_features = source.get_layer("token_features")
    words = row_map(target_features.vocabulary, source_features.vocabulary)
    chars = row_map(target_features.char_vocabulary, source_features.char_vocabulary)
    source_layers = {layer.name: layer for layer in source.layers}
    summary = {"from": str(init_from), "copied": [], "mapped": {}, "fresh": []}
    for layer in model.layers:
        if not layer.weights:
            continue
        other = source_layers.get(layer.name)
        if layer.name in LABEL_LAYERS and not same_labels:
            other = None
        if other is None or len(other.weights) != len(layer.weights):
            summary["fresh"].append(layer.name)
            continue
        values, mapped = [], False
        for weight, source_weight in zip(layer.weights, other.weights, strict=True):
            value, source_value = np.asarray(weight), np.asarray(source_weight)
            rows = _table_rows(weight.path, layer.name, words, chars)
            if rows is not None and value.shape[0] == len(rows):
                value, mapped = copy_rows(value, source_value, rows), True
                summary["mapped"][weight.path] = int((rows[RESERVED_IDS:] >= 0).sum())
            elif value.shape == source_value.shape:
                value = source_value
            else:
                break
            values.append(value)
        if len(values) != len(layer.weights):
            summary["fresh"].append(layer.name)
            continue
        layer.set_weights(values)
        if not mapped or len(values) > 1:
            summary["copied"].append(layer.name)
    return summary


def describe(summary: dict) -> str:
    """One line for stdout: what came from the source run."""
    mapped = ", ".join(f"{path} {n:,} rows" for path, n in summary["mapped"].items())
    return (f"init from {summary['from']}: copied {', '.join(summary['copied']) or 'nothing'}; "
            f"mapped {mapped or 'nothing'}; fresh: {', '.join(summary['fresh']) or 'nothing'}")
