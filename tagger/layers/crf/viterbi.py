"""Decoding: the best tag path of each sequence (Viterbi)."""

from __future__ import annotations

from keras import ops

from tagger.layers.crf.steps import prepare, scan_input, split_step


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
    emissions, mask, lengths = prepare(emissions, mask)
    transitions = ops.cast(transitions, "float32")
    from_tag = ops.transpose(transitions)  # from_tag[j, i] = A[i, j]: reduce on the last axis
    start = ops.cast(start, "float32")

    def step(carry, x_t):
        delta, t = carry
        e_t, m_t = split_step(x_t)
        best = ops.max(delta[:, None, :] + from_tag[None], axis=2) + e_t
        nxt = ops.where(t == 0, start[None] + e_t, best)
        carry = (ops.where(m_t, nxt, delta), t + 1)
        return carry, carry

    steps = scan_input(emissions, mask)
    _, (deltas, _) = ops.scan(step, (ops.zeros_like(emissions[:, 0]), 0), steps)
    final = deltas[-1] + ops.cast(end, "float32")[None]

    # step t of the backtrack reads delta_{t-1} and whether step t is real and not the first
    before = ops.concatenate([ops.zeros_like(deltas[:1]), deltas[:-1]], axis=0)
    moves = ops.logical_and(mask, ops.arange(ops.shape(mask)[1])[None] > 0)
    back_input = ops.concatenate(
        [before, ops.cast(ops.transpose(moves, (1, 0)), "float32")[:, :, None]], axis=-1)

    def backtrack(tag, x_t):
        delta, m_t = split_step(x_t)
        came_from = ops.cast(ops.argmax(delta + ops.take(from_tag, tag, axis=0), axis=1), "int32")
        return ops.where(m_t[:, 0], came_from, tag), tag

    last = ops.cast(ops.argmax(final, axis=1), "int32")
    _, tags = ops.scan(backtrack, last, back_input, reverse=True)
    tags = ops.where(mask, ops.transpose(tags, (1, 0)), 0)
    return tags, ops.where(lengths > 0, ops.max(final, axis=1), 0.0)
