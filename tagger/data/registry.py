"""Dataset registry: name -> spec, and :func:`load_dataset`.

=========== ======================= ============================ =====================
name        tasks (first = default) local release files          TFDS
=========== ======================= ============================ =====================
conll2003   ner, pos, chunk         eng.train/testa/testb        conll2003
conll2000   chunk, pos              train.txt, test.txt          (none)
ud_english  pos (UPOS), xpos (PTB), en_ewt-ud-{train,dev,test}   universal_dependencies/en_ewt
            deprel
wnut17      ner                     wnut17train.conll, ...       (none)
sst2        classify                train.tsv, dev.tsv           glue/sst2
trec        coarse, fine            train_5500.label, TREC_10    trec
imdb        classify                (TFDS only)                  imdb_reviews
ag_news     classify                (TFDS only)                  ag_news_subset
=========== ======================= ============================ =====================

TREC: ``coarse`` is TREC-6 (``HUM``), ``fine`` is TREC-50 (``HUM:ind``);
``classify`` is accepted as a synonym of ``coarse``. A coarse classifier may
learn from the fine labels (:func:`finer_task`, ``--train-on-fine-labels``).

Where data comes from: ``data_dir`` (``--data-dir``), else the
``TAGGER_DATA_DIR`` environment variable, each a folder with one sub-folder
per dataset (``<root>/conll2003/eng.train``; the dataset folder itself is
accepted too). An explicit ``data_dir`` without the files is an error; an
environment variable without them falls back to TFDS, which downloads.

What comes back (:class:`LoadedDataset`): splits ``train``/``dev``/``test``
where they exist. NER and chunk tags are always **IOB2** (CoNLL-2003's IOB1 is
converted; conversion is idempotent on IOB2), so CRF training and seqeval
scoring see one scheme. Where a release has no dev split it is carved from
train, deterministically (:mod:`tagger.data.carve`): conll2000 10% of train
sentences, trec 10% stratified by fine label, sst2 10% of the *sentences*
with their phrases dropped from train, and TFDS-only datasets 10% stratified.
The carve belongs to the dataset, not to a training run: every run is scored
on the carve of :data:`DEV_CARVE_SEED`, whatever its ``--seed``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from tagger.data import carve as carving
from tagger.data.errors import MissingDataError
from tagger.data.examples import TextExample, count, labels_of
from tagger.data.release import read_file

# Datasets whose training rows are phrases of sentences as well as the sentences.
PHRASE_DATASETS = ("sst2",)

# (dataset, task) -> the task whose labels refine it; a fine label's class is
# what precedes its ":" (:func:`class_of_fine_label`).
FINER_TASKS = {("trec", "coarse"): "fine"}

# Every training run's dev split is this carve, so runs with different --seed
# (weights, shuffling, dropout) are scored on the same items and their mean is a
# mean over initialisations, not over dev sets.
DEV_CARVE_SEED = 0


@dataclass(frozen=True)
class DatasetSpec:
    """What the registry knows about one dataset."""

    name: str
    kind: str  # "tagging" or "classification"
    tasks: tuple[str, ...]
    files: dict[str, str]  # split -> release file name (empty: TFDS only)
    tfds_name: str | None
    description: str
    terms: str = ""  # the data's licence terms, in a sentence (for model cards)

    def resolve_task(self, task: str | None) -> str:
        if task is None:
            return self.tasks[0]
        if self.name == "trec" and task == "classify":
            return "coarse"
        if task not in self.tasks:
            raise ValueError(
                f"dataset {self.name!r} has no task {task!r}; choose one of {list(self.tasks)}"
            )
        return task


def _spec(name, kind, tasks, files, tfds_name, description):
    return DatasetSpec(name, kind, tuple(tasks), dict(files), tfds_name, description,
                       TERMS.get(name, ""))


TERMS = {  # as the releases state them (../shared/data/README.md has the details)
    "conll2003": "Reuters RCV1 text with CoNLL-2003 annotations: licensed by Reuters/NIST for "
                 "research use only; not for commercial use or redistribution beyond the "
                 "Reuters corpus agreement.",
    "conll2000": "WSJ text (Penn Treebank) with CoNLL-2000 chunk tags: LDC licence terms "
                 "for the underlying text; research use.",
    "ud_english": "UD English-EWT: CC BY-SA 4.0.",
    "wnut17": "WNUT-17 (Twitter, Reddit, YouTube, StackExchange posts): CC BY 4.0 "
              "annotations; the posts remain under their platforms' terms.",
    "sst2": "GLUE SST-2 (Stanford Sentiment Treebank, movie reviews): as distributed with "
            "GLUE for research.",
    "trec": "TREC / UIUC question classification data: freely available for research.",
}


DATASETS: dict[str, DatasetSpec] = {s.name: s for s in (
    _spec("conll2003", "tagging", ["ner", "pos", "chunk"],
          {"train": "eng.train", "dev": "eng.testa", "test": "eng.testb"},
          "conll2003", "CoNLL-2003 English NER (Reuters); PER LOC ORG MISC"),
    _spec("conll2000", "tagging", ["chunk", "pos"], {"train": "train.txt", "test": "test.txt"},
          None, "CoNLL-2000 chunking (WSJ)"),
    _spec("ud_english", "tagging", ["pos", "xpos", "deprel"],
          {s: f"en_ewt-ud-{s}.conllu" for s in ("train", "dev", "test")},
          "universal_dependencies/en_ewt",
          "UD English-EWT, UPOS (or XPOS: Penn Treebank; or each word's dependency "
          "relation to its head) tagging"),
    _spec("wnut17", "tagging", ["ner"],
          {"train": "wnut17train.conll", "dev": "emerging.dev.conll",
           "test": "emerging.test.annotated"},
          None, "WNUT-17 emerging and rare entities (social media)"),
    _spec("sst2", "classification", ["classify"], {"train": "train.tsv", "dev": "dev.tsv"},
          "glue/sst2", "SST-2 binary sentiment (GLUE)"),
    _spec("trec", "classification", ["coarse", "fine"],
          {"train": "train_5500.label", "test": "TREC_10.label"}, "trec",
          "TREC question type: coarse (6 classes) or fine (50)"),
    _spec("imdb", "classification", ["classify"], {}, "imdb_reviews", "IMDB review sentiment"),
    _spec("ag_news", "classification", ["classify"], {}, "ag_news_subset",
          "AG News topic (title and description)"),
)}

@dataclass
class LoadedDataset:
    """A dataset ready for training: examples per split and the label vocabulary.

    Attributes:
        splits: ``train`` / ``dev`` / ``test`` (those that exist) -> examples:
            :class:`TaggedSentence` for tagging, :class:`TextExample` for
            classification.
        labels: sorted tag or label vocabulary over all splits.
        scheme: ``"IOB2"`` for span tasks (ner, chunk), else None.
        source: ``"local"`` or ``"tfds"``; ``location`` says where.
        files: per release file read: split, sentences (or examples), tokens.
        carve: how a dev split was carved, when it was (method, seed, counts).
    """

    name: str
    task: str
    kind: str
    splits: dict[str, list]
    labels: tuple[str, ...]
    scheme: str | None
    source: str
    location: str
    files: dict[str, dict] = field(default_factory=dict)
    carve: dict | None = None


def find_local_folder(name: str, data_dir: str | Path | None = None) -> Path | None:
    """The folder with ``name``'s release files, or None to use TFDS (see module doc)."""
    spec = _get(name)
    root = data_dir if data_dir is not None else os.environ.get("TAGGER_DATA_DIR")
    if not spec.files or not root:
        if spec.tfds_name is None:
            raise MissingDataError(
                f"<data-dir>/{name}/{spec.files['train']}",
                f"{name} has no TFDS release; pass --data-dir or set TAGGER_DATA_DIR",
            )
        return None
    root = Path(root)
    for folder in (root / name, root):
        if (folder / spec.files["train"]).is_file():
            return folder
    if data_dir is not None or spec.tfds_name is None:
        hint = "" if spec.tfds_name else f"; {name} has no TFDS release to fall back on"
        raise MissingDataError(root / name / spec.files["train"],
                               f"the {name} training file{hint}")
    return None


