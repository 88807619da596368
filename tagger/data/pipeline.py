"""tf.data input pipelines for training and evaluation.

Elements are token strings, not ids: the model maps them with
:class:`tagger.data.features.TokenFeatures` (so the exported model takes
strings) and derives its mask from ``tokens != ""``.

- :func:`tagging_dataset` yields ``(tokens, tag_ids)``: ``tf.string [B, T]``
  padded with ``""`` and ``int32 [B, T]`` padded with 0 (0 is also the id of
  the first tag; the mask tells them apart); with an auxiliary task's tags,
  ``int32 [B, T, 2]``: the tag ids and the auxiliary tag ids.
- :func:`classification_dataset` yields ``(tokens, label_ids)``:
  ``tf.string [B, T]`` and ``int32 [B]``.

Order of operations: shuffle the whole set with ``seed`` (reshuffled each
epoch, still the same sequence of epochs for the same seed), then either
bucket by length (batches of sentences with similar lengths, so padding is
small and few distinct shapes are traced) or pad each batch to its longest
sentence, then repeat and prefetch. ``deterministic=True`` keeps element order
fixed in every stage (``tf.data.Options.deterministic``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from tagger.data.examples import TaggedSentence, TextExample


def tagging_dataset(
    sentences: Sequence[TaggedSentence],
    tag_vocab: Sequence[str],
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int = 0,
    bucket: bool = True,
    deterministic: bool = True,
    repeat: bool = False,
    num_buckets: int = 16,
    auxiliary: tuple[Sequence[TaggedSentence], Sequence[str]] | None = None,
) -> tf.data.Dataset:
    """Batches of ``(tokens [B, T] string, tag_ids [B, T] int32)``; see module doc.

    ``num_buckets`` length buckets are cut at quantiles of the sentence lengths.
    ``auxiliary``: ``(sentences, tag vocabulary)`` of another task over the same
    tokens; the targets are then ``[B, T, 2]`` (tag ids, auxiliary tag ids).
    """
    ids = _tag_ids(sentences, tag_vocab, "tag")
    lengths = [len(s.tokens) for s in sentences]
    tokens = tf.RaggedTensor.from_row_lengths(
        tf.constant([t for s in sentences for t in s.tokens] or [""][:0], tf.string), lengths
    )
    target_shape = [None]
    if auxiliary is not None:
        aux_sentences, aux_vocab = auxiliary
        if [s.tokens for s in aux_sentences] != [s.tokens for s in sentences]:
            raise ValueError("the auxiliary task's sentences are not the same tokens")
        ids = np.stack([ids, _tag_ids(aux_sentences, aux_vocab, "auxiliary tag")], axis=-1)
        target_shape = [None, 2]
    tags = tf.RaggedTensor.from_row_lengths(tf.constant(ids, tf.int32), lengths)
    data = tf.data.Dataset.from_tensor_slices((tokens, tags))
    return _batch(data, lengths, batch_size, shuffle, seed, bucket and num_buckets, deterministic,
                  repeat, padded_shapes=([None], target_shape), padding_values=("", 0))


def _tag_ids(sentences: Sequence[TaggedSentence], vocab: Sequence[str], what: str) -> np.ndarray:
    """Every tag of ``sentences`` in order, as ids of ``vocab`` (``int32 [tokens]``)."""
    index = _vocab_index(vocab, what)
    try:
        return np.array([index[tag] for s in sentences for tag in s.tags], np.int32)
    except KeyError as err:
        raise ValueError(f"{what} {err.args[0]!r} is not in the {what} vocabulary") from None


def classification_dataset(
    examples: Sequence[TextExample],
    label_vocab: Sequence[str],
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int = 0,
    bucket: bool = True,
    deterministic: bool = True,
    repeat: bool = False,
    num_buckets: int = 16,
) -> tf.data.Dataset:
    """Batches of ``(tokens [B, T] string, label_ids [B] int32)``; see module doc."""
    index = _vocab_index(label_vocab, "label")
    try:
        labels = [index[x.label] for x in examples]
    except KeyError as err:
        raise ValueError(f"label {err.args[0]!r} is not in the label vocabulary") from None
    lengths = [len(x.tokens) for x in examples]
    tokens = tf.RaggedTensor.from_row_lengths(
        tf.constant([t for x in examples for t in x.tokens] or [""][:0], tf.string), lengths
    )
    data = tf.data.Dataset.from_tensor_slices((tokens, tf.constant(labels, tf.int32)))
    return _batch(data, lengths, batch_size, shuffle, seed, bucket and num_buckets, deterministic,
                  repeat, padded_shapes=([None], []), padding_values=("", 0))


def bucket_boundaries(lengths: Sequence[int], buckets: int = 16) -> list[int]:
    """Upper bounds (exclusive) of length buckets at quantiles of ``lengths``."""
    if len(lengths) == 0:
        return [2]
    qs = np.quantile(np.asarray(lengths), np.linspace(0, 1, buckets + 1)[1:-1])
    bounds = sorted({int(q) + 1 for q in qs})
    return bounds or [int(max(lengths)) + 1]


def padding_fraction(dataset: tf.data.Dataset) -> float:
    """Share of padding positions (``""`` tokens) over all batches of ``dataset``."""
    pad = total = 0
    for tokens, _ in dataset:
        pad += int(tf.reduce_sum(tf.cast(tf.equal(tokens, ""), tf.int64)))
        total += int(tf.size(tokens))
    return pad / max(total, 1)


def _vocab_index(vocab: Sequence[str], what: str) -> dict[str, int]:
    if len(set(vocab)) != len(vocab):
        raise ValueError(f"the {what} vocabulary has duplicate entries")
    return {v: i for i, v in enumerate(vocab)}


def _dense(tokens, target):
    if isinstance(tokens, tf.RaggedTensor):
        tokens = tokens.flat_values
    if isinstance(target, tf.RaggedTensor):
        target = target.flat_values
    return tokens, target


def _batch(data, lengths, batch_size, shuffle, seed, bucket, deterministic, repeat,
           padded_shapes, padding_values) -> tf.data.Dataset:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    options = tf.data.Options()
    options.deterministic = deterministic
    data = data.with_options(options)
    if shuffle and lengths:
        data = data.shuffle(len(lengths), seed=seed, reshuffle_each_iteration=True)
    # slices of a RaggedTensor come out as rank-0-ragged specs; make them plain tensors
    data = data.map(_dense, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    if bucket:
        bounds = bucket_boundaries(lengths, int(bucket))
        data = data.bucket_by_sequence_length(
            lambda tokens, _: tf.shape(tokens)[0],
            bucket_boundaries=bounds,
            bucket_batch_sizes=[batch_size] * (len(bounds) + 1),
            padded_shapes=padded_shapes,
            padding_values=padding_values,
        )
    else:
        data = data.padded_batch(batch_size, padded_shapes=padded_shapes,
                                 padding_values=padding_values)
    if repeat:
        data = data.repeat()
    return data.prefetch(tf.data.AUTOTUNE)
