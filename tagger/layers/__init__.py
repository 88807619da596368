"""Layers shared by the models: CRF head, character encoder, stacked BiRNN encoder."""

from tagger.layers.crf import CRF  # noqa: F401
