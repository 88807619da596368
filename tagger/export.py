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
  takes pre-tokenized input. Both use the temperature fitted on dev.
- classifiers: ``serving_default(sentences)`` and ``classify_tokens(tokens)``
  return ``label`` (``string[B]``), ``probabilities`` (``float32[B, C]``) and
  ``classes`` (``string[B, C]``).

``assets/`` holds ``labels.txt``, ``config.json``, ``metrics.json`` and
``MODEL_CARD.md``. A version folder is written under a temporary name and
renamed into place, so a reader never sees half an export.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import keras
import tensorflow as tf

from tagger.data.schemes import as_iob2, is_bioes, output_labels
from tagger.data.tokenizer import tokenize
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


def model_card(config: dict, metrics: dict) -> str:
    """MODEL_CARD.md: what the model is, its data and terms, vectors, scores, limits."""
    from tagger.data.registry import DATASETS

    dev = metrics.get("dev", {})
    spec = DATASETS.get(metrics.get("dataset"))
    lines = [
        f"# {config.get('name') or 'model'}", "",
        f"- task: {metrics.get('task')} on {metrics.get('dataset')} "
        f"({metrics.get('source')} data){f': {spec.description}' if spec else ''}",
        f"- cell: {config.get('cell')}, {config.get('layers')} bidirectional layer(s) of "
        f"{config.get('units')} units per direction; head: {config.get('head')}; "
        f"char encoder: {config.get('char_encoder')}; tag scheme learned: "
        f"{config.get('tag_scheme', 'IOB2')} (outputs IOB2)",
        f"- trained {metrics.get('epochs_run')} epochs ({metrics.get('train_seconds')} s), "
        f"best dev epoch {metrics.get('best_epoch')}, seed {config.get('seed')}",
        "- dev: " + ", ".join(f"{k} {dev[k]:.4f}" for k in ("f1", "precision", "recall",
                                                           "accuracy", "macro_f1") if k in dev),
    ]
    if "test" in metrics:
        test = metrics["test"]
        lines.append("- test: " + ", ".join(f"{k} {test[k]:.4f}" for k in ("f1", "accuracy")
                                            if k in test))
    per_type = {k: v for k, v in dev.get("per_type", {}).items() if " avg" not in k}
    if per_type:
        lines += ["", "Dev scores per type:", "", "| type | precision | recall | F1 | support |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        lines += [f"| {name} | {s['precision']:.4f} | {s['recall']:.4f} | {s['f1-score']:.4f} "
                  f"| {int(s['support'])} |" for name, s in sorted(per_type.items())]
    lines += ["", calibration_note(metrics.get("calibration"))]
    lines += ["", embeddings_note(metrics.get("embeddings"))]
    if spec and spec.terms:
        lines += ["", f"Training data terms: {spec.terms} The model's outputs and weights are "
                      "derived from this data; use them within these terms."]
    lines += ["", "Trained with `python train.py`; the full configuration is in `config.json`, "
                  "the training history in `metrics.json`.",
              "", "Known limits: scores are on the dev split of the training corpus; text "
                  "from another domain, period or register (and a different tokenization) "
                  "scores lower. The tokenizer splits raw text by rules, so the model sees "
                  "tokens as the training data's tokenization would give them only "
                  "approximately.", ""]
    return "\n".join(lines)


def calibration_note(result: dict | None) -> str:
    """The model card's paragraph on entity confidences and their calibration on dev."""
    if not result:
        return ("Entity confidences: not measured for this model (no span task, or "
                "exported before calibration was measured).")
    from tagger.evaluation.calibration import calibration_table

    scaled = (f"temperature scaling fitted on dev (T = {result['temperature']:.2f}) lowered "
              f"it from {result['ece_uncalibrated']:.4f}" if result["temperature"] != 1.0
              else "temperature scaling did not lower it, so none is applied")
    return (f"Entity confidences: each entity's `confidence` is the model's probability "
            f"that exactly this span has exactly this type. On dev ({result['entities']:,} "
            f"predicted entities, {result['accuracy']:.1%} correct) their expected "
            f"calibration error (10 bins) is {result['ece']:.4f}; {scaled}. Reliability "
            f"diagram: `calibration_dev.png`.\n\n{calibration_table(result)}")


def embeddings_note(info: dict | None) -> str:
    """The model card's paragraph on word vectors and their coverage."""
    if not info or info.get("source") == "none":
        return "Word embeddings learned from scratch (no pretrained vectors)."
    cover = ", ".join(f"{split} {c['token_coverage']:.1%} of tokens "
                      f"({c['word_coverage']:.1%} of distinct words)"
                      for split, c in info.get("coverage", {}).items())
    how = "frozen" if info.get("frozen") else "fine-tuned"
    if info.get("projection"):
        how += ", through a trainable projection"
    return (f"Word vectors: {info.get('description', info['source'])}; {info['dim']}-d, "
            f"{how}. Vocabulary {info['vocabulary']:,} words ({info['training_words']:,} "
            f"from training, the rest the most frequent words of the vectors), "
            f"{info['with_vector']:,} with a vector. Coverage: {cover}. The vectors travel "
            "inside this SavedModel; serving needs neither the wheel nor the file.")


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


def main(argv=None) -> int:
    """``python -m tagger export RUN_DIR``: export a run's ``model.keras`` again."""
    parser = argparse.ArgumentParser(
        epilog="example (after a training run):\n  python -m tagger export "
               "runs/ner-conll2003-lstm --name ner-conll2003 --rebuild",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        prog="python -m tagger export",
        description="Export the model.keras of a training run folder (runs/<name>) as the "
                    "next SavedModel version of models/<name>.")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's own log lines and warnings")
    parser.add_argument("run_dir", help="training run folder holding model.keras, config.json "
                                        "and report/metrics.json")
    parser.add_argument("--models-dir", help="root of exported models (default: the run's)")
    parser.add_argument("--name", help="model name (default: the run's)")
    parser.add_argument("--rebuild", action="store_true",
                        help="taggers: put the weights into the graph this version builds "
                             "(faster for runs saved by older versions; same outputs)")
    args = parser.parse_args(argv)
    import tagger.models  # noqa: F401  (registers the model classes before loading)

    run_dir = Path(args.run_dir)
    try:
        config = json.loads((run_dir / "config.json").read_text())
        metrics = json.loads((run_dir / "report" / "metrics.json").read_text())
        dataset = SimpleNamespace(**json.loads((run_dir / "dataset.json").read_text()))
        model = keras.saving.load_model(run_dir / "model.keras")
    except (OSError, ValueError) as error:
        print(f"export: error: {run_dir}: {error}", file=sys.stderr)
        return 2
    if args.rebuild and dataset.kind == "tagging":
        from dataclasses import fields

        from tagger.config import TrainConfig
        from tagger.models import rebuild_sequence_tagger

        known = {f.name for f in fields(TrainConfig)}
        train_config = TrainConfig(**{k: v for k, v in config.items() if k in known})
        model = rebuild_sequence_tagger(model, train_config, dataset.labels, dataset.scheme)
    config["models_dir"] = args.models_dir or config["models_dir"]
    config["name"] = args.name or config.get("name") or (
        f"{config['task']}-{config['dataset']}-{config['cell']}")
    print(json.dumps({"export_dir": str(export_model(model, config, dataset, metrics, run_dir))}))
    return 0
