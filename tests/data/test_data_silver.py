"""Silver data: the allowed-tag table, the constrained argmax, the CoNLL-U it writes, and
``python -m tagger silver`` end to end with a trained tagger."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tagger.data.conllu import read_conllu
from tagger.data.examples import TaggedSentence
from tagger.data.silver import TagPairs, conllu_lines, relabel, unescape
from tests import synthetic
from tests.conftest import REPO_ROOT


def tagged(pairs: list[tuple[str, str]]) -> TaggedSentence:
    return TaggedSentence(tuple(w for w, _ in pairs), tuple(t for _, t in pairs))


@pytest.fixture
def pairs() -> TagPairs:
    """EWT-like: "have" is AUX 3 times and VERB once as VBP; other VBP words are VERB
    99 times and AUX once; "to" is PART as TO and ADP as IN."""
    words = ([("have", "VBP", "AUX")] * 3 + [("have", "VBP", "VERB")]
             + [("run", "VBP", "VERB")] * 99 + [("do", "VBP", "AUX")]
             + [("to", "TO", "PART")] * 5 + [("to", "IN", "ADP")] * 2
             + [("(", "-LRB-", "PUNCT")])
    source = [tagged([(w, x)]) for w, x, _ in words]
    target = [tagged([(w, u)]) for w, _, u in words]
    return TagPairs.count(source, target, min_share=0.02)


def test_a_word_seen_with_its_tag_allows_what_it_took_there(pairs):
    assert pairs.allowed("VBP", "Have") == {"AUX", "VERB"}  # keys are lowercased
    assert pairs.allowed("VBP", "do") == {"AUX"}


def test_an_unseen_word_allows_the_tags_holding_min_share_of_its_tag(pairs):
    # VBP: VERB 100 of 104, AUX 4 of 104 (3.8 %): both over 2 %
    assert pairs.allowed("VBP", "walk") == {"AUX", "VERB"}
    strict = TagPairs(pairs.by_tag, pairs.by_word, min_share=0.05)
    assert strict.allowed("VBP", "walk") == {"VERB"}


def test_wsj_tags_are_read_as_ewt_names_them(pairs):
    assert pairs.allowed("TO", "to") == {"PART", "ADP"}  # WSJ's TO covers EWT's IN "to"
    assert pairs.allowed("(", "(") == {"PUNCT"}
    assert pairs.allowed("UH", "oh") is None  # a tag the pairs never saw


def test_the_two_annotations_must_be_of_the_same_sentences():
    with pytest.raises(ValueError, match="not of the same sentence: 'a b'"):
        TagPairs.count([tagged([("a", "DT"), ("b", "NN")])], [tagged([("a", "DET")])])


def test_relabel_takes_the_best_allowed_tag_and_counts_what_it_overruled(pairs):
    classes = ["ADP", "AUX", "PART", "VERB"]
    marginals = np.array([[0.0, 0.3, 0.0, 0.7],    # have/VBP: VERB, the models' own choice
                          [0.6, 0.0, 0.4, 0.0],    # to/TO: ADP allowed -> kept
                          [0.1, 0.5, 0.0, 0.4],    # run/VBP: AUX 0.5 but "run" was VERB
                          [0.2, 0.1, 0.3, 0.4]])   # oh/UH: unknown, the models decide
    out = relabel(["have", "to", "run", "oh"], ["VBP", "TO", "VBP", "UH"], marginals,
                  classes, pairs)
    assert out.tags == ("VERB", "ADP", "VERB", "VERB")
    assert (out.changed, out.unconstrained) == (1, 1)
    assert out.source_tags == ("VBP", "TO", "VBP", "UH")


def test_relabel_without_pairs_keeps_the_models_choice_everywhere():
    marginals = np.array([[0.1, 0.9], [0.7, 0.3], [0.5, 0.5]])
    out = relabel(["a", "b", "c"], ["DT", "NN", "XX"], marginals, ["ADP", "VERB"], None)
    assert out.tags == ("VERB", "ADP", "ADP")  # ties: the first class, as np.argmax
    assert (out.changed, out.unconstrained) == (0, 3)


def test_a_sample_is_a_fixed_draw_of_distinct_sentences():
    from tagger.evaluation.silver_cli import sample_numbers

    assert sample_numbers(4, None) == [1, 2, 3, 4]
    drawn = sample_numbers(100, 30)
    assert drawn == sample_numbers(100, 30) and len(set(drawn)) == 30
    assert set(drawn) <= set(range(1, 101)) and drawn != sorted(drawn)
    assert sorted(sample_numbers(100, 100)) == list(range(1, 101))
    with pytest.raises(ValueError, match="--sample 101 is more than the 100 training"):
        sample_numbers(100, 101)


def test_conllu_lines_are_read_back_as_written(tmp_path):
    tokens = unescape(["-LRB-", "``", "Hi", "''", "-RRB-"])
    assert tokens == ("(", '"', "Hi", '"', ")")
    sentence = relabel(tokens, ["(", "``", "UH", "''", ")"], np.eye(3)[[0, 0, 1, 0, 0]],
                       ["PUNCT", "INTJ", "X"], TagPairs())
    path = tmp_path / "silver.conllu"
    path.write_text("\n".join(conllu_lines([sentence, sentence], "wsj")) + "\n")
    read = read_conllu(path)
    assert [s.sent_id for s in read] == ["wsj-1", "wsj-2"]
    assert read[0].tokens == tokens and read[0].text == '( " Hi " )'
    assert read[0].upos == ("PUNCT", "PUNCT", "INTJ", "PUNCT", "PUNCT")
    assert read[0].xpos == ("(", "``", "UH", "''", ")")


def test_silver_relabels_every_training_sentence_within_its_gold_tags(tmp_path):
    """A tagger barely trained on synthetic UD relabels synthetic CoNLL-2000: every
    sentence is written, every tag is the one its Penn tag allows in the pairs (one
    each here), and the file trains with --extra-train."""
    from tagger.data.registry import load_dataset, read_release_file
    from tests.training.test_train import run_train

    data = tmp_path / "data"
    synthetic.write_ud_english(data)
    synthetic.write_conll2000(data)
    with (data / "conll2000" / "train.txt").open("a") as handle:
        for name in synthetic.FIRST:  # some of them land in the dev carve
            handle.write(f"-LRB- ( O\n{name} NNP B-NP\n-RRB- ) O\n\n")
    summary = run_train(tmp_path, "--dataset", "ud_english", "--task", "pos", "--lexicon",
                        "none", "--epochs", "1", "--max-steps", "5", "--name", "upos")
    output = tmp_path / "silver.conllu"
    done = subprocess.run(
        [sys.executable, "-m", "tagger", "silver", summary["export_dir"], summary["export_dir"],
         "--dataset", "conll2000", "--task", "pos", "--pairs", "ud_english:xpos,pos",
         "--data-dir", str(data), "--output", str(output)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    source = load_dataset("conll2000", "pos", data).splits["train"]
    assert (report["sentences"], report["models"]) == (len(source), 2)
    bracketed = [s.tokens for s in source if s.tokens[0] == "-LRB-"]
    assert bracketed
    # the pairs have no "(" or ")" tag (nor -LRB-): the models decide those
    assert report["unconstrained"] == 2 * len(bracketed)
    written = read_conllu(output)
    assert [s.xpos for s in written] == [s.tags for s in source]
    for sentence in written:
        for form, upos, xpos in zip(sentence.tokens, sentence.upos, sentence.xpos,
                                    strict=True):
            if xpos in synthetic.UPOS_OF:
                assert upos == synthetic.UPOS_OF[xpos], (form, xpos, upos)
    assert [s.tokens for s in written if s.tokens[0] == "("] == [
        ("(", name, ")") for _, name, _ in bracketed]
    assert len(read_release_file("ud_english", output, "pos")) == len(source)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".silver")]  # no temp left

    # --pairs none: the model's own argmax of its marginals at every token; --sample:
    # the sentences a seed-0 shuffle draws, numbered as in the corpus
    free = tmp_path / "free.conllu"
    done = subprocess.run(
        [sys.executable, "-m", "tagger", "silver", summary["export_dir"], "--dataset",
         "conll2000", "--task", "pos", "--pairs", "none", "--sample", "5", "--data-dir",
         str(data), "--output", str(free)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "no constraint" in done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["sentences"] == 5
    assert (report["changed_by_constraint"], report["unconstrained"]) == (0, report["tokens"])
    from tagger.evaluation.silver_cli import sample_numbers
    from tagger.serving.model import load_model

    numbers = sample_numbers(len(source), 5)
    assert [s.sent_id for s in read_conllu(free)] == [f"conll2000-train-{n}" for n in numbers]
    tokens = [unescape(source[n - 1].tokens) for n in numbers]
    out = load_model(summary["export_dir"]).predict_tokens(tokens, "tag_marginals")
    classes = [c.decode() for c in out["classes"][0]]
    expected = [tuple(classes[k] for k in out["marginals"][i, :len(t)].argmax(-1))
                for i, t in enumerate(tokens)]
    assert [s.upos for s in read_conllu(free)] == expected


def test_silver_names_what_is_wrong(tmp_path):
    data = synthetic.write_conll2000(tmp_path / "data")
    for extra, message in ((["--pairs", "ud_english"], "--pairs must be DATASET:SOURCE_TASK"),
                           (["--pairs", "ud_english:xpos,pos", "--min-share", "2"],
                            "--min-share must be in [0, 1], got 2.0"),
                           (["--pairs", "ud_english:xpos,pos"], "not found")):
        done = subprocess.run(
            [sys.executable, "-m", "tagger", "silver", str(tmp_path / "nowhere"), "--dataset",
             "conll2000", "--task", "pos", "--data-dir", str(data), "--output",
             str(tmp_path / "out.conllu"), *extra],
            capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
        assert done.returncode == 2 and message in done.stderr, done.stderr[-2000:]
        assert "Traceback" not in done.stderr
    assert not Path(tmp_path / "out.conllu").exists()


def _brute_force_spans(marginals, classes, scheme):
    """The reference: every tag sequence, the well-formed ones scored by Σ log p."""
    import itertools

    from tagger.data.schemes import find_scheme_error

    best, best_score = None, -np.inf
    for path in itertools.product(range(len(classes)), repeat=len(marginals)):
        tags = [classes[k] for k in path]
        if find_scheme_error(tags, scheme) is not None:
            continue
        score = sum(np.log(marginals[t, k]) for t, k in enumerate(path))
        if score > best_score:
            best, best_score = tags, score
    return best


@pytest.mark.parametrize("scheme, classes", [
    ("BIOES", ["B-PER", "E-PER", "I-PER", "O", "S-PER", "S-LOC"]),
    ("IOB2", ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]),
])
def test_span_relabelling_is_the_best_well_formed_sequence(scheme, classes):
    """Against enumerating every sequence, on random marginals (sharp ones too)."""
    from tagger.data.schemes import convert
    from tagger.data.silver import relabel_spans, span_scheme

    assert span_scheme(classes) == scheme
    rng = np.random.default_rng(0)
    for length in (1, 2, 3, 4):
        for sharpness in (1.0, 5.0):
            marginals = rng.dirichlet(np.full(len(classes), 1.0 / sharpness), size=length)
            marginals = np.maximum(marginals, 1e-9)
            out = relabel_spans(["w"] * length, ["NN"] * length, 3 * marginals, classes, scheme)
            expected = _brute_force_spans(marginals / marginals.sum(1, keepdims=True),
                                          classes, scheme)
            assert list(out.tags) == convert(expected, scheme, "IOB2")
            token_wise = [classes[k] for k in marginals.argmax(1)]
            assert out.changed == sum(a != b for a, b in zip(token_wise, expected, strict=True))


def test_span_relabelling_repairs_what_a_token_wise_argmax_breaks():
    from tagger.data.silver import relabel_spans

    classes = ["B-PER", "E-PER", "I-PER", "O", "S-PER"]
    # token-wise: O E-PER (an entity that never began); the best whole reading is B-PER E-PER
    marginals = np.array([[0.45, 0.0, 0.0, 0.55, 0.0], [0.0, 0.9, 0.0, 0.1, 0.0]])
    out = relabel_spans(["Anna", "Berg"], ["NNP", "NNP"], marginals, classes, "BIOES")
    assert out.tags == ("B-PER", "I-PER") and out.changed == 1


def test_tag_sets_that_are_not_spans_keep_the_token_wise_choice():
    from tagger.data.silver import span_scheme

    assert span_scheme(["ADJ", "NOUN", "VERB"]) is None
    assert span_scheme(["B-NP", "I-NP"]) is None  # no O: not a span tagger's tags
    assert span_scheme(["B-NP", "I-NP", "O"]) == "IOB2"


def test_conll_lines_write_the_datasets_columns_and_read_back(tmp_path):
    """CoNLL-2003's columns: IOB1 in the NER and chunk columns (B- only between two
    entities of one type), the source's gold POS and chunk tags beside the new NER."""
    from tagger.data.conll import read_conll
    from tagger.data.registry import read_release_file
    from tagger.data.release import conll_columns
    from tagger.data.silver import Relabelled, conll_lines

    layout, column_tasks = conll_columns("conll2003")
    assert column_tasks == {"ner": "ner", "pos": "pos", "chunks": "chunk"}
    assert conll_columns("sst2") is None
    sentence = Relabelled(("Anna", "met", "Ben", "Carl"), ("NNP", "VBD", "NNP", "NNP"),
                          ("B-PER", "O", "B-PER", "B-PER"), 0, 0)
    columns = {"pos": [sentence.source_tags], "chunks": [("B-NP", "B-VP", "B-NP", "I-NP")]}
    path = tmp_path / "silver.conll"
    path.write_text("\n".join(conll_lines([sentence], layout, column_tasks, "ner", columns))
                    + "\n")
    assert path.read_text().splitlines()[2:4] == ["Ben NNP I-NP I-PER", "Carl NNP I-NP B-PER"]
    (read,) = read_conll(path, layout)
    assert read.columns["pos"] == sentence.source_tags
    (back,) = read_release_file("conll2003", path, "ner")
    assert back.tags == sentence.tags and back.tokens == sentence.tokens
    with pytest.raises(ValueError, match="sentence 1: the chunk tags do not match"):
        list(conll_lines([sentence], layout, column_tasks, "ner", {**columns, "chunks": [()]}))


