"""train.py end to end on small synthetic corpora, its config, resume and distribution."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tagger.config import DATASET_PRESETS, TASK_PRESETS, TrainConfig, resolve_config
from tagger.training.cli import parse_args
from tests import synthetic
from tests.conftest import REPO_ROOT

TINY = ["--embeddings", "none", "--units", "24", "--word-dim", "24", "--char-units", "16",
        "--char-dim", "12", "--batch-size", "16", "--warmup-steps", "10", "--learning-rate", "0.01"]


def write_vectors(path: Path, dim: int = 6, gzip_it: bool = False) -> Path:
    """A small GloVe-format file: the synthetic corpora's words and some that are not in them."""
    import gzip

    words = ["madrid", "extra", "0000", "mr", "the", "in", ".", "team", "who", "where"]
    words += [w.lower() for w in (*synthetic.FIRST, *synthetic.LAST, *synthetic.PLACES,
                                  *synthetic.ORGS, *synthetic.VERBS, *synthetic.FILLER)]
    rng = np.random.default_rng(1)
    text = "".join(f"{w} {' '.join(f'{v:.4f}' for v in rng.normal(0, 0.5, dim))}\n"
                   for w in words)
    if gzip_it:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def train_command(tmp_path: Path, *extra: str) -> list[str]:
    return [sys.executable, str(REPO_ROOT / "train.py"), "--data-dir", str(tmp_path / "data"),
            "--models-dir", str(tmp_path / "models"), "--runs-dir", str(tmp_path / "runs"),
            *TINY, *extra]


TF_NOISE = ("I0000", "W0000", "E0000", "absl::InitializeLog", "WARNING:tensorflow")


def check_quiet_log(log: str) -> None:
    """A non-TTY log: no carriage returns or escape codes, nothing from TensorFlow."""
    assert "\r" not in log and "\x1b" not in log, log[-500:]
    noise = [line for line in log.splitlines() if any(n in line for n in TF_NOISE)]
    assert not noise, noise


