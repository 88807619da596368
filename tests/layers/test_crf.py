"""CRF tests against brute-force enumeration of all tag paths in NumPy."""

from __future__ import annotations

import itertools
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tagger.layers.crf import (
    CRF,
    crf_log_likelihood,
    crf_log_norm,
    crf_marginals,
    crf_sequence_score,
    viterbi_decode,
)
from tagger.layers.tag_constraints import allowed_transitions

# --------------------------------------------------------------------------- references


def all_paths(length, num_tags):
    """Every tag path of ``length`` steps, ``[num_tags**length, length]``."""
    paths = list(itertools.product(range(num_tags), repeat=length))
    return np.array(paths, dtype=int).reshape(num_tags**length, length)


def path_scores(e, paths, A, start, end):
    """Docstring equation: start + emissions + transitions + end, float64."""
    if paths.shape[1] == 0:
        return np.zeros(len(paths))
    steps = np.arange(paths.shape[1])
    return (
        start[paths[:, 0]]
        + e[steps, paths].sum(axis=1)
        + A[paths[:, :-1], paths[:, 1:]].sum(axis=1)
        + end[paths[:, -1]]
    )


def logsumexp(x):
    peak = np.max(x)
    return peak + np.log(np.sum(np.exp(x - peak)))


def enumerate_crf(e, mask, A, start, end):
    """Per sequence: log Z, best path, best score, marginals [T, K] (all float64)."""
    e, A, start, end = (np.asarray(x, np.float64) for x in (e, A, start, end))
    results = []
    for seq, row in zip(e, mask, strict=True):
        length = int(row.sum())
        paths = all_paths(length, e.shape[-1])
        scores = path_scores(seq, paths, A, start, end)
        probs = np.exp(scores - logsumexp(scores))
        marginals = np.zeros(seq.shape)
        for t in range(length):
            np.add.at(marginals[t], paths[:, t], probs)
        best = np.argmax(scores)
        tags = np.zeros(seq.shape[0], dtype=int)
        tags[:length] = paths[best]
        results.append((logsumexp(scores), tags, scores[best], marginals))
    return results


def make_problem(lengths, T, K, seed=0, scale=1.0):
    """Random emissions (junk on padding), right-padded mask, random potentials."""
    rng = np.random.default_rng(seed)
    e = (scale * rng.normal(size=(len(lengths), T, K))).astype("float32")
    mask = np.arange(T)[None] < np.array(lengths)[:, None]
    A, start, end = (rng.normal(size=s).astype("float32") for s in [(K, K), (K,), (K,)])
    return e, mask, A, start, end


def valid_under_scheme(names, scheme):
    """Chunk grammar, written independently of the transition matrices."""
    rename = {"L": "E", "U": "S"} if scheme == "bilou" else {}
    parts = [("O", None) if n == "O" else n.split("-", 1) for n in names]
    parts = [(rename.get(p, p), x) for p, x in parts]
    outside = ("O", None)
    for t, (prefix, kind) in enumerate(parts):
        prev = parts[t - 1] if t > 0 else outside
        nxt = parts[t + 1] if t + 1 < len(parts) else outside
        continues = prev[0] in "BI" and prev[1] == kind
        if scheme in ("iob2", "bio") and prefix == "I" and not continues:
            return False
        if scheme == "iob1" and prefix == "B" and not continues:
            return False
        if scheme in ("bioes", "bilou"):
            if prefix in "IE" and not continues:
                return False
            if prefix in "BI" and not (nxt[0] in "IE" and nxt[1] == kind):
                return False
    return True


IOB_TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
SCHEME_TAGS = {
    "iob1": IOB_TAGS,
    "iob2": IOB_TAGS,
    "bio": IOB_TAGS,
    "bioes": ["O"] + [f"{p}-{x}" for x in ("PER", "LOC") for p in "BIES"],
    "bilou": ["O"] + [f"{p}-{x}" for x in ("PER", "LOC") for p in "BILU"],
}

# ----------------------------------------------------------------------- pure functions

CASES = [((5, 3, 1, 0), 5, 3), ((4, 2, 4), 4, 4), ((1,), 1, 4)]


