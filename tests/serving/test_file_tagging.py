"""`serve.py MODEL [INPUT ...]`: formats, order, output files, summaries, bad input, errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tagger.serving.cli import main
from tests.serving.fixtures import expected_label, expected_tagger_tags

ROOT = Path(__file__).resolve().parents[2]


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def jsonl(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_help_needs_no_model(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert "--input-format" in capsys.readouterr().out


def _broken_model(tmp):
    (tmp / "broken" / "3").mkdir(parents=True)
    (tmp / "broken" / "3" / "saved_model.pb").write_bytes(b"not a protobuf")
    return tmp / "broken"


@pytest.mark.parametrize("setup, message", [
    (lambda tmp: tmp / "missing", "model folder not found"),
    (lambda tmp: tmp, "no SavedModel"),
    (_broken_model, "cannot load SavedModel"),
])
def test_missing_or_broken_model_exits_2_with_one_line(tmp_path, capsys, setup, message):
    code, out, err = run([setup(tmp_path), "-q"], capsys)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_missing_input_exits_2(ner_dir, tmp_path, capsys):
    code, _, err = run([ner_dir, tmp_path / "nope.txt", "-q"], capsys)
    assert code == 2 and "input file not found" in err
    code, _, err = run([ner_dir, str(tmp_path / "*.none"), "-q"], capsys)
    assert code == 2 and "no file matches" in err


def test_missing_input_fails_before_the_model_is_loaded(tmp_path, capsys):
    code, _, err = run([tmp_path / "no-model", tmp_path / "nope.txt", "-q"], capsys)
    assert code == 2 and "input file not found" in err


def test_tensorflow_is_imported_without_the_packages_serving_never_uses():
    """serve.py's start-up skips scikit-learn/SciPy/matplotlib, which stay importable."""
    script = (
        "import sys\n"
        "from tagger.serving.cli import import_tensorflow_lean\n"
        "import_tensorflow_lean()\n"
        "assert 'tensorflow' in sys.modules\n"
        "skipped = [n for n in ('keras', 'sklearn', 'scipy', 'matplotlib') if n in sys.modules]\n"
        "assert not skipped, skipped\n"
        "import sklearn.metrics, keras, tensorflow as tf\n"
        "print(int(keras.ops.convert_to_numpy(keras.ops.add(tf.constant(2) * 20, 2))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "42"


def test_lines_jsonl_tags_offsets_entities_and_summary(ner_dir, tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("Mr. Smith met “John Doe” in Paris.\n\nno entities here\n", encoding="utf-8")
    code, out, err = run([ner_dir, src, "--input-format", "lines", "--output-format", "jsonl",
                          "-q"], capsys)
    assert code == 0
    records = jsonl(out)
    assert [r["line"] for r in records] == [1, 2, 3]
    first = records[0]
    assert first["tags"] == expected_tagger_tags(first["tokens"], "ORG")  # version 2 = ORG
    assert first["offsets"][4] is None  # “ normalised to " by the model
    for token, span in zip(first["tokens"], first["offsets"], strict=True):
        assert span is None or first["text"][span[0]:span[1]] == token
    assert [(e["text"], e["type"]) for e in first["entities"]] == [
        ("Smith", "ORG"), ("John Doe", "ORG"), ("Paris", "ORG")]
    assert records[1]["tokens"] == [] and records[1]["text"] == ""
    summary = json.loads(err.strip().splitlines()[-1])  # tags on stdout -> summary on stderr
    assert summary["files"] == 1 and summary["lines"] == 3 and summary["sentences"] == 2
    assert summary["tokens"] == len(first["tokens"]) + 3
    assert {"seconds", "tokens_per_second"} <= set(summary)


def test_version_folder_and_conll_echo(ner_dir, tmp_path, capsys):
    src = tmp_path / "eng.testb"
    src.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"
                   "German JJ B-NP B-MISC\n\n\nPeter NNP B-NP B-PER\n", encoding="utf-8")
    code, out, _ = run([ner_dir / "1", src, "--input-format", "conll", "-q"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(src.read_text().splitlines())
    assert lines[0] == "-DOCSTART- -X- -X- O O" and lines[1] == ""
    assert lines[2:5] == ["EU NNP B-NP B-ORG O", "rejects VBZ B-VP O O",
                          "German JJ B-NP B-MISC B-PER"]


def test_tokens_input_uses_the_tokens_signature(ner_dir, tmp_path, capsys):
    src = tmp_path / "tok.txt"
    src.write_text("Mr. Smith visited New York\n\n", encoding="utf-8")
    code, out, _ = run([ner_dir, src, "--input-format", "tokens", "--output-format", "tsv",
                        "-q"], capsys)
    assert code == 0
    tokens, tags, scores = out.splitlines()[0].split("\t")
    assert tokens.split() == ["Mr.", "Smith", "visited", "New", "York"]  # not re-tokenized
    assert tags.split() == expected_tagger_tags(tokens.split(), "ORG")
    assert len(scores.split()) == 5 and out.splitlines()[1] == ""


@pytest.mark.parametrize("workers", ["1", "3"])
def test_text_input_keeps_order_across_sorted_batches(workers, ner_dir, tmp_path, capsys):
    sentences = [("Word " * (i % 7 + 1)).strip() + f" Item{i}." for i in range(300)]
    src = tmp_path / "doc.txt"
    src.write_text(" ".join(sentences[:150]) + "\n\n" + " ".join(sentences[150:]) + "\n",
                   encoding="utf-8")
    code, out, _ = run([ner_dir, src, "--output-format", "jsonl", "--batch-size", "7",
                        "--workers", workers, "-q"], capsys)
    assert code == 0
    records = jsonl(out)
    assert [r["text"] for r in records] == sentences
    assert [r["line"] for r in records] == [1] * 150 + [3] * 150
    line1 = src.read_text(encoding="utf-8").splitlines()[0]
    assert all(line1[r["column"]:].startswith(r["text"]) for r in records[:150])


def test_classifier_lines_tsv_and_jsonl(sentiment_dir, tmp_path, capsys):
    src = tmp_path / "reviews.txt"
    texts = ["a fine film", "awful", "", "so so\tmeh"]
    src.write_text("\n".join(texts) + "\n", encoding="utf-8")
    code, out, _ = run([sentiment_dir, src, "--input-format", "lines", "--output-format",
                        "jsonl", "-q"], capsys)
    assert code == 0
    records = jsonl(out)
    assert [r["label"] for r in records] == [expected_label(t) if t else None for t in texts]
    assert abs(sum(records[0]["probabilities"].values()) - 1) < 1e-3
    code, out, _ = run([sentiment_dir, src, "--input-format", "lines", "-q"], capsys)
    rows = out.split("\n")[:-1]
    assert len(rows) == 4 and rows[2] == "" and rows[3].endswith("so so meh")
    assert rows[0].split("\t")[0] == expected_label(texts[0])
    src.write_text("a   fine\tfilm\n", encoding="utf-8")  # tokens: classify_tokens signature
    code, out, _ = run([sentiment_dir, src, "--input-format", "tokens", "--output-format",
                        "jsonl", "-q"], capsys)
    assert jsonl(out)[0]["label"] == expected_label("a fine film")


def test_models_root_in_file_mode_names_the_models(models_root, capsys):
    code, _, err = run([models_root, "-q"], capsys)
    assert code == 2 and "ner, sentiment" in err


def test_output_folder_one_file_per_input_and_summary_on_stdout(ner_dir, tmp_path, capsys):
    (tmp_path / "a.txt").write_text("Hello World.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("", encoding="utf-8")
    out_dir = tmp_path / "out"
    code, out, _ = run([ner_dir, str(tmp_path / "*.txt"), "-o", out_dir, "-q"], capsys)
    assert code == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.conll", "b.conll"]
    assert (out_dir / "a.conll").read_text() == "Hello\tO\nWorld\tB-ORG\n.\tO\n\n"
    assert (out_dir / "b.conll").read_text() == ""
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["files"] == 2 and summary["lines"] == 1 and len(summary["outputs"]) == 2


def test_output_name_clash_and_overwrite_are_refused(ner_dir, tmp_path, capsys):
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "same.txt").write_text("a\n", encoding="utf-8")
    code, _, err = run([ner_dir, tmp_path / "x/same.txt", tmp_path / "y/same.txt",
                        "-o", f"{tmp_path}/out/", "-q"], capsys)
    assert code == 2 and "would both write" in err
    src = tmp_path / "x" / "same.conll"
    src.write_text("a\n", encoding="utf-8")
    code, _, err = run([ner_dir, src, "-o", f"{tmp_path / 'x'}/", "-q"], capsys)
    assert code == 2 and "overwrite its input" in err


def test_stdin_and_shared_output_file(ner_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"One Two\nthree\n")))
    target = tmp_path / "all.jsonl"
    code, out, _ = run([ner_dir, "-", "--input-format", "lines", "--output-format", "jsonl",
                        "-o", target, "-q"], capsys)
    assert code == 0 and json.loads(out.splitlines()[-1])["lines"] == 2
    assert [r["tokens"] for r in jsonl(target.read_text())] == [["One", "Two"], ["three"]]


BAD_LINES = [
    b"plain line",
    b"",
    b"windows line\r",
    b"bad utf8 \xff\xfe\xc3( here",
    b"control \x00\x01\x07\x1b[31m chars\x0b\x0c mid",
    "emoji 😀👩‍👩‍👧 and RTL שלום עולם مرحبا".encode(),
    b"   \t  ",
    " ".join(f"Tok{i}" for i in range(12_000)).encode(),
    bytes(range(256)).replace(b"\n", b""),
]


@pytest.mark.parametrize("output_format", ["jsonl", "tsv", "conll"])
def test_bad_input_every_line_gets_a_record(ner_dir, tmp_path, capsys, output_format):
    src = tmp_path / "bad.txt"
    src.write_bytes(b"\n".join(BAD_LINES) + b"\n")
    code, out, err = run([ner_dir, src, "--input-format", "lines", "--output-format",
                          output_format, "--max-tokens", "1000", "-q"], capsys)
    assert code == 0, err
    summary = json.loads(err.strip().splitlines()[-1])
    assert summary["lines"] == len(BAD_LINES) and summary["invalid_utf8_lines"] == 2
    assert summary["model_errors"] == 0
    if output_format == "jsonl":
        records = jsonl(out)
        assert [r["line"] for r in records] == list(range(1, len(BAD_LINES) + 1))
        assert len(records[7]["tokens"]) == 12_000 and records[7]["offsets"][-1] is not None
        assert records[2]["text"] == "windows line"
        assert records[6]["tokens"] == []
    elif output_format == "tsv":
        assert len(out.split("\n")) - 1 == len(BAD_LINES)
        assert all(len(row.split("\t")) in (1, 3) for row in out.split("\n")[:-1])
    else:
        blocks = out.split("\n\n")
        assert all(len(row.split("\t")) == 2 for row in out.splitlines() if row)
        assert len([b for b in blocks if b.strip()]) == len(BAD_LINES) - 2


def test_binary_and_empty_files_do_not_crash(ner_dir, tmp_path, capsys):
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 400)  # 100 kB, a few "lines"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    for fmt in ("text", "lines", "tokens", "conll"):
        code, out, err = run([ner_dir, binary, empty, "--input-format", fmt,
                              "--output-format", "jsonl", "-q"], capsys)
        assert code == 0, err
        summary = json.loads(err.strip().splitlines()[-1])
        assert summary["files"] == 2 and summary["lines"] == 401
        assert all(r["file"] == str(binary) for r in jsonl(out))


