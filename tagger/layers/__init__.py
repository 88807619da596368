"""Layers shared by the models.

Modules: ``crf`` (linear-chain CRF: log-space forward-backward, Viterbi,
marginals, the layer), ``tag_constraints`` (allowed transitions per tagging
scheme), ``spans`` (entity-span confidences from per-token posteriors),
``token_encoders`` (character encoder, word dropout, masked pooling).
May import: Keras, NumPy and ``tagger.cells``.
"""

from tagger.layers.crf import CRF  # noqa: F401
