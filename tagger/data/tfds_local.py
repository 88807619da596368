"""TFDS builders that read release files from a local folder (no download).

``tfds.load("conll2003")`` downloads; behind a firewall TFDS cannot use
manually placed CoNLL files (its conll2003 builder registers no checksums
with file names). These builders run TFDS's own CoNLL machinery on local
files given as the ``manual_dir`` of a :class:`tfds.download.DownloadConfig`,
and produce the same features (names and class labels) as the TFDS releases:

- :class:`LocalConll2003`: ``tokens``, ``pos``, ``chunks``, ``ner`` exactly as
  TFDS's ``conll2003`` (its builder config is reused), from those of
  ``eng.train``, ``eng.testa`` and ``eng.testb`` that are present. Tags stay as in the files
  (IOB1 in the original release); :mod:`tagger.data.registry` converts to IOB2.
  TFDS's ``ConllDatasetBuilder`` yields one empty example at the end of each
  file (the sentence after the final blank line); it is dropped here, so the
  example count equals the sentence count.
- :class:`LocalUDEnglish`: the ``universal_dependencies/en_ewt`` features
  ``idx``, ``tokens``, ``lemmas``, ``upos``, ``xpos``, ``head``, ``deprel``,
  ``text``, with every token line as TFDS's conllu-based reader keeps it:
  multiword ranges (UPOS ``_``) and empty nodes included, ``head`` is
  ``"None"`` for both. Words are the lines whose ``head`` is a number.

Example::

    builder = LocalConll2003(data_dir="/tmp/tfds")
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir="data/conll2003"))
    train = builder.as_dataset(split="train")
"""

from __future__ import annotations

import collections

import tensorflow_datasets as tfds
from etils import epath

from tagger.data.conllu import read_conllu

CONLL2003_FILES = {"train": "eng.train", "dev": "eng.testa", "test": "eng.testb"}
UD_ENGLISH_FILES = {
    "train": "en_ewt-ud-train.conllu", "dev": "en_ewt-ud-dev.conllu",
    "test": "en_ewt-ud-test.conllu",
}


def _present(manual_dir: epath.Path, files: dict[str, str]) -> dict[str, epath.Path]:
    found = {split: manual_dir / name for split, name in files.items()}
    found = {split: path for split, path in found.items() if path.exists()}
    if not found:
        raise FileNotFoundError(f"{manual_dir}: none of {', '.join(files.values())} found")
    return found


class LocalConll2003(tfds.dataset_builders.ConllDatasetBuilder, skip_registration=True):
    """TFDS ``conll2003`` built from local ``eng.*`` files (see module docstring)."""

    name = "conll2003"
    VERSION = tfds.core.Version("1.0.0")
    BUILDER_CONFIGS = list(tfds.builder_cls("conll2003").BUILDER_CONFIGS)
    MANUAL_DOWNLOAD_INSTRUCTIONS = "Put eng.train, eng.testa and eng.testb in manual_dir."

    def _info(self) -> tfds.core.DatasetInfo:
        return self.create_dataset_info(homepage="https://www.aclweb.org/anthology/W03-0419/")

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        found = _present(epath.Path(dl_manager.manual_dir), CONLL2003_FILES)
        return {split: self._generate_examples(path) for split, path in found.items()}

    def _generate_examples(self, filepaths):
        for key, example in super()._generate_examples(filepaths):
            if example["tokens"]:  # TFDS's reader ends every file with an empty example
                yield key, example


def _ud_features() -> collections.OrderedDict:
    tfds_features = tfds.builder_cls("universal_dependencies").BUILDER_CONFIGS[0].features
    names = ("idx", "tokens", "lemmas", "upos", "xpos", "head", "deprel", "text")
    return collections.OrderedDict((name, tfds_features[name]) for name in names)


class LocalUDEnglish(tfds.dataset_builders.ConllUDatasetBuilder, skip_registration=True):
    """TFDS ``universal_dependencies/en_ewt`` from local ``.conllu`` files.

    Parsed with :func:`tagger.data.conllu.read_conllu` (validating, and no
    dependency on the ``conllu`` package), laid out as TFDS's reader does.
    """

    name = "universal_dependencies"
    VERSION = tfds.core.Version("1.0.1")
    BUILDER_CONFIGS = [
        tfds.dataset_builders.ConllUBuilderConfig(
            name="en_ewt", language="en_ewt", features=_ud_features()
        )
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = "Put en_ewt-ud-{train,dev,test}.conllu in manual_dir."

    def _info(self) -> tfds.core.DatasetInfo:
        return self.create_dataset_info(homepage="https://universaldependencies.org/")

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        found = _present(epath.Path(dl_manager.manual_dir), UD_ENGLISH_FILES)
        return {split: self._generate_examples(path) for split, path in found.items()}

    def _generate_examples(self, filepaths, process_example_fn=None):
        del process_example_fn
        for key, sentence in enumerate(read_conllu(filepaths, keep_all_lines=True)):
            _, forms, lemmas, upos, xpos, heads, deprels = zip(*sentence.all_lines, strict=True)
            yield key, {
                "idx": sentence.sent_id or str(key),
                "tokens": list(forms),
                "lemmas": list(lemmas),
                "upos": list(upos),
                "xpos": list(xpos),
                "head": [h if h.isdigit() else "None" for h in heads],
                "deprel": list(deprels),
                "text": sentence.text,
            }


def build_local(builder_cls, manual_dir, data_dir) -> tfds.core.DatasetBuilder:
    """Prepares ``builder_cls`` from the files in ``manual_dir`` under ``data_dir``."""
    builder = builder_cls(data_dir=str(data_dir))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            manual_dir=str(manual_dir),
            compute_stats=tfds.download.ComputeStatsMode.SKIP,
        )
    )
    return builder
