"""tagger: recurrent sequence taggers and sentence classifiers for Keras 3.

The Python API (TensorFlow and an exported model, nothing else)::

    import tagger
    ner = tagger.load("models/ner-conll2003")
    doc = ner("Angela Merkel met Emmanuel Macron in Paris.")
    doc.entities   # [Entity(text='Angela Merkel', type='PER', ..., confidence=...), ...]

Subpackages:
    cells        custom recurrent cells (CELLS, make_cell, make_rnn)
    layers       CRF, span confidences and encoder layers
    models       functional model builders
    data         dataset registry, readers, vectors, vocabularies, tf.data pipelines
    training     the training loop, callbacks, report, ``train.py``
    evaluation   metrics, calibration, ``python -m tagger evaluate``
    serving      ``load()`` and its results, file tagging, the REST server, ``serve.py``
    diagnostics  gradient flow through time for each cell
Modules shared by all: ``config`` (TrainConfig), ``export`` (SavedModels),
``files`` (atomic writes), ``commands`` (the shared parser shape), ``cli``
(``python -m tagger``).

May import: nothing at import time (``import tagger`` stays cheap); ``load``
and the result types are imported from ``tagger.serving`` on first use.
"""

import os

# Keras must pick the TensorFlow backend before it is first imported.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"

_API = {"load": "tagger.serving.api", "Tagger": "tagger.serving.api",
        "Classifier": "tagger.serving.api", "Doc": "tagger.serving.results",
        "Entity": "tagger.serving.results", "Token": "tagger.serving.results",
        "Classification": "tagger.serving.results", "ModelError": "tagger.serving.model"}
__all__ = ["__version__", *_API]


def __getattr__(name):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'tagger' has no attribute {name!r}")
