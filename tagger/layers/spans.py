"""Entity-span confidences from a tagger's posteriors, in ``keras.ops`` (graph friendly).

For a predicted entity of type ``T`` over tokens ``[i, j)`` the confidence is
the probability, under the model, that exactly this span carries exactly this
type: tags ``y_i .. y_{j-1}`` as predicted, and ``y_j`` not continuing the
entity. Both heads give the tag path's posterior as a Markov chain (a CRF's
posterior is one; softmax tags are independent), so

    P(span) = p(y_i) * prod_{i<t<j} p(y_t | y_{t-1})
              * (1 - sum_{c in C(y_{j-1})} p(y_j = c | y_{j-1}))

with ``p(y_i)`` the marginal of the first tag, ``p(y_t | y_{t-1})`` the
path's step-wise conditionals (:func:`tagger.layers.crf.crf_posteriors`;
softmax: the tag probabilities) and ``C(a)`` the tags that continue an entity
whose last tag is ``a`` (IOB2: ``I-T`` after ``B-T``/``I-T``; BIOES: none,
since ``E-T`` and ``S-T`` close the span). The last factor is 1 after the
sentence's last token. This is exact, not a product of token scores: a span
whose every tag is likely but whose boundary is not gets a low confidence.

Spans are read from the tags the way :func:`tagger.serving.text.entity_spans`
reads them: an entity starts at ``B-``/``S-``, or at ``I-``/``E-`` that does
not continue an open entity of its type, and ends before the next token that
does not continue it.
"""

from __future__ import annotations

import numpy as np
from keras import ops

_TINY = 1e-30  # floor before a log: probabilities of exactly 0 give -inf, not NaN


def span_tables(tag_names) -> dict[str, np.ndarray]:
    """Per-tag lookup tables of a tag set (IOB1/IOB2/BIOES prefixes; "O" or bare = outside).

    ``types`` (int, 0 = outside), ``begins`` (B/S/U: always starts an entity),
    ``opens`` (B/I: the next tag may continue it), ``inside`` (I/E/L: continues
    an open entity of its type), ``continues[a, b]`` (float: tag ``b`` right after
    tag ``a`` continues ``a``'s entity).
    """
    names = [str(tag) for tag in tag_names]
    prefixes, kinds = [], []
    for tag in names:
        prefix, _, kind = tag.partition("-")
        if not kind or prefix.upper() not in ("B", "I", "E", "S", "L", "U"):
            prefix, kind = "O", ""
        prefixes.append(prefix.upper())
        kinds.append(kind)
    type_ids = {kind: i + 1 for i, kind in enumerate(sorted({k for k in kinds if k}))}
    types = np.array([type_ids.get(kind, 0) for kind in kinds], dtype="int32")
    begins = np.array([p in ("B", "S", "U") for p in prefixes])
    opens = np.array([p in ("B", "I") for p in prefixes])
    inside = np.array([p in ("I", "E", "L") for p in prefixes])
    continues = (opens[:, None] & inside[None, :] & (types[:, None] == types[None, :])
                 & (types[:, None] > 0))
    return {"types": types, "begins": begins, "opens": opens, "inside": inside,
            "continues": continues.astype("float32")}


def entity_confidences(tags, marginals, conditionals, mask, tables):
    """Confidence of each predicted entity, at its first token: float32 ``[B, T]``.

    Args:
        tags: predicted tag ids, int ``[B, T]``.
        marginals: ``p(y_t = k)``, ``[B, T, K]``.
        conditionals: ``p(y_t = k | y_{t-1} = tags_{t-1})``, ``[B, T, K]``
            (for independent tags, the marginals again).
        mask: bool ``[B, T]``, True on real tokens (right-padded).
        tables: :func:`span_tables` of the tag set.

    Returns:
        ``P(span)`` (module docstring) at each entity's first token; 0 at every
        other position.
    """
    tags = ops.cast(tags, "int32")
    mask = ops.cast(mask, "bool")
    batch, steps = ops.shape(tags)[0], ops.shape(tags)[1]

    def lookup(name):
        return ops.take(ops.convert_to_tensor(tables[name]), tags)

    types = ops.where(mask, lookup("types"), 0)
    in_entity = types > 0
    prev_types = ops.pad(types, [[0, 0], [1, 0]])[:, :-1]
    prev_opens = ops.pad(lookup("opens"), [[0, 0], [1, 0]])[:, :-1]
    continuing = (in_entity & lookup("inside") & ~lookup("begins") & prev_opens
                  & ops.equal(prev_types, types))
    starts = in_entity & ~continuing
    next_continuing = ops.pad(continuing, [[0, 0], [0, 1]])[:, 1:]
    last = in_entity & ~next_continuing

    def tag_probability(probabilities):
        return ops.take_along_axis(ops.cast(probabilities, "float32"), tags[:, :, None],
                                   axis=2)[:, :, 0]

    # p(the token after t continues t's entity), from the conditionals at t + 1
    following = ops.pad(ops.cast(conditionals, "float32"), [[0, 0], [0, 1], [0, 0]])[:, 1:]
    continue_rows = ops.take(ops.convert_to_tensor(tables["continues"]), tags, axis=0)
    p_continue = ops.sum(following * continue_rows, axis=-1)
    first = ops.log(ops.maximum(tag_probability(marginals), _TINY))
    step = ops.log(ops.maximum(tag_probability(conditionals), _TINY))
    stop = ops.log(ops.maximum(1.0 - p_continue, _TINY))
    log_p = ops.where(starts, first, step) + ops.where(last, stop, 0.0)
    log_p = ops.where(in_entity, log_p, 0.0)

    # Sum log_p over each entity: entity k of row b is segment b * (T + 1) + k.
    entity = ops.cumsum(ops.cast(starts, "int32"), axis=1)
    rows = ops.arange(batch, dtype="int32")[:, None] * (steps + 1)
    segments = ops.reshape(ops.where(in_entity, rows + entity, rows), (-1,))
    totals = ops.segment_sum(ops.reshape(log_p, (-1,)), segments,
                             num_segments=batch * (steps + 1))
    per_token = ops.reshape(ops.take(totals, segments), (batch, steps))
    return ops.where(starts, ops.exp(per_token), 0.0)