def load_dataset(
    name: str,
    task: str | None = None,
    data_dir: str | Path | None = None,
    *,
    dev_fraction: float = 0.1,
    seed: int = DEV_CARVE_SEED,
    tfds_data_dir: str | None = None,
) -> LoadedDataset:
    """Loads ``name`` for ``task`` from local release files or TFDS.

    Args:
        name: a key of :data:`DATASETS`.
        task: one of the dataset's tasks (default: its first).
        data_dir: root folder with one sub-folder per dataset.
        dev_fraction, seed: how a missing dev split is carved.
        tfds_data_dir: where TFDS keeps its data (TFDS default when None).

    Raises:
        MissingDataError, DataFormatError: missing or malformed files.
    """
    spec = _get(name)
    task = spec.resolve_task(task)
    # TREC is read with fine labels, carved by fine label, then coarsened, so the
    # coarse and fine tasks get the same split.
    read_task = "fine" if name == "trec" else task
    folder = find_local_folder(name, data_dir)
    if folder is None:
        from tagger.data import tfds_source  # imports TFDS (and TensorFlow) only when needed

        splits = tfds_source.load_splits(name, read_task, spec.tfds_name, tfds_data_dir)
        loaded = LoadedDataset(name, task, spec.kind, splits, (), None, "tfds", spec.tfds_name)
    else:
        loaded = LoadedDataset(name, task, spec.kind, {}, (), None, "local", str(folder))
        for split, file_name in spec.files.items():
            path = folder / file_name
            if split != "train" and not path.is_file():
                continue
            items = read_file(name, path, read_task)
            loaded.splits[split] = items
            loaded.files[file_name] = {"split": split, **count(items)}
    carve_dev_split(loaded, dev_fraction, seed)
    if read_task != task:
        loaded.splits = {
            split: [TextExample(x.tokens, class_of_fine_label(x.label)) for x in items]
            for split, items in loaded.splits.items()
        }
    labels = {label for items in loaded.splits.values() for label in labels_of(items)}
    loaded.labels = tuple(sorted(labels))
    loaded.scheme = "IOB2" if task in ("ner", "chunk") else None
    return loaded


