"""tf.data pipelines: shapes, padding, determinism, bucketing, coverage."""

import random
from collections import Counter

import numpy as np
import pytest
import tensorflow as tf

from tagger.data.examples import TaggedSentence, TextExample
from tagger.data.pipeline import (
    bucket_boundaries,
    classification_dataset,
    padding_fraction,
    tagging_dataset,
)

TAGS = ["B-X", "I-X", "O"]


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides the shared fixture: no Keras here, so skip its clear_session (a gc pass)."""
    yield


def sentences(n=300, seed=1):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        length = rng.choice([1, 2, 3, 5, 8, 13, 21, 34, 55])
        tokens = tuple(f"w{i}_{j}" for j in range(length))
        out.append(TaggedSentence(tokens, tuple(rng.choice(TAGS) for _ in tokens)))
    return out


def batches(ds):
    return [(t.numpy().tolist(), y.numpy().tolist()) for t, y in ds]


def test_tagging_batches_types_padding_and_coverage():
    data = sentences()
    ds = tagging_dataset(data, TAGS, batch_size=16, seed=0)
    assert ds.element_spec == (tf.TensorSpec([None, None], tf.string),
                               tf.TensorSpec([None, None], tf.int32))
    seen = []
    for tokens, tags in batches(ds):
        assert len(tokens) <= 16
        for row_tokens, row_tags in zip(tokens, tags, strict=True):
            n = sum(t != b"" for t in row_tokens)
            assert all(t == b"" for t in row_tokens[n:]) and all(y == 0 for y in row_tags[n:])
            seen.append((tuple(t.decode() for t in row_tokens[:n]),
                         tuple(TAGS[y] for y in row_tags[:n])))
    assert Counter(seen) == Counter((s.tokens, s.tags) for s in data)  # each exactly once


def test_auxiliary_tags_travel_with_their_tokens():
    data = sentences()
    rng = random.Random(5)
    other = [TaggedSentence(s.tokens, tuple(rng.choice("PQRS") for _ in s.tokens))
             for s in data]
    ds = tagging_dataset(data, TAGS, batch_size=16, seed=0, auxiliary=(other, list("PQRS")))
    assert ds.element_spec[1] == tf.TensorSpec([None, None, 2], tf.int32)
    seen = []
    for tokens, targets in ds:
        for row_tokens, row in zip(tokens.numpy().tolist(), targets.numpy(), strict=True):
            n = sum(t != b"" for t in row_tokens)
            assert not row[n:].any()  # padding: 0 in both columns
            seen.append((tuple(t.decode() for t in row_tokens[:n]),
                         tuple(TAGS[y] for y in row[:n, 0]), tuple("PQRS"[y] for y in row[:n, 1])))
    assert Counter(seen) == Counter((s.tokens, s.tags, o.tags)
                                    for s, o in zip(data, other, strict=True))
    with pytest.raises(ValueError, match="not the same tokens"):
        tagging_dataset(data, TAGS, auxiliary=(other[1:], list("PQRS")))
    with pytest.raises(ValueError, match="auxiliary tag 'S' is not in the auxiliary tag vocab"):
        tagging_dataset(data, TAGS, auxiliary=(other, list("PQR")))


def test_same_seed_same_batches_and_epochs_reshuffle():
    data = sentences()
    first = batches(tagging_dataset(data, TAGS, batch_size=8, seed=3))
    assert batches(tagging_dataset(data, TAGS, batch_size=8, seed=3)) == first
    assert batches(tagging_dataset(data, TAGS, batch_size=8, seed=4)) != first
    repeated = tagging_dataset(data, TAGS, batch_size=8, seed=3, repeat=True)
    two_epochs = batches(repeated.take(2 * len(first)))
    assert two_epochs[: len(first)] == first and two_epochs[len(first):] != first


def test_bucketing_pads_less_than_plain_batching():
    data = sentences(600)
    bucketed = padding_fraction(tagging_dataset(data, TAGS, batch_size=16))
    plain = padding_fraction(tagging_dataset(data, TAGS, batch_size=16, bucket=False))
    assert bucketed < plain / 2


def test_unshuffled_unbucketed_keeps_order():
    data = sentences(20)
    got = [row for tokens, _ in batches(tagging_dataset(data, TAGS, batch_size=6, shuffle=False,
                                                        bucket=False)) for row in tokens]
    assert [tuple(t.decode() for t in row if t) for row in got] == [s.tokens for s in data]


def test_classification_dataset():
    examples = [TextExample(tuple("abcdefgh"[: 1 + i % 8]), ["neg", "pos"][i % 2])
                for i in range(50)]
    ds = classification_dataset(examples, ["neg", "pos"], batch_size=7, seed=0)
    assert ds.element_spec == (tf.TensorSpec([None, None], tf.string),
                               tf.TensorSpec([None], tf.int32))
    labels, rows = [], 0
    for tokens, label_ids in ds:
        assert tokens.shape[0] == label_ids.shape[0]
        rows += tokens.shape[0]
        labels += label_ids.numpy().tolist()
    assert rows == 50 and Counter(labels) == {0: 25, 1: 25}
    again = [y.numpy().tolist() for _, y in classification_dataset(examples, ["neg", "pos"],
                                                                   batch_size=7, seed=0)]
    assert sum(again, []) == labels


def test_errors_and_boundaries():
    with pytest.raises(ValueError, match="tag 'B-Y' is not in the tag vocabulary"):
        tagging_dataset([TaggedSentence(("a",), ("B-Y",))], TAGS)
    with pytest.raises(ValueError, match="label 'x' is not in the label vocabulary"):
        classification_dataset([TextExample(("a",), "x")], ["y"])
    with pytest.raises(ValueError, match="batch_size"):
        tagging_dataset(sentences(3), TAGS, batch_size=0)
    bounds = bucket_boundaries([1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 10, buckets=4)
    assert bounds == sorted(set(bounds)) and all(np.diff(bounds) > 0)
    assert batches(tagging_dataset([], TAGS)) == []