def run_train(tmp_path: Path, *extra: str, env=None) -> dict:
    """Runs train.py in a subprocess (TensorFlow's log level untouched); checks its log is
    clean; returns its last-line JSON summary."""
    done = subprocess.run(train_command(tmp_path, *extra), capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    check_quiet_log(done.stderr + done.stdout)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    epochs = [line for line in done.stderr.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == summary["epochs_run"], done.stderr
    return summary


def run_tagger(*args: str) -> dict:
    """Runs ``python -m tagger ARGS`` from the repo; returns its last-line JSON."""
    done = subprocess.run([sys.executable, "-m", "tagger", *args], capture_output=True,
                          text=True, cwd=REPO_ROOT,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_isolated(script: str, cwd: Path) -> dict:
    """Runs ``script`` in a Python that cannot import tagger; returns its last-line JSON."""
    guard = ("import sys\ntry:\n    import tagger\n    sys.exit('tagger importable')\n"
             "except ImportError:\n    pass\n")
    done = subprocess.run([sys.executable, "-I", "-c", guard + script], cwd=cwd, text=True,
                          capture_output=True, env={"TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------- config
def test_every_config_field_is_a_flag():
    args = parse_args(["--cell", "gru", "--units", "8", "--lowercase", "false",
                       "--head", "softmax", "--data-dir", "/x"])
    config = resolve_config(args)
    assert (config.cell, config.units, config.lowercase, config.head) == ("gru", 8, False,
                                                                         "softmax")
    assert config.data_dir == "/x"
    assert resolve_config(parse_args([])) == TrainConfig(**DATASET_PRESETS["conll2003"],
                                                         **DATASET_PRESETS["conll2003/ner"])
    help_text = subprocess.run([sys.executable, str(REPO_ROOT / "train.py"), "--help"],
                               capture_output=True, text=True, check=True).stdout
    for field in TrainConfig.__dataclass_fields__:
        assert "--" + field.replace("_", "-") in help_text


def test_task_presets_sit_between_defaults_and_file_and_flags(tmp_path):
    preset = TASK_PRESETS["pos"]
    config = resolve_config(parse_args(["--task", "pos"]))
    assert {k: getattr(config, k) for k in preset} == preset
    assert config.head == TrainConfig.head  # fields outside the presets keep the defaults
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"task": "pos", "layers": 3, "dropout": 0.2}))
    config = resolve_config(parse_args(["--config", str(path), "--dropout", "0.4"]))
    assert (config.layers, config.dropout, config.epochs) == (3, 0.4, preset["epochs"])
    assert resolve_config(parse_args(["--task", "ner"])) == TrainConfig(
        **DATASET_PRESETS["conll2003"], **DATASET_PRESETS["conll2003/ner"])
    assert resolve_config(parse_args(["--task", "pos"])).tag_scheme == "IOB2"
    upos = resolve_config(parse_args(["--dataset", "ud_english", "--task", "pos"]))
    assert {k: getattr(upos, k) for k in DATASET_PRESETS["ud_english/pos"]} == {
        "lexicon": "conll2000:pos,conll2003:pos", "language_model": 0.1}
    assert upos.layers == preset["layers"]  # the task's preset, then the dataset's
    assert resolve_config(parse_args(["--task", "pos"])).lexicon == "none"  # conll2003 pos
    # a dataset's preset applies after its task's
    assert resolve_config(parse_args(["--dataset", "conll2003", "--units", "7"])).units == 7
    assert resolve_config(parse_args(["--dataset", "trec"])).units == TrainConfig.units
    # a task's other name gets the same preset (trec: classify is coarse)
    trec = resolve_config(parse_args(["--dataset", "trec", "--task", "classify"]))
    assert trec.train_on_fine_labels and trec.pooling == DATASET_PRESETS["trec/coarse"]["pooling"]
    assert trec.task == "classify"


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_config_file_then_flags(tmp_path, suffix):
    path = tmp_path / f"run{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps({"cell": "cfn", "units": 64, "epochs": 3}))
    else:
        path.write_text("cell: cfn\nunits: 64\nepochs: 3\n")
    config = resolve_config(parse_args(["--config", str(path), "--units", "32"]))
    assert (config.cell, config.units, config.epochs) == ("cfn", 32, 3)


def test_bad_config_says_what_is_wrong(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"cel": "lstm"}))
    with pytest.raises(ValueError, match="unknown config fields \\['cel'\\]"):
        resolve_config(parse_args(["--config", str(bad)]))
    with pytest.raises(ValueError, match="dropout must be in \\[0, 1\\). Received: 1.5"):
        resolve_config(parse_args(["--dropout", "1.5"]))
    with pytest.raises(ValueError, match="--beta-2 must be in \\[0, 1\\). Received: 1.0"):
        resolve_config(parse_args(["--beta-2", "1"]))
    with pytest.raises(ValueError, match="--char-width must be >= 1. Received: 0"):
        resolve_config(parse_args(["--char-width", "0"]))
    done = subprocess.run([sys.executable, str(REPO_ROOT / "train.py"), "--head", "mlp"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "invalid choice: 'mlp'" in done.stderr


# --------------------------------------------------------------- end to end
def test_tagger_trains_reports_and_exports(tmp_path):
    synthetic.write_conll2003(tmp_path / "data")
    vectors = write_vectors(tmp_path / "vectors.txt")
    summary = run_train(tmp_path, "--epochs", "4", "--name", "tiny", "--embeddings", str(vectors),
                        "--word-dim", "6", "--embeddings-vocab", "3", "--tag-scheme", "BIOES",
                        "--adversarial", "0.2")
    assert summary["dev"]["f1"] > 0.8, summary
    export_dir = Path(summary["export_dir"])
    assert export_dir == tmp_path / "models" / "tiny" / "1"
    assets = export_dir / "assets"
    for name in ("labels.txt", "config.json", "metrics.json", "MODEL_CARD.md"):
        assert (assets / name).is_file(), name
    metrics = json.loads((assets / "metrics.json").read_text())
    assert metrics["dev"]["f1"] == pytest.approx(summary["dev"]["f1"])
    # trained in BIOES, output and scored in IOB2
    assert (assets / "labels.txt").read_text().split() == [
        "B-LOC", "B-ORG", "B-PER", "I-PER", "O"]
    config = json.loads((assets / "config.json").read_text())
    assert config["model_scheme"] == "BIOES" and config["scheme"] == "IOB2"
    assert (config["embeddings"], config["word_dim"]) == (str(vectors), 6)
    assert config["adversarial"] == 0.2  # trained adversarially; served as the plain network
    # vocabulary: the training words, then the 3 most frequent words of the vectors
    embeddings = metrics["embeddings"]
    assert embeddings["vocabulary"] == embeddings["training_words"] + 3
    assert embeddings["coverage"]["train"]["token_coverage"] == 1.0
    assert "Coverage: train 100.0% of tokens" in (assets / "MODEL_CARD.md").read_text()
    report = Path(summary["run_dir"]) / "report"
    for name in ("report.txt", "metrics.json", "learning_curves.png", "confusion_dev.png",
                 "calibration_dev.png"):
        assert (report / name).stat().st_size > 0, name
    assert "PER" in (report / "report.txt").read_text()
    # entity-confidence calibration on dev: in the report, the metrics and the card
    calibration = metrics["calibration"]
    assert calibration["entities"] > 0 and 0 <= calibration["ece"] <= 1
    assert sum(b["entities"] for b in calibration["bins"]) == calibration["entities"]
    assert calibration["ece"] <= calibration["ece_uncalibrated"]
    assert "expected calibration error" in (assets / "MODEL_CARD.md").read_text()
    assert (assets / "calibration_dev.png").is_file()
    assert list((Path(summary["run_dir"]) / "tensorboard").rglob("events.out.tfevents*"))

    # The SavedModel reloads in a process that cannot import tagger and tags like Keras.
    exported = run_isolated(f"""
import json, tensorflow as tf
m = tf.saved_model.load({str(export_dir)!r})
out = m.signatures["serving_default"](sentences=tf.constant(
    ["Mr Anna Novak visited Lisbon today .", "", "Mr Ivo met the Acme team in Oslo ."]))
print(json.dumps({{k: v.numpy().tolist() for k, v in out.items()
                  if k in ("tags", "lengths", "scores", "entity_scores")}},
                 default=lambda b: b.decode()))
""", tmp_path)
    assert exported["lengths"] == [7, 0, 9]
    assert exported["tags"][0][:4] == ["O", "B-PER", "I-PER", "O"]
    # entity confidences at the first token of each entity, 0 elsewhere, all in [0, 1]
    confidences = np.array(exported["entity_scores"])
    starts = np.array([[tag.startswith("B-") for tag in row] for row in exported["tags"]])
    assert np.all((confidences >= 0) & (confidences <= 1))
    assert np.all(confidences[~starts] == 0) and np.all(confidences[starts] > 0)
    # an entity is never more likely than its first tag
    assert np.all(confidences[starts] <= np.array(exported["scores"])[starts] + 1e-6)

    import keras

    import tagger.models  # noqa: F401
    from tagger.data.tokenizer import tokenize_text

    model = keras.saving.load_model(Path(summary["run_dir"]) / "model.keras")
    assert model.get_layer("adversarial_perturbation").epsilon == 0.2
    from tagger.data.schemes import as_iob2

    labels = [as_iob2(tag) for tag in config["model_tags"]]  # the model's own (BIOES) tags
    sentences = ["Mr Anna Novak visited Lisbon today .", "Mr Ivo met the Acme team in Oslo ."]
    width = max(len(tokenize_text(s)) for s in sentences)
    tokens = np.array([tokenize_text(s) + [""] * (width - len(tokenize_text(s)))
                       for s in sentences])
    ids, _ = model.decode(tokens)
    keras_tags = [[labels[i] for i in row[: len(tokenize_text(s))]]
                  for row, s in zip(np.asarray(ids), sentences, strict=True)]
    assert keras_tags[0] == exported["tags"][0][:7]
    assert keras_tags[1] == exported["tags"][2][:9]

    # saved_model_cli shows the string input of the serving signature.
    cli = Path(sys.executable).parent / "saved_model_cli"
    if cli.exists():
        shown = subprocess.run([str(cli), "show", "--dir", str(export_dir), "--all"],
                               capture_output=True, text=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}).stdout
        assert "signature_def['serving_default']" in shown
        assert "inputs['sentences'] tensor_info:\n        dtype: DT_STRING" in shown

    # `python -m tagger evaluate` on the dev file agrees with the training report.
    scored = run_tagger("evaluate", str(export_dir.parent), "--dataset", "conll2003",
                        "--file", str(tmp_path / "data" / "conll2003" / "eng.testa"))
    assert scored["f1"] == pytest.approx(metrics["dev"]["f1"], abs=1e-12)
    assert scored["tokens"] == metrics["dev"]["tokens"]

    # `python -m tagger export` re-exports the run as the next version.
    again = run_tagger("export", summary["run_dir"])
    assert Path(again["export_dir"]) == tmp_path / "models" / "tiny" / "2"
    rebuilt = run_tagger("export", summary["run_dir"], "--rebuild")
    assert Path(rebuilt["export_dir"]) == tmp_path / "models" / "tiny" / "3"
    rescored = run_tagger("evaluate", rebuilt["export_dir"], "--dataset", "conll2003",
                          "--file", str(tmp_path / "data" / "conll2003" / "eng.testa"))
    assert rescored["f1"] == pytest.approx(scored["f1"], abs=1e-12)
    # --calibrate measures calibration again on the dev split (runs from before it existed)
    # --card-note adds a paragraph to the card (where extra training data came from)
    calibrated = run_tagger("export", summary["run_dir"], "--calibrate", str(tmp_path / "data"),
                            "--card-note", "The extra sentences are WSJ text. ")
    again_metrics = json.loads((Path(calibrated["export_dir"]) / "assets" /
                                "metrics.json").read_text())
    assert again_metrics["calibration"]["ece"] == pytest.approx(calibration["ece"], abs=1e-6)
    card = (Path(calibrated["export_dir"]) / "assets" / "MODEL_CARD.md").read_text()
    assert "\n\nThe extra sentences are WSJ text.\n\nTraining data terms:" in card
    assert "WSJ" not in (Path(rebuilt["export_dir"]) / "assets" / "MODEL_CARD.md").read_text()


# attention: the pooling with weights of its own; last: the TREC preset's, where the
# final RNN returns states instead of sequences; fine: the coarse classes learned from
# the fine labels (the TREC preset's too), summed in the graph; static: a frozen copy
# of the vectors beside the fine-tuned ones, both inside the SavedModel.
@pytest.mark.parametrize("pooling, fine, static", [("attention", False, True),
                                                   ("last", False, False),
                                                   ("last", True, False)])
def test_classifier_trains_and_exports(pooling, fine, static, tmp_path):
    synthetic.write_trec(tmp_path / "data")
    vectors = write_vectors(tmp_path / "vectors.txt.gz", dim=5, gzip_it=True)
    summary = run_train(tmp_path, "--task", "coarse", "--dataset", "trec", "--epochs", "3",
                        "--pooling", pooling, "--name", "q", "--embeddings", str(vectors),
                        "--word-dim", "5", "--seed", "3", "--train-on-fine-labels", str(fine),
                        "--static-embeddings", str(static))
    assert summary["dev"]["accuracy"] > 0.9, summary
    assert "macro_f1" in summary["dev"]
    # --seed 3 changes weights and shuffling, not the dev carve: every run of
    # trec is scored on the same questions, so means over seeds compare alike.
    from tagger.data.registry import DEV_CARVE_SEED, load_dataset

    metrics = json.loads((Path(summary["run_dir"]) / "report" / "metrics.json").read_text())
    carve = load_dataset("trec", "coarse", tmp_path / "data").carve
    assert metrics["dev_carve"] == carve and carve["seed"] == DEV_CARVE_SEED
    export_dir = Path(summary["export_dir"])
    labels = (export_dir / "assets" / "labels.txt").read_text().split()
    assert labels == ["HUM", "LOC", "NUM"]
    card = (export_dir / "assets" / "MODEL_CARD.md").read_text()
    assert ("with a frozen copy beside them" in card) == static

    # Reloaded without tagger, the SavedModel gives the Keras model's probabilities.
    questions = ["Where is Oslo located ?", "How many Acme are in Lima ?", "Who is the x ?"]
    exported = run_isolated(f"""
import json, tensorflow as tf
m = tf.saved_model.load({str(export_dir)!r})
out = m.signatures["serving_default"](sentences=tf.constant({questions!r}))
print(json.dumps({{"label": [b.decode() for b in out["label"].numpy()],
                  "probabilities": out["probabilities"].numpy().tolist()}}))
""", tmp_path)
    assert exported["label"][:2] == ["LOC", "NUM"]

    import keras

    import tagger.models  # noqa: F401

    model = keras.saving.load_model(Path(summary["run_dir"]) / "model.keras")
    tokens = [q.split() for q in questions]
    width = max(map(len, tokens))
    logits = model(np.array([t + [""] * (width - len(t)) for t in tokens]))
    np.testing.assert_allclose(exported["probabilities"], keras.ops.softmax(logits), atol=1e-5)

    # `python -m tagger evaluate` scores classifiers too, in their dataset's release format.
    scored = run_tagger("evaluate", str(export_dir), "--dataset", "trec",
                        "--file", str(tmp_path / "data" / "trec" / "train_5500.label"))
    assert scored["examples"] == 300 and scored["accuracy"] > 0.9
    assert set(scored) == {"accuracy", "macro_f1", "examples"}
    if fine:  # learned from fine labels, a coarse classifier all the same, exported again
        assert model.get_layer("fine_logits").units == 4
        assert json.loads((Path(summary["run_dir"]) / "config.json").read_text())[
            "train_on_fine_labels"] is True
        again = run_tagger("export", summary["run_dir"])
        rescored = run_tagger("evaluate", again["export_dir"], "--dataset", "trec",
                              "--file", str(tmp_path / "data" / "trec" / "train_5500.label"))
        assert rescored == scored


def test_bad_arguments_fail_before_anything_is_created(tmp_path):
    synthetic.write_conll2003(tmp_path / "data", train=40, dev=10)
    bad = tmp_path / "bad.txt"
    bad.write_text("the 0.1 0.2 0.3\nmr 0.1 oops 0.3\n")
    bad_lexicon = tmp_path / "bad.tsv"
    bad_lexicon.write_text("the\tDT\nmr NNP\n")
    odd_tag = tmp_path / "odd_tag.txt"
    odd_tag.write_text("Rex NNP I-NP I-PER\n\nRex NNP I-NP I-ANIMAL\nbarks VBZ I-VP O\n")
    short_row = tmp_path / "short_row.txt"
    short_row.write_text("Rex NNP I-NP I-PER\nbarks VBZ O\n")
    for extra, where in ((["--embeddings", str(bad), "--word-dim", "3"], f"{bad}:2: value 'oops'"),
                         (["--embeddings", str(write_vectors(tmp_path / "v.txt", dim=4))],
                          "the vectors have 4 dimensions but --word-dim is 24"),
                         (["--embeddings", str(tmp_path / "missing.txt")],
                          "missing.txt: not found"),
                         (["--cell", "lstmm"], "--cell must be one of"),
                         (["--task", "pos", "--dataset", "wnut17"], "has no task 'pos'"),
                         (["--train-on-fine-labels", "true"],
                          "conll2003 ner has no finer labels (only trec coarse)"),
                         (["--auxiliary-task", "ner"], "--auxiliary-task must be another "
                          "tagging task of conll2003 (pos, chunk) or none. Received: 'ner'"),
                         (["--sentence-repeats", "2"], "conll2003 has no phrase rows"),
                         (["--language-model", "-0.1"], "--language-model must be >= 0"),
                         (["--dataset", "trec", "--task", "coarse", "--language-model", "0.1"],
                          "--language-model is an objective for taggers; trec is a "
                          "classification dataset"),
                         (["--init-from", str(tmp_path / "nowhere")],
                          "nowhere: no model.keras there"),
                         (["--lexicon", str(tmp_path / "nowhere.tsv")],
                          "nowhere.tsv: no such file, and not DATASET:TASK"),
                         (["--lexicon", "conll2003:upos"],
                          "--lexicon conll2003:upos: conll2003 has no tagging task 'upos'"),
                         (["--lexicon", str(bad_lexicon)],
                          f"{bad_lexicon}:2: expected word<TAB>tag or"),
                         (["--lexicon", "conll2000:pos"],  # the data folder lacks it
                          "the conll2000 training file; conll2000 has no TFDS release to "
                          "fall back on; read for --lexicon conll2000:pos"),
                         (["--init-label-map", "person=PER"],
                          "--init-label-map needs --init-from"),
                         (["--extra-train", str(tmp_path / "nowhere.txt")],
                          "--extra-train " + str(tmp_path / "nowhere.txt") + ": no such file"),
                         (["--extra-train", str(odd_tag)],
                          f"{odd_tag}: sentence 2 (Rex barks ...) has tag(s) B-ANIMAL that "
                          "conll2003 ner does not have"),
                         (["--extra-train", str(short_row)], f"{short_row}:2: expected 4"),
                         (["--extra-train", str(odd_tag), "--auxiliary-task", "pos"],
                          "--extra-train cannot be combined with --auxiliary-task"),
                         (["--dataset", "trec", "--task", "coarse", "--extra-train", str(odd_tag)],
                          "--extra-train adds tagged sentences; the dataset is a classification")):
        done = subprocess.run(train_command(tmp_path, *extra), capture_output=True, text=True,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=300)
        assert done.returncode == 2, done.stderr[-2000:]
        assert where in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "models").exists()


