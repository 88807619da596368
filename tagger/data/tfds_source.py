"""The TFDS path of the registry: TFDS examples -> TaggedSentence / TextExample.

:func:`splits_from_builder` is the one conversion from a prepared TFDS
builder, used for real downloads (:func:`load_splits`) and for the local
builders of :mod:`tagger.data.tfds_local`, so a test can check that both
paths give the same examples. Per dataset:

- conll2003: ``tokens`` + the ``ner``/``pos``/``chunks`` class names; ner and
  chunk tags converted to IOB2.
- ud_english: words only: TFDS's reader keeps multiword-token ranges and empty
  nodes as tokens; they are the lines whose ``head`` is not a number.
  (TFDS ships UD 2.10; the local files here are UD 2.16.)
- sst2: ``sentence`` split on whitespace, ``label`` name; GLUE's unlabeled
  ``test`` split is left out and ``validation`` is the dev split.
- trec: ``text`` split on whitespace; label ``COARSE:fine`` (the registry
  coarsens it for the coarse task).
- imdb / ag_news: raw text tokenized with :func:`tagger.data.tokenizer.tokenize_text`
  (ag_news: title, a space, description); ``unsupervised`` left out.

TFDS's ``validation`` split is called ``dev`` here.
"""

from __future__ import annotations

from tagger.data.errors import DataSourceError
from tagger.data.examples import TaggedSentence, TextExample
from tagger.data.schemes import iob1_to_iob2

_CONLL2003_COLUMNS = {"ner": "ner", "pos": "pos", "chunk": "chunks"}
_SKIP = {"sst2": ("test",), "imdb": ("unsupervised",)}


def load_splits(name: str, task: str, tfds_name: str,
                tfds_data_dir: str | None = None) -> dict[str, list]:
    """Downloads (if needed) and converts ``tfds_name``, the TFDS release of dataset ``name``.

    Raises:
        DataSourceError: TFDS failed; the message says how to use local files.
    """
    import tensorflow_datasets as tfds

    hint = (f"without internet, put the release files in <data-dir>/{name}/ and pass "
            "--data-dir (or set TAGGER_DATA_DIR)")
    try:
        builder = tfds.builder(tfds_name, data_dir=tfds_data_dir)
        if not builder.is_prepared() and not reachable():
            # TFDS would retry its downloads for minutes before giving up
            raise DataSourceError(tfds_name, f"{name} is not prepared in the TFDS data folder "
                                             f"and the network is unreachable; {hint}")
        builder.download_and_prepare()
    except DataSourceError:
        raise
    except Exception as err:  # network, checksums, missing optional packages (conllu)...
        raise DataSourceError(
            tfds_name, f"could not get {name} from TFDS ({tfds_name}): {type(err).__name__}: "
                       f"{err}; {hint}") from err
    return splits_from_builder(name, task, builder)


# Where TFDS downloads come from (its GCS mirror; the datasets' own hosts are tried
# after it); a TCP connection within a few seconds means the network is there.
PROBE = ("storage.googleapis.com", 443)


def reachable(address: tuple[str, int] = PROBE, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``address`` opens within ``timeout`` seconds."""
    import socket

    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except OSError:  # no DNS, no route, refused, timed out
        return False


def splits_from_builder(name: str, task: str, builder) -> dict[str, list]:
    """All splits of a prepared TFDS ``builder`` as this package's examples."""
    import tensorflow_datasets as tfds

    features = builder.info.features
    splits = {}
    for tfds_split in builder.info.splits:
        if tfds_split in _SKIP.get(name, ()):
            continue
        dataset = builder.as_dataset(split=tfds_split, shuffle_files=False)
        split = "dev" if tfds_split == "validation" else tfds_split
        splits[split] = [convert_example(name, task, ex, features) for ex in tfds.as_numpy(dataset)]
    return splits


def convert_example(name: str, task: str, ex: dict, features) -> TaggedSentence | TextExample:
    """One TFDS example (NumPy values) of dataset ``name`` -> our example."""
    if name == "conll2003":
        column = _CONLL2003_COLUMNS[task]
        names = features[column].feature.names
        tags = [names[i] for i in ex[column]]
        if task != "pos":
            tags = iob1_to_iob2(tags)
        return TaggedSentence(_texts(ex["tokens"]), tuple(tags))
    if name == "ud_english":
        names = features["upos"].feature.names
        keep = [h.isdigit() for h in _texts(ex["head"])]
        tokens = [t for t, k in zip(_texts(ex["tokens"]), keep, strict=True) if k]
        if task in ("xpos", "deprel"):  # language-specific tags, relations: stored as text
            tags = [t for t, k in zip(_texts(ex[task]), keep, strict=True) if k]
        else:
            tags = [names[i] for i, k in zip(ex["upos"], keep, strict=True) if k]
        return TaggedSentence(tuple(tokens), tuple(tags))
    if name == "sst2":
        label = features["label"].names[ex["label"]]
        return TextExample(tuple(_text(ex["sentence"]).split()), label)
    if name == "trec":
        coarse = features["label-coarse"].names[ex["label-coarse"]]
        fine = features["label-fine"].names[ex["label-fine"]]
        return TextExample(tuple(_text(ex["text"]).split()), f"{coarse}:{fine}")
    from tagger.data.tokenizer import tokenize_text

    label = features["label"].names[ex["label"]]
    if name == "ag_news":
        text = f"{_text(ex['title'])} {_text(ex['description'])}"
    else:
        text = _text(ex["text"])
    return TextExample(tuple(tokenize_text(text)), label)


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _texts(values) -> tuple[str, ...]:
    return tuple(_text(v) for v in values)