def finer_task(name: str, task: str | None) -> str:
    """The task whose labels refine ``task``'s on dataset ``name`` (TREC coarse: fine).

    Raises:
        ValueError: the task has no finer labels.
    """
    task = _get(name).resolve_task(task)
    if (name, task) not in FINER_TASKS:
        have = ", ".join(f"{n} {t}" for n, t in FINER_TASKS)
        raise ValueError(f"--train-on-fine-labels: {name} {task} has no finer labels "
                         f"(only {have})")
    return FINER_TASKS[(name, task)]


def check_auxiliary_task(name: str, task: str | None, auxiliary: str) -> None:
    """``--auxiliary-task``: another tagging task of the same dataset (or ``none``).

    Raises:
        ValueError: naming what is wrong.
    """
    if auxiliary == "none":
        return
    spec = _get(name)
    task = spec.resolve_task(task)
    others = [t for t in spec.tasks if t != task]
    if spec.kind != "tagging" or auxiliary not in others:
        raise ValueError(f"--auxiliary-task must be another tagging task of {name} "
                         f"({', '.join(others) if spec.kind == 'tagging' and others else 'none'}"
                         f") or none. Received: {auxiliary!r}")


def check_sentence_repeats(name: str, repeats: int) -> None:
    """Raises ValueError when ``repeats > 1`` for a dataset without phrase rows."""
    if repeats > 1 and name not in PHRASE_DATASETS:
        raise ValueError(f"--sentence-repeats: {name} has no phrase rows, every row is a "
                         f"sentence (only {', '.join(PHRASE_DATASETS)} has them)")


def repeat_sentences(name: str, train: list, repeats: int) -> list:
    """``train`` with each whole sentence (no phrase) ``repeats`` times (``--sentence-repeats``).

    Raises:
        ValueError: ``repeats > 1`` for a dataset without phrase rows.
    """
    check_sentence_repeats(name, repeats)
    if repeats == 1:
        return train
    sentences = [train[i] for i in carving.sentence_rows([x.tokens for x in train])]
    return train + sentences * (repeats - 1)


def class_of_fine_label(label: str) -> str:
    """``"HUM:ind"`` -> ``"HUM"``: the class a fine label refines."""
    return label.split(":", 1)[0]


def carve_dev_split(loaded: LoadedDataset, fraction: float, seed: int) -> None:
    """Adds a ``dev`` split carved from ``train`` when there is none (in place)."""
    if "dev" in loaded.splits:
        return
    train = loaded.splits["train"]
    info = {"from": "train", "fraction": fraction, "seed": seed, "train_before": len(train)}
    if loaded.name == "sst2":
        result = carving.carve_sst2_dev([x.tokens for x in train], fraction, seed)
        loaded.splits["train"] = [train[i] for i in result.train]
        loaded.splits["dev"] = [train[i] for i in result.dev]
        info.update(method="by sentence: dev sentences, their phrases dropped from train",
                    sentences=result.sentences, dropped=len(result.dropped))
    else:
        stratify = (lambda x: x.label) if loaded.kind == "classification" else None
        loaded.splits["train"], loaded.splits["dev"] = carving.carve_dev(
            train, fraction, seed, stratify)
        info.update(method="stratified by label" if stratify else "random", dropped=0)
    info.update(train=len(loaded.splits["train"]), dev=len(loaded.splits["dev"]))
    loaded.carve = info
    loaded.splits = {k: loaded.splits[k] for k in ("train", "dev", "test") if k in loaded.splits}


def read_release_file(name: str, path: str | Path, task: str | None = None) -> list:
    """Reads one file in ``name``'s release format (e.g. for ``evaluate --file``).

    Tags come back as :func:`load_dataset` gives them (NER and chunk in IOB2).
    """
    return read_file(name, path, _get(name).resolve_task(task))


def _get(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    return DATASETS[name]
