"""A tag lexicon: what tags each word took in other annotated text (``--lexicon``).

A type-level feature (Sagot & Martínez Alonso 2017): for every word of the
model's vocabulary, the share of each lexicon tag among that word's
occurrences in the lexicon's sources,

    lex(w)_k = n(w, k) / Σ_j n(w, j)      (a zero row for words the lexicon lacks),

is fed beside the word's vector. It tells a tagger trained on 200k tokens of
web text what a further 400k tokens of news say about a word it saw a few
times, or never: "monitoring" was NN 31 times and VBG 12 times.

Sources (comma-separated, mixed freely):

- ``DATASET:TASK``: the training split of a tagging task of a known dataset
  (e.g. ``conll2000:pos,conll2003:pos``: the Penn Treebank tags of WSJ and
  Reuters text). Only training splits are read, never dev or test; where a
  dataset has no dev file (CoNLL-2000), that is what its dev carve leaves.
- a path to a lexicon file: one entry per line, ``word<TAB>tag`` or
  ``word<TAB>tag<TAB>count`` (count 1 when left out); blank lines and lines
  starting with ``#`` are skipped.

Keys go through the in-graph normalisation (lowercase, digits to 0), so
"Monitoring" and "monitoring" pool their counts: casing has its own feature.
The table is a frozen weight of the model: it travels inside the SavedModel.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagger.commands import comma_list
from tagger.data.errors import DataFormatError, MissingDataError, read_lines


@dataclass
class Lexicon:
    """Tag counts per normalised word key, pooled over the sources.

    Attributes:
        tags: the tag set, sorted (column k of :meth:`matrix` is ``tags[k]``).
        counts: ``{key: Counter(tag -> occurrences)}``.
        sources: what each source gave: ``{source: {"tokens": n}}`` (counts summed).
    """

    tags: list[str]
    counts: dict[str, Counter]
    sources: dict[str, dict]

    def matrix(self, vocabulary: list[str]) -> np.ndarray:
        """``float32 [len(vocabulary) + 2, len(tags)]``, by word id (0 padding, 1 OOV,
        2.. ``vocabulary``): row ``i + 2`` is ``lex(vocabulary[i])``; padding, OOV and
        words the lexicon lacks get zeros."""
        column = {tag: k for k, tag in enumerate(self.tags)}
        table = np.zeros((len(vocabulary) + 2, len(self.tags)), np.float32)
        for i, key in enumerate(vocabulary, 2):
            counts = self.counts.get(key)
            if counts:
                total = sum(counts.values())
                for tag, n in counts.items():
                    table[i, column[tag]] = n / total
        return table


def split_sources(spec: str) -> list[str]:
    """``"a:pos, b.tsv"`` -> ``["a:pos", "b.tsv"]``; ``none`` -> ``[]``."""
    return comma_list(spec, "--lexicon", "source")


def dataset_source(source: str) -> tuple[str, str] | None:
    """``(dataset, task)`` for a ``DATASET:TASK`` source of a known dataset; None for a
    file path."""
    from tagger.data.registry import DATASETS

    name, _, task = source.partition(":")
    return (name, task) if task and name in DATASETS else None


def _named_by_flag(source: str, missing: MissingDataError) -> MissingDataError:
    """The same error, saying that ``--lexicon`` asked for it (a preset may have)."""
    return MissingDataError(missing.path, f"{missing.expected}; read for --lexicon {source}; "
                                          "--lexicon none trains without it")


def check_sources(spec: str, data_dir: str | Path | None = None) -> None:
    """Fails fast (before any data is read) on a source that cannot be read: an unknown
    task, a missing file, or a dataset with neither local files nor a TFDS release."""
    from tagger.data.registry import DATASETS, find_local_folder

    for source in split_sources(spec):
        if named := dataset_source(source):
            name, task = named
            dataset = DATASETS[name]
            if dataset.kind != "tagging" or task not in dataset.tasks:
                raise ValueError(f"--lexicon {source}: {name} has no tagging task {task!r} "
                                 f"(it has {', '.join(dataset.tasks)})")
            try:
                find_local_folder(name, data_dir)
            except MissingDataError as missing:
                raise _named_by_flag(source, missing) from None
        elif not Path(source).is_file():
            raise ValueError(f"--lexicon {source}: no such file, and not DATASET:TASK of a "
                             f"known dataset ({', '.join(sorted(DATASETS))})")


def read_lexicon_file(path: str | Path) -> Iterable[tuple[str, str, int]]:
    """``(word, tag, count)`` per entry of a lexicon file; bad lines name file and line."""
    for number, line in enumerate(read_lines(path, "a tag lexicon (word<TAB>tag[<TAB>count])"),
                                   start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) not in (2, 3) or not fields[0] or not fields[1].strip():
            raise DataFormatError(path, number, "expected word<TAB>tag or "
                                  f"word<TAB>tag<TAB>count, got {line.rstrip()!r}")
        count = 1
        if len(fields) == 3:
            try:
                count = int(fields[2])
            except ValueError:
                count = -1
            if count < 1:
                raise DataFormatError(path, number, "expected a count >= 1 in the third "
                                      f"field, got {fields[2]!r}")
        yield fields[0], fields[1].strip(), count


def load_lexicon(spec: str, normalize: Callable[[str], str],
                 data_dir: str | Path | None = None) -> Lexicon | None:
    """The lexicon ``--lexicon`` names (None for ``none``); see the module doc."""
    from tagger.data.registry import load_dataset

    sources = split_sources(spec)
    if not sources:
        return None
    check_sources(spec, data_dir)
    counts: dict[str, Counter] = defaultdict(Counter)
    described = {}
    for source in sources:
        if named := dataset_source(source):
            try:
                train = load_dataset(*named, data_dir).splits["train"]
            except MissingDataError as missing:  # e.g. a TFDS download that failed
                raise _named_by_flag(source, missing) from None
            entries = ((word, tag, 1) for x in train
                       for word, tag in zip(x.tokens, x.tags, strict=True))
        else:
            entries = read_lexicon_file(source)
        tokens = 0
        for word, tag, n in entries:
            counts[normalize(word)][tag] += n
            tokens += n
        if tokens == 0:
            raise DataFormatError(source, None, "expected lexicon entries, found none")
        described[source] = {"tokens": tokens}
    tags = sorted({tag for per_word in counts.values() for tag in per_word})
    return Lexicon(tags, dict(counts), described)

