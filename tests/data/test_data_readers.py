"""Release-file readers on hand-written files: format rules and malformed input.

Every malformed case checks that the message names the file and the line.
"""

import pytest

from tagger.data.classification import read_sst2, read_trec
from tagger.data.conll import CONLL2000, CONLL2003, WNUT17, read_conll
from tagger.data.conllu import read_conllu
from tagger.data.errors import DataFormatError, MissingDataError


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides the shared fixture: no Keras here, so skip its clear_session (a gc pass)."""
    yield


def write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


CONLL03 = """-DOCSTART- -X- O O

Anna NNP I-NP I-PER
flew VBD I-VP O
to TO I-PP O
Oslo NNP I-NP I-LOC
. . O O

-DOCSTART- -X- O O

Bob NNP I-NP I-PER
Kim NNP I-NP B-PER
"""


def test_conll2003_sentences_and_docstart(tmp_path):
    sentences = read_conll(write(tmp_path, "eng.train", CONLL03), CONLL2003)
    assert [s.columns["tokens"] for s in sentences] == [
        ("Anna", "flew", "to", "Oslo", "."), ("Bob", "Kim")]
    assert sentences[1].columns["ner"] == ("I-PER", "B-PER")
    assert sentences[0].columns["pos"][1] == "VBD"
    assert [s.line for s in sentences] == [3, 11]


def test_last_sentence_without_blank_line_crlf_and_blank_variants(tmp_path):
    text = "a\tO\nb\tB-person\n\t\nc\tO\n   \n\nd\tO"  # tab-only and space-only blank lines
    sentences = read_conll(write(tmp_path, "w.conll", text.replace("\n", "\r\n")), WNUT17)
    assert [s.columns["tokens"] for s in sentences] == [("a", "b"), ("c",), ("d",)]


@pytest.mark.parametrize(("content", "line", "words"), [
    ("a DT B-NP\nb NN\n", 2, "expected 3 space-separated columns (token POS chunk), got 2"),
    ("a DT B-NP\n\nb  NN B-NP\n", 3, "got 4"),
    ("a DT B-NP\nb NN B-NP \n", 2, "got 4"),
    ("a\tDT\tB-NP\n", 1, "got 1"),
    ("a DT B-NP\nb NN X-NP\n", 2, "expected a IOB2 tag (O, B-TYPE or I-TYPE) in the chunk column"),
    ("a DT B-NP\nb NN O\nc NN I-NP\n", 3, "in IOB2 an entity starts with B-"),
    ("a DT B-NP\n\nb NN B-NP\nc N", 4, "got 2: 'c N'"),  # truncated last line
])
def test_conll_malformed_lines(tmp_path, content, line, words):
    path = write(tmp_path, "train.txt", content)
    with pytest.raises(DataFormatError) as info:
        read_conll(path, CONLL2000)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert words in str(info.value)


def test_conll_message_format(tmp_path):
    path = write(tmp_path, "eng.train", CONLL03.replace("Oslo NNP I-NP I-LOC", "Oslo NNP I-NP"))
    with pytest.raises(DataFormatError, match=r"eng\.train:6: expected 4 space-separated "
                       r"columns \(token POS chunk NER\), got 3: 'Oslo NNP I-NP'"):
        read_conll(path, CONLL2003)


def test_conll_iob1_allows_b_at_entity_start_but_checks_tag_form(tmp_path):
    # the CoNLL-2003 release has two B-MISC tags strict IOB1 forbids: accepted
    ok = write(tmp_path, "ok", "x NN I-NP B-MISC\n")
    assert read_conll(ok, CONLL2003)[0].columns["ner"] == ("B-MISC",)
    bad = write(tmp_path, "bad", "x NN I-NP O\ny NN I-NP MISC\n")
    with pytest.raises(DataFormatError, match=r"bad:2: expected a IOB1 tag .* NER column, got "
                       "'MISC'"):
        read_conll(bad, CONLL2003)


def test_conll_invalid_utf8_names_the_line(tmp_path):
    path = write(tmp_path, "w.conll", b"a\tO\n\nb\xff\tO\n")
    with pytest.raises(DataFormatError, match=r"w\.conll:3: expected UTF-8 text, got the "
                       r"invalid byte sequence b'\\xff'"):
        read_conll(path, WNUT17)


def test_conll_truncated_utf8_sequence(tmp_path):
    path = write(tmp_path, "w.conll", "a\tO\nb\tO\ncaf\u00e9".encode()[:-1])
    with pytest.raises(DataFormatError, match=r"w\.conll:3: expected UTF-8"):
        read_conll(path, WNUT17)


@pytest.mark.parametrize(("content", "words"), [
    ("", "file is empty"),
    ("\n\n  \n", "file is empty"),
    ("-DOCSTART- -X- O O\n\n", "no sentences found"),
])
def test_conll_empty_files(tmp_path, content, words):
    path = write(tmp_path, "eng.testb", content)
    with pytest.raises(DataFormatError, match=words) as info:
        read_conll(path, CONLL2003)
    assert str(path) in str(info.value) and info.value.line is None


def test_missing_files_say_so(tmp_path):
    for read in (lambda p: read_conll(p, CONLL2003), read_conllu, read_sst2, read_trec):
        with pytest.raises(MissingDataError, match="nope.txt: not found"):
            read(tmp_path / "nope.txt")


# ---------------------------------------------------------------- CoNLL-U

CONLLU = """# sent_id = s1
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_
4.1\tknow\tknow\tVERB\tVB\t_\t_\t_\t0:root\tCopyOf=4
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = s2
1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_
"""


def test_conllu_skips_ranges_and_empty_nodes(tmp_path):
    sentences = read_conllu(write(tmp_path, "x.conllu", CONLLU), keep_all_lines=True)
    first = sentences[0]
    assert first.tokens == ("I", "do", "n't", "know", ".")
    assert first.upos == ("PRON", "AUX", "PART", "VERB", "PUNCT")
    assert first.xpos == ("PRP", "VBP", "RB", "VB", ".")
    assert (first.sent_id, first.text, first.line) == ("s1", "I don't know.", 3)
    assert [line[0] for line in first.all_lines] == ["1", "2-3", "2", "3", "4", "4.1", "5"]
    assert sentences[1].tokens == ("Yes",) and sentences[1].text == "Yes"


@pytest.mark.parametrize(("old", "new", "line", "words"), [
    ("4\tknow\tknow\tVERB", "4\tknow\tknow\tVERBAL", 7, "expected a UPOS tag"),
    ("3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_", "3\tn't\tnot\tPART", 6,
     "expected 10 tab-separated columns (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC)"
     ", got 4"),
    ("5\t.\t.", "6\t.\t.", 9, "expected word ID 5, got '6'"),
    ("4.1\tknow", "4,1\tknow", 8, "expected an ID like 7 (word), 3-4"),
    ("1\tYes\tyes", "1\t\tyes", 12, "expected a non-empty FORM"),
    ("2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_", "2 do do AUX VBP _ 4 aux _ _", 5, "got 1"),
])
def test_conllu_malformed(tmp_path, old, new, line, words):
    assert old in CONLLU
    path = write(tmp_path, "en_ewt-ud-train.conllu", CONLLU.replace(old, new, 1))
    with pytest.raises(DataFormatError) as info:
        read_conllu(path)
    assert str(info.value).startswith(f"{path}:{line}: "), str(info.value)
    assert words in str(info.value)


def test_conllu_invalid_utf8_and_truncation(tmp_path):
    path = write(tmp_path, "t.conllu", CONLLU.encode()[:-30])  # cut inside the last line
    with pytest.raises(DataFormatError, match=r"t\.conllu:12: expected 10 tab-separated"):
        read_conllu(path)
    path = write(tmp_path, "u.conllu", CONLLU.encode().replace(b"\tknow\t", b"\tkn\xc3ow\t", 1))
    with pytest.raises(DataFormatError, match=r"u\.conllu:7: expected UTF-8"):
        read_conllu(path)


def test_conllu_sentence_without_words(tmp_path):
    path = write(tmp_path, "w.conllu", "# sent_id = a\n1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n\n")
    with pytest.raises(DataFormatError, match=r"w\.conllu:2: expected a sentence with at least"):
        read_conllu(path)


# ---------------------------------------------------------------- SST-2 TSV

def test_sst2_reader(tmp_path):
    path = write(tmp_path, "train.tsv",
                 "sentence\tlabel\na gentle , funny film \t1\nnot \"good\" at all \t0\n")
    examples = read_sst2(path)
    assert [(e.tokens, e.label) for e in examples] == [
        (("a", "gentle", ",", "funny", "film"), "positive"),
        (("not", '"good"', "at", "all"), "negative"),  # quotes are text: no CSV quoting
    ]


@pytest.mark.parametrize(("content", "line", "words"), [
    ("sentence,label\nfine \t1\n", 1, "expected the header 'sentence\\tlabel'"),
    ("sentence\tlabel\nfine \t1\nbad row 1\n", 3, "expected 2 tab-separated columns"),
    ("sentence\tlabel\nfine \t1\nx \t0\ty\n", 3, "got 3"),
    ("sentence\tlabel\nfine \tpositive\n", 2, "expected the label 0 or 1, got 'positive'"),
    ("sentence\tlabel\n  \t1\n", 2, "expected a non-empty sentence"),
    ("sentence\tlabel\nok \t1\nna\xefve".encode("latin-1"), 3, "expected UTF-8"),
])
def test_sst2_malformed(tmp_path, content, line, words):
    path = write(tmp_path, "train.tsv", content)
    with pytest.raises(DataFormatError) as info:
        read_sst2(path)
    assert str(info.value).startswith(f"{path}:{line}: ") and words in str(info.value)


def test_sst2_header_only(tmp_path):
    with pytest.raises(DataFormatError, match="train.tsv: no examples after the header"):
        read_sst2(write(tmp_path, "train.tsv", "sentence\tlabel\n"))


# ---------------------------------------------------------------- TREC

TREC = "HUM:ind Who wrote `` Hamlet '' ?\nNUM:date When did it open ?\nENTY:other What is it ?\n"


def test_trec_reader_coarse_and_fine(tmp_path):
    path = write(tmp_path, "train_5500.label", TREC + "\n\n")
    assert [e.label for e in read_trec(path)] == ["HUM", "NUM", "ENTY"]
    fine = read_trec(path, fine=True)
    assert [e.label for e in fine] == ["HUM:ind", "NUM:date", "ENTY:other"]
    assert fine[0].tokens == ("Who", "wrote", "``", "Hamlet", "''", "?")


def test_trec_stray_byte_of_the_uiuc_release_is_a_space(tmp_path):
    path = write(tmp_path, "t.label", b"LOC:city Which sister\xf0city is it ?\n")
    assert read_trec(path)[0].tokens == ("Which", "sister", "city", "is", "it", "?")


@pytest.mark.parametrize(("content", "line", "words"), [
    (TREC + "Who is it ?\n", 4, "expected a label COARSE:fine"),
    (TREC + "PERSON:ind Who ?\n", 4, "expected a label COARSE:fine"),
    ("HUM:ind Who ?\n\nNUM:date When ?\n", 2, "expected a label"),
    ("HUM:ind\n", 1, "expected a question after the label 'HUM:ind'"),
    (b"HUM:ind Who ?\nNUM:date When \xff ?\n", 2, "expected UTF-8"),
    (b"HUM:ind Who ?\nNUM:date When \xf0\x9f ?\n", 2, "expected UTF-8"),  # cut 4-byte char
])
def test_trec_malformed(tmp_path, content, line, words):
    path = write(tmp_path, "train_5500.label", content)
    with pytest.raises(DataFormatError) as info:
        read_trec(path)
    assert str(info.value).startswith(f"{path}:{line}: ") and words in str(info.value)
