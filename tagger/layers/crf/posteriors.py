"""Inference: per-step tag posteriors and path conditionals by forward-backward.

Computed in probability space with per-step rescaling (one small matmul per
step), so any length stays finite and every row sums to 1.
"""

from __future__ import annotations

from keras import ops

from tagger.layers.crf.steps import CONSTRAINT_PENALTY, prepare, scan_input, split_step


def _exp_transitions(transitions):
    """``W = exp(A - max A)`` ``[K, K]``: the transition weights the scans multiply by.

    The shift keeps ``W <= 1`` whatever the weights (the constant it removes
    cancels in every normalised step); a forbidden transition
    (``CONSTRAINT_PENALTY``) becomes exactly 0, and so does a weight more than
    ~87 below the largest (far outside what training produces).
    """
    transitions = ops.cast(transitions, "float32")
    return ops.exp(transitions - ops.max(transitions))


def _log_mass(x):
    """``log(x)`` of a step's probability mass; a mass that underflowed to 0 (less
    than ~e^-87 of the step's largest) gets ``CONSTRAINT_PENALTY``, as a forbidden
    tag does: finite, so a row is never all ``-inf`` (no NaN), and far below any
    emission that could lift it back."""
    return ops.maximum(ops.log(x), CONSTRAINT_PENALTY)


def _normalized_forward(emissions, mask, transitions, start):
    """Alphas ``[T, B, K]`` (time-major), each step shifted to ``max_j alpha_t[j] = 0``.

    The shift leaves the ratios within a step (all posteriors need) unchanged
    and keeps the values small however long the sentence, so float32 keeps
    their differences exact to ~1e-6 instead of to the ulp of a sum that grows
    with the length (0.008 at 1e5). Computed as a product of probabilities:

    ``alpha_t = log(exp(alpha_{t-1}) @ W) + e_t`` (``W``: :func:`_exp_transitions`,
    then the shift): with ``alpha_{t-1} <= 0`` the exponentials lie in [0, 1],
    and one small matmul per step replaces a ``[B, K, K]`` logsumexp (a third
    of the ops of the log-space step; this runs on every served sentence).
    """
    weights = _exp_transitions(transitions)
    start = ops.cast(start, "float32")

    def step(carry, x_t):
        alpha, t = carry
        e_t, m_t = split_step(x_t)
        nxt = _log_mass(ops.matmul(ops.exp(alpha), weights)) + e_t
        nxt = ops.where(t == 0, start[None] + e_t, nxt)
        nxt = nxt - ops.max(nxt, axis=1, keepdims=True)
        carry = (ops.where(m_t, nxt, alpha), t + 1)
        return carry, carry

    _, (alphas, _) = ops.scan(
        step, (ops.zeros_like(emissions[:, 0]), 0), scan_input(emissions, mask)
    )
    return alphas


def _backward(emissions, mask, transitions, end):
    """Backward algorithm. Returns betas ``[T, B, K]`` (time-major), each step shifted
    to ``max = 0`` (as :func:`_normalized_forward`: only ratios are used).

    ``beta_{L-1} = end``, ``beta_{t-1}[i] = logsumexp_j(A[i, j] + e_t[j] + beta_t[j])``;
    padded steps carry beta unchanged. Computed as :func:`_normalized_forward`
    is: ``beta_{t-1} = log(exp(e_t + beta_t - m) @ W^T)`` with ``m`` the row
    maximum, then shifted to max 0 (see :func:`_log_mass` for masses that
    underflow float32).
    """
    weights_t = ops.transpose(_exp_transitions(transitions))
    end = ops.cast(end, "float32")

    def back(beta, x_t):
        e_t, m_t = split_step(x_t)
        scores = e_t + beta
        scores = scores - ops.max(scores, axis=1, keepdims=True)
        prev = _log_mass(ops.matmul(ops.exp(scores), weights_t))
        prev = prev - ops.max(prev, axis=1, keepdims=True)
        return ops.where(m_t, prev, beta), beta

    init = ops.zeros_like(emissions[:, 0]) + end[None]
    _, betas = ops.scan(back, init, scan_input(emissions, mask), reverse=True)
    return betas


def _normalized_exp(scores, axis=-1):
    """``softmax`` of log scores; the max is taken out first (exactly, in float32)."""
    shifted = scores - ops.max(scores, axis=axis, keepdims=True)
    return ops.exp(shifted - ops.logsumexp(shifted, axis=axis, keepdims=True))


def crf_marginals(emissions, mask, transitions, start, end):
    """Posterior marginals ``p(y_t = k | e)``, float32 ``[B, T, K]``.

    Forward-backward: ``p_t(k) ∝ exp(alpha_t[k] + beta_t[k])`` (see
    :func:`crf_posteriors`). Rows sum to 1 at real steps, 0 elsewhere.
    """
    return crf_posteriors(emissions, mask, None, transitions, start, end)[0]


def crf_posteriors(emissions, mask, tags, transitions, start, end):
    """Marginals and the path's conditionals: ``(marginals, conditionals)``, ``[B, T, K]``.

    ``marginals[b, t, k] = p(y_t = k | e)``. The posterior of a linear-chain
    CRF is a Markov chain, so a tag path also has exact step-wise conditionals
    ``conditionals[b, t, k] = p(y_t = k | y_{t-1} = tags[b, t-1], e)
    = softmax_k(A[tags_{t-1}, k] + e_t[k] + beta_t[k])`` for ``t >= 1``
    (``conditionals[:, 0] = marginals[:, 0]``); with ``tags=None`` only the
    marginals are computed (conditionals is None). Both are 0 on padding.

    Alpha and beta are shifted to max 0 at every step (only ratios within a
    step matter here), and every row is normalised by its own sum: exact in
    log space, unlike ``exp(alpha + beta - log Z)`` with alpha and beta growing
    with the sentence (in float32 a 20,000-token sentence's rows then sum to
    1 ± 0.004). Rows lie in [0, 1] and sum to 1 whatever the length and the
    batch around them.
    """
    emissions, mask, _ = prepare(emissions, mask)
    alphas = _normalized_forward(emissions, mask, transitions, start)
    betas = _backward(emissions, mask, transitions, end)
    keep = mask[:, :, None]
    marginals = ops.where(keep, ops.transpose(_normalized_exp(alphas + betas), (1, 0, 2)), 0.0)
    if tags is None:
        return marginals, None
    tags = ops.where(mask, ops.cast(tags, "int32"), 0)
    rows = ops.take(ops.cast(transitions, "float32"), tags[:, :-1], axis=0)  # [B, T-1, K]
    later = rows + emissions[:, 1:] + ops.transpose(betas, (1, 0, 2))[:, 1:]
    conditionals = ops.concatenate([marginals[:, :1], _normalized_exp(later)], axis=1)
    return marginals, ops.where(keep, conditionals, 0.0)
