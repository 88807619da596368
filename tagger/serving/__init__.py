"""Using an exported model: TensorFlow and the SavedModel, nothing from training.

Modules:
    api      ``load()``: a model folder -> a callable tagger or classifier that
             returns ``Doc`` / ``Classification`` objects (the Python API)
    model    finding versions, loading a SavedModel, calling its signatures
    text     sentence splitting, token offsets, entity spans (no TensorFlow)
    inputs   reading records from text / lines / tokens / CoNLL streams
    formats  writing records as CoNLL, TSV, JSONL or one line per entity
    batch    the file-tagging job: chunked, sorted, batched, in input order
    rest     TensorFlow Serving's REST request and response formats
    http     the HTTP server that answers them
    http_body  reading a request body within the size cap and read timeout
    repository  the models and versions a server answers for, version labels
    jobs     the file-tagging job: inputs, outputs, ``--text``
    cli      ``serve.py`` / ``python -m tagger serve``: flags, checks, signals
    outputs  output files written atomically (symlinks followed, FIFOs in place)
    results  Doc, Entity, Token, Classification

May import: ``tagger.serving.*``, ``tagger.files``, ``tagger.commands``, the
standard library, NumPy and TensorFlow (lazily where a command does not need
it). Never ``tagger.models``, ``tagger.training``, ``tagger.data`` or Keras: an
exported model is all a user of this package has.
"""
