"""Training a model: ``python train.py`` / ``python -m tagger train``.

Modules:
    words      the tag scheme the model learns, the word vocabulary and its
               pretrained vectors, building the model
    loop       strategy, optimizer and schedule, the run folder, ``train()``
    callbacks  dev selection with early stopping, a step limit
    report     the end-of-training report: scores, calibration, plots, metrics.json
    cli        parse flags, train, report, export

May import: ``tagger.config``, ``tagger.files``, ``tagger.data``,
``tagger.models``, ``tagger.evaluation``, ``tagger.diagnostics``,
``tagger.export``. Nothing imports ``tagger.training`` back except ``tagger.cli``.
"""
