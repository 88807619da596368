"""Training: the forward algorithm in log space, path scores, the log-likelihood."""

from __future__ import annotations

from keras import ops

from tagger.layers.crf.steps import prepare, scan_input, split_step


def _forward(emissions, mask, transitions, start):
    """Forward algorithm in log space (training: ``log Z`` and its gradient). Returns
    alphas ``[T, B, K]`` (time-major).

    ``alpha_0 = start + e_0``;
    ``alpha_t[j] = logsumexp_i(alpha_{t-1}[i] + A[i, j]) + e_t[j]`` on real steps,
    ``alpha_t = alpha_{t-1}`` on padded ones. Posteriors use
    :func:`_normalized_forward` instead, whose steps are shifted to max 0.
    """
    transitions = ops.cast(transitions, "float32")
    start = ops.cast(start, "float32")

    def step(carry, x_t):
        alpha, t = carry
        e_t, m_t = split_step(x_t)
        nxt = ops.logsumexp(alpha[:, :, None] + transitions[None], axis=1) + e_t
        nxt = ops.where(t == 0, start[None] + e_t, nxt)
        carry = (ops.where(m_t, nxt, alpha), t + 1)
        return carry, carry

    _, (alphas, _) = ops.scan(
        step, (ops.zeros_like(emissions[:, 0]), 0), scan_input(emissions, mask)
    )
    return alphas


def crf_log_norm(emissions, mask, transitions, start, end):
    """Log partition function ``log Z`` per sequence, float32 ``[B]``."""
    emissions, mask, lengths = prepare(emissions, mask)
    alphas = _forward(emissions, mask, transitions, start)
    log_z = ops.logsumexp(alphas[-1] + ops.cast(end, "float32")[None], axis=1)
    return ops.where(lengths > 0, log_z, 0.0)


def crf_sequence_score(emissions, tags, mask, transitions, start, end):
    """Score ``s(y)`` of the tag paths ``tags`` ``[B, T]``, float32 ``[B]``.

    Tags at padded positions are ignored (any value, e.g. -1, is fine).
    """
    emissions, mask, lengths = prepare(emissions, mask)
    num_tags = ops.shape(emissions)[-1]
    tags = ops.where(mask, ops.cast(tags, "int32"), 0)
    maskf = ops.cast(mask, "float32")
    emit = ops.take_along_axis(emissions, tags[:, :, None], axis=2)[:, :, 0]
    pairs = tags[:, :-1] * num_tags + tags[:, 1:]
    trans = ops.take(ops.reshape(ops.cast(transitions, "float32"), (-1,)), pairs)
    last = ops.take_along_axis(tags, ops.maximum(lengths - 1, 0)[:, None], axis=1)[:, 0]
    score = (
        ops.sum(emit * maskf, axis=1)
        + ops.sum(trans * maskf[:, 1:] * maskf[:, :-1], axis=1)
        + ops.take(ops.cast(start, "float32"), tags[:, 0])
        + ops.take(ops.cast(end, "float32"), last)
    )
    return ops.where(lengths > 0, score, 0.0)


def crf_log_likelihood(emissions, tags, mask, transitions, start, end):
    """``log p(tags | emissions) = s(tags) - log Z``, float32 ``[B]`` (<= 0)."""
    score = crf_sequence_score(emissions, tags, mask, transitions, start, end)
    return score - crf_log_norm(emissions, mask, transitions, start, end)