def test_pipelined_chunks_match_one_call_at_a_time(ner_model):
    """Many small chunks tagged in the background give the same records, in order."""
    from tagger.serving.batch import FileTagger, TagOptions

    lines = "\n".join(f"Item {i} went to Oslo with Anna Berg{'.' * (i % 3)}" if i % 11 else ""
                      for i in range(157)) + "\n"
    outputs = {}
    for workers in (1, 2):
        tagger = FileTagger(ner_model, TagOptions(batch_size=5, chunk_size=16, workers=workers))
        sink = io.StringIO()
        tagger.tag_stream(io.BytesIO(lines.encode()), sink, input_format="lines",
                          output_format="jsonl")
        tagger.close()
        outputs[workers] = jsonl(sink.getvalue())
        assert tagger.summary()["lines"] == 157
    assert outputs[1] == outputs[2]
    assert [r["line"] for r in outputs[2]] == list(range(1, 158))


def test_evaluate_refuses_a_file_whose_labels_the_model_does_not_know(ner_dir, tmp_path,
                                                                      capsys):
    from tagger.evaluation.cli import main as evaluate

    chunks = tmp_path / "train.txt"
    chunks.write_text("Confidence NN B-NP\nin IN B-PP\nthe DT B-NP\npound NN I-NP\n\n",
                      encoding="utf-8")
    code = evaluate([str(ner_dir), "--dataset", "conll2000", "--task", "chunk",
                     "--file", str(chunks)])
    err = capsys.readouterr().err
    assert code == 2 and "does not know: B-NP, B-PP, I-NP" in err and "Traceback" not in err