def test_silver_writes_ner_pseudo_labels_that_train_reads(tmp_path):
    """A barely trained NER tagger (BIOES) relabels synthetic CoNLL-2000: CoNLL-2003's
    four columns, well-formed entities, the WSJ gold POS and chunk tags kept, and the file
    is what --extra-train reads; --pairs with span tags fails with a reason."""
    from tagger.data.registry import load_dataset, read_release_file
    from tests.training.test_train import run_train

    data = tmp_path / "data"
    synthetic.write_conll2003(data)
    synthetic.write_conll2000(data)
    summary = run_train(tmp_path, "--dataset", "conll2003", "--task", "ner", "--tag-scheme",
                        "BIOES", "--epochs", "1", "--max-steps", "5", "--name", "ner")
    output = tmp_path / "wsj-ner.conll"
    command = [sys.executable, "-m", "tagger", "silver", summary["export_dir"], "--dataset",
               "conll2000", "--task", "pos", "--data-dir", str(data), "--output", str(output)]
    done = subprocess.run([*command, "--pairs", "ud_english:xpos,pos"], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=300)
    assert done.returncode == 2 and "use --pairs none" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and not output.exists()
    done = subprocess.run([*command, "--pairs", "none"], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "well-formed BIOES spans" in done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    pos = load_dataset("conll2000", "pos", data).splits["train"]
    chunk = load_dataset("conll2000", "chunk", data).splits["train"]
    assert report["sentences"] == len(pos)
    written = read_release_file("conll2003", output, "ner")
    assert [s.tokens for s in written] == [unescape(s.tokens) for s in pos]
    assert [read_release_file("conll2003", output, task)[0].tags for task in ("pos", "chunk")
            ] == [pos[0].tags, chunk[0].tags]
    assert {tag for s in written for tag in s.tags} <= {
        "O", *load_dataset("conll2003", "ner", data).labels}