def test_a_run_starts_from_another_runs_weights(tmp_path):
    synthetic.write_conll2003(tmp_path / "data")
    vectors = write_vectors(tmp_path / "vectors.txt")
    common = ("--embeddings", str(vectors), "--word-dim", "6")
    source = run_train(tmp_path, "--epochs", "2", "--name", "entities", *common)
    # another task (chunks: other tags), started from the entity tagger's encoder
    summary = run_train(tmp_path, "--task", "chunk", "--epochs", "1", "--name", "chunks",
                        "--init-from", source["run_dir"], *common)
    metrics = json.loads((Path(summary["run_dir"]) / "report" / "metrics.json").read_text())
    warm = metrics["init_from"]
    assert warm["from"] == source["run_dir"]
    assert {"birnn_0", "char_encoder", "casing_embedding"} <= set(warm["copied"])
    assert {"emissions", "crf"} <= set(warm["fresh"])
    assert warm["mapped"]["word_embedding/embeddings"] > 0
    config = json.loads((Path(summary["run_dir"]) / "config.json").read_text())
    assert config["init_from"] == source["run_dir"]
    # the chunk tagger's noun phrases start from the entity tagger's people
    mapped = run_train(tmp_path, "--task", "chunk", "--epochs", "1", "--name", "mapped",
                       "--init-from", source["run_dir"], "--init-label-map", "NP=PER", *common)
    warm = json.loads((Path(mapped["run_dir"]) / "report" / "metrics.json").read_text())[
        "init_from"]
    learned, labels = (json.loads((Path(run["run_dir"]) / "dataset.json").read_text())["labels"]
                       for run in (source, mapped))
    starts = [label.replace("NP", "PER") for label in labels]  # B-NP from B-PER, O from O
    found = sum(start in learned for start in starts)
    assert "O" in labels and "B-NP" in labels and "B-PER" in learned
    assert warm["labels"] == {"emissions": found, "crf": found}
    done = subprocess.run(train_command(tmp_path, "--task", "chunk", "--name", "unmapped",
                                        "--init-from", source["run_dir"],
                                        "--init-label-map", "NP=PERSON", *common),
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the source run has no label type ['PERSON']" in done.stderr
    assert not (tmp_path / "runs" / "unmapped").exists()


def test_training_only_objectives_train_with_the_tagger_and_stay_out_of_the_export(tmp_path):
    """An auxiliary task and the language-model objective, both at once."""
    synthetic.write_conll2003(tmp_path / "data")
    vectors = write_vectors(tmp_path / "vectors.txt")
    summary = run_train(tmp_path, "--epochs", "4", "--name", "aux", "--embeddings", str(vectors),
                        "--word-dim", "6", "--auxiliary-task", "chunk",
                        "--language-model", "0.1")
    assert summary["dev"]["f1"] > 0.8, summary
    config = json.loads((Path(summary["run_dir"]) / "config.json").read_text())
    assert config["language_model"] == 0.1 and config["auxiliary_task"] == "chunk"
    export_dir = Path(summary["export_dir"])
    variables = run_isolated(f"""
import json, tensorflow as tf
m = tf.saved_model.load({str(export_dir)!r})
print(json.dumps([v.name for v in m.variables]))
""", tmp_path)
    assert variables and not [name for name in variables
                              if "auxiliary" in name or "language_model" in name]
    scored = run_tagger("evaluate", str(export_dir), "--dataset", "conll2003",
                        "--file", str(tmp_path / "data" / "conll2003" / "eng.testa"))
    assert scored["f1"] == pytest.approx(summary["dev"]["f1"], abs=1e-12)


def test_extra_training_sentences_join_the_training_split(tmp_path):
    """--extra-train: the file's sentences are trained on (their words join the vocabulary),
    counted in the report, and the dev split is the release's alone."""
    import keras

    import tagger.models  # noqa: F401
    from tagger.data.registry import load_dataset

    synthetic.write_conll2003(tmp_path / "data")
    extra = tmp_path / "more.txt"
    extra.write_text("-DOCSTART- -X- -X- O\n\nNgorongoro NNP I-NP I-LOC\nis VBZ I-VP O\n"
                     "vast JJ I-ADJP O\n\nKilimanjaro NNP I-NP I-LOC\n. . O O\n",
                     encoding="utf-8")
    summary = run_train(tmp_path, "--epochs", "1", "--name", "extra", "--extra-train",
                        str(extra))
    run_dir = Path(summary["run_dir"])
    metrics = json.loads((run_dir / "report" / "metrics.json").read_text())
    digest = hashlib.sha256(extra.read_bytes()).hexdigest()
    assert metrics["extra_train"] == {str(extra): {"sentences": 2, "tokens": 5,
                                                   "sha256": digest}}
    assert json.loads((run_dir / "config.json").read_text())["extra_train"] == str(extra)
    card = (Path(summary["export_dir"]) / "assets" / "MODEL_CARD.md").read_text()
    assert "Extra training data beside the release's training split: `more.txt` " \
           f"(2 sentences, 5 tokens, SHA-256 {digest})" in card
    model = keras.saving.load_model(run_dir / "model.keras")
    vocabulary = model.get_layer("token_features").get_config()["vocabulary"]
    assert {"ngorongoro", "kilimanjaro"} <= set(vocabulary)
    assert (metrics["dev"]["sentences"], metrics["dev"]["tokens"]) == (60, sum(
        len(s.tokens) for s in load_dataset("conll2003", "ner", tmp_path / "data").splits["dev"]))


def test_a_lexicon_is_a_frozen_table_that_travels_in_the_export(tmp_path):
    """--lexicon from a dataset's POS column and a file: fed, kept fixed, exported, rebuilt."""
    import keras

    import tagger.models  # noqa: F401
    from tagger.data.features import normalize_token
    from tagger.data.lexicon import load_lexicon

    synthetic.write_conll2003(tmp_path / "data")
    extra = tmp_path / "lexicon.tsv"
    extra.write_text("# word, tag, count\nLisbon\tNNP\t5\nvisited\tVBN\n", encoding="utf-8")
    spec = f"conll2003:pos,{extra}"
    summary = run_train(tmp_path, "--epochs", "2", "--name", "lex", "--lexicon", spec)
    assert summary["dev"]["f1"] > 0.5, summary
    run_dir, export_dir = Path(summary["run_dir"]), Path(summary["export_dir"])
    metrics = json.loads((export_dir / "assets" / "metrics.json").read_text())
    info = metrics["lexicon"]
    assert list(info["sources"]) == ["conll2003:pos", str(extra)]
    assert info["sources"][str(extra)] == {"tokens": 6}
    assert info["token_coverage"]["train"] == 1.0  # every training word is in its POS column
    assert "Tag lexicon: each word's share of" in (export_dir / "assets" /
                                                   "MODEL_CARD.md").read_text()
    # the table: the lexicon's tag shares by word id, unchanged by training
    model = keras.saving.load_model(run_dir / "model.keras")
    table = model.get_layer("lexicon_embedding")
    assert not table.trainable
    vocabulary = model.get_layer("token_features").get_config()["vocabulary"]
    lexicon = load_lexicon(spec, lambda w: normalize_token(w, lowercase=True,
                                                           normalize_digits=True),
                           tmp_path / "data")
    np.testing.assert_array_equal(table.get_weights()[0], lexicon.matrix(vocabulary))
    # ... inside the SavedModel, which tags as the run scored it, also when rebuilt
    variables = run_isolated(f"""
import json, tensorflow as tf
m = tf.saved_model.load({str(export_dir)!r})
print(json.dumps({{v.name: v.numpy().sum().item() for v in m.variables}}))
""", tmp_path)
    sums = [value for name, value in variables.items() if "lexicon" in name]
    assert sums == [pytest.approx(float(table.get_weights()[0].sum()), rel=1e-6)]
    dev_file = str(tmp_path / "data" / "conll2003" / "eng.testa")
    rebuilt = run_tagger("export", str(run_dir), "--rebuild")
    for version in (export_dir, rebuilt["export_dir"]):
        scored = run_tagger("evaluate", str(version), "--dataset", "conll2003",
                            "--file", dev_file)
        assert scored["f1"] == pytest.approx(summary["dev"]["f1"], abs=1e-12)


@pytest.mark.slow
def test_softmax_head_and_rnn_char_encoder(tmp_path):
    synthetic.write_conll2003(tmp_path / "data", train=200)
    summary = run_train(tmp_path, "--epochs", "3", "--head", "softmax", "--char-encoder",
                        "rnn", "--cell", "minimal_rnn", "--layers", "2")
    assert summary["dev"]["f1"] > 0.6, summary


# ------------------------------------------------------------------- resume
@pytest.mark.slow
@pytest.mark.ci
def test_killed_run_resumes_and_ends_as_well(tmp_path):
    synthetic.write_conll2003(tmp_path / "data", train=1200, dev=100)
    command = train_command(tmp_path, "--epochs", "3", "--checkpoint-steps", "20",
                            "--name", "resume")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    backup = tmp_path / "runs" / "resume" / "backup"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=env)
    deadline = time.time() + 300
    # Kill mid-epoch, once a checkpoint from the second epoch exists.
    while time.time() < deadline and process.poll() is None:
        state = tmp_path / "runs" / "resume" / "state.json"
        if state.exists() and list(backup.glob("*")):
            time.sleep(1.0)
            break
        time.sleep(0.2)
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "models" / "resume").exists() or not list(
        (tmp_path / "models" / "resume").glob("[0-9]*"))
    history_before = json.loads((tmp_path / "runs" / "resume" / "state.json").read_text())
    assert history_before["status"] == "running"

    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"resuming {tmp_path / 'runs' / 'resume'}:" in done.stdout
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    state = json.loads((tmp_path / "runs" / "resume" / "state.json").read_text())
    assert state["status"] == "done"
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3]  # resumed, not restarted
    assert summary["dev"]["f1"] > 0.9
    exported = sorted(p.name for p in (tmp_path / "models" / "resume").iterdir())
    assert exported == ["1"]  # no temporary or half-written export left behind
    # the same command never interrupted ends at the same score, within seed noise
    whole = subprocess.run([*command[:-1], "uninterrupted"], capture_output=True, text=True,
                           env=env, timeout=600)
    assert whole.returncode == 0, whole.stderr[-3000:]
    uninterrupted = json.loads(whole.stdout.strip().splitlines()[-1])
    assert abs(summary["dev"]["f1"] - uninterrupted["dev"]["f1"]) < 0.03


