"""Small synthetic corpora in the release formats, written by us for tests.

The sentences follow simple patterns a tagger can learn in a few hundred
steps (names after titles are PER, words after "in" are LOC, ...), so tests
can check that training really learns without reading real data.
"""

from __future__ import annotations

import random
from pathlib import Path

FIRST = ["Anna", "Boris", "Chen", "Dana", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jana"]
LAST = ["Novak", "Silva", "Okafor", "Berg", "Tanaka", "Moreau", "Kowal", "Haddad"]
PLACES = ["Lisbon", "Quito", "Oslo", "Nairobi", "Hanoi", "Tbilisi", "Perth", "Lima"]
ORGS = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne"]
VERBS = ["met", "visited", "called", "thanked", "praised", "joined"]
FILLER = ["today", "again", "yesterday", "quickly", "later", "twice"]


def sentence(rng: random.Random) -> list[tuple[str, str, str, str]]:
    """One sentence as (token, POS, chunk, NER) rows, NER in IOB1 like CoNLL-2003."""
    rows = []
    person = [rng.choice(FIRST)] + ([rng.choice(LAST)] if rng.random() < 0.5 else [])
    rows.append(("Mr", "NNP", "I-NP", "O"))
    rows += [(w, "NNP", "I-NP", "I-PER") for w in person]
    rows.append((rng.choice(VERBS), "VBD", "I-VP", "O"))
    if rng.random() < 0.5:
        rows += [("the", "DT", "I-NP", "O"), (rng.choice(ORGS), "NNP", "I-NP", "I-ORG"),
                 ("team", "NN", "I-NP", "O")]
    rows += [("in", "IN", "I-PP", "O"), (rng.choice(PLACES), "NNP", "I-NP", "I-LOC")]
    rows.append((rng.choice(FILLER), "RB", "I-ADVP", "O"))
    rows.append((".", ".", "O", "O"))
    return rows


def write_conll2003(folder: Path, train: int = 300, dev: int = 60, seed: int = 0) -> Path:
    """Writes ``folder/conll2003/eng.train`` and ``eng.testa``; returns ``folder``."""
    rng = random.Random(seed)
    target = folder / "conll2003"
    target.mkdir(parents=True, exist_ok=True)
    for name, count in (("eng.train", train), ("eng.testa", dev)):
        lines = ["-DOCSTART- -X- -X- O", ""]
        for _ in range(count):
            lines += [" ".join(row) for row in sentence(rng)] + [""]
        (target / name).write_text("\n".join(lines), encoding="utf-8")
    return folder


def write_trec(folder: Path, count: int = 300, seed: int = 0) -> Path:
    """Writes ``folder/trec/train_5500.label`` with questions whose class is in the words."""
    rng = random.Random(seed)
    patterns = {
        "HUM:ind": ["Who", "is", "the", "{}", "of", "{}", "?"],
        "LOC:city": ["Where", "is", "{}", "located", "?"],
        "LOC:other": ["Which", "place", "has", "{}", "?"],  # a class with two fine labels
        "NUM:count": ["How", "many", "{}", "are", "in", "{}", "?"],
    }
    target = folder / "trec"
    target.mkdir(parents=True, exist_ok=True)
    lines = []
    for _ in range(count):
        label = rng.choice(sorted(patterns))
        words = [w.format(rng.choice(PLACES + ORGS)) if w == "{}" else w
                 for w in patterns[label]]
        lines.append(f"{label} {' '.join(words)}")
    (target / "train_5500.label").write_text("\n".join(lines) + "\n", encoding="ascii")
    return folder


UPOS_OF = {"NNP": "PROPN", "VBD": "VERB", "DT": "DET", "NN": "NOUN", "IN": "ADP", "RB": "ADV",
           ".": "PUNCT"}


def write_ud_english(folder: Path, train: int = 300, dev: int = 60, seed: int = 0) -> Path:
    """Writes ``folder/ud_english/en_ewt-ud-{train,dev}.conllu`` (UPOS from the synthetic
    Penn tags, which are the XPOS column); returns ``folder``."""
    rng = random.Random(seed)
    target = folder / "ud_english"
    target.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", train), ("dev", dev)):
        lines = []
        for number in range(1, count + 1):
            rows = sentence(rng)
            lines += [f"# sent_id = {split}-{number}",
                      f"# text = {' '.join(row[0] for row in rows)}"]
            lines += [f"{i}\t{w}\t_\t{UPOS_OF[pos]}\t{pos}\t_\t_\t_\t_\t_"
                      for i, (w, pos, _, _) in enumerate(rows, start=1)]
            lines.append("")
        (target / f"en_ewt-ud-{split}.conllu").write_text("\n".join(lines) + "\n",
                                                         encoding="utf-8")
    return folder


def write_conll2000(folder: Path, train: int = 100, seed: int = 1) -> Path:
    """Writes ``folder/conll2000/train.txt`` (token POS chunk); returns ``folder``."""
    rng = random.Random(seed)
    target = folder / "conll2000"
    target.mkdir(parents=True, exist_ok=True)
    lines = []
    for _ in range(train):
        lines += [f"{w} {pos} {chunk.replace('I-', 'B-')}" for w, pos, chunk, _ in sentence(rng)]
        lines.append("")
    (target / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
