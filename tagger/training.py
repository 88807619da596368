"""Training: data, model, optimizer, callbacks, resume, report.

A run lives in ``<runs_dir>/<name>/``: Keras' ``BackupAndRestore`` checkpoint
(model and optimizer, every few hundred steps and at each epoch end), the
dev-selection state (``state.json``, best weights), TensorBoard logs and the
final report. Killing a run at any moment and starting the same command
again resumes from the last checkpoint; a run whose state says ``done``
starts afresh. Every file a reader may open is written to a temporary name
and renamed into place, so no half-written artifact is ever visible.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from functools import partial
from pathlib import Path

import keras
import tensorflow as tf

from tagger.config import DEFAULT_WORD_DIM, TrainConfig
from tagger.data import vectors as word_vectors
from tagger.data.examples import TaggedSentence
from tagger.data.features import (
    CASING_CLASSES,
    TokenFeatures,
    build_char_vocab,
    build_vocab,
    normalize_token,
)
from tagger.data.pipeline import classification_dataset, tagging_dataset
from tagger.data.registry import load_dataset
from tagger.data.schemes import iob2_to_bioes
from tagger.diagnostics.callbacks import GradientNormLogger
from tagger.evaluation import Predictor, evaluate_examples
from tagger.models import build_sentence_classifier, build_sequence_tagger


def write_atomic(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


class DevSelection(keras.callbacks.Callback):
    """Scores dev after each epoch, keeps the best weights, stops early.

    Its state (history, best score and epoch) is saved in ``state.json`` so a
    resumed run continues the same selection.
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


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The tf.distribute strategy for ``--distribute``; call before any other TF work.

    ``TAGGER_LOGICAL_CPUS=N`` splits the CPU into N logical devices, so
    ``mirrored`` can be tried (and is tested) on a machine without GPUs.
    """
    logical = int(os.environ.get("TAGGER_LOGICAL_CPUS", "0"))
    if logical > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * logical)
    if name == "mirrored":
        devices = None if tf.config.list_physical_devices("GPU") else [
            d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief() -> bool:
    """False on the non-chief workers of a TF_CONFIG cluster (they write nothing shared)."""
    tf_config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task = tf_config.get("task")
    if not task:
        return True
    if "chief" in tf_config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0


def make_optimizer(config: TrainConfig, total_steps: int) -> keras.optimizers.Optimizer:
    """Linear warmup to ``learning_rate``, then constant, cosine or linear decay."""
    warmup = min(config.warmup_steps, max(total_steps // 10, 1))
    decay_steps = max(total_steps - warmup, 1)
    if config.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps, alpha=0.05, warmup_target=config.learning_rate,
            warmup_steps=warmup)
    elif config.schedule == "linear":
        rate = keras.optimizers.schedules.PolynomialDecay(
            config.learning_rate, decay_steps, end_learning_rate=config.learning_rate * 0.05)
    else:
        rate = config.learning_rate
    clip = {"global_clipnorm": config.clipnorm} if config.clipnorm > 0 else {}
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(rate, momentum=0.9, **clip)
    cls = keras.optimizers.Nadam if config.optimizer == "nadam" else keras.optimizers.Adam
    return cls(rate, **clip)


def prepare_run_dir(config: TrainConfig) -> Path:
    """The run folder; a finished run of the same name is cleared for a new one."""
    run_dir = Path(config.runs_dir) / config.model_name
    if not is_chief():  # multi-worker: each non-chief keeps its own scratch folder
        task = json.loads(os.environ["TF_CONFIG"])["task"]
        run_dir = run_dir / f"worker-{task['index']}"
    state = run_dir / "state.json"
    if state.exists() and json.loads(state.read_text()).get("status") == "done":
        shutil.rmtree(run_dir)
    saved = run_dir / "config.json"
    if saved.exists() and json.loads(saved.read_text()) != json.loads(config.to_json()):
        raise ValueError(f"{run_dir} holds an unfinished run with another configuration; "
                         "delete it or pass another --name")
    write_atomic(saved, config.to_json())
    return run_dir


def apply_tag_scheme(config: TrainConfig, loaded) -> None:
    """Span tags in the scheme the model learns (``--tag-scheme``), in place."""
    if loaded.scheme is None or config.tag_scheme == loaded.scheme:
        return
    loaded.splits = {split: [TaggedSentence(x.tokens, tuple(iob2_to_bioes(x.tags)))
                             for x in items] for split, items in loaded.splits.items()}
    loaded.labels = tuple(sorted({t for items in loaded.splits.values() for x in items
                                  for t in x.tags}))
    loaded.scheme = config.tag_scheme


def prepare_words(config: TrainConfig, loaded):
    """The word vocabulary and its initial vectors; reads ``--embeddings`` (fails early).

    Vocabulary: the training words (``--min-word-freq``), then the
    ``--embeddings-vocab`` most frequent words of the vectors that are not
    among them, all as keys of the in-graph normalisation.

    Returns:
        ``(config with word_dim resolved, vocabulary, initial matrix or None, info)``;
        ``info`` (for the report and the model card) says where the vectors
        came from and how many training and dev tokens found one.
    """
    normalize = partial(normalize_token, lowercase=config.lowercase, normalize_digits=True)
    train_tokens = [x.tokens for x in loaded.splits["train"]]
    vocabulary = build_vocab(train_tokens, config.min_word_freq, lowercase=config.lowercase,
                             normalize_digits=True)
    if config.embeddings == word_vectors.NONE:
        dim = config.word_dim or DEFAULT_WORD_DIM
        return (dataclasses.replace(config, word_dim=dim), vocabulary, None,
                {"source": "none", "dim": dim, "vocabulary": len(vocabulary)})
    vectors = word_vectors.load_vectors(config.embeddings, vocabulary, config.embeddings_vocab,
                                        normalize, expected_dim=config.word_dim)
    known = set(vocabulary)
    vocabulary += [key for key in vectors.keys if key in vectors.frequent and key not in known]
    matrix, found = word_vectors.embedding_matrix(vocabulary, vectors, seed=config.seed)
    info = {"source": config.embeddings, "description": word_vectors.describe_source(
                config.embeddings),
            "dim": vectors.dim, "rows_in_source": vectors.rows, "vocabulary": len(vocabulary),
            "training_words": len(known), "with_vector": len(found),
            "frozen": config.freeze_embeddings, "projection": config.project_embeddings,
            "coverage": {split: word_vectors.coverage((x.tokens for x in items), found,
                                                      normalize)
                         for split, items in loaded.splits.items() if split in ("train", "dev")}}
    cover = info["coverage"]
    print(f"embeddings: {config.embeddings}, {vectors.dim}-d; vocabulary {len(vocabulary):,} "
          f"words, {len(found):,} with a vector; token coverage " + ", ".join(
              f"{split} {c['token_coverage']:.1%}" for split, c in cover.items()), flush=True)
    return dataclasses.replace(config, word_dim=vectors.dim), vocabulary, matrix, info


def build_model(config: TrainConfig, loaded, vocabulary, initial=None):
    """The task's model over ``vocabulary`` and its initial vectors (:func:`prepare_words`)."""
    train_tokens = [x.tokens for x in loaded.splits["train"]]
    features = TokenFeatures(
        vocabulary, build_char_vocab(train_tokens),
        lowercase=config.lowercase, normalize_digits=True,
        distinct=True, name="token_features")
    features.casing_vocab_size = len(CASING_CLASSES)
    if loaded.kind == "tagging":
        return build_sequence_tagger(config, features, loaded.labels, loaded.scheme, initial)
    return build_sentence_classifier(config, features, loaded.labels, initial)


