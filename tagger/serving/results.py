"""What tagging returns: ``Doc`` (tokens, tags, entities) and ``Classification``.

The same objects come from :func:`tagger.load` and are what ``serve.py``
writes: ``to_dict()`` gives exactly the fields of a JSONL record (``text``,
``tokens``, ``tags``, ``scores``, ``offsets``, ``entities``; classifiers
``text``, ``label``, ``probabilities``). No TensorFlow here.

>>> doc = Doc("Angela Merkel spoke .", ["Angela", "Merkel", "spoke", "."],
...           ["B-PER", "I-PER", "O", "O"], [0.99, 0.98, 1.0, 1.0], [0.97, 0, 0, 0])
>>> doc.entities
[Entity(text='Angela Merkel', type='PER', start=0, end=13, confidence=0.97)]
>>> doc.tokens[1]
Token(text='Merkel', start=7, end=13, tag='I-PER', probability=0.98)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property

from tagger.serving.text import align_tokens, entity_spans, looks_bio


@dataclass(frozen=True)
class Token:
    """A token, its character offsets in the text (None if not found there), tag and its
    probability."""

    text: str
    start: int | None
    end: int | None
    tag: str
    probability: float


@dataclass(frozen=True)
class Entity:
    """An entity: its text, type, character offsets and ``confidence``, the model's
    probability that exactly this span has exactly this type (None: the model does not
    give one). ``token_start`` / ``token_end`` (exclusive) index ``Doc.tokens``."""

    text: str
    type: str
    start: int | None
    end: int | None
    confidence: float | None
    token_start: int = field(default=0, repr=False)
    token_end: int = field(default=0, repr=False)

    def to_dict(self) -> dict:
        return asdict(self)


class Doc:
    """A tagged text: ``tokens``, ``tags``, ``scores``, ``offsets``, ``entities``.

    Built from the model's outputs; ``tokens`` / ``entities`` objects are made
    when first asked for, so tagging a corpus to a file never builds them.
    """

    def __init__(self, text: str, words: list[str], tags: list[str], scores: list[float],
                 entity_scores: list[float] | None = None, spans: bool = True):
        self.text, self.words, self.tags, self.scores = text, words, tags, scores
        self.entity_scores = entity_scores
        self.spans = spans  # False for tag sets without entities (POS)

    def __len__(self) -> int:
        return len(self.words)

    def __repr__(self) -> str:
        shown = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return f"Doc({shown!r}, {len(self.words)} tokens, entities={self.entities!r})"

    @cached_property
    def offsets(self) -> list[tuple[int, int] | None]:
        """``(start, end)`` of each token in ``text``; None for a token not found as is."""
        return align_tokens(self.text, self.words)

    @cached_property
    def tokens(self) -> list[Token]:
        return [Token(word, *(span or (None, None)), tag, round(float(score), 6))
                for word, span, tag, score in zip(self.words, self.offsets, self.tags,
                                                  self.scores, strict=True)]

    @cached_property
    def entities(self) -> list[Entity]:
        if not self.spans or not looks_bio(self.tags):
            return []
        found = []
        for kind, first, end in entity_spans(self.tags):
            start_span, end_span = self.offsets[first], self.offsets[end - 1]
            start = start_span[0] if start_span else None
            stop = end_span[1] if end_span else None
            surface = (self.text[start:stop] if start is not None and stop is not None
                       else " ".join(self.words[first:end]))
            confidence = (round(float(self.entity_scores[first]), 4)
                          if self.entity_scores is not None else None)
            found.append(Entity(surface, kind, start, stop, confidence, first, end))
        return found

    def to_dict(self) -> dict:
        """The JSONL record's fields (``entities`` only for span tag sets)."""
        record = {"text": self.text, "tokens": self.words, "tags": self.tags,
                  "scores": [round(s, 4) for s in self.scores],
                  "offsets": [list(span) if span else None for span in self.offsets]}
        if self.spans:
            record["entities"] = [entity.to_dict() for entity in self.entities]
        return record


@dataclass(frozen=True)
class Classification:
    """A classified text: the ``label`` and every class's probability."""

    text: str
    label: str | None
    probabilities: dict[str, float]

    @property
    def probability(self) -> float:
        """The probability of ``label`` (0 when there is none)."""
        return self.probabilities.get(self.label, 0.0) if self.label else 0.0

    def to_dict(self) -> dict:
        return {"text": self.text, "label": self.label,
                "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()}}


def make_result(text: str, result: dict, is_tagger: bool, spans: bool = True):
    """A ``Doc`` or ``Classification`` from one record's assembled model outputs."""
    if not is_tagger:
        return Classification(text, result.get("label"), result.get("probabilities", {}))
    return Doc(text, result.get("tokens", []), result.get("tags", []),
               result.get("scores", []), result.get("entity_scores"), spans)
