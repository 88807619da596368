"""The training loop: data, model, optimizer, callbacks, resume.

A run lives in ``<runs_dir>/<name>/``: Keras' ``BackupAndRestore`` checkpoint
(model and optimizer, every few hundred steps and at each epoch end), the
dev-selection state (``state.json``, best weights), TensorBoard logs and the
final report. Killing a run at any moment and starting the same command
again resumes from the last checkpoint; a run whose state says ``done``
starts afresh. Every file a reader may open is written to a temporary name
and renamed into place, so no half-written artifact is ever visible.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import keras
import tensorflow as tf

from tagger.config import TrainConfig
from tagger.data.extra import add_extra_training
from tagger.data.pipeline import classification_dataset, tagging_dataset
from tagger.data.registry import (
    check_auxiliary_task,
    class_of_fine_label,
    finer_task,
    load_dataset,
    repeat_sentences,
)
from tagger.diagnostics.callbacks import GradientNormLogger
from tagger.evaluation.predict import Predictor
from tagger.files import write_atomic
from tagger.training.callbacks import DevSelection, StopAfterSteps
from tagger.training.progress import Progress
from tagger.training.warm_start import describe as describe_warm_start
from tagger.training.warm_start import parse_label_map, warm_start
from tagger.training.words import apply_tag_scheme, build_model, prepare_lexicon, prepare_words


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
    """Linear warmup to ``learning_rate``, then constant, cosine or linear decay.

    With ``config.ema`` the optimizer also keeps a moving average of the weights,
    a_t = m a_{t-1} + (1 - m) w_t (Polyak averaging), which ``DevSelection`` swaps in
    to score, keep and finally return.
    """
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
    options = {"global_clipnorm": config.clipnorm} if config.clipnorm > 0 else {}
    if config.ema:
        options.update(use_ema=True, ema_momentum=config.ema)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(rate, momentum=0.9, **options)
    cls = keras.optimizers.Nadam if config.optimizer == "nadam" else keras.optimizers.Adam
    return cls(rate, beta_2=config.beta_2, **options)


def run_dir_of(config: TrainConfig) -> Path:
    run_dir = Path(config.runs_dir) / config.model_name
    if not is_chief():  # multi-worker: each non-chief keeps its own scratch folder
        task = json.loads(os.environ["TF_CONFIG"])["task"]
        run_dir = run_dir / f"worker-{task['index']}"
    return run_dir


def check_run_dir(config: TrainConfig, overwrite: bool = False) -> None:
    """Fail early (before any data is read) when the run folder holds a finished run and
    ``overwrite`` was not given: a finished run is never deleted unasked."""
    state = run_dir_of(config) / "state.json"
    if overwrite or not state.exists():
        return
    saved = json.loads(state.read_text())
    if saved.get("status") == "done":
        best = saved.get("best")
        raise ValueError(
            f"{state.parent} holds a finished run (best dev score {best:.4f} at epoch "
            f"{saved.get('best_epoch')}); pass --overwrite to train it again from scratch, "
            "or --name for a new run" if best is not None else
            f"{state.parent} holds a finished run; pass --overwrite or --name")


def prepare_run_dir(config: TrainConfig, overwrite: bool = False) -> Path:
    """The run folder: new, resumed (said so on stdout), or a finished one cleared when
    ``overwrite``."""
    run_dir = run_dir_of(config)
    check_run_dir(config, overwrite)
    state = run_dir / "state.json"
    saved = run_dir / "config.json"
    if state.exists() and json.loads(state.read_text()).get("status") == "done":
        shutil.rmtree(run_dir)  # --overwrite (check_run_dir refused otherwise)
    elif saved.exists() and json.loads(saved.read_text()) != json.loads(config.to_json()):
        raise ValueError(f"{run_dir} holds an unfinished run with another configuration; "
                         "delete it or pass another --name")
    elif state.exists():
        history = json.loads(state.read_text()).get("history", [])
        done = history[-1]["epoch"] if history else 0
        print(f"resuming {run_dir}: {done} epoch(s) done; continuing from its last "
              "checkpoint", flush=True)
    write_atomic(saved, config.to_json())
    return run_dir


def train(config: TrainConfig, overwrite: bool = False):
    """Trains per ``config``; returns ``(model, loaded dataset, run_dir, state)``."""
    check_run_dir(config, overwrite)
    strategy = make_strategy(config.distribute)
    keras.utils.set_random_seed(config.seed)
    loaded = load_dataset(config.dataset, config.task, config.data_dir)
    # the same items (same carve, same order) with their fine labels, to learn from
    fine = load_dataset(config.dataset, finer_task(config.dataset, loaded.task),
                        config.data_dir) if config.train_on_fine_labels else None
    check_auxiliary_task(config.dataset, loaded.task, config.auxiliary_task)
    auxiliary = None if config.auxiliary_task == "none" else load_dataset(
        config.dataset, config.auxiliary_task, config.data_dir)
    extra_info = add_extra_training(loaded, config.extra_train)
    apply_tag_scheme(config, loaded)
    config, vocabulary, initial, embedding_info = prepare_words(config, loaded)
    lexicon, lexicon_info = prepare_lexicon(config, loaded, vocabulary)
    run_dir = prepare_run_dir(config, overwrite)
    labels = list(loaded.labels)
    train_items, train_labels, fine_labels = loaded.splits["train"], labels, None
    if fine is not None:
        train_items, train_labels = fine.splits["train"], list(fine.labels)
        fine_labels = {label: class_of_fine_label(label) for label in train_labels}
    train_items = repeat_sentences(loaded.name, train_items, config.sentence_repeats)
    if loaded.kind == "tagging":
        train_data = tagging_dataset(
            train_items, train_labels, config.batch_size, shuffle=True, seed=config.seed,
            auxiliary=auxiliary and (auxiliary.splits["train"], auxiliary.labels))
    else:
        train_data = classification_dataset(train_items, train_labels, config.batch_size,
                                            shuffle=True, seed=config.seed)
    steps_per_epoch = int(train_data.cardinality())
    if steps_per_epoch < 0:  # unknown after bucketing: count once, so progress bars know
        steps_per_epoch = sum(1 for _ in train_data)
        train_data = train_data.apply(tf.data.experimental.assert_cardinality(steps_per_epoch))
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)

    with strategy.scope():
        model = build_model(config, loaded, vocabulary, initial, fine_labels,
                            auxiliary and auxiliary.labels, lexicon)
        # What is fitted: the model, with its training-only outputs, or up to its
        # fine-label logits; what is scored and exported: the model alone (same weights).
        fitted = model.fine_label_model() if fine_labels else model
        label_types = parse_label_map(config.init_label_map) if config.init_label_map else None
        warm = (warm_start(model, config.init_from, loaded.labels, label_types)
                if config.init_from else None)
        if warm:
            print(describe_warm_start(warm), flush=True)
        if loaded.kind == "tagging":  # without an auxiliary task or language model
            model = model.without_auxiliary_task()
        loss = None
        if loaded.kind == "classification":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        fitted.compile(optimizer=make_optimizer(config, total_steps), loss=loss)
        fitted(tf.constant([["a"]]))  # build, so BackupAndRestore can load into it

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
    callbacks.append(Progress(steps_per_epoch, config.max_steps))
    started = time.time()
    # shuffle=False: the tf.data pipeline already shuffles with the seed.
    history = fitted.fit(train_data, epochs=config.epochs, callbacks=callbacks, verbose=0,
                         shuffle=False)
    seconds = time.time() - started
    fitted.load_weights(selection.best_path)
    state = dict(selection.state, train_seconds=round(seconds, 1),
                 epochs_run=len(history.epoch), embeddings=embedding_info)
    if lexicon_info:
        state["lexicon"] = lexicon_info
    if extra_info:
        state["extra_train"] = extra_info
    if warm:
        state["init_from"] = warm
    return model, loaded, run_dir, state, predictor, config