def test_a_finished_run_is_kept_unless_overwrite(tmp_path):
    synthetic.write_conll2003(tmp_path / "data", train=60, dev=20)
    first = run_train(tmp_path, "--epochs", "1", "--name", "again")
    run_dir = Path(first["run_dir"])
    before = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()}
    done = subprocess.run(train_command(tmp_path, "--epochs", "1", "--name", "again"),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "holds a finished run" in done.stderr
    assert "--overwrite" in done.stderr and "Traceback" not in done.stderr
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()} == before
    again = run_train(tmp_path, "--epochs", "1", "--name", "again", "--overwrite")
    assert Path(again["export_dir"]).name == "2"


# ------------------------------------------------------------- distribution
@pytest.mark.slow
@pytest.mark.ci
def test_mirrored_on_two_logical_cpus(tmp_path):
    synthetic.write_conll2003(tmp_path / "data")
    summary = run_train(tmp_path, "--epochs", "4", "--distribute", "mirrored",
                        env={"TAGGER_LOGICAL_CPUS": "2"})
    assert summary["dev"]["f1"] > 0.8, summary


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
@pytest.mark.ci
def test_multi_worker_two_processes(tmp_path):
    synthetic.write_conll2003(tmp_path / "data")
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    processes = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
               "TF_CONFIG": json.dumps({"cluster": cluster,
                                        "task": {"type": "worker", "index": index}})}
        processes.append(subprocess.Popen(
            train_command(tmp_path, "--epochs", "4", "--distribute", "multi-worker"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    outputs = [p.communicate(timeout=600) for p in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err[-3000:]
    chief = json.loads(outputs[0][0].strip().splitlines()[-1])
    assert chief["dev"]["f1"] > 0.8, chief
    assert json.loads(outputs[1][0].strip().splitlines()[-1])["worker"] == "non-chief"


# ------------------------------------------------------------ real data
@pytest.mark.slow
@pytest.mark.ci
def test_conll2003_short_training_learns(tmp_path, data_dir):
    """A few hundred steps on the real CoNLL-2003 data give a dev F1 far above chance."""
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "train.py"), "--data-dir", str(data_dir),
         "--models-dir", str(tmp_path / "models"), "--runs-dir", str(tmp_path / "runs"),
         "--max-steps", "300", "--epochs", "1", "--units", "64", "--name", "smoke"],
        capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["dev"]["f1"] > 0.5, summary


@pytest.mark.slow
def test_kill_during_export_leaves_earlier_versions_whole(tmp_path):
    """kill -9 at several moments of `python -m tagger export`: every version folder that
    serve.py can see is complete and loads; no half version is visible."""
    import random

    synthetic.write_conll2003(tmp_path / "data", train=60, dev=20)
    summary = run_train(tmp_path, "--epochs", "1", "--name", "killed")
    root = tmp_path / "models" / "killed"
    rng = random.Random(0)
    for _ in range(3):
        process = subprocess.Popen([sys.executable, "-m", "tagger", "export",
                                    summary["run_dir"]], cwd=REPO_ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(2.0, 12.0))
        process.kill()
        process.wait()
        versions = [p for p in root.iterdir() if p.name.isdigit()]
        assert versions and all((p / "saved_model.pb").is_file() and
                                (p / "assets" / "MODEL_CARD.md").is_file() for p in versions)
    latest = max((p for p in root.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    done = subprocess.run([sys.executable, str(REPO_ROOT / "serve.py"), str(root), "--text",
                           "Mr Anna Novak visited Lisbon .", "-q"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and "Anna" in done.stdout, done.stderr
    assert f'"version": {latest.name}' in done.stderr
