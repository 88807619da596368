"""Functional model builders: sequence tagger and sentence classifier.

Importing this package registers every custom layer a saved ``.keras`` model
of ours may contain, so ``keras.saving.load_model`` finds them.

Modules: ``base`` (string-input model, token vectors shared by both),
``sequence_tagger``, ``sentence_classifier``. May import: ``tagger.cells``,
``tagger.layers``, ``tagger.data.features`` and ``tagger.config``.
"""

import tagger.data.features  # noqa: F401  (registers TokenFeatures)
import tagger.layers.crf  # noqa: F401  (registers CRF)
from tagger.models.sentence_classifier import build_sentence_classifier
from tagger.models.sequence_tagger import (
    SequenceTagger,
    build_sequence_tagger,
    rebuild_sequence_tagger,
)

__all__ = ["SequenceTagger", "build_sentence_classifier", "build_sequence_tagger",
           "rebuild_sequence_tagger"]
