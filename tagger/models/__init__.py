"""Functional model builders: sequence tagger and sentence classifier."""

from tagger.models.sentence_classifier import build_sentence_classifier
from tagger.models.sequence_tagger import SequenceTagger, build_sequence_tagger

__all__ = ["SequenceTagger", "build_sentence_classifier", "build_sequence_tagger"]
