"""The two example types every loader returns.

Tokens are tuples of strings exactly as in the release file (no lowercasing,
no normalization); models map them to ids with :mod:`tagger.data.features`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaggedSentence:
    """A sentence for sequence labelling: one tag per token."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]

    def __post_init__(self):
        if len(self.tokens) != len(self.tags):
            raise ValueError(
                f"{len(self.tokens)} tokens but {len(self.tags)} tags: {self.tokens[:5]!r}..."
            )


@dataclass(frozen=True)
class TextExample:
    """A text for classification: its tokens and one label."""

    tokens: tuple[str, ...]
    label: str


def labels_of(items: list) -> list[str]:
    """Every label (classification) or tag (tagging) of ``items``, in order."""
    if items and isinstance(items[0], TextExample):
        return [x.label for x in items]
    return [tag for x in items for tag in x.tags]


def count(items: list) -> dict:
    """``{"sentences"|"examples": n, "tokens": n}`` for a list of examples."""
    key = "examples" if items and isinstance(items[0], TextExample) else "sentences"
    return {key: len(items), "tokens": sum(len(x.tokens) for x in items)}
