"""Plain-Python text helpers for serving: sentence splitting, long-text pieces,
token offsets and entity spans. No TensorFlow here.

>>> split_sentences("Mr. Smith arrived. He left!  Then?")
[(0, 18), (19, 27), (29, 34)]
>>> align_tokens("Hi, “Bob”.", ["Hi", ",", '"', "Bob", '"', "."])
[(0, 2), (2, 3), None, (5, 8), None, (9, 10)]
>>> entity_spans(["B-PER", "I-PER", "O", "S-LOC", "I-ORG"])
[('PER', 0, 2), ('LOC', 3, 4), ('ORG', 4, 5)]
"""

from __future__ import annotations

import re

# Words that end with a period without ending the sentence (compared lowercased).
_ABBREVIATIONS = (
    "mr mrs ms dr prof sr jr st mt ft vs etc e.g i.e cf al inc ltd co corp bros no nos "
    "fig figs vol pp p ed eds gen gov sen rep lt col capt sgt adm rev hon est approx dept "
    "jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun"
)
ABBREVIATIONS = frozenset(_ABBREVIATIONS.split())
# A terminator run, optional closing quotes/brackets, then whitespace.
_TERMINATOR = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|[。！？]+[」』”’）]*")
_WORD = re.compile(r"\S+")
# What the exported tokenizer treats as space (tagger.data.tokenizer._SPACE: a test
# keeps the two equal): control characters such as NUL separate tokens there too,
# so offsets must skip them like spaces.
SEPARATORS = "\x00-\x20\x7f\u0080-\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
_SPACE = re.compile(rf"[\s{SEPARATORS}]*")
# Characters that would break a whitespace- or tab-separated column.
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def _ends_sentence(text: str, start: int, end: int) -> bool:
    """Whether the terminator ``text[start:end]`` closes a sentence."""
    rest = _SPACE.match(text, end).end()
    if rest >= len(text):
        return True
    if text[rest].islower():
        return False
    if text[start] != "." or end - start > 1 and text[start + 1] == ".":
        return True  # ! ? … or an ellipsis "..."
    word = text[:start].rsplit(None, 1)[-1] if text[:start].strip() else ""
    word = word.lstrip("\"'“‘([")
    if word.lower() in ABBREVIATIONS or (len(word) == 1 and word.isupper()):
        return False  # "Mr. Smith", initials "J. Smith"
    return not ("." in word and all(len(p) <= 2 for p in word.split(".")))  # "U.S", "e.g"


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of a paragraph, stripped of outer whitespace."""
    spans, begin = [], 0
    for match in _TERMINATOR.finditer(text):
        if match.group()[0] in "。！？" or _ends_sentence(text, match.start(), match.end()):
            spans.append((begin, match.end()))
            begin = match.end()
    spans.append((begin, len(text)))
    out = []
    for start, end in spans:
        start = _SPACE.match(text, start).end()
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append((start, end))
    return out


def split_pieces(text: str, max_words: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut a text into spans of at most ``max_words`` words and ``max_chars`` chars, at
    whitespace only: a single word longer than ``max_chars`` is a piece of its own, whole
    (cutting it would turn one token into two)."""
    if len(text) <= max_chars and text.count(" ") < max_words and len(text.split()) <= max_words:
        return [(0, len(text))]
    pieces, start, end, words = [], None, 0, 0
    for match in _WORD.finditer(text):
        w_start, w_end = match.span()
        if w_end - w_start > max_chars:  # a huge "word": a piece of its own
            if start is not None:
                pieces.append((start, end))
                start, words = None, 0
            pieces.append((w_start, w_end))
            continue
        if start is not None and (words >= max_words or w_end - start > max_chars):
            pieces.append((start, end))
            start, words = None, 0
        if start is None:
            start = w_start
        end, words = w_end, words + 1
    if start is not None:
        pieces.append((start, end))
    return pieces


def align_tokens(text: str, tokens: list[str]) -> list[tuple[int, int] | None]:
    """Character span of each token in ``text``, found left to right.

    Tokens the model normalised (and that are not in the text) get ``None``;
    matching resumes at the next token that is found close after them.
    """
    spans: list[tuple[int, int] | None] = []
    pos, slack = 0, 0  # slack: characters possibly owned by unmatched tokens
    for token in tokens:
        found = -1
        if token:
            here = _SPACE.match(text, pos).end()
            if text.startswith(token, here):
                found = here
            elif slack:
                found = text.find(token, here, here + slack + len(token) + 8)
            if found < 0 and text[here:here + len(token)].lower() == token.lower():
                found = here
        if found < 0:
            spans.append(None)
            slack += len(token) + 4
            continue
        spans.append((found, found + len(token)))
        pos, slack = found + len(token), 0
    return spans


def entity_spans(tags: list[str]) -> list[tuple[str, int, int]]:
    """(type, first token, end token exclusive) of the entities in BIO/IOB1/BIOES tags."""
    spans: list[tuple[str, int, int]] = []
    current: list | None = None  # [type, start]
    for i, tag in enumerate(tags):
        prefix, _, kind = (tag or "O").partition("-")
        if not kind:  # "O", or an IO-style tag without prefix
            prefix, kind = ("O", "") if prefix in ("O", "") else ("I", prefix)
        prefix = prefix.upper()
        if prefix == "O" or prefix in ("B", "S", "U") or current is None or current[0] != kind:
            if current is not None:
                spans.append((current[0], current[1], i))
            current = None if prefix == "O" else [kind, i]
        if current is not None and prefix in ("E", "L", "S", "U"):
            spans.append((current[0], current[1], i + 1))
            current = None
    if current is not None:
        spans.append((current[0], current[1], len(tags)))
    return spans


def looks_bio(tags: list[str]) -> bool:
    """Whether tags carry span prefixes (B-, I-, E-, S-, L-, U-)."""
    return any(len(t) > 2 and t[1] == "-" and t[0] in "BIESLU" for t in tags)


def safe_field(value: str, empty: str = "_") -> str:
    """A token or text safe for one whitespace/tab-separated column."""
    if value and value.isprintable() and " " not in value:  # fast path: nothing to replace
        return value
    return _UNSAFE.sub("\ufffd", value) if value else empty


def safe_text(value: str) -> str:
    """A text for a tab-separated column: separators and controls become spaces."""
    return _UNSAFE.sub(" ", value)
