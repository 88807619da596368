"""The long-range benchmark's data, one tiny training run, and resuming."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from tagger.diagnostics import long_range
from tagger.diagnostics.long_range import Budget, markdown_table, recall_data


def test_recall_data():
    tokens, labels = recall_data(distance=7, size=500, classes=3, noise=5, seed=1)
    assert tokens.shape == (500, 8) and tokens.dtype == np.int32
    np.testing.assert_array_equal(tokens[:, 0], labels)
    assert set(np.unique(labels)) == {0, 1, 2}
    assert tokens[:, 1:].min() >= 3 and tokens[:, 1:].max() <= 7  # noise only after the cue
    again, _ = recall_data(distance=7, size=500, classes=3, noise=5, seed=1)
    np.testing.assert_array_equal(tokens, again)
    with pytest.raises(ValueError, match="distance"):
        recall_data(0, 10, 2, 2, 0)


TINY = dict(units=4, embed=3, steps=2, batch_size=8, check_every=2, test_size=8)


def test_tiny_run_and_resume(tmp_path, capsys):
    argv = ["--cells", "gru", "--distances", "3,4", "--solved-at", "1.01", "--out", str(tmp_path)]
    argv += [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    assert long_range.main(argv) == 0
    results = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(results) == 1
    record = json.loads(results[0])
    assert record["budget"] == {**dataclasses.asdict(Budget()), **TINY, "solved_at": 1.01}
    row = record["result"]
    assert row["cell"] == "gru" and row["distance"] == 3 and 0 <= row["accuracy"] <= 1
    assert row["steps"] == 2

    assert long_range.main(argv) == 0  # resumes: nothing left to run
    assert (tmp_path / "results.jsonl").read_text().splitlines() == results
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["rows"] == 1
    assert (tmp_path / "long_range.png").exists()
    # Unsolved at 3 (threshold above 1), so 4 is skipped and shown as not run.
    assert (tmp_path / "long_range.md").read_text().startswith("| cell | d=3 | d=4 |")
    assert "| — | none |" in (tmp_path / "long_range.md").read_text()


def test_markdown_table_marks_solved():
    rows = [
        {"cell": "elman", "distance": 25, "accuracy": 0.31, "solved": False, "steps": 400},
        {"cell": "lstm", "distance": 25, "accuracy": 0.99, "solved": True, "steps": 150},
    ]
    table = markdown_table(rows, Budget(), distances=[25, 50])
    assert "| elman | 0.31 | — | none |" in table
    assert "| lstm | **0.99** (150) | — | 25 |" in table
