"""`python -m tagger diagnose`: CSV contract, plot, trained .keras models, SavedModel message."""

from __future__ import annotations

import csv
import json

import keras
import numpy as np
import pytest

from tagger.cells import make_rnn
from tagger.cli import main as cli_main


def _rows(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        return next(reader), list(reader)


def test_fresh_cells_write_csv_and_plot(tmp_path, capsys):
    out = tmp_path / "diag"
    code = cli_main(["diagnose", "--cells", "elman,minimal_rnn", "--length", "12", "--units",
                     "4", "--samples", "2", "--out", str(out)])
    assert code == 0
    header, rows = _rows(out / "gradients.csv")
    assert header == ["cell", "distance", "grad_norm"]
    assert {r[0] for r in rows} == {"elman", "minimal_rnn"}
    assert sorted(int(r[1]) for r in rows if r[0] == "elman") == list(range(13))
    assert (out / "gradients.png").stat().st_size > 1000
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["distance"] == 12 and set(summary["grad_norm"]) == {"elman", "minimal_rnn"}


def test_unknown_cell_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="unknown cell"):
        cli_main(["diagnose", "--cells", "elman,nope", "--out", str(tmp_path)])


def _tiny_tagger(path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(30, 6, mask_zero=True),
        make_rnn("lstm", 5, bidirectional=True, return_sequences=True),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.save(path)
    return model


def test_trained_keras_model(tmp_path, capsys):
    _tiny_tagger(tmp_path / "tagger.keras")
    out = tmp_path / "diag"
    code = cli_main(["diagnose", "--model", str(tmp_path / "tagger.keras"), "--length", "10",
                     "--samples", "3", "--units", "4", "--out", str(out)])
    assert code == 0
    _, rows = _rows(out / "gradients.csv")
    assert {r[0] for r in rows} == {"lstm (trained)", "lstm"}
    header, input_rows = _rows(out / "input_gradients.csv")
    assert header == ["cell", "distance", "grad_norm"]
    values = [float(r[2]) for r in input_rows]
    assert len(values) == 10 and all(np.isfinite(values)) and values[0] > 0
    assert (out / "input_gradients.png").exists()
    assert "random token ids" in capsys.readouterr().out


def test_savedmodel_folder_uses_keras_file_beside_it_or_explains(tmp_path):
    version = tmp_path / "models" / "ner" / "1"
    version.mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"")
    args = ["diagnose", "--model", str(version), "--length", "4", "--samples", "1", "--out",
            str(tmp_path / "d")]
    with pytest.raises(SystemExit, match="SavedModel.*\\.keras"):
        cli_main(args)
    _tiny_tagger(version / "model.keras")
    assert cli_main(args) == 0
