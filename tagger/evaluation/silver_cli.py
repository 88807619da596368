"""``python -m tagger silver``: exported taggers relabel a corpus in their tag set, within
what its gold tags allow, or freely with ``--pairs none`` (the logic is
:mod:`tagger.data.silver`).

Writes what ``train.py --extra-train`` reads as more training sentences: CoNLL-U for
UPOS taggers, and for span taggers (NER) their own dataset's CoNLL columns, each
sentence's best well-formed spans under the models' mean marginals::

    python -m tagger silver models/upos-a models/upos-b --dataset conll2000 --task pos \\
        --pairs ud_english:xpos,pos --data-dir ../shared/data --output wsj-upos.conllu
    python -m tagger silver models/ner-a models/ner-b --dataset conll2000 --task pos \\
        --pairs none --data-dir ../shared/data --output wsj-ner.conll

Only the source dataset's training split is read (where it has no dev file,
what its dev carve leaves), never dev or test.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from pathlib import Path

from tagger.commands import command_parser, positive_int
from tagger.data.errors import DataFormatError, MissingDataError

EXAMPLE = ("python -m tagger silver models/upos-ud_english-lstm --dataset conll2000 --task pos "
           "--pairs ud_english:xpos,pos --data-dir ../shared/data --output wsj-upos.conllu")


def build_parser():
    parser = command_parser(
        "python -m tagger silver",
        "Relabel a tagged corpus in the tag set of one or more exported taggers: each "
        "token gets the tag their summed marginals prefer among those its gold tag allows "
        "(learned from a corpus annotated in both tag sets). Span taggers (NER) get each "
        "sentence's best well-formed spans instead (--pairs none). Writes CoNLL-U, or the "
        "span taggers' own dataset's CoNLL columns, for train.py --extra-train.", EXAMPLE)
    parser.add_argument("models", nargs="+", help="exported taggers of the target tag set "
                                                  "(model folders or versions; same tags)")
    parser.add_argument("--dataset", required=True, help="the corpus to relabel")
    parser.add_argument("--task", required=True, help="its tagging task whose gold tags "
                                                      "constrain the choice (e.g. pos; read "
                                                      "for the words alone with --pairs none)")
    parser.add_argument("--pairs", required=True, metavar="DATASET:SOURCE,TARGET",
                        help="a dataset annotated in both tag sets and its two tasks, e.g. "
                             "ud_english:xpos,pos (its training split is read); none: no "
                             "constraint, each token gets the models' own choice")
    parser.add_argument("--min-share", type=float, default=0.005,
                        help="a source tag allows the target tags holding at least this "
                             "share of its occurrences in the pairs (default 0.005)")
    parser.add_argument("--sample", type=positive_int, metavar="N",
                        help="relabel N training sentences drawn at random (seed 0), written "
                             "in the order drawn, instead of all of them")
    parser.add_argument("--data-dir", help="root folder of the datasets' release files")
    parser.add_argument("--output", required=True,
                        help="the file to write: CoNLL-U, or the CoNLL columns of the span "
                             "taggers' dataset (CoNLL-2003: token POS chunk NER)")
    parser.add_argument("--batch-size", type=positive_int, default=256)
    return parser


def parse_pairs(spec: str) -> tuple[str, str, str] | None:
    """``DATASET:SOURCE,TARGET`` -> its three parts; ``none`` -> None."""
    if spec == "none":
        return None
    name, _, tasks = spec.partition(":")
    source, _, target = tasks.partition(",")
    if not (name and source and target):
        raise ValueError(f"--pairs must be DATASET:SOURCE_TASK,TARGET_TASK, got {spec!r}")
    return name, source, target


def sample_numbers(size: int, sample: int | None) -> list[int]:
    """The 1-based numbers of the sentences to relabel: all in order, or ``sample`` of
    them in the order a seed-0 shuffle draws them."""
    numbers = list(range(1, size + 1))
    if sample is None:
        return numbers
    if sample > size:
        raise ValueError(f"--sample {sample} is more than the {size:,} training sentences")
    random.Random(0).shuffle(numbers)
    return numbers[:sample]


def summed_marginals(models, sentences: list[tuple[str, ...]], batch_size: int):
    """``(classes, [array [len(sentence), len(classes)]])``: the models' marginals summed."""
    classes, sums = None, [None] * len(sentences)
    for model in models:
        for start in range(0, len(sentences), batch_size):
            batch = sentences[start:start + batch_size]
            out = model.predict_tokens(batch, "tag_marginals")
            names = [c.decode() for c in out["classes"][0]]
            if classes is None:
                classes = sorted(names)
            elif sorted(names) != classes:
                raise ValueError(f"{model.path} tags {sorted(names)}, the first model "
                                 f"{classes}: the models must share a tag set")
            order = [names.index(c) for c in classes]
            for i, sentence in enumerate(batch):
                scores = out["marginals"][i, :len(sentence)][:, order]
                index = start + i
                sums[index] = scores if sums[index] is None else sums[index] + scores
    return classes, sums


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from tagger.data.registry import load_dataset
    from tagger.data.silver import (
        TagPairs,
        conllu_lines,
        relabel,
        relabel_spans,
        span_scheme,
        unescape,
    )
    from tagger.files import write_atomic
    from tagger.serving.model import ModelError, load_model

    try:
        if not 0.0 <= args.min_share <= 1.0:
            raise ValueError(f"--min-share must be in [0, 1], got {args.min_share}")
        paired_tasks = parse_pairs(args.pairs)
        models = [load_model(path) for path in args.models]
        for model in models:
            if "tag_marginals" not in model.signatures:
                raise ValueError(f"{model.path} has no tag_marginals signature (a tagger "
                                 "exported by this version is needed)")
        spans = span_scheme(models[0].config.get("labels") or []) is not None
        if spans and paired_tasks is not None:
            raise ValueError(f"{models[0].path} tags spans ({models[0].config.get('task')}): "
                             "its tags are chosen per sentence, so use --pairs none")
        corpus = load_dataset(args.dataset, args.task, args.data_dir).splits["train"]
        numbers = sample_numbers(len(corpus), args.sample)
        corpus = [corpus[n - 1] for n in numbers]
        writer = span_writer(models[0], args, numbers, corpus) if spans else None
        pairs = None
        if paired_tasks is not None:
            name, *tasks = paired_tasks
            paired = [load_dataset(name, task, args.data_dir).splits["train"] for task in tasks]
            pairs = TagPairs.count(*paired, min_share=args.min_share)
        sentences = [unescape(s.tokens) for s in corpus]
        classes, marginals = summed_marginals(models, sentences, args.batch_size)
        scheme = span_scheme(classes)
        if spans != (scheme is not None):
            raise ValueError(f"{models[0].path}: its marginals' tags {classes} do not match "
                             "its labels.txt")
    except (DataFormatError, MissingDataError, ModelError, ValueError, OSError) as err:
        print(f"silver: error: {err}", file=sys.stderr)
        return 2
    output = Path(args.output)
    if scheme is not None:
        relabelled = [relabel_spans(tokens, s.tags, scores, classes, scheme)
                      for tokens, s, scores in zip(sentences, corpus, marginals, strict=True)]
        lines = writer(relabelled)
    else:
        relabelled = [relabel(tokens, s.tags, scores, classes, pairs)
                      for tokens, s, scores in zip(sentences, corpus, marginals, strict=True)]
        lines = conllu_lines(relabelled, f"{args.dataset}-train", numbers)
    write_atomic(output, "\n".join(lines) + "\n")
    tokens = sum(len(s.tokens) for s in relabelled)
    summary = {"output": str(output), "sentences": len(relabelled), "tokens": tokens,
               "models": len(models), "tags": tag_counts(relabelled),
               "changed_by_constraint": sum(s.changed for s in relabelled),
               "unconstrained": sum(s.unconstrained for s in relabelled)}
    how = (f"well-formed {scheme} spans changed the token-wise choice on "
           f"{summary['changed_by_constraint']:,} tokens" if scheme is not None else
           "no constraint (--pairs none): the models' own tags" if pairs is None else
           f"the gold {args.task} tags overruled the models on "
           f"{summary['changed_by_constraint']:,} tokens; {summary['unconstrained']:,} had a "
           "tag the pairs lack")
    print(f"silver: {len(relabelled):,} sentences, {tokens:,} tokens to {output}; {how}",
          file=sys.stderr)
    print(json.dumps(summary))
    return 0


