"""Entity-span confidences and path conditionals against brute-force enumeration."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.layers.crf import CONSTRAINT_PENALTY, crf_marginals, crf_posteriors, viterbi_decode
from tagger.layers.spans import entity_confidences, span_tables
from tagger.layers.tag_constraints import allowed_transitions
from tagger.serving.text import entity_spans
from tests.layers.test_crf import SCHEME_TAGS, all_paths, logsumexp, path_scores


def constrained(names, scheme, rng, scale=2.0):
    """Random emissions and potentials with the scheme's forbidden moves penalised."""
    K = len(names)
    A, start, end = (scale * rng.normal(size=s) for s in [(K, K), (K,), (K,)])
    if scheme:
        A, start, end = (w + np.where(ok, 0.0, CONSTRAINT_PENALTY)
                         for w, ok in zip((A, start, end), allowed_transitions(names, scheme),
                                          strict=True))
    return A.astype("float32"), start.astype("float32"), end.astype("float32")


def enumerate_spans(names, probabilities, paths, best, length):
    """{(type, i, j): P(the tag path has exactly that entity)} for the entities of ``best``."""
    wanted = set(entity_spans([names[t] for t in best[:length]]))
    totals = dict.fromkeys(wanted, 0.0)
    for path, p in zip(paths, probabilities, strict=True):
        for span in set(entity_spans([names[t] for t in path])) & wanted:
            totals[span] += p
    return totals


@pytest.mark.parametrize("scheme", ["iob2", "bioes"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crf_span_confidence_is_the_probability_of_exactly_that_span(scheme, seed):
    names = SCHEME_TAGS[scheme]
    rng = np.random.default_rng(seed)
    lengths, T, K = (5, 4, 1), 5, len(names)
    e = (2.0 * rng.normal(size=(len(lengths), T, K))).astype("float32")
    mask = np.arange(T)[None] < np.array(lengths)[:, None]
    A, start, end = constrained(names, scheme, rng)
    tags, _ = viterbi_decode(e, mask, A, start, end)
    marginals, conditionals = crf_posteriors(e, mask, tags, A, start, end)
    got = np.asarray(entity_confidences(tags, marginals, conditionals, mask, span_tables(names)))
    tags = np.asarray(tags)
    found = 0
    for b, length in enumerate(lengths):
        paths = all_paths(length, K)
        scores = path_scores(e[b].astype(np.float64), paths, A, start, end)
        probabilities = np.exp(scores - logsumexp(scores))
        expected = enumerate_spans(names, probabilities, paths, tags[b], length)
        for (_, i, _), p in expected.items():
            np.testing.assert_allclose(got[b, i], p, atol=2e-5)
        starts = {i for _, i, _ in expected}
        others = [t for t in range(T) if t not in starts]
        np.testing.assert_array_equal(got[b, others], 0.0)
        found += len(expected)
    assert found > 0  # the seeds give entities to check


def test_conditionals_are_the_posterior_markov_chain():
    names = SCHEME_TAGS["iob2"]
    rng = np.random.default_rng(3)
    e = rng.normal(size=(1, 4, 5)).astype("float32")
    mask = np.ones((1, 4), bool)
    A, start, end = constrained(names, None, rng, scale=1.0)
    tags = np.array([[1, 2, 0, 3]])
    _, conditionals = crf_posteriors(e, mask, tags, A, start, end)
    paths = all_paths(4, 5)
    probabilities = np.exp(path_scores(e[0].astype(np.float64), paths, A, start, end))
    for t in range(1, 4):
        given = paths[:, t - 1] == tags[0, t - 1]
        for k in range(5):
            expected = probabilities[given & (paths[:, t] == k)].sum() / probabilities[given].sum()
            np.testing.assert_allclose(conditionals[0, t, k], expected, rtol=1e-4, atol=1e-6)


def test_softmax_span_confidence_matches_independent_tags():
    names = SCHEME_TAGS["iob2"]
    rng = np.random.default_rng(4)
    logits = 2.0 * rng.normal(size=(1, 5, 5))
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    tags = probabilities.argmax(-1)
    mask = np.ones((1, 5), bool)
    got = np.asarray(entity_confidences(tags, probabilities.astype("float32"),
                                        probabilities.astype("float32"), mask,
                                        span_tables(names)))
    paths = all_paths(5, 5)
    path_p = np.prod(probabilities[0, np.arange(5), paths], axis=1)
    spans = entity_spans([names[t] for t in tags[0]])
    assert spans
    for _, i, j in spans:
        # the span's tags exactly as predicted, and the next tag not an I- of its type
        same = np.all(paths[:, i:j] == tags[0, i:j], axis=1)
        if j < 5:
            same &= paths[:, j] != (tags[0, j - 1] if names[tags[0, j - 1]].startswith("I")
                                    else tags[0, j - 1] + 1)
        np.testing.assert_allclose(got[0, i], path_p[same].sum(), rtol=1e-4, atol=1e-6)


def test_span_tables_read_prefixes():
    tables = span_tables(["O", "B-PER", "I-PER", "E-PER", "S-LOC", "NOUN"])
    assert tables["types"].tolist() == [0, 2, 2, 2, 1, 0]
    assert tables["begins"].tolist() == [False, True, False, False, True, False]
    assert tables["continues"][1].tolist() == [0, 0, 1, 1, 0, 0]  # after B-PER: I-PER, E-PER
    assert tables["continues"][3].sum() == 0  # E- closes its entity


def test_marginals_do_not_depend_on_the_batch_or_the_length():
    """A sentence alone and inside a batch of 128 long ones; and a 20,000-token one."""
    import tensorflow as tf

    marginals_of = tf.function(crf_marginals)  # eager scans over 20k steps take a minute
    rng = np.random.default_rng(5)
    K = 9
    A, start, end = (rng.normal(size=s).astype("float32") for s in [(K, K), (K,), (K,)])
    sentence = (3.0 * rng.normal(size=(1, 30, K))).astype("float32")
    alone = np.asarray(marginals_of(sentence, np.ones((1, 30), bool), A, start, end))
    crowd = (3.0 * rng.normal(size=(128, 400, K))).astype("float32")
    crowd[7, :30] = sentence[0]
    mask = np.ones((128, 400), bool)
    mask[7, 30:] = False
    inside = np.asarray(marginals_of(crowd, mask, A, start, end))
    np.testing.assert_allclose(inside[7, :30], alone[0], atol=1e-5)
    long = (3.0 * rng.normal(size=(1, 20_000, K))).astype("float32")
    marginals = np.asarray(marginals_of(long, np.ones((1, 20_000), bool), A, start, end))
    assert np.all((marginals >= 0) & (marginals <= 1))
    np.testing.assert_allclose(marginals.sum(-1), 1.0, atol=1e-4)
