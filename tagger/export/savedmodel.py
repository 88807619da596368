"""Export trained models as self-contained, versioned SavedModels.

``models/<name>/<version>/`` (integer versions, as TensorFlow Serving
expects) holds a SavedModel whose signatures take raw strings:

- taggers: ``serving_default(sentences: string[None])`` tokenizes in-graph
  (core ``tf.strings`` ops, the same rules as training-time raw text) and
  returns ``tokens``, ``tags`` (``string[B, T]``, "" padded), ``scores``
  (``float32[B, T]``: each tag's posterior probability), ``entity_scores``
  (``float32[B, T]``: at an entity's first token the probability that exactly
  that span has that type, see ``tagger.layers.spans``; 0 elsewhere) and
  ``lengths`` (``int32[B]``); ``tag_tokens(tokens: string[None, None])``
  takes pre-tokenized input; ``tag_marginals(tokens)`` returns every tag's
  posterior (``marginals``, ``float32[B, T, K]``, over the model's own tags,
  named in ``classes``). All use the temperature fitted on dev.
- classifiers: ``serving_default(sentences)`` and ``classify_tokens(tokens)``
  return ``label`` (``string[B]``), ``probabilities`` (``float32[B, C]``) and
  ``classes`` (``string[B, C]``).

``assets/`` holds ``labels.txt``, ``config.json``, ``metrics.json`` and
``MODEL_CARD.md``. A version folder is written under a temporary name and
renamed into place, so a reader never sees half an export.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from tagger.data.schemes import as_iob2, is_bioes, output_labels
from tagger.data.tokenizer import tokenize
from tagger.export.card import model_card
from tagger.layers.spans import entity_confidences, span_tables


def _pad_tokens(ragged):
    """Ragged tokens -> dense ``[B, max(T, 1)]`` padded with ""."""
    dense = ragged.to_tensor(default_value="")
    width = tf.maximum(tf.shape(dense)[1], 1)
    return tf.pad(dense, [[0, 0], [0, width - tf.shape(dense)[1]]], constant_values="")


def _tagger_outputs(model, tag_names, temperature=1.0):
    # A BIOES model's tags are output in IOB2; its CRF only decodes valid BIOES
    # sequences, for which the tag-by-tag mapping is exact. Span confidences are
    # computed on the model's own tags (its posteriors are over them).
    names = tf.constant([as_iob2(tag) for tag in tag_names])
    tables = span_tables(tag_names)

    def outputs(tokens):
        mask = tf.not_equal(tokens, "")
        tag_ids, marginals, conditionals = model.posteriors(tokens, temperature)
        scores = tf.gather(marginals, tag_ids, batch_dims=2)
        tags = tf.where(mask, tf.gather(names, tag_ids), "")
        entity_scores = entity_confidences(tag_ids, marginals, conditionals, mask, tables)
        return {"tokens": tokens, "tags": tags, "scores": tf.cast(scores, tf.float32),
                "entity_scores": tf.cast(entity_scores, tf.float32),
                "lengths": tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)}

    own_names = tf.constant([str(tag) for tag in tag_names])

    def marginals(tokens):
        """Every tag's posterior at every token (``tag_marginals``), over the model's tags."""
        mask = tf.not_equal(tokens, "")
        tag_ids, marginals, _ = model.posteriors(tokens, temperature)
        return {"tokens": tokens, "tags": tf.where(mask, tf.gather(names, tag_ids), ""),
                "marginals": tf.cast(marginals, tf.float32),
                "classes": tf.tile(own_names[None, :], [tf.shape(tokens)[0], 1]),
                "lengths": tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)}

    outputs.marginals = marginals
    return outputs


def _classifier_outputs(model, class_names):
    names = tf.constant(list(class_names))

    def outputs(tokens):
        probabilities = tf.nn.softmax(tf.cast(model(tokens, training=False), tf.float32))
        label = tf.gather(names, tf.argmax(probabilities, axis=-1, output_type=tf.int32))
        classes = tf.tile(names[None, :], [tf.shape(tokens)[0], 1])
        return {"label": label, "probabilities": probabilities, "classes": classes}

    return outputs


def next_version(model_root: Path) -> int:
    versions = [int(p.name) for p in model_root.glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def export_model(model, config, loaded, metrics: dict, run_dir: Path | None = None) -> Path:
    """Writes the next version of ``<models_dir>/<name>``; returns its folder."""
    config_dict = json.loads(config.to_json()) if hasattr(config, "to_json") else dict(config)
    config_dict["name"] = config_dict.get("name") or config.model_name
    kind = loaded.kind
    labels = list(loaded.labels)
    model_root = Path(config_dict["models_dir"]) / config_dict["name"]
    model_root.mkdir(parents=True, exist_ok=True)

    archive = keras.export.ExportArchive()
    archive.track(model)
    # track() lists Keras variables, and the endpoints their backing tf.Variables:
    # two checkpoint objects per weight, every table saved twice. List the backing
    # variables only, so each weight is written once (half the size on disk).
    for collection in ("variables", "trainable_variables", "non_trainable_variables"):
        archive.add_variable_collection(
            collection, [getattr(v, "value", v) for v in getattr(model, collection)])
    if kind == "tagging":
        # temperature scaling fitted on dev by the run report (1 when it did not help)
        temperature = float(metrics.get("calibration", {}).get("temperature", 1.0))
        outputs = _tagger_outputs(model, labels, temperature)
    else:
        outputs = _classifier_outputs(model, labels)
    archive.add_endpoint(
        "serving_default",
        lambda sentences: outputs(_pad_tokens(tokenize(sentences))),
        input_signature=[tf.TensorSpec([None], tf.string, name="sentences")],
    )
    archive.add_endpoint(
        "tag_tokens" if kind == "tagging" else "classify_tokens",
        lambda tokens: outputs(_pad_tokens(tf.RaggedTensor.from_tensor(tokens, padding=""))),
        input_signature=[tf.TensorSpec([None, None], tf.string, name="tokens")],
    )
    if kind == "tagging":
        archive.add_endpoint(
            "tag_marginals",
            lambda tokens: outputs.marginals(
                _pad_tokens(tf.RaggedTensor.from_tensor(tokens, padding=""))),
            input_signature=[tf.TensorSpec([None, None], tf.string, name="tokens")],
        )
    staging = Path(tempfile.mkdtemp(dir=model_root, prefix=".tmp-"))
    try:
        archive.write_out(str(staging / "model"), verbose=False)
        assets = staging / "model" / "assets"
        assets.mkdir(exist_ok=True)
        outputs_labels = output_labels(labels)
        (assets / "labels.txt").write_text("\n".join(outputs_labels) + "\n",
                                           encoding="utf-8")
        task = {"tagging": loaded.task, "classification": "classify"}[kind]
        learned = {"model_tags": labels, "model_scheme": loaded.scheme} if is_bioes(labels) else {}
        (assets / "config.json").write_text(
            json.dumps({**config_dict, "task": task, "task_name": loaded.task, "kind": kind,
                        "labels": outputs_labels, **learned,
                        "scheme": "IOB2" if learned else loaded.scheme}, indent=2),
            encoding="utf-8")
        (assets / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
        (assets / "MODEL_CARD.md").write_text(model_card(config_dict, metrics),
                                              encoding="utf-8")
        diagram = run_dir / "report" / "calibration_dev.png" if run_dir else None
        if diagram is not None and diagram.is_file():
            shutil.copyfile(diagram, assets / diagram.name)
        while True:  # another exporter may take a version number first
            target = model_root / str(next_version(model_root))
            try:
                os.rename(staging / "model", target)
                break
            except OSError:
                if not target.exists():
                    raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