@pytest.mark.parametrize("lengths,T,K", CASES)
def test_log_norm_viterbi_and_marginals_match_enumeration(lengths, T, K):
    e, mask, A, start, end = make_problem(lengths, T, K, seed=K + T)
    expected = enumerate_crf(e, mask, A, start, end)
    log_z = crf_log_norm(e, mask, A, start, end)
    tags, best = viterbi_decode(e, mask, A, start, end)
    marginals = np.asarray(crf_marginals(e, mask, A, start, end))
    assert tags.dtype == "int32" and log_z.dtype == best.dtype == marginals.dtype == "float32"
    np.testing.assert_allclose(log_z, [r[0] for r in expected], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(tags, [r[1] for r in expected])
    np.testing.assert_allclose(best, [r[2] for r in expected], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(marginals, [r[3] for r in expected], atol=1e-5)
    np.testing.assert_allclose(marginals.sum(-1), mask.astype(float), atol=1e-5)


@pytest.mark.parametrize("lengths,T,K", CASES)
def test_sequence_score_and_log_likelihood_match_enumeration(lengths, T, K):
    e, mask, A, start, end = make_problem(lengths, T, K, seed=1)
    rng = np.random.default_rng(2)
    tags = np.where(mask, rng.integers(0, K, size=mask.shape), -1)  # -1 on padding
    expected_scores = [
        path_scores(seq.astype(float), row[:n][None], A, start, end)[0]
        for seq, row, n in zip(e, tags, lengths, strict=True)
    ]
    log_z = [r[0] for r in enumerate_crf(e, mask, A, start, end)]
    score = crf_sequence_score(e, tags, mask, A, start, end)
    np.testing.assert_allclose(score, expected_scores, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        crf_log_likelihood(e, tags, mask, A, start, end),
        np.array(expected_scores) - log_z,
        rtol=1e-5,
        atol=1e-5,
    )


def test_more_padding_changes_nothing():
    e, mask, A, start, end = make_problem((3, 2), 3, 4, seed=3)
    rng = np.random.default_rng(4)
    junk = (10 * rng.normal(size=(2, 4, 4))).astype("float32")
    e_long = np.concatenate([e, junk], axis=1)
    mask_long = np.concatenate([mask, np.zeros((2, 4), bool)], axis=1)
    tags = rng.integers(0, 4, size=(2, 3))
    tags_long = np.concatenate([tags, rng.integers(0, 4, size=(2, 4))], axis=1)
    args, args_long = (e, mask, A, start, end), (e_long, mask_long, A, start, end)
    np.testing.assert_allclose(crf_log_norm(*args), crf_log_norm(*args_long), rtol=1e-6)
    ll = crf_log_likelihood(e, tags, mask, A, start, end)
    ll_long = crf_log_likelihood(e_long, tags_long, mask_long, A, start, end)
    np.testing.assert_allclose(ll, ll_long, rtol=1e-6)
    (tags_short, best), (tags_pad, best_pad) = viterbi_decode(*args), viterbi_decode(*args_long)
    np.testing.assert_array_equal(tags_pad[:, 3:], 0)
    np.testing.assert_array_equal(tags_short, tags_pad[:, :3])
    np.testing.assert_allclose(best, best_pad, rtol=1e-6)
    marg, marg_pad = crf_marginals(*args), np.asarray(crf_marginals(*args_long))
    np.testing.assert_allclose(marg, marg_pad[:, :3], rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(marg_pad[:, 3:], 0)


def test_empty_sequences_give_zeros_and_finite_gradients():
    e, mask, A, start, end = make_problem((0, 1, 0), 2, 3, seed=5)
    tags = np.full((3, 2), -1)
    tags[1, 0] = 2
    e_var = tf.constant(e)
    with tf.GradientTape() as tape:
        tape.watch(e_var)
        ll = crf_log_likelihood(e_var, tags, mask, A, start, end)
    grad = tape.gradient(ll, e_var).numpy()
    np.testing.assert_array_equal(np.asarray(ll)[[0, 2]], 0)
    assert np.all(np.isfinite(ll)) and np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad[[0, 2]], 0)
    decoded, best = viterbi_decode(e, mask, A, start, end)
    np.testing.assert_array_equal(np.asarray(decoded)[[0, 2]], 0)
    np.testing.assert_array_equal(np.asarray(best)[[0, 2]], 0)


def test_gradients_match_finite_differences_and_marginals():
    e, mask, A, start, end = make_problem((3, 2), 3, 3, seed=6)
    tags = np.array([[0, 2, 1], [1, 1, -1]])
    params = [e, A, start, end]

    def reference_nll(e, A, start, end):
        log_z = [r[0] for r in enumerate_crf(e, mask, A, start, end)]
        scores = [path_scores(e[0], tags[:1, :3], A, start, end)[0]]
        scores.append(path_scores(e[1], tags[1:, :2], A, start, end)[0])
        return np.mean(np.array(log_z) - scores)

    variables = [tf.constant(p) for p in params]
    with tf.GradientTape() as tape:
        tape.watch(variables)
        nll = -tf.reduce_mean(crf_log_likelihood(variables[0], tags, mask, *variables[1:]))
    grads = tape.gradient(nll, variables)
    np.testing.assert_allclose(nll, reference_nll(*params), rtol=1e-5)
    eps = 1e-6
    for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
        numeric = np.zeros(param.shape)
        for pos in np.ndindex(param.shape):
            shifted = [p.astype(np.float64) for p in params]
            shifted[index][pos] += eps
            up = reference_nll(*shifted)
            shifted[index][pos] -= 2 * eps
            numeric[pos] = (up - reference_nll(*shifted)) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, atol=2e-5, err_msg=f"parameter {index}")
    # d log Z / d emissions are the marginals.
    with tf.GradientTape() as tape:
        tape.watch(variables)
        log_z = tf.reduce_sum(crf_log_norm(variables[0], mask, *variables[1:]))
    np.testing.assert_allclose(
        tape.gradient(log_z, variables[0]), crf_marginals(e, mask, A, start, end), atol=1e-6
    )


# -------------------------------------------------------------------------- constraints


@pytest.mark.parametrize("scheme", sorted(SCHEME_TAGS))
def test_allowed_transitions_match_chunk_grammar(scheme):
    names = SCHEME_TAGS[scheme]
    allowed, start, end = allowed_transitions(names, scheme)
    for length in range(1, 4):
        for path in all_paths(length, len(names)):
            by_masks = start[path[0]] and end[path[-1]] and allowed[path[:-1], path[1:]].all()
            assert by_masks == valid_under_scheme([names[i] for i in path], scheme), path


@pytest.mark.parametrize("scheme", ["iob1", "iob2", "bioes"])
def test_decoder_never_violates_constraints(scheme):
    names = SCHEME_TAGS[scheme]
    crf = CRF(len(names), tag_names=names, scheme=scheme, transitions_initializer="zeros")
    lengths = np.arange(1, 17) % 7
    e, mask, *_ = make_problem(lengths, 6, len(names), seed=7, scale=5.0)
    crf(e, mask=mask)
    tags, scores = crf.decode(e, mask)
    for row, n in zip(np.asarray(tags), lengths, strict=True):
        assert valid_under_scheme([names[i] for i in row[:n]], scheme), row[:n]
    assert np.all((np.asarray(scores) > 0) == mask)


def test_forbidden_paths_get_zero_probability():
    crf = CRF(len(IOB_TAGS), tag_names=IOB_TAGS, scheme="iob2")
    e, *_ = make_problem((3,), 3, len(IOB_TAGS), seed=8)
    crf.build(e.shape)
    paths = all_paths(3, len(IOB_TAGS))
    probs = np.exp(crf.log_likelihood(np.repeat(e, len(paths), axis=0), paths))
    valid = np.array([valid_under_scheme([IOB_TAGS[i] for i in p], "iob2") for p in paths])
    assert probs[~valid].max() < 1e-30
    np.testing.assert_allclose(probs[valid].sum(), 1.0, rtol=1e-5)


def test_allowed_transitions_rejects_bad_input():
    with pytest.raises(ValueError, match="'E-PER'"):
        allowed_transitions(["O", "B-PER", "E-PER"], "iob2")
    with pytest.raises(ValueError, match="'bilu'"):
        allowed_transitions(["O"], "bilu")


# -------------------------------------------------------------------------------- layer


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"num_tags": 0}, "num_tags.*0"),
        ({"num_tags": 2.5}, "2.5"),
        ({"num_tags": 2, "tag_names": ["O"]}, r"\['O'\]"),
        ({"num_tags": 2, "scheme": "iob2"}, "'iob2'.*tag_names"),
        ({"num_tags": 2, "tag_names": ["O", "B-X"], "scheme": "xyz"}, "'xyz'"),
    ],
)
def test_invalid_arguments_are_reported(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CRF(**kwargs)


def test_build_rejects_wrong_number_of_tags():
    with pytest.raises(ValueError, match="num_tags=3"):
        CRF(3).build((2, 5, 4))


def test_call_passes_emissions_and_mask_through():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    out = CRF(4)(x)
    assert out._keras_mask is not None
    e = np.random.default_rng(9).normal(size=(2, 3, 4)).astype("float32")
    np.testing.assert_array_equal(CRF(4)(e), e)


def test_loss_is_mean_negative_log_likelihood():
    e, mask, *_ = make_problem((4, 2), 4, 3, seed=10)
    crf = CRF(3)
    crf.build(e.shape)
    tags = np.random.default_rng(11).integers(0, 3, size=(2, 4))
    ll = np.asarray(crf.log_likelihood(e, tags, mask))
    np.testing.assert_allclose(crf.crf_loss(e, tags, mask), -ll.mean(), rtol=1e-6)
    np.testing.assert_allclose(
        crf.crf_loss(e, tags, mask, per_token=True), -ll.sum() / 6, rtol=1e-6
    )


def test_decode_scores_are_marginals_of_decoded_tags():
    e, mask, *_ = make_problem((4, 1, 0), 4, 3, seed=12)
    crf = CRF(3)
    crf.build(e.shape)
    tags, scores = crf.decode(e, mask)
    potentials = [np.asarray(w) for w in crf.potentials()]
    expected = enumerate_crf(e, mask, *potentials)
    np.testing.assert_array_equal(tags, [r[1] for r in expected])
    marginals = np.array([r[3] for r in expected])
    picked = np.take_along_axis(marginals, np.asarray(tags)[..., None], axis=2)[..., 0]
    np.testing.assert_allclose(scores, picked * mask, atol=1e-5)


def test_config_json_round_trip():
    crf = CRF(
        len(IOB_TAGS),
        tag_names=IOB_TAGS,
        scheme="IOB2",
        transitions_initializer=keras.initializers.RandomUniform(-0.1, 0.1, seed=1),
        transitions_regularizer="l2",
        name="crf_head",
    )
    config = crf.get_config()
    restored = CRF.from_config(json.loads(json.dumps(config)))
    assert restored.get_config() == config and config["scheme"] == "iob2"
    again = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(keras.saving.serialize_keras_object(crf)))
    )
    assert isinstance(again, CRF) and again.get_config() == config


