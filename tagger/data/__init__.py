"""Datasets, readers, tag schemes, vocabularies and tf.data pipelines.

Entry points for model and training code::

    from tagger.data import load_dataset, tagging_dataset, TokenFeatures, build_vocab

    data = load_dataset("conll2003", "ner", data_dir="../shared/data")
    train = tagging_dataset(data.splits["train"], data.labels, batch_size=32, seed=0)
    features = TokenFeatures(build_vocab(s.tokens for s in data.splits["train"]), ...)

Modules: ``registry`` (DATASETS, load_dataset), ``conll`` / ``conllu`` /
``classification`` (release-file readers), ``schemes`` (IOB1/IOB2/BIOES),
``carve`` (dev splits), ``tokenizer`` (raw text, in-graph), ``features``
(vocabularies, TokenFeatures), ``pipeline`` (tf.data), ``tfds_local`` /
``tfds_source`` (TFDS builders and conversion), ``vectors`` (pretrained word
vectors for an embedding) and ``vector_sources`` (their streaming readers),
``inspect`` (the CLI).

Names from TensorFlow-backed modules are imported on first use, so reading
files (and ``python -m tagger inspect``) does not import TensorFlow.
May import: ``tagger.data.*`` only (and TensorFlow / TFDS lazily).
"""

from __future__ import annotations

import importlib

from tagger.data.errors import DataFormatError, DataSourceError, MissingDataError
from tagger.data.examples import TaggedSentence, TextExample
from tagger.data.registry import (
    DATASETS,
    DatasetSpec,
    LoadedDataset,
    load_dataset,
    read_release_file,
)
from tagger.data.schemes import convert, entity_spans, iob1_to_iob2
from tagger.data.tokenizer import tokenize_text

_LAZY = {
    "tokenize": "tagger.data.tokenizer",
    "TokenFeatures": "tagger.data.features",
    "build_vocab": "tagger.data.features",
    "build_char_vocab": "tagger.data.features",
    "CASING_CLASSES": "tagger.data.features",
    "tagging_dataset": "tagger.data.pipeline",
    "classification_dataset": "tagger.data.pipeline",
}

__all__ = [
    "DATASETS", "DataFormatError", "DataSourceError", "DatasetSpec", "LoadedDataset",
    "MissingDataError", "TaggedSentence", "TextExample", "convert", "entity_spans",
    "iob1_to_iob2", "load_dataset", "read_release_file", "tokenize_text", *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tagger.data' has no attribute {name!r}")
