"""`python -m tagger beam`: the same records as serve.py, error records, classifiers,
outputs that are never silently replaced, models given as URLs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.beam.conftest import IN_PROCESS, read_shards

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "models" / "ner-conll2003"


def run_beam(*argv) -> int:
    from tagger.beam.cli import main

    return main([str(a) for a in argv])


def serve_records(model: Path, path: Path, tmp: Path, *extra) -> list[dict]:
    """serve.py --output-format jsonl on one file, each record given its file."""
    from tagger.serving.cli import main

    out = tmp / f"{path.name}.serve.jsonl"
    assert main([str(model), str(path), "--input-format", "lines", "--output-format", "jsonl",
                 "--output", str(out), "--quiet", *extra]) == 0
    with open(out, encoding="utf-8") as stream:
        return [{**json.loads(line), "file": str(path)} for line in stream]


def _key(record: dict) -> tuple:
    return record["file"], record["line"], record.get("part", 0)


def _conll_sentences(path: Path, limit: int) -> list[str]:
    from tagger.data.registry import read_release_file

    return [" ".join(x.tokens) for x in read_release_file("conll2003", path, "ner")[:limit]]


def test_three_shards_give_serve_py_records(beam, data_dir, tmp_path):
    """Real CoNLL-2003 dev sentences in three files, plus an empty line and a sentence
    longer than one model piece."""
    sentences = _conll_sentences(data_dir / "conll2003" / "eng.testa", 450)
    long_sentence = " ".join(sentences[:60])  # > 512 tokens: tagged in pieces
    inputs = []
    for index in range(3):
        lines = sentences[index::3]
        if index == 1:
            lines = [*lines[:5], "", long_sentence, *lines[5:]]
        path = tmp_path / f"part-{index}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        inputs.append(path)
    prefix = tmp_path / "out" / "ner"
    code = run_beam(SHIPPED, str(tmp_path / "part-*.txt"), "--output", prefix,
                       "--num-shards", 2, *IN_PROCESS)
    assert code == 0
    got = sorted(read_shards(prefix), key=_key)
    want = sorted((r for path in inputs for r in serve_records(SHIPPED, path, tmp_path)),
                  key=_key)
    assert len(got) == len(want) == 450 + 2  # a record for every line
    assert any(len(r["tokens"]) > 512 for r in got) and any(not r["text"] for r in got)
    assert got == want
    assert len(list((tmp_path / "out").glob("ner-0000[01]-of-00002.jsonl"))) == 2
    assert read_shards(f"{prefix}-errors") == []


def test_bad_lines_become_error_records(beam, stub_models, tmp_path):
    (tmp_path / "a.jsonl").write_bytes(
        b'{"id": "ok", "text": "We met Ann Lee in Rome."}\n'
        b"not json\n"
        b"\n"
        b'{"id": 3, "text": "\xff broken"}\n'
        b'{"id": 4, "tokens": ["Ann", "Lee"]}\n'
        b'{"id": 5}\n')
    prefix = tmp_path / "out" / "ner"
    code = run_beam(stub_models / "ner", tmp_path / "a.jsonl", "--output", prefix,
                       "--input-format", "jsonl", *IN_PROCESS)
    assert code == 0
    records = sorted(read_shards(prefix), key=_key)
    assert [(r["id"], r["line"], r["tokens"]) for r in records] == [
        ("ok", 1, ["We", "met", "Ann", "Lee", "in", "Rome", "."]), (4, 5, ["Ann", "Lee"])]
    assert [e["type"] for e in records[0]["entities"]] == ["ORG", "ORG"]
    errors = sorted(read_shards(f"{prefix}-errors"), key=_key)
    assert [(e["file"], e["line"]) for e in errors] == [(str(tmp_path / "a.jsonl"), n)
                                                       for n in (2, 4, 6)]
    assert "not valid JSON" in errors[0]["reason"] and errors[0]["input"] == "not json"
    assert "UTF-8" in errors[1]["reason"] and '"text" string' in errors[2]["reason"]
    assert len(list((tmp_path / "out").glob("ner-errors-00000-of-0000*.jsonl"))) == 1


def test_a_classifier_gives_serve_py_records(beam, stub_models, tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text("A fine film .\n\nDull and long .\nI liked it\n", encoding="utf-8")
    prefix = tmp_path / "out" / "sst"
    code = run_beam(stub_models / "sentiment", path, "--output", prefix, *IN_PROCESS)
    assert code == 0
    got = sorted(read_shards(prefix), key=_key)
    assert got == serve_records(stub_models / "sentiment", path, tmp_path)
    assert {"label", "probabilities"} <= set(got[0]) and "tags" not in got[0]


def test_earlier_shards_are_kept_unless_overwrite(beam, stub_models, tmp_path, capsys):
    path = tmp_path / "a.txt"
    path.write_text("We met Ann Lee .\n", encoding="utf-8")
    prefix = tmp_path / "ner"
    stale = tmp_path / "ner-00003-of-00004.jsonl"
    stale.write_text("from another run\n", encoding="utf-8")
    assert run_beam(stub_models / "ner", path, "--output", prefix, *IN_PROCESS) == 2
    assert "--overwrite" in capsys.readouterr().err and stale.exists()
    assert run_beam(stub_models / "ner", path, "--output", prefix, "--overwrite",
                    *IN_PROCESS) == 0
    assert not stale.exists() and [r["text"] for r in read_shards(prefix)] == [
        "We met Ann Lee ."]


def test_usage_errors_name_the_input_and_model(beam, stub_models, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_beam(stub_models / "ner", tmp_path / "none-*.txt", "--output", out) == 2
    assert "no input file matches" in capsys.readouterr().err
    (tmp_path / "a.txt").write_text("x\n", encoding="utf-8")
    assert run_beam(tmp_path / "no-model", tmp_path / "a.txt", "--output", out) == 2
    assert "model folder not found" in capsys.readouterr().err
    assert not out.parent.joinpath("out-00000-of-00001.jsonl").exists()


def test_a_model_given_as_a_url(beam, stub_models, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("We met Ann Lee .\n", encoding="utf-8")
    prefix = tmp_path / "ner"
    url = (stub_models / "ner").resolve().as_uri()  # file:///..., read through tf.io.gfile
    assert run_beam(url, path, "--output", prefix, *IN_PROCESS) == 0
    assert read_shards(prefix) == serve_records(stub_models / "ner", path, tmp_path)


@pytest.mark.parametrize("mode", ["multi_processing"])
def test_the_default_local_runner_uses_worker_processes(beam, stub_models, tmp_path, mode):
    """The README command as it is: DirectRunner, one worker process per core."""
    import subprocess
    import sys

    lines = [f"Line {i} names Ann Lee and Bob ." for i in range(200)]
    for index in range(2):
        (tmp_path / f"in-{index}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    prefix = tmp_path / "out" / "ner"
    done = subprocess.run([sys.executable, "-m", "tagger", "beam", str(stub_models / "ner"),
                           str(tmp_path / "in-*.txt"), "--output", str(prefix),
                           "--direct_num_workers=2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["records"] == 400 and summary["errors"] == 0
    assert summary["entities"] == {"ORG": 800} and summary["tokens"] == 400 * 8
    assert len(read_shards(prefix)) == 400
    assert "Traceback" not in done.stderr and "WARNING" not in done.stderr


def test_a_failed_pipeline_leaves_no_partial_output(beam, tmp_path, capsys):
    """A model that cannot load fails the job (exit 1, one line) and leaves nothing
    behind: no shards, no Beam temporary folders."""
    (tmp_path / "broken" / "3").mkdir(parents=True)
    (tmp_path / "broken" / "3" / "saved_model.pb").write_bytes(b"not a protobuf")
    path = tmp_path / "a.txt"
    path.write_text("We met Ann Lee .\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_beam(tmp_path / "broken", path, "--output", out / "ner", *IN_PROCESS) == 1
    err = capsys.readouterr().err
    assert "the pipeline failed" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == []
