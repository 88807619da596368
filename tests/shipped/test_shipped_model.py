"""The NER model that ships in models/: present, small, usable on a fresh clone, honest."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

MODEL = REPO_ROOT / "models" / "ner-conll2003"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def latest_version():
    versions = sorted((p for p in MODEL.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    assert versions, f"no version folder in {MODEL}"
    return versions[-1]


def test_shipped_model_is_complete_and_small():
    version = latest_version()
    size = sum(p.stat().st_size for p in version.rglob("*") if p.is_file())
    assert size < 25_000_000, f"{version} is {size / 1e6:.1f} MB"
    for name in ("saved_model.pb", "assets/labels.txt", "assets/config.json",
                 "assets/metrics.json", "assets/MODEL_CARD.md"):
        assert (version / name).is_file(), name


def test_serve_tags_the_example_text(tmp_path):
    out = tmp_path / "news.jsonl"
    done = subprocess.run([sys.executable, str(REPO_ROOT / "serve.py"), str(MODEL),
                           str(REPO_ROOT / "examples" / "news.txt"), "--output-format", "jsonl",
                           "-o", str(out), "-q"], capture_output=True, text=True, env=ENV,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 4  # one per sentence of the example
    entities = {(e["text"], e["type"]) for r in records for e in r["entities"]}
    assert ("Stockholm", "LOC") in entities and ("Nairobi", "LOC") in entities
    assert any(kind == "PER" and "Lindqvist" in text for text, kind in entities)


@pytest.mark.slow
@pytest.mark.ci
def test_evaluate_reproduces_the_reported_dev_f1(data_dir):
    version = latest_version()
    reported = json.loads((version / "assets" / "metrics.json").read_text())["dev"]
    done = subprocess.run([sys.executable, "-m", "tagger", "evaluate", str(MODEL), "--dataset",
                           "conll2003", "--file", str(data_dir / "conll2003" / "eng.testa")],
                          capture_output=True, text=True, env=ENV, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    scored = json.loads(done.stdout.strip().splitlines()[-1])
    assert scored["f1"] == pytest.approx(reported["f1"], abs=1e-12)
    assert scored["tokens"] == reported["tokens"] == 51362


# ------------------------------------------------ probabilities of the shipped model
@pytest.fixture(scope="module")
def shipped():
    import tensorflow as tf

    return tf.saved_model.load(str(latest_version()))


def _words(count: int, seed: int = 0) -> list[str]:
    import numpy as np

    pool = (REPO_ROOT / "examples" / "news.txt").read_text(encoding="utf-8").split()
    return [str(w) for w in np.random.default_rng(seed).choice(pool, count)]


def _marginals(model, rows: list[list[str]]):
    import numpy as np
    import tensorflow as tf

    width = max(len(r) for r in rows)
    tokens = tf.constant([r + [""] * (width - len(r)) for r in rows])
    out = model.signatures["tag_marginals"](tokens=tokens)
    tagged = model.signatures["tag_tokens"](tokens=tokens)
    return ({k: v.numpy() for k, v in out.items()},
            {k: np.asarray(v.numpy()) for k, v in tagged.items()})


def check_probabilities(marginals, tagged, lengths) -> None:
    import numpy as np

    for row, n in enumerate(lengths):
        m = marginals["marginals"][row, :n]
        assert np.all((m >= 0) & (m <= 1))
        np.testing.assert_allclose(m.sum(axis=-1), 1.0, atol=1e-4)
        for key in ("scores", "entity_scores"):
            values = tagged[key][row, :n]
            assert np.all((values >= 0) & (values <= 1)), key


def test_a_20000_token_sentence_has_valid_probabilities(shipped):
    marginals, tagged = _marginals(shipped, [_words(20_000)])
    check_probabilities(marginals, tagged, [20_000])


def test_a_sentence_scores_the_same_alone_and_in_a_batch_of_long_ones(shipped):
    import numpy as np

    sentence = ["Angela", "Merkel", "met", "Emmanuel", "Macron", "in", "Paris", "."]
    alone_m, alone_t = _marginals(shipped, [sentence])
    crowd = [_words(400, seed) for seed in range(128)]
    crowd[57] = sentence
    batch_m, batch_t = _marginals(shipped, crowd)
    n = len(sentence)
    np.testing.assert_allclose(batch_m["marginals"][57, :n], alone_m["marginals"][0, :n],
                               atol=1e-5)
    for key in ("scores", "entity_scores"):
        np.testing.assert_allclose(batch_t[key][57, :n], alone_t[key][0, :n], atol=1e-5)
    assert [t.decode() for t in alone_t["tags"][0]] == [
        "B-PER", "I-PER", "O", "B-PER", "I-PER", "O", "B-LOC", "O"]


def test_model_card_states_entity_calibration():
    assets = latest_version() / "assets"
    calibration = json.loads((assets / "metrics.json").read_text())["calibration"]
    assert calibration["ece"] <= 0.05
    card = (assets / "MODEL_CARD.md").read_text()
    assert f"{calibration['ece']:.4f}" in card and (assets / "calibration_dev.png").is_file()


@pytest.mark.slow
@pytest.mark.ci
def test_dev_probabilities_and_entity_calibration(shipped, data_dir):
    """Over all of CoNLL-2003 dev: valid marginals, and the ECE the card states, recomputed
    from the SavedModel's own entity confidences against the gold entities."""
    from tagger.data.release import read_file
    from tagger.data.schemes import entity_spans
    from tagger.evaluation.calibration import expected_calibration_error

    sentences = read_file("conll2003", data_dir / "conll2003" / "eng.testa", "ner")
    confidence, correct = [], []
    for start in range(0, len(sentences), 256):
        batch = sentences[start:start + 256]
        marginals, tagged = _marginals(shipped, [list(s.tokens) for s in batch])
        check_probabilities(marginals, tagged, [len(s.tokens) for s in batch])
        for row, sentence in enumerate(batch):
            n = len(sentence.tokens)
            gold = set(entity_spans(list(sentence.tags)))
            predicted = [t.decode() for t in tagged["tags"][row, :n]]
            for span in entity_spans(predicted):
                confidence.append(float(tagged["entity_scores"][row, span[1]]))
                correct.append(span in gold)
    stated = json.loads((latest_version() / "assets" / "metrics.json").read_text())
    assert expected_calibration_error(confidence, correct) == pytest.approx(
        stated["calibration"]["ece"], abs=1e-4)
