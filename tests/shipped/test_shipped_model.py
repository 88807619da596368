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
