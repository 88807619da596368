"""The in-graph tokenizer and its Python mirror give the same tokens."""

import pytest
import tensorflow as tf

from tagger.data.tokenizer import tokenize, tokenize_text


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides the shared fixture: no Keras here, so skip its clear_session (a gc pass)."""
    yield


EXPECTED = {
    "Mr. O'Neil doesn't pay $3.50 for U.S. stocks, he said.":
        "Mr. O'Neil does n't pay $ 3.50 for U.S. stocks , he said .",
    "Prices rose 5% to 1,234,567.89 at 10:30 on Jan. 5.":
        "Prices rose 5 % to 1,234,567.89 at 10:30 on Jan. 5 .",
    "\"Quoted,\" she said: 'hello' -- and left...":
        "\" Quoted , \" she said : ' hello ' -- and left ...",
    "dogs' toys aren't J. R. R. Tolkien's": "dogs ' toys are n't J. R. R. Tolkien 's",
    "I'm we're they've she'll he'd CAN'T won't": "I 'm we 're they 've she 'll he 'd CA N'T wo n't",
    "e.g. the U.K. and U.S. (etc.)": "e.g. the U.K. and U.S. ( etc. )",
    "Urdu-speaking EU-wide and/or @user #tag AT&T": "Urdu-speaking EU-wide and/or @user #tag AT&T",
    "a,b 1,2,3 x , y": "a , b 1,2,3 x , y",
    "It’s ‘fine’": "It ’s ‘ fine ’",
    "I love it 😀😀!! 👍🏽 ok": "I love it 😀😀 !! 👍🏽 ok",
    "family: 👨‍👩‍👧 yes": "family : 👨‍👩‍👧 yes",
    "مرحبا بالعالم، كيف الحال؟": "مرحبا بالعالم ، كيف الحال ؟",
    "שלום (עולם)!": "שלום ( עולם ) !",
    "line one\r\nline two\ttab": "line one line two tab",
    "ctrl\x00nul\x07bell\x1bescape\x85nel": "ctrl nul bell escape nel",
    "non\u00a0breaking\u2009thin\u200bzero\ufeffbom": "non breaking thin zero bom",
    "¿Qué tal? ¡Bien!": "¿ Qué tal ? ¡ Bien !",
    "naïve café — fine–ish": "naïve café — fine – ish",
    "3.5. www.example.com/a?b=c": "3.5 . www.example.com/a ? b=c",
    "": "",
    "   \t\n ": "",
    "John 's book , I 'm sure": "John 's book , I 'm sure",  # already tokenized stays
    "東京は晴れ。": "東京は晴れ。",
}


def graph_tokens(texts):
    return [[t.decode("utf-8") for t in row] for row in tokenize(tf.constant(texts)).to_list()]


def test_expected_tokens():
    for text, want in EXPECTED.items():
        assert tokenize_text(text) == want.split(), text


def test_graph_and_python_agree():
    texts = list(EXPECTED) + [
        "Mrs. Smith met Dr. Jones at 5 p.m. in St. Louis.",
        "Vienna 1996-08-22 -- The EU's 15 members (excluding the U.K.) said ... no.",
        "\"'Tis\" 'twas ''quoted'' ``PTB''",
        "a. b. c. A. B.",
        "ends with Inc.", "...", "--", "'", "'s", "n't", "$", "5%", ",", ".",
        "x" * 300, "🏳️‍🌈 flag 🇩🇪",
        "mixed\ttabs\r\rand\n\nnewlines\x0bvt\x0cff",
    ]
    assert graph_tokens(texts) == [tokenize_text(t) for t in texts]


def test_invalid_utf8_in_the_graph_becomes_replacement_chars():
    tokens = tokenize(tf.constant([b"caf\xc3 ok", b"\xff\xfe"])).to_list()
    assert tokens[0][1] == b"ok" and "\ufffd" in tokens[0][0].decode("utf-8")
    assert len(tokens[1]) == 1


def test_traceable_in_tf_function_with_shape():
    fn = tf.function(tokenize, input_signature=[tf.TensorSpec([None], tf.string)])
    out = fn(tf.constant(["Hello, world!", ""]))
    assert isinstance(out, tf.RaggedTensor)
    assert out.to_list() == [[b"Hello", b",", b"world", b"!"], []]
    assert out.shape.rank == 2
