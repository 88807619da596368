"""Tagging a corpus with Apache Beam (``python -m tagger beam``): an optional extra.

Modules:
    records   the pipeline's elements as plain Python: lines, records, error records
    handler   the RunInference ModelHandler for our SavedModels
    pipeline  the pipeline itself and its counters
    cli       ``python -m tagger beam``: flags, checks, running, the summary

May import: ``tagger.serving.*``, ``tagger.files``, ``tagger.commands``, the
standard library, TensorFlow, and ``apache_beam`` (installed by
``requirements-beam.txt``; only ``handler``, ``pipeline`` and ``cli`` after its
check import it, so ``import tagger`` and every other command work without it).
Never the training side: a Beam worker needs the exported model and
``tagger.serving``.
"""
