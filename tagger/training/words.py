"""What a run learns from: the tag scheme, the word vocabulary and its vectors, the model.

The vocabulary is built with exactly the normalisation the in-graph lookup
applies (``tagger.data.features.normalize_token``), so every vector found
here is the one the model will look up.
"""

from __future__ import annotations

import dataclasses
from functools import partial

from tagger.config import DEFAULT_WORD_DIM, TrainConfig
from tagger.data import lexicon as tag_lexicon
from tagger.data import vectors as word_vectors
from tagger.data.examples import TaggedSentence
from tagger.data.features import (
    CASING_CLASSES,
    TokenFeatures,
    build_char_vocab,
    build_vocab,
    normalize_token,
)
from tagger.data.schemes import iob2_to_bioes
from tagger.models import build_sentence_classifier, build_sequence_tagger


def apply_tag_scheme(config: TrainConfig, loaded) -> None:
    """Span tags in the scheme the model learns (``--tag-scheme``), in place."""
    if loaded.scheme is None or config.tag_scheme == loaded.scheme:
        return
    loaded.splits = {split: [TaggedSentence(x.tokens, tuple(iob2_to_bioes(x.tags)))
                             for x in items] for split, items in loaded.splits.items()}
    loaded.labels = tuple(sorted({t for items in loaded.splits.values() for x in items
                                  for t in x.tags}))
    loaded.scheme = config.tag_scheme


def prepare_words(config: TrainConfig, loaded):
    """The word vocabulary and its initial vectors; reads ``--embeddings`` (fails early).

    Vocabulary: the training words (``--min-word-freq``), then the
    ``--embeddings-vocab`` most frequent words of the vectors that are not
    among them, all as keys of the in-graph normalisation.

    Returns:
        ``(config with word_dim resolved, vocabulary, initial matrix or None, info)``;
        ``info`` (for the report and the model card) says where the vectors
        came from and how many training and dev tokens found one.
    """
    normalize = partial(normalize_token, lowercase=config.lowercase, normalize_digits=True)
    train_tokens = [x.tokens for x in loaded.splits["train"]]
    vocabulary = build_vocab(train_tokens, config.min_word_freq, lowercase=config.lowercase,
                             normalize_digits=True)
    if config.embeddings == word_vectors.NONE:
        dim = config.word_dim or DEFAULT_WORD_DIM
        return (dataclasses.replace(config, word_dim=dim), vocabulary, None,
                {"source": "none", "dim": dim, "vocabulary": len(vocabulary)})
    vectors = word_vectors.load_vectors(config.embeddings, vocabulary, config.embeddings_vocab,
                                        normalize, expected_dim=config.word_dim)
    known = set(vocabulary)
    vocabulary += [key for key in vectors.keys if key in vectors.frequent and key not in known]
    matrix, found = word_vectors.embedding_matrix(vocabulary, vectors, seed=config.seed)
    info = {"source": config.embeddings, "description": word_vectors.describe_source(
                config.embeddings),
            "dim": vectors.dim, "rows_in_source": vectors.rows, "vocabulary": len(vocabulary),
            "training_words": len(known), "with_vector": len(found),
            "frozen": config.freeze_embeddings, "projection": config.project_embeddings,
            "static": config.static_embeddings and not config.freeze_embeddings,
            "coverage": {split: word_vectors.coverage((x.tokens for x in items), found,
                                                      normalize)
                         for split, items in loaded.splits.items() if split in ("train", "dev")}}
    cover = info["coverage"]
    print(f"embeddings: {config.embeddings}, {vectors.dim}-d; vocabulary {len(vocabulary):,} "
          f"words, {len(found):,} with a vector; token coverage " + ", ".join(
              f"{split} {c['token_coverage']:.1%}" for split, c in cover.items()), flush=True)
    return dataclasses.replace(config, word_dim=vectors.dim), vocabulary, matrix, info


def prepare_lexicon(config: TrainConfig, loaded, vocabulary):
    """The ``--lexicon`` table over ``vocabulary`` (``float32 [vocab, tags]``), and its info.

    Returns ``(None, None)`` for ``--lexicon none``. ``info`` (for the report and
    the model card) names the sources, the tag set and the share of training and
    dev tokens whose word has a lexicon row.
    """
    normalize = partial(normalize_token, lowercase=config.lowercase, normalize_digits=True)
    lexicon = tag_lexicon.load_lexicon(config.lexicon, normalize, config.data_dir)
    if lexicon is None:
        return None, None
    matrix = lexicon.matrix(vocabulary)
    with_row = set(vocabulary) & lexicon.counts.keys()
    info = {"sources": lexicon.sources, "tags": lexicon.tags, "words": len(lexicon.counts),
            "vocabulary_rows": len(with_row),
            "token_coverage": {split: word_vectors.coverage(
                (x.tokens for x in items), with_row, normalize)["token_coverage"]
                for split, items in loaded.splits.items() if split in ("train", "dev")}}
    print(f"lexicon: {len(lexicon.counts):,} words, {len(lexicon.tags)} tags; "
          f"{info['vocabulary_rows']:,} vocabulary words have a row; token coverage " +
          ", ".join(f"{split} {c:.1%}" for split, c in info["token_coverage"].items()),
          flush=True)
    return matrix, info


def build_model(config: TrainConfig, loaded, vocabulary, initial=None, fine_labels=None,
                auxiliary_tags=None, lexicon=None):
    """The task's model over ``vocabulary`` and its initial vectors (:func:`prepare_words`).

    ``fine_labels``: ``{fine label: class}`` for a classifier that learns fine labels;
    ``auxiliary_tags``: the tag vocabulary of a tagger's auxiliary task;
    ``lexicon``: the ``--lexicon`` table (:func:`prepare_lexicon`).
    """
    train_tokens = [x.tokens for x in loaded.splits["train"]]
    features = TokenFeatures(
        vocabulary, build_char_vocab(train_tokens),
        lowercase=config.lowercase, normalize_digits=True,
        distinct=True, name="token_features")
    features.casing_vocab_size = len(CASING_CLASSES)
    if loaded.kind == "tagging":
        return build_sequence_tagger(config, features, loaded.labels, loaded.scheme, initial,
                                     auxiliary_tags, lexicon)
    return build_sentence_classifier(config, features, loaded.labels, initial, fine_labels,
                                     lexicon)