def test_decode_traces_with_unknown_batch_and_time():
    crf = CRF(len(IOB_TAGS), tag_names=IOB_TAGS, scheme="iob2")
    crf.build((None, None, len(IOB_TAGS)))
    decode = tf.function(
        crf.decode,
        input_signature=[
            tf.TensorSpec([None, None, len(IOB_TAGS)], tf.float32),
            tf.TensorSpec([None, None], tf.bool),
        ],
    )
    for lengths, T in [((4, 2, 0), 4), ((1,), 1)]:
        e, mask, *_ = make_problem(lengths, T, len(IOB_TAGS), seed=T)
        for got, want in zip(decode(e, mask), crf.decode(e, mask), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6)
    assert len(decode.get_concrete_function().graph.as_graph_def().node) > 0


def _tiny_model(K=4):
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(12, 8, mask_zero=True)(inputs)
    x = keras.layers.Dense(K)(x)
    return keras.Model(inputs, CRF(K, name="crf")(x))


def test_keras_file_save_load_keeps_weights_and_outputs(tmp_path):
    model = _tiny_model()
    tokens = np.array([[3, 5, 7, 0], [2, 9, 0, 0]])
    path = tmp_path / "tiny.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    for a, b in zip(model.get_layer("crf").weights, loaded.get_layer("crf").weights, strict=True):
        np.testing.assert_array_equal(a, b)
    emissions = model.predict(tokens, verbose=0)
    np.testing.assert_allclose(loaded.predict(tokens, verbose=0), emissions, rtol=1e-6)
    mask = tokens > 0
    for got, want in zip(
        loaded.get_layer("crf").decode(emissions, mask),
        model.get_layer("crf").decode(emissions, mask),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_decode_exports_to_saved_model(tmp_path):
    crf = CRF(len(IOB_TAGS), tag_names=IOB_TAGS, scheme="iob2")
    crf.build((None, None, len(IOB_TAGS)))
    archive = keras.export.ExportArchive()
    archive.track(crf)
    archive.add_endpoint(
        "decode",
        crf.decode,
        input_signature=[
            tf.TensorSpec([None, None, len(IOB_TAGS)], tf.float32),
            tf.TensorSpec([None, None], tf.bool),
        ],
    )
    archive.write_out(str(tmp_path / "crf"), verbose=False)
    restored = tf.saved_model.load(str(tmp_path / "crf"))
    e, mask, *_ = make_problem((3, 1), 3, len(IOB_TAGS), seed=13)
    for got, want in zip(restored.decode(e, mask), crf.decode(e, mask), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_mixed_bfloat16_emissions_decode():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    model = _tiny_model(K=len(IOB_TAGS))
    crf = model.get_layer("crf")
    crf_constrained = CRF(len(IOB_TAGS), tag_names=IOB_TAGS, scheme="iob2")
    tokens = np.array([[3, 5, 7, 0], [2, 0, 0, 0]])
    emissions = model(tokens)
    assert emissions.dtype == "bfloat16" and crf.transitions.dtype == "float32"
    crf_constrained(emissions)
    for layer in (crf, crf_constrained):
        tags, scores = layer.decode(emissions, tokens > 0)
        assert tags.dtype == "int32" and scores.dtype == "float32"
        assert np.all(np.isfinite(scores))
        want = layer.decode(tf.cast(emissions, tf.float32), tokens > 0)
        np.testing.assert_array_equal(tags, want[0])
        assert np.isfinite(layer.crf_loss(emissions, tags, tokens > 0))


# ------------------------------------------- dynamic programming reference, long sequences


def dynamic_programming(e, mask, A, start, end):
    """Per sequence: Viterbi tags (stored backpointers) and forward-backward marginals,
    in float64 log space: the textbook recursions the fast versions must equal."""
    e, A, start, end = (np.asarray(x, np.float64) for x in (e, A, start, end))
    tags, marginals = np.zeros(mask.shape, int), np.zeros(e.shape)
    for b, row in enumerate(mask):
        L = int(row.sum())
        if L == 0:
            continue
        x = e[b, :L]
        delta, pointers = start + x[0], []
        alpha = [start + x[0]]
        for t in range(1, L):
            scores = delta[:, None] + A
            pointers.append(np.argmax(scores, axis=0))
            delta = scores.max(axis=0) + x[t]
            a = alpha[-1][:, None] + A
            alpha.append(a.max(0) + np.log(np.exp(a - a.max(0)).sum(0)) + x[t])
        path = [int(np.argmax(delta + end))]
        for p in reversed(pointers):
            path.append(int(p[path[-1]]))
        tags[b, :L] = path[::-1]
        beta = [end]
        for t in range(L - 1, 0, -1):
            s = A + (x[t] + beta[-1])[None]
            beta.append(s.max(1) + np.log(np.exp(s - s.max(1, keepdims=True)).sum(1)))
        beta = beta[::-1]
        for t in range(L):
            m = alpha[t] + beta[t]
            marginals[b, t] = np.exp(m - m.max()) / np.exp(m - m.max()).sum()
    return tags, marginals


@pytest.mark.parametrize("scale,transition_scale,scheme", [
    (1.0, 1.0, None), (10.0, 3.0, None), (4.0, 2.0, "bioes"), (25.0, 5.0, "bioes")])
def test_long_sequences_match_the_textbook_recursions(scale, transition_scale, scheme):
    """The probability-space scans and the backtrack that finds each backpointer
    again give the float64 log-space results, with wide emissions and constraints."""
    names = SCHEME_TAGS["bioes"]
    lengths = (60, 1, 37, 0, 59)
    e, mask, A, start, end = make_problem(lengths, 60, len(names), seed=3, scale=scale)
    A, start, end = A * transition_scale, start * transition_scale, end * transition_scale
    if scheme:
        crf = CRF(len(names), tag_names=names, scheme=scheme)
        crf.build((None, None, len(names)))
        crf.set_weights([A, start, end])
        A, start, end = (np.asarray(p) for p in crf.potentials())
    tags, _ = viterbi_decode(e, mask, A, start, end)
    marginals = np.asarray(crf_marginals(e, mask, A, start, end))
    want_tags, want_marginals = dynamic_programming(e, mask, A, start, end)
    np.testing.assert_array_equal(np.asarray(tags), want_tags)
    np.testing.assert_allclose(marginals, want_marginals, atol=2e-5)
    if scheme:
        assert all(valid_under_scheme([names[k] for k in row[:n]], scheme)
                   for row, n in zip(np.asarray(tags), lengths, strict=True))
