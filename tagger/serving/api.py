"""The Python API: ``tagger.load(path)`` and the models it returns.

Needs TensorFlow and an exported model only (no training code, no data)::

    import tagger
    ner = tagger.load("models/ner-conll2003")     # a model folder or one version
    doc = ner("Angela Merkel met Emmanuel Macron in Paris.")
    doc.entities     # [Entity(text='Angela Merkel', type='PER', ..., confidence=0.99), ...]
    doc.tokens       # Token(text, start, end, tag, probability) per token
    for doc in ner.tag(open("notes.txt"), batch_size=256):   # streamed, in input order
        print(doc.to_dict())                                   # the JSONL record's fields

A text (``str``) is one record, tokenized by the model's own in-graph rules;
a list of strings is one pre-tokenized sentence. Long inputs are tagged in
pieces (``max_tokens``) and put back together, as ``serve.py`` does: it runs
on this same code (``FileTagger``), so the API and the files agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from tagger.serving.batch import FileTagger, TagOptions
from tagger.serving.inputs import Unit, text_unit
from tagger.serving.model import SavedModel, load_model
from tagger.serving.results import Classification, Doc, make_result

TextOrTokens = str | Sequence[str]


def _unit(number: int, item: TextOrTokens) -> Unit:
    if isinstance(item, str):
        return text_unit(number, item.rstrip("\n"))  # lines of an open file keep their newline
    if isinstance(item, bytes):
        raise TypeError("expected str or a list of str tokens, got bytes: decode it first")
    tokens = [str(token) for token in item]
    for token in tokens:
        if not token or any(ch.isspace() for ch in token):
            raise ValueError(f"input {number}: token {token!r} is empty or holds whitespace")
    return Unit(number, " ".join(tokens), tokens=tokens,
                kind="tag" if tokens else "empty")


class LoadedModel:
    """An exported model, callable on text; see :func:`load`."""

    def __init__(self, model: SavedModel, options: TagOptions):
        self.model, self.options = model, options

    # -- what it is -------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.model.name

    @property
    def version(self) -> int:
        return self.model.version

    @property
    def path(self) -> Path:
        return self.model.path

    @property
    def task(self) -> str:
        return self.model.task

    @property
    def labels(self) -> list[str]:
        """The tags (taggers) or classes (classifiers) it outputs."""
        return list(self.model.config.get("labels") or [])

    @property
    def card(self) -> str:
        """The model card (MODEL_CARD.md), or "" when the export has none."""
        card = Path(self.path) / "assets" / "MODEL_CARD.md"
        return card.read_text(encoding="utf-8") if card.is_file() else ""

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name!r}, version={self.version}, "
                f"task={self.task!r}, path={str(self.path)!r})")

    # -- tagging ----------------------------------------------------------------
    def __call__(self, item: TextOrTokens):
        """One text (``str``) or one pre-tokenized sentence (list of ``str``)."""
        (result,) = self.tag([item])
        return result

    def tag(self, items: Iterable[TextOrTokens], batch_size: int | None = None
            ) -> Iterator[Doc | Classification]:
        """Results for many texts or token lists, lazily and in input order.

        Reads ``items`` a chunk at a time (a few thousand records), so a file
        object or a generator of any length streams through in flat memory.
        """
        options = self.options
        if batch_size is not None:
            if batch_size <= 0:
                raise ValueError(f"batch_size must be positive, got {batch_size}")
            options = dataclasses.replace(options, batch_size=batch_size)
        runner = FileTagger(self.model, options)
        units = (_unit(number, item) for number, item in enumerate(items, 1))
        try:
            for unit in runner.tag_records(units):
                yield make_result(unit.text, unit.result, self.model.is_tagger,
                                  self.model.spans)
        finally:
            runner.close()


class Tagger(LoadedModel):
    """A sequence tagger: returns :class:`~tagger.serving.results.Doc` objects."""


class Classifier(LoadedModel):
    """A sentence classifier: returns :class:`~tagger.serving.results.Classification`."""


def load(path: str | Path, *, batch_size: int = 128, max_tokens: int = 512,
         workers: int = 1) -> Tagger | Classifier:
    """Load an exported model: ``models/<name>`` (its highest version) or a version folder.

    Args:
        path: the model folder.
        batch_size: sentences per model call.
        max_tokens: longer sentences are tagged in pieces of this many tokens.
        workers: model calls in flight at once (2 keeps two cores busy on big inputs).

    Raises:
        tagger.serving.model.ModelError: no loadable SavedModel there (one-line reason).
    """
    model = load_model(path)
    options = TagOptions(batch_size=batch_size, max_tokens=max_tokens, workers=workers)
    return (Tagger if model.is_tagger else Classifier)(model, options)
