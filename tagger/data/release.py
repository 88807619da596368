"""One file in a dataset's release format -> our examples (no registry logic).

NER and chunk columns are converted to IOB2 (CoNLL-2003's IOB1; a no-op on
IOB2 files); UD files give UPOS (or XPOS, or DEPREL) over syntactic words; SST-2 and TREC give
:class:`~tagger.data.examples.TextExample`.
"""

from __future__ import annotations

from pathlib import Path

from tagger.data.classification import read_sst2, read_trec
from tagger.data.conll import CONLL2000, CONLL2003, WNUT17, ConllLayout, read_conll
from tagger.data.conllu import read_conllu
from tagger.data.examples import TaggedSentence
from tagger.data.schemes import iob1_to_iob2

# (column, convert IOB1 -> IOB2) for each CoNLL task
_CONLL_TASKS = {
    "conll2003": (CONLL2003, {"ner": ("ner", True), "pos": ("pos", False),
                              "chunk": ("chunks", True)}),
    "conll2000": (CONLL2000, {"chunk": ("chunks", True), "pos": ("pos", False)}),
    "wnut17": (WNUT17, {"ner": ("ner", True)}),
}


def conll_columns(name: str) -> tuple[ConllLayout, dict[str, str]] | None:
    """Dataset ``name``'s CoNLL layout and the task each of its tag columns holds
    (``{"ner": "ner", "pos": "pos", "chunks": "chunk"}`` for CoNLL-2003), or None where its
    release is not CoNLL columns. What a writer of that format needs."""
    if name not in _CONLL_TASKS:
        return None
    layout, tasks = _CONLL_TASKS[name]
    return layout, {column: task for task, (column, _) in tasks.items()}


def read_file(name: str, path: str | Path, task: str) -> list:
    """Reads ``path``, a file of dataset ``name``, for ``task`` (already resolved)."""
    if name in _CONLL_TASKS:
        layout, tasks = _CONLL_TASKS[name]
        column, to_iob2 = tasks[task]
        return [
            TaggedSentence(s.columns["tokens"],
                           tuple(iob1_to_iob2(s.columns[column])) if to_iob2 else s.columns[column])
            for s in read_conll(path, layout)
        ]
    if name == "ud_english":
        column = {"pos": "upos", "xpos": "xpos", "deprel": "deprels"}[task]
        return [TaggedSentence(s.tokens, getattr(s, column)) for s in read_conllu(path)]
    if name == "sst2":
        return read_sst2(path)
    if name == "trec":
        return read_trec(path, fine=task == "fine")
    raise ValueError(f"dataset {name!r} has no local release format (TFDS only)")
