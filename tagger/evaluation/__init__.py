"""Scoring models: metrics, prediction over a dataset, calibration, ``python -m tagger evaluate``.

Modules:
    metrics      entity F1 (seqeval), token accuracy, classification scores
                 (scikit-learn), text reports and plots
    predict      running a Keras model over a dataset and scoring it
    calibration  expected calibration error, reliability diagrams,
                 temperature fitting for entity confidences
    cli          ``python -m tagger evaluate``: an exported model on a release file

May import: ``tagger.data`` and ``tagger.serving.model`` (the CLI scores
exported models); never ``tagger.training``.
"""
