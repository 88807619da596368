"""``python -m tagger inspect``: the acceptance counts on ../shared/data, and errors.

The counts asserted are the published ones (see ../shared/data/README.md).
"""

import json
import subprocess
import sys

import pytest

from tagger.data.inspect import main
from tagger.data.schemes import entity_spans

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides the shared fixture: no Keras here, so skip its clear_session (a gc pass)."""
    yield


def inspect(capsys, *argv):
    assert main(list(argv)) == 0
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1]), out[:-1]


def test_conll2003_counts(data_dir, capsys):
    summary, text = inspect(capsys, "--dataset", "conll2003", "--data-dir", str(data_dir))
    train, dev = summary["splits"]["train"], summary["splits"]["dev"]
    assert (train["sentences"], train["tokens"]) == (14041, 203621)
    assert (dev["sentences"], dev["tokens"]) == (3250, 51362)
    # IOB1 -> IOB2 keeps every entity: the published per-type counts
    assert train["entities"] == {"LOC": 7140, "PER": 6600, "ORG": 6321, "MISC": 3438}
    assert sum(dev["entities"].values()) == 5942
    assert summary["scheme"] == "IOB2" and set(train["labels"]) <= {
        "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"}
    assert any("14,041 sentences" in line for line in text)


def test_conll2000_counts_before_and_after_carving(data_dir, capsys):
    summary, _ = inspect(capsys, "--dataset", "conll2000", "--data-dir", str(data_dir))
    assert summary["files"]["train.txt"] == {"split": "train", "sentences": 8936, "tokens": 211727}
    splits = summary["splits"]
    assert splits["train"]["sentences"] + splits["dev"]["sentences"] == 8936
    assert splits["train"]["tokens"] + splits["dev"]["tokens"] == 211727
    assert splits["dev"]["sentences"] == round(8936 * 0.1)
    assert summary["carve"]["dropped"] == 0


def test_ud_english_counts(data_dir, capsys):
    summary, _ = inspect(capsys, "--dataset", "ud_english", "--data-dir", str(data_dir))
    train = summary["splits"]["train"]
    assert (train["sentences"], train["tokens"]) == (12544, 204577)  # syntactic words
    assert (summary["splits"]["dev"]["sentences"], summary["splits"]["dev"]["tokens"]) == (
        2001, 25147)
    assert len(train["labels"]) == 17 and "_" not in train["labels"]
    xpos, _ = inspect(capsys, "--dataset", "ud_english", "--task", "xpos", "--data-dir",
                      str(data_dir))
    assert xpos["splits"]["train"]["tokens"] == 204577  # the same words, other tags
    assert {"NN", "NNP", "VBZ", "-LRB-"} <= set(xpos["splits"]["train"]["labels"])


def test_wnut17_counts(data_dir, capsys):
    summary, _ = inspect(capsys, "--dataset", "wnut17", "--data-dir", str(data_dir))
    train = summary["splits"]["train"]
    assert (train["sentences"], train["tokens"]) == (3394, 62730)
    assert train["entities"] == {"person": 660, "location": 548, "group": 264,
                                 "corporation": 221, "product": 142, "creative-work": 140}
    assert sum(summary["splits"]["dev"]["entities"].values()) == 836


def test_sst2_counts_and_carve_accounts_for_every_row(data_dir, capsys):
    summary, text = inspect(capsys, "--dataset", "sst2", "--data-dir", str(data_dir))
    assert summary["files"]["train.tsv"]["examples"] == 67349
    carve, splits = summary["carve"], summary["splits"]
    kept = splits["train"]["examples"] + splits["dev"]["examples"]
    assert kept + carve["dropped"] == 67349 and carve["dropped"] > 0
    assert sum(splits["train"]["labels"].values()) == splits["train"]["examples"]
    assert any("dropped" in line for line in text)


@pytest.mark.slow
@pytest.mark.ci
def test_sst2_carve_has_no_shared_text(data_dir):
    """No dev row is a span of a train row, and no train row a span of a dev row."""
    from tagger.data.registry import load_dataset

    data = load_dataset("sst2", data_dir=data_dir)
    train = "\n".join(" " + " ".join(x.tokens) + " " for x in data.splits["train"])
    dev = "\n".join(" " + " ".join(x.tokens) + " " for x in data.splits["dev"])
    assert not [x for x in data.splits["dev"] if f" {' '.join(x.tokens)} " in train]
    assert not [x for x in data.splits["train"] if f" {' '.join(x.tokens)} " in dev]


def test_trec_counts(data_dir, capsys):
    summary, _ = inspect(capsys, "--dataset", "trec", "--data-dir", str(data_dir))
    assert summary["files"]["train_5500.label"]["examples"] == 5452
    total = {k: summary["splits"]["train"]["labels"][k] + summary["splits"]["dev"]["labels"][k]
             for k in summary["splits"]["train"]["labels"]}
    assert total == {"ENTY": 1250, "HUM": 1223, "DESC": 1162, "NUM": 896, "LOC": 835, "ABBR": 86}
    fine, _ = inspect(capsys, "--dataset", "trec", "--task", "fine", "--data-dir", str(data_dir))
    assert fine["num_labels"] == 50


def test_iob2_tags_keep_the_entities_of_the_raw_iob1_column(data_dir):
    """Per sentence, the IOB1 reading of eng.testa's raw NER column gives our entities."""
    from tagger.data.registry import load_dataset

    blocks, current = [], []
    for line in (data_dir / "conll2003" / "eng.testa").read_text().split("\n"):
        if not line or line.startswith("-DOCSTART-"):
            if current:
                blocks.append(current)
            current = []
        else:
            current.append(line.split(" ")[3])
    dev = load_dataset("conll2003", data_dir=data_dir).splits["dev"]
    assert [entity_spans(tags, "IOB1") for tags in blocks] == [entity_spans(s.tags) for s in dev]


def test_malformed_file_exit_code_2_names_file_and_line(tmp_path):
    folder = tmp_path / "wnut17"
    folder.mkdir()
    (folder / "wnut17train.conll").write_text("a\tO\nb\tB-person\n\nc O\n")
    result = subprocess.run(
        [sys.executable, "-m", "tagger", "inspect", "--dataset", "wnut17", "--data-dir",
         str(tmp_path)], capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "wnut17train.conll:4: expected 2 tab-separated columns" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_data_and_help(tmp_path, capsys):
    assert main(["--dataset", "conll2000", "--data-dir", str(tmp_path)]) == 2
    assert "conll2000/train.txt: not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "--dataset" in capsys.readouterr().out
