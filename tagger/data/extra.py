"""More training sentences from files (``--extra-train``).

A tagger's training split can be extended with sentences the user has
annotated, or converted from another corpus, in the dataset's own release
format (CoNLL-U for ``ud_english``, the CoNLL-2003 columns for ``conll2003``,
...), read by the same validating reader as the release files. They are
training data like the rest: their words join the vocabulary, they are
shuffled with the release's sentences, and the tag scheme conversion
(``--tag-scheme``) applies to them. Dev and test are never touched.

Their tags must be tags the dataset already has: a tag outside it is more
likely a typo or a different tag set than a new class, and fails with the
file and the sentence.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tagger.commands import comma_list
from tagger.data.errors import DataFormatError
from tagger.data.examples import count


def split_paths(spec: str) -> list[str]:
    """``"a.conllu, b.conllu"`` -> ``["a.conllu", "b.conllu"]``; ``none`` -> ``[]``."""
    return comma_list(spec, "--extra-train", "path")


def check_paths(spec: str, kind: str, auxiliary_task: str) -> None:
    """Fails fast, before any data is read: missing files, a classification dataset, or an
    auxiliary task (whose tags the extra sentences lack)."""
    paths = split_paths(spec)
    if not paths:
        return
    if kind != "tagging":
        raise ValueError("--extra-train adds tagged sentences; the dataset is a "
                         "classification dataset")
    if auxiliary_task != "none":
        raise ValueError("--extra-train cannot be combined with --auxiliary-task: the extra "
                         "sentences have no auxiliary tags")
    for path in paths:
        if not Path(path).is_file():
            raise ValueError(f"--extra-train {path}: no such file")


def add_extra_training(loaded, spec: str) -> dict:
    """Appends the sentences of each file of ``spec`` to ``loaded.splits["train"]``.

    Returns ``{path: {"sentences": n, "tokens": n, "sha256": hex}}`` (empty for
    ``none``), for the run's report and model card: the path is only meaningful on the
    machine that trained, the digest says which data it was anywhere.

    Raises:
        DataFormatError: a malformed file (from the reader, with its line), or a tag the
            dataset does not have (with the file and the sentence).
    """
    from tagger.data.registry import read_release_file

    known = set(loaded.labels)
    info = {}
    for path in split_paths(spec):
        sentences = read_release_file(loaded.name, path, loaded.task)
        for number, sentence in enumerate(sentences, start=1):
            unknown = sorted(set(sentence.tags) - known)
            if unknown:
                raise DataFormatError(
                    path, None, f"sentence {number} ({' '.join(sentence.tokens[:6])} ...) "
                    f"has tag(s) {', '.join(unknown)} that {loaded.name} {loaded.task} does not "
                    f"have ({', '.join(loaded.labels)})")
        if not sentences:
            raise DataFormatError(path, None, "no sentences to add to the training split")
        loaded.splits["train"] = list(loaded.splits["train"]) + list(sentences)
        info[path] = {**count(sentences), "sha256": file_digest(path)}
    return info


def file_digest(path: str) -> str:
    """SHA-256 of the file's bytes (hex), read in blocks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
