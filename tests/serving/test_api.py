"""`tagger.load()`: the Python API on the fixture models, and the output formats built on it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import tagger
from tagger.serving.cli import main
from tests.serving.fixtures import CLASSES, expected_label, expected_tagger_tags

ROOT = Path(__file__).resolve().parents[2]
TF_NOISE = ("I0000", "W0000", "E0000", "absl::InitializeLog", "cuda", "oneDNN")


@pytest.fixture(scope="module")
def ner(ner_dir):
    return tagger.load(ner_dir)


def test_load_returns_a_tagger_that_tags_text_and_tokens(ner, ner_dir):
    assert isinstance(ner, tagger.Tagger) and ner.version == 2 and ner.task == "ner"
    doc = ner("Yesterday Anna Smith flew to Oslo.")
    assert doc.tags == expected_tagger_tags(doc.words, "ORG")
    assert [(e.text, e.type, e.start, e.end) for e in doc.entities] == [
        ("Anna Smith", "ORG", 10, 20), ("Oslo", "ORG", 29, 33)]
    assert all(e.confidence == 0.75 for e in doc.entities)
    token = doc.tokens[1]
    assert (token.text, token.start, token.end, token.tag) == ("Anna", 10, 14, "B-ORG")
    assert token.probability == pytest.approx(0.9)
    given = ner(["the", "Acme", "team"])
    assert given.words == ["the", "Acme", "team"] and given.tags == ["O", "B-ORG", "O"]


def test_to_dict_has_the_jsonl_fields(ner, ner_dir, tmp_path, capsys):
    text = "Mr. Smith met John Doe in Paris."
    src = tmp_path / "in.txt"
    src.write_text(text + "\n", encoding="utf-8")
    assert main([str(ner_dir), str(src), "--input-format", "lines", "--output-format", "jsonl",
                 "-q"]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    api = ner(text).to_dict()
    assert {k: record[k] for k in api} == api
    assert set(record) - set(api) == {"line", "column"}
    assert record["entities"][0] == {"text": "Smith", "type": "ORG", "start": 4, "end": 9,
                                     "confidence": 0.75, "token_start": 2, "token_end": 3}


def test_tag_streams_many_inputs_in_order(ner):
    texts = [f"Then Person{i} met Other{i}." for i in range(300)] + ["", "  "]
    docs = list(ner.tag(iter(texts), batch_size=7))
    assert len(docs) == len(texts)
    assert [d.text for d in docs] == texts
    assert docs[123].entities[0].text == "Person123"
    assert docs[-1].words == [] and docs[-1].entities == []
    with pytest.raises(ValueError, match="batch_size must be positive"):
        list(ner.tag(["x"], batch_size=0))
    with pytest.raises(ValueError, match="empty or holds whitespace"):
        ner(["two words", "x"])


def test_texts_and_token_lists_mixed_in_one_stream(ner):
    """A batch holds texts or token lists, never both: each is tagged as if alone."""
    items = ["Then Anna Lee met Bob.", ["the", "Acme", "team"], "So Oslo it is.",
             ["Ann", "Lee"]] * 5
    docs = list(ner.tag(items))
    assert [d.to_dict() for d in docs] == [ner(item).to_dict() for item in items]
    assert docs[1].words == ["the", "Acme", "team"] and docs[0].words[:3] == ["Then", "Anna",
                                                                               "Lee"]


def test_old_models_without_entity_scores_give_no_confidence(ner_dir):
    old = tagger.load(ner_dir / "1")
    assert [e.confidence for e in old("Then Anna met Bob.").entities] == [None, None]


def test_classifier(sentiment_dir):
    clf = tagger.load(sentiment_dir)
    assert isinstance(clf, tagger.Classifier)
    result = clf("a gripping film")
    assert result.label == expected_label("a gripping film") and result.label in CLASSES
    assert result.probability == max(result.probabilities.values())
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert result.to_dict()["label"] == result.label


def test_load_errors_are_one_line(tmp_path):
    with pytest.raises(tagger.ModelError, match="model folder not found"):
        tagger.load(tmp_path / "nope")


# ------------------------------------------------------------------ shell
def test_text_flag_prints_marked_sentences_and_entities(ner_dir, capsys):
    code = main([str(ner_dir), "--text", "Then Anna Smith met Bob.", "--text", "no one here"])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.splitlines() == ["Then [Anna Smith](ORG) met [Bob](ORG).",
                                "  Anna Smith\tORG\t0.7500", "  Bob\tORG\t0.7500",
                                "no one here"]
    assert json.loads(err.strip().splitlines()[-1])["sentences"] == 2


def test_entities_format_and_usage_errors(ner_dir, sentiment_dir, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("Then Anna met Bob.\n\nnothing\nSee Oslo\n", encoding="utf-8")
    assert main([str(ner_dir), str(src), "--input-format", "lines",
                 "--output-format", "entities", "-q"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(r["record"], r["line"], r["text"], r["confidence"]) for r in rows] == [
        (1, 1, "Anna", 0.75), (1, 1, "Bob", 0.75), (4, 4, "Oslo", 0.75)]
    assert main([str(sentiment_dir), "--text", "x", "--output-format", "entities"]) == 2
    assert "needs a tagger" in capsys.readouterr().err
    assert main([str(ner_dir), str(src), "--text", "x"]) == 2
    assert "do not mix" in capsys.readouterr().err


def test_serve_text_in_a_process_prints_nothing_from_tensorflow(ner_dir):
    done = subprocess.run([sys.executable, str(ROOT / "serve.py"), str(ner_dir), "--text",
                           "Then Anna visited Paris."], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "Then [Anna](ORG) visited [Paris](ORG)."
    noise = [line for line in done.stderr.splitlines() if any(n in line for n in TF_NOISE)]
    assert not noise, noise
    piped = subprocess.run([sys.executable, str(ROOT / "serve.py"), str(ner_dir), "-q"],
                           input="Then Anna visited Paris.\n", capture_output=True, text=True,
                           cwd=ROOT, timeout=120)
    assert piped.stdout.splitlines()[0] == "Then [Anna](ORG) visited [Paris](ORG)."


@pytest.mark.parametrize("command,prog", [(["serve.py"], "serve.py"),
                                          (["train.py"], "train.py"),
                                          (["-m", "tagger", "evaluate"],
                                           "python -m tagger evaluate"),
                                          (["-m", "tagger", "serve"], "python -m tagger serve")])
def test_help_names_the_program_and_shows_defaults_once(command, prog):
    script = [str(ROOT / command[0])] if command[0].endswith(".py") else command
    done = subprocess.run([sys.executable, *script, "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=True)
    assert done.stdout.startswith(f"usage: {prog} ")
    flat = " ".join(done.stdout.split())
    assert "(default: None)" not in flat and "models/ner " not in flat
    for chunk in flat.split("--")[1:]:
        assert chunk.count("(default:") <= 1, chunk
