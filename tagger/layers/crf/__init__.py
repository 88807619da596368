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

Modules: ``steps`` (input preparation shared by the recursions),
``likelihood`` (training), ``posteriors`` (forward-backward), ``viterbi``
(decoding), ``layer`` (the Keras layer). May import: Keras, NumPy and
``tagger.layers.tag_constraints``.
"""

from tagger.layers.crf.layer import CRF
from tagger.layers.crf.likelihood import crf_log_likelihood, crf_log_norm, crf_sequence_score
from tagger.layers.crf.posteriors import crf_marginals, crf_posteriors
from tagger.layers.crf.steps import CONSTRAINT_PENALTY
from tagger.layers.crf.viterbi import viterbi_decode

__all__ = ["CONSTRAINT_PENALTY", "CRF", "crf_log_likelihood", "crf_log_norm", "crf_marginals",
           "crf_posteriors", "crf_sequence_score", "viterbi_decode"]