def train(config: TrainConfig):
    """Trains per ``config``; returns ``(model, loaded dataset, run_dir, state)``."""
    strategy = make_strategy(config.distribute)
    keras.utils.set_random_seed(config.seed)
    loaded = load_dataset(config.dataset, config.task, config.data_dir, seed=config.seed)
    apply_tag_scheme(config, loaded)
    config, vocabulary, initial, embedding_info = prepare_words(config, loaded)
    run_dir = prepare_run_dir(config)
    labels = list(loaded.labels)
    make = tagging_dataset if loaded.kind == "tagging" else classification_dataset
    train_data = make(loaded.splits["train"], labels, config.batch_size, shuffle=True,
                      seed=config.seed, bucket=True)
    steps_per_epoch = int(train_data.cardinality())
    if steps_per_epoch < 0:  # unknown after bucketing: count once, so progress bars know
        steps_per_epoch = sum(1 for _ in train_data)
        train_data = train_data.apply(tf.data.experimental.assert_cardinality(steps_per_epoch))
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)

    with strategy.scope():
        model = build_model(config, loaded, vocabulary, initial)
        loss = None
        if loaded.kind == "classification":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        model.compile(optimizer=make_optimizer(config, total_steps), loss=loss)
        model(tf.constant([["a"]]))  # build, so BackupAndRestore can load into it

    predictor = Predictor(model, loaded.kind)
    selection = DevSelection(run_dir, predictor, loaded.splits["dev"], labels, loaded.task,
                             config.patience)
    callbacks = [
        selection,
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), double_checkpoint=True,
                                         save_freq=config.checkpoint_steps),
        keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), update_freq=50),
        keras.callbacks.TerminateOnNaN(),
    ]
    if strategy.num_replicas_in_sync == 1:  # gradient norms of one held batch, to TensorBoard
        callbacks.append(GradientNormLogger(run_dir / "tensorboard", next(iter(train_data)),
                                            every_n_batches=50))
    if config.max_steps:
        callbacks.append(StopAfterSteps(config.max_steps))
    started = time.time()
    # shuffle=False: the tf.data pipeline already shuffles with the seed.
    history = model.fit(train_data, epochs=config.epochs, callbacks=callbacks, verbose=1,
                        shuffle=False)
    seconds = time.time() - started
    model.load_weights(selection.best_path)
    state = dict(selection.state, train_seconds=round(seconds, 1),
                 epochs_run=len(history.epoch), embeddings=embedding_info)
    return model, loaded, run_dir, state, predictor, config
