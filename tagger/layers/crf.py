"""Linear-chain conditional random field in ``keras.ops``.

Three parts, as in flair: pure functions on tensors (the math), transition
constraints for tagging schemes, and the :class:`CRF` layer that owns the
weights. For emissions ``e`` of shape ``[B, T, K]``, a tag path ``y`` of length
``L`` (the real steps; ``mask`` is right-padded) scores

    s(y) = start[y_0] + sum_{t<L} e_t[y_t] + sum_{0<t<L} A[y_{t-1}, y_t] + end[y_{L-1}]

with ``A = transitions`` (``A[i, j]``: from tag ``i`` to tag ``j``), and
``p(y | e) = exp(s(y)) / Z`` with ``log Z = logsumexp_y s(y)``. All functions
compute in float32 whatever the emission dtype, work eagerly, inside
``tf.function`` (dynamic batch and time dims, ``T >= 1``) and in SavedModels.

A sequence of length 0 (an all-False mask row) has, by definition, one empty
path of score 0: ``log Z = 0``, score 0, log-likelihood 0 (no loss), decoded
tags all 0 with best score 0 and marginals 0.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tagger.layers.tag_constraints import allowed_transitions

# Added to forbidden transitions. Finite (unlike -inf) so logsumexp and its
# gradient never meet inf - inf; exp(-1e4) is 0 in float32.
CONSTRAINT_PENALTY = -1e4


def _prepare(emissions, mask):
    """Float32 emissions, a bool mask (all True if None) and lengths [B]."""
    emissions = ops.cast(emissions, "float32")
    if mask is None:
        mask = ops.ones(ops.shape(emissions)[:2], dtype="bool")
    mask = ops.cast(mask, "bool")
    return emissions, mask, ops.sum(ops.cast(mask, "int32"), axis=1)


def _scan_input(emissions, mask):
    """Time-major ``[T, B, K + 1]``: the emissions with the mask as last channel.

    One ``xs`` tensor on purpose: Keras' TensorFlow ``scan`` cannot trace
    several ``xs`` with an unknown time dimension, and reading step ``t`` of a
    captured tensor instead makes the backward pass quadratic in ``T``.
    """
    x = ops.concatenate([emissions, ops.cast(mask, "float32")[:, :, None]], axis=-1)
    return ops.transpose(x, (1, 0, 2))


def _split(x_t):
    """Emissions ``[B, K]`` and mask ``[B, 1]`` of one step of the scan input."""
    return x_t[:, :-1], x_t[:, -1:] > 0.5


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
        e_t, m_t = _split(x_t)
        nxt = ops.logsumexp(alpha[:, :, None] + transitions[None], axis=1) + e_t
        nxt = ops.where(t == 0, start[None] + e_t, nxt)
        carry = (ops.where(m_t, nxt, alpha), t + 1)
        return carry, carry

    _, (alphas, _) = ops.scan(
        step, (ops.zeros_like(emissions[:, 0]), 0), _scan_input(emissions, mask)
    )
    return alphas


def crf_log_norm(emissions, mask, transitions, start, end):
    """Log partition function ``log Z`` per sequence, float32 ``[B]``."""
    emissions, mask, lengths = _prepare(emissions, mask)
    alphas = _forward(emissions, mask, transitions, start)
    log_z = ops.logsumexp(alphas[-1] + ops.cast(end, "float32")[None], axis=1)
    return ops.where(lengths > 0, log_z, 0.0)


def crf_sequence_score(emissions, tags, mask, transitions, start, end):
    """Score ``s(y)`` of the tag paths ``tags`` ``[B, T]``, float32 ``[B]``.

    Tags at padded positions are ignored (any value, e.g. -1, is fine).
    """
    emissions, mask, lengths = _prepare(emissions, mask)
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
        e_t, m_t = _split(x_t)
        nxt = _log_mass(ops.matmul(ops.exp(alpha), weights)) + e_t
        nxt = ops.where(t == 0, start[None] + e_t, nxt)
        nxt = nxt - ops.max(nxt, axis=1, keepdims=True)
        carry = (ops.where(m_t, nxt, alpha), t + 1)
        return carry, carry

    _, (alphas, _) = ops.scan(
        step, (ops.zeros_like(emissions[:, 0]), 0), _scan_input(emissions, mask)
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
        e_t, m_t = _split(x_t)
        scores = e_t + beta
        scores = scores - ops.max(scores, axis=1, keepdims=True)
        prev = _log_mass(ops.matmul(ops.exp(scores), weights_t))
        prev = prev - ops.max(prev, axis=1, keepdims=True)
        return ops.where(m_t, prev, beta), beta

    init = ops.zeros_like(emissions[:, 0]) + end[None]
    _, betas = ops.scan(back, init, _scan_input(emissions, mask), reverse=True)
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
    emissions, mask, _ = _prepare(emissions, mask)
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


def viterbi_decode(emissions, mask, transitions, start, end):
    """Best tag paths: ``(tags int32 [B, T], best_score float32 [B])``.

    ``delta_t[j] = max_i(delta_{t-1}[i] + A[i, j]) + e_t[j]``; padded steps
    carry ``delta``. Backtracking from ``argmax(delta_{L-1} + end)`` finds each
    step's backpointer again for the one tag it follows,
    ``y_{t-1} = argmax_i(delta_{t-1}[i] + A[i, y_t])`` (the same sums as the
    forward max, so the same ties): a ``[B, K]`` argmax per step instead of
    storing a ``[B, K, K]`` one, the costliest op of the forward pass. Padded
    steps and step 0 pass the tag through unchanged. Padded positions of
    ``tags`` are 0.
    """
    emissions, mask, lengths = _prepare(emissions, mask)
    transitions = ops.cast(transitions, "float32")
    from_tag = ops.transpose(transitions)  # from_tag[j, i] = A[i, j]: reduce on the last axis
    start = ops.cast(start, "float32")

    def step(carry, x_t):
        delta, t = carry
        e_t, m_t = _split(x_t)
        best = ops.max(delta[:, None, :] + from_tag[None], axis=2) + e_t
        nxt = ops.where(t == 0, start[None] + e_t, best)
        carry = (ops.where(m_t, nxt, delta), t + 1)
        return carry, carry

    scan_input = _scan_input(emissions, mask)
    _, (deltas, _) = ops.scan(step, (ops.zeros_like(emissions[:, 0]), 0), scan_input)
    final = deltas[-1] + ops.cast(end, "float32")[None]

    # step t of the backtrack reads delta_{t-1} and whether step t is real and not the first
    before = ops.concatenate([ops.zeros_like(deltas[:1]), deltas[:-1]], axis=0)
    moves = ops.logical_and(mask, ops.arange(ops.shape(mask)[1])[None] > 0)
    back_input = ops.concatenate(
        [before, ops.cast(ops.transpose(moves, (1, 0)), "float32")[:, :, None]], axis=-1)

    def backtrack(tag, x_t):
        delta, m_t = _split(x_t)
        came_from = ops.cast(ops.argmax(delta + ops.take(from_tag, tag, axis=0), axis=1), "int32")
        return ops.where(m_t[:, 0], came_from, tag), tag

    last = ops.cast(ops.argmax(final, axis=1), "int32")
    _, tags = ops.scan(backtrack, last, back_input, reverse=True)
    tags = ops.where(mask, ops.transpose(tags, (1, 0)), 0)
    return tags, ops.where(lengths > 0, ops.max(final, axis=1), 0.0)


@keras.saving.register_keras_serializable(package="tagger")
class CRF(keras.layers.Layer):
    """Linear-chain CRF head: transition weights, loss and decoding.

    ``call(emissions, mask=None)`` returns the emissions unchanged (and passes
    the mask on), so a functional model can output them and train with
    :meth:`crf_loss`; decoding is a separate method, usable in a serving graph.
    Forbidden transitions of ``scheme`` get ``CONSTRAINT_PENALTY`` added to
    their weights, in training and decoding alike (gold tags must follow the
    scheme, e.g. convert CoNLL-2003 IOB1 to IOB2 first or use ``"iob1"``).

    Args:
        num_tags: Number of tags ``K`` (last dim of the emissions).
        tag_names: Optional list of ``K`` tag strings ("O", "B-PER", ...).
        scheme: Optional constraint scheme, see :func:`allowed_transitions`;
            needs ``tag_names``.
        transitions_initializer: Initializer of all three weights (small
            uniform by default).
        transitions_regularizer: Optional regularizer of all three weights.

    Example:

    >>> crf = CRF(3, tag_names=["O", "B-X", "I-X"], scheme="iob2")
    >>> emissions = keras.random.normal((2, 5, 3))
    >>> mask = keras.ops.arange(5)[None] < keras.ops.array([[5], [2]])
    >>> _ = crf(emissions, mask=mask)
    >>> tags, scores = crf.decode(emissions, mask)
    >>> loss = crf.crf_loss(emissions, tags, mask)
    """

    def __init__(
        self,
        num_tags,
        tag_names=None,
        scheme=None,
        transitions_initializer="random_uniform",
        transitions_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(num_tags, bool) or not isinstance(num_tags, int | np.integer) or num_tags < 1:
            raise ValueError(f"Received an invalid value for `num_tags`: {num_tags!r}.")
        if tag_names is not None:
            tag_names = [str(name) for name in tag_names]
            if len(tag_names) != num_tags or len(set(tag_names)) != num_tags:
                raise ValueError(
                    f"`tag_names` must be {num_tags} distinct names (num_tags), "
                    f"received: {tag_names}."
                )
        if scheme is not None:
            if tag_names is None:
                raise ValueError(f"`scheme={scheme!r}` needs `tag_names`.")
            scheme = str(scheme).lower()
            self._allowed = allowed_transitions(tag_names, scheme)
        self.num_tags = int(num_tags)
        self.tag_names = tag_names
        self.scheme = scheme
        self.transitions_initializer = keras.initializers.get(transitions_initializer)
        self.transitions_regularizer = keras.regularizers.get(transitions_regularizer)
        self.supports_masking = True

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.num_tags:
            raise ValueError(
                f"CRF with num_tags={self.num_tags} got emissions of shape {input_shape}."
            )

        def weight(name, shape):
            return self.add_weight(
                name=name,
                shape=shape,
                initializer=self.transitions_initializer,
                regularizer=self.transitions_regularizer,
                autocast=False,
            )

        self.transitions = weight("transitions", (self.num_tags, self.num_tags))
        self.start_transitions = weight("start_transitions", (self.num_tags,))
        self.end_transitions = weight("end_transitions", (self.num_tags,))

    def call(self, emissions, mask=None):
        return emissions

    def compute_output_shape(self, input_shape):
        return input_shape

    def potentials(self):
        """``(transitions, start, end)`` float32, with the constraint penalty added."""
        weights = [self.transitions, self.start_transitions, self.end_transitions]
        weights = [ops.cast(w, "float32") for w in weights]
        if self.scheme is None:
            return tuple(weights)
        return tuple(
            w + ops.convert_to_tensor(np.where(ok, 0.0, CONSTRAINT_PENALTY).astype("float32"))
            for w, ok in zip(weights, self._allowed, strict=True)
        )

    def log_likelihood(self, emissions, tags, mask=None):
        """``log p(tags | emissions)`` per sequence, float32 ``[B]``."""
        return crf_log_likelihood(emissions, tags, mask, *self.potentials())

    def crf_loss(self, emissions, tags, mask=None, per_token=False):
        """Mean negative log-likelihood over sequences (or over real tokens)."""
        nll = -ops.sum(self.log_likelihood(emissions, tags, mask))
        if not per_token:
            return nll / ops.cast(ops.shape(emissions)[0], "float32")
        _, mask, lengths = _prepare(emissions, mask)
        return nll / ops.maximum(ops.cast(ops.sum(lengths), "float32"), 1.0)

    def marginals(self, emissions, mask=None):
        """Posterior ``p(y_t = k | emissions)``, float32 ``[B, T, K]``."""
        return crf_marginals(emissions, mask, *self.potentials())

    def posteriors(self, emissions, mask=None, temperature=1.0):
        """Viterbi tags and posteriors at ``temperature``: ``(tags, marginals, conditionals)``.

        ``p_T(y) ∝ exp(s(y) / T)``: dividing every score by ``T`` leaves the
        best path unchanged and softens (``T > 1``) or sharpens its
        probabilities; export uses the ``T`` fitted on dev (calibration).
        See :func:`crf_posteriors` for the two ``[B, T, K]`` tensors.
        """
        potentials = self.potentials()
        tags, _ = viterbi_decode(emissions, mask, *potentials)
        scale = 1.0 / temperature
        marginals, conditionals = crf_posteriors(
            ops.cast(emissions, "float32") * scale, mask, tags,
            *(p * scale for p in potentials))
        return tags, marginals, conditionals

    def decode(self, emissions, mask=None):
        """Viterbi tags int32 ``[B, T]`` and per-token scores float32 ``[B, T]``.

        A token's score is the marginal probability of its decoded tag (0 on
        padding), i.e. the model's confidence in that tag at that position.
        """
        potentials = self.potentials()
        tags, _ = viterbi_decode(emissions, mask, *potentials)
        marginals = crf_marginals(emissions, mask, *potentials)
        return tags, ops.take_along_axis(marginals, tags[:, :, None], axis=2)[:, :, 0]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_tags": self.num_tags,
                "tag_names": self.tag_names,
                "scheme": self.scheme,
                "transitions_initializer": keras.initializers.serialize(
                    self.transitions_initializer
                ),
                "transitions_regularizer": keras.regularizers.serialize(
                    self.transitions_regularizer
                ),
            }
        )
        return config
