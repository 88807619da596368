"""PTB/CoNLL-like tokenizer for raw text, in the graph and in Python.

:func:`tokenize` uses only core ``tf.strings`` ops (``unicode_transcode``,
``regex_replace``, ``split``), so it traces inside a ``tf.function`` and a
SavedModel signature and needs no tensorflow-text. :func:`tokenize_text` is
its pure-Python mirror (the same regular expressions through :mod:`re`); the
tests check both give the same tokens. RE2 has no look-around, so every rule is
a plain ``pattern -> rewrite`` on the text padded with spaces; the rules that
need a space on both sides of a token first make every run of spaces exactly
two, so adjacent tokens do not compete for one space.

Rules, in order:

1. Control characters and Unicode spaces (tab, CR, LF, NBSP, U+2000..U+200B,
   BOM...) are spaces. (In the graph, broken UTF-8 becomes U+FFFD first.)
2. Emoji runs (with skin tones, ZWJ sequences, variation selectors) are tokens.
3. ``! ?`` runs, brackets, double quotes, ``; | … « » “ ” ‘ ¿ ¡ ، ؛ ؟``, em/en dashes
   and ``...`` are split off; so is ``--``.
4. Commas split, except between digits (``1,000``); colons split when they end
   a token (``10:30`` and ``http://`` stay).
5. A period ending a token splits off, except in abbreviations: letter-period
   sequences (``U.S.``, ``e.g.``), single capitals (``J.``) and a short list
   (``Mr. Dr. Inc. Co. Jan.``...). Inner periods stay (``3.5``, ``www.x.org``).
6. Single quotes (``'`` and ``’``) split off at a token's start and end, but
   clitics stay one token: ``'s 're 've 'll 'd 'm`` and ``n't`` split off
   their word (``don't`` -> ``do n't``, ``John's`` -> ``John 's``).
7. Currency signs split from a following digit (``$5`` -> ``$ 5``); ``%``
   from a preceding digit.

Hyphens, slashes, ``@``, ``#``, ``&`` and ``_`` stay inside tokens (``Urdu-
speaking``, ``and/or``, ``@user``, ``AT&T``).

>>> " ".join(tokenize_text("Mr. O'Neil doesn't pay $3.50 for U.S. stocks, he said."))
"Mr. O'Neil does n't pay $ 3.50 for U.S. stocks , he said ."
"""

from __future__ import annotations

import re

_SPACE = (
    r"[\x00-\x20\x7f" + "\u0080-\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+"
)
_EMOJI = "\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff"
_ABBREVIATIONS = (
    "Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Mt|Inc|Ltd|Co|Corp|Bros|vs|etc|Gen|Gov|Sen|Rep|Rev|Lt|Col|"
    "Capt|Sgt|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_CLITICS = "s|re|ve|ll|d|m|S|RE|VE|LL|D|M"

# (pattern, rewrite, double the spaces first). Python's re and RE2 agree on all
# of these: no look-around, no \w/\s/\b, no $, literal non-ASCII characters.
RULES: tuple[tuple[str, str, bool], ...] = (
    ("([" + _EMOJI + "][" + _EMOJI + "\u200d\ufe0f\U0001f3fb-\U0001f3ff]*)", r" \1 ", False),
    (r"([!?]+)", r" \1 ", False),
    (r"(\.\.\.+|--)", r" \1 ", False),
    ("([;()\\[\\]{}\"|…«»“”‘¿¡—–،؛؟])", r" \1 ", False),
    (r",", r" , ", False),
    (r"([0-9]) , ([0-9])", r"\1,\2", False),
    (r"([0-9]) , ([0-9])", r"\1,\2", False),  # again, for 1,2,3 (matches cannot overlap)
    (r"([^ ]): ", r"\1 : ", False),
    (r"([^ .])\. ", r"\1 . ", False),
    # after doubling, tokens are 2 spaces apart: " X  . " leaves 1 space each side
    (r" ((?:[A-Za-z]\.)+[A-Za-z])  \. ", r" \1. ", True),
    (r" ([A-Z]|" + _ABBREVIATIONS + r")  \. ", r" \1. ", True),
    (r" (['’])([^ ])", r" \1 \2", False),
    (r" (['’])  (" + _CLITICS + ") ", r" \1\2 ", True),
    (r"([^ ])(['’]) ", r"\1 \2 ", False),
    (r"([^ ])(n['’]t|N['’]T) ", r"\1 \2 ", False),
    (r"([^ ])(['’](?:" + _CLITICS + ")) ", r"\1 \2 ", False),
    (r"([$€£¥])([0-9])", r"\1 \2", False),
    (r"([0-9])%", r"\1 %", False),
)
_COMPILED = tuple((re.compile(p), r, d) for p, r, d in RULES)
_SPACE_RE = re.compile(_SPACE)
_RUN_RE = re.compile(" +")


def tokenize_text(text: str) -> list[str]:
    """Tokens of one text, exactly as :func:`tokenize` gives them."""
    text = " " + _SPACE_RE.sub(" ", text) + " "
    for pattern, rewrite, double in _COMPILED:
        if double:
            text = _RUN_RE.sub("  ", text)
        text = pattern.sub(rewrite, text)
    return [token for token in text.split(" ") if token]


def tokenize(texts):
    """Tokenizes a batch of UTF-8 strings in the graph.

    Args:
        texts: ``tf.string`` tensor of shape ``[B]``.

    Returns:
        ``tf.RaggedTensor`` of ``tf.string``, shape ``[B, (T)]``.
    """
    import tensorflow as tf

    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    x = tf.strings.unicode_transcode(
        texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
    )
    x = tf.strings.regex_replace(x, _SPACE, " ")
    x = tf.strings.join([" ", x, " "])
    for pattern, rewrite, double in RULES:
        if double:
            x = tf.strings.regex_replace(x, " +", "  ")
        x = tf.strings.regex_replace(x, pattern, rewrite, replace_global=True)
    return tf.strings.split(x)
