"""tagger: recurrent sequence taggers and sentence classifiers for Keras 3.

Subpackages:
    cells    custom recurrent cells (CELLS, make_cell, make_rnn)
    layers   CRF and encoder layers
    models   functional model builders
    data     dataset registry, readers, vocabularies and tf.data pipelines
"""

import os

# Keras must pick the TensorFlow backend before it is first imported.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"
