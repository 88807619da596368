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

Between tag sets that differ, ``--init-label-map person=PER,group=ORG,...``
says which source type starts each of the run's types: ``B-person`` starts
from ``B-PER`` (the same span prefix), ``O`` from ``O`` (the same name). The
tag scores and CRF transitions of the labels that found a source label are
copied, entry by entry (``W[:, i] = W_src[:, m(i)]``, ``A[i, j] =
A_src[m(i), m(j)]``); the others keep their own start.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tagger.data.schemes import split_tag

# embedding tables indexed by the ids of TokenFeatures' word or character vocabulary
WORD_TABLES = ("word_embedding", "static_word_embedding")
CHAR_TABLES = ("char_embedding",)
# tables a run builds from its own sources (--lexicon), not learned: never copied
OWN_TABLES = ("lexicon_embedding",)
RESERVED_IDS = 2  # 0: padding, 1: OOV, then the vocabulary
LABEL_LAYERS = ("emissions", "crf", "logits", "fine_logits", "auxiliary_logits")
# the layers indexed by the run's own labels (not fine or auxiliary ones), which a
# label map can carry over; in the CRF every axis is a label axis, elsewhere the last
MAPPED_LABEL_LAYERS = ("emissions", "crf", "logits")


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


def learned_labels(model_path: Path) -> list:
    """The source run's labels, which ``--init-label-map`` needs; fails when they are not saved."""
    labels = source_labels(model_path)
    if labels is None:
        raise ValueError(f"--init-label-map: {model_path.parent} has no dataset.json naming "
                         "the labels its model learned")
    return labels


def parse_label_map(text: str) -> dict[str, str]:
    """``"person=PER,group=ORG"`` as ``{"person": "PER", "group": "ORG"}``; fails on a bad entry."""
    pairs = {}
    for entry in text.split(","):
        target, sep, source = (part.strip() for part in entry.partition("="))
        if not (sep and target and source):
            raise ValueError(f"--init-label-map: {entry.strip()!r} is not TYPE=SOURCE_TYPE "
                             "(e.g. person=PER,group=ORG)")
        if target in pairs:
            raise ValueError(f"--init-label-map: {target!r} is mapped twice")
        pairs[target] = source
    return pairs


def label_type(label: str) -> tuple[str, str]:
    """``("B-", "person")`` for a span tag, ``("", label)`` for ``O`` or a class label."""
    try:
        prefix, kind = split_tag(label)
    except ValueError:  # not a span tag: a class label
        return "", label
    return ("", label) if prefix == "O" else (prefix + "-", kind)


def check_label_map(types: dict[str, str], source_labels, target_labels=None) -> None:
    """Every mapped type is one the source (and, when known, the run) has; else a clear error."""
    checks = [("the source run", source_labels, types.values())]
    if target_labels is not None:
        checks.append(("this run", target_labels, types))
    for who, labels, named in checks:
        known = sorted({label_type(label)[1] for label in labels})
        unknown = sorted(set(named) - set(known))
        if unknown:
            raise ValueError(f"--init-label-map: {who} has no label type {unknown}; "
                             f"it has {known}")


def label_map(target_labels, source_labels, types: dict[str, str]) -> np.ndarray:
    """For each target label, the index of the source label it starts from, or -1.

    ``B-person`` starts from ``B-`` + ``types["person"]``; a label whose type
    is not in ``types`` starts from the source label of the same name.
    """
    index = {label: i for i, label in enumerate(source_labels)}
    rows = []
    for label in target_labels:
        prefix, kind = label_type(label)
        rows.append(index.get(prefix + types[kind] if kind in types else label, -1))
    return np.array(rows, dtype=np.int64)


def copy_labels(target: np.ndarray, source: np.ndarray, labels: np.ndarray,
                axes) -> np.ndarray:
    """``target`` with the entries of mapped labels taken from ``source``.

    Along each of ``axes`` target index ``i`` reads source index ``labels[i]``;
    an entry is copied when every one of its label indices is mapped (``>= 0``).
    """
    found = labels >= 0
    gathered, copied = source, np.ones(target.shape, dtype=bool)
    for axis in axes:
        gathered = np.take(gathered, np.where(found, labels, 0), axis=axis)
        shape = [1] * target.ndim
        shape[axis] = -1
        copied = copied & found.reshape(shape)
    if gathered.shape != target.shape:
        raise ValueError(f"label entries of {source.shape} do not fit {target.shape}")
    return np.where(copied, gathered, target)


def _copy_label_layer(layer, other, labels: np.ndarray) -> bool:
    """Copies the mapped labels' entries of ``other`` into ``layer``; False if they do not fit."""
    values = []
    for weight, source_weight in zip(layer.weights, other.weights, strict=True):
        value, source_value = np.asarray(weight), np.asarray(source_weight)
        axes = range(value.ndim) if layer.name == "crf" else (value.ndim - 1,)
        try:
            values.append(copy_labels(value, source_value, labels, axes))
        except (ValueError, IndexError):
            return False
    layer.set_weights(values)
    return True


def warm_start(model, init_from: str, labels, label_types: dict[str, str] | None = None) -> dict:
    """Copies the weights of the run ``init_from`` into ``model`` where they fit.

    ``labels``: what ``model`` learns (in the order of its output ids).
    ``label_types``: the parsed ``--init-label-map``, for labels that differ.

    Returns a summary for the run's report: the layers copied, the tables
    mapped row by row (with how many rows found their token in the source),
    the label layers copied label by label (with how many of the run's labels
    found one in the source), and the layers left as they started.
    """
    import keras

    path = source_model_path(init_from)
    source = keras.saving.load_model(path)
    learned = source_labels(path) if label_types is None else learned_labels(path)
    same_labels = learned == list(labels)
    mapped_labels = None
    if label_types is not None and not same_labels:
        check_label_map(label_types, learned, labels)
        mapped_labels = label_map(labels, learned, label_types)
    # the vocabularies the two models' ids index
    target_features = model.get_layer("token_features")
    source_features = source.get_layer("token_features")
    words = row_map(target_features.vocabulary, source_features.vocabulary)
    chars = row_map(target_features.char_vocabulary, source_features.char_vocabulary)
    source_layers = {layer.name: layer for layer in source.layers}
    summary = {"from": str(init_from), "copied": [], "mapped": {}, "fresh": []}
    if mapped_labels is not None:
        summary["labels"] = {}
    for layer in model.layers:
        if not layer.weights:
            continue
        other = source_layers.get(layer.name)
        if (mapped_labels is not None and layer.name in MAPPED_LABEL_LAYERS
                and other is not None and len(other.weights) == len(layer.weights)
                and _copy_label_layer(layer, other, mapped_labels)):
            summary["labels"][layer.name] = int((mapped_labels >= 0).sum())
            continue
        if (layer.name in LABEL_LAYERS and not same_labels) or layer.name in OWN_TABLES:
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
    labels = "".join(f"; {name}: {n} labels from the source's"
                     for name, n in summary.get("labels", {}).items())
    return (f"init from {summary['from']}: copied {', '.join(summary['copied']) or 'nothing'}; "
            f"mapped {mapped or 'nothing'}{labels}; "
            f"fresh: {', '.join(summary['fresh']) or 'nothing'}")