def span_writer(model, args, numbers: list[int], corpus: list):
    """For span taggers: a function of the relabelled sentences that gives the lines of
    the models' own dataset's CoNLL columns, the other tag columns filled with the source
    corpus's gold tags of their tasks (CoNLL-2000 has CoNLL-2003's POS and chunk columns).

    Raises:
        ValueError: the models' dataset has no CoNLL release format, or the source corpus
            lacks a task those columns need.
    """
    from tagger.data.registry import load_dataset
    from tagger.data.release import conll_columns
    from tagger.data.silver import conll_lines

    dataset, task = model.config.get("dataset"), model.config.get("task")
    found = conll_columns(dataset) if dataset else None
    if found is None:
        raise ValueError(f"{model.path} was trained on {dataset or 'an unknown dataset'}, "
                         "whose release is not CoNLL columns: no format to write its spans in")
    layout, column_tasks = found
    target = next((column for column, name in column_tasks.items() if name == task), None)
    if target is None:
        raise ValueError(f"{model.path}: {dataset}'s columns hold no {task} tags")
    columns = {}
    for column, name in column_tasks.items():
        if column == target:
            continue
        if name == args.task:
            source = corpus
        else:
            try:
                source = load_dataset(args.dataset, name, args.data_dir).splits["train"]
            except ValueError as err:
                raise ValueError(f"{dataset}'s columns need {args.dataset}'s own {name} tags "
                                 f"in the {column} column: {err}") from err
            source = [source[n - 1] for n in numbers]
        columns[column] = [s.tags for s in source]
    return lambda sentences: conll_lines(sentences, layout, column_tasks, target, columns)


def tag_counts(sentences) -> dict:
    """``{tag: n}`` over the relabelled sentences, most frequent first."""
    return dict(Counter(tag for s in sentences for tag in s.tags).most_common())
