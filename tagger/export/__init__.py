"""Exporting trained models as self-contained, versioned SavedModels.

Modules:
    savedmodel  the strings-in endpoints (tokenizer, model, CRF decoding, entity
                confidences in one graph), versioned and written atomically
    card        MODEL_CARD.md
    cli         ``python -m tagger export RUN_DIR``

May import: ``tagger.data``, ``tagger.layers``, ``tagger.models`` (to rebuild a
run's graph) and ``tagger.evaluation`` (calibration); never ``tagger.training``
or ``tagger.serving``.
"""

from tagger.export.card import model_card
from tagger.export.savedmodel import export_model, next_version

__all__ = ["export_model", "model_card", "next_version"]
