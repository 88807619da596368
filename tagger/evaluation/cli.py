"""``python -m tagger evaluate MODEL --dataset NAME --file PATH``.

Scores an exported SavedModel on one file in the dataset's release format,
through the model's pre-tokenized signature (gold tokens in, tags out), so
the score measures the tagger and not the tokenizer. The last printed line
is one JSON object: ``f1, precision, recall, accuracy, sentences, tokens`` for
taggers; ``accuracy, macro_f1, examples`` for classifiers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tagger.commands import command_parser

BATCH = 256


def _batches(items, size):
    # Similar lengths together: less padding per call.
    order = sorted(range(len(items)), key=lambda i: len(items[i].tokens))
    for start in range(0, len(order), size):
        yield [items[i] for i in order[start : start + size]]


def score_saved_model(model, examples, task: str) -> dict:
    """Metrics of a loaded :class:`tagger.serving.model.SavedModel` on examples."""
    from tqdm import tqdm

    from tagger.evaluation.metrics import classification_metrics, tagging_metrics

    gold, predicted = [], []
    progress = tqdm(total=len(examples), unit="ex", disable=not sys.stderr.isatty(),
                    file=sys.stderr)
    for batch in _batches(examples, BATCH):
        out = model.predict_tokens([list(x.tokens) for x in batch])
        for row, example in enumerate(batch):
            if model.is_tagger:
                gold.append(list(example.tags))
                predicted.append([t.decode("utf-8") for t in
                                  out["tags"][row, : len(example.tokens)]])
            else:
                gold.append(example.label)
                predicted.append(out["label"][row].decode("utf-8"))
        progress.update(len(batch))
    progress.close()
    if model.is_tagger:
        metrics = tagging_metrics(gold, predicted, task)
        return {k: metrics[k] for k in ("f1", "precision", "recall", "accuracy", "sentences",
                                        "tokens")}
    labels = model.config.get("labels") or sorted(set(gold) | set(predicted))
    metrics = classification_metrics(gold, predicted, labels)
    return {k: metrics[k] for k in ("accuracy", "macro_f1", "examples")}


def known_labels(model) -> set[str]:
    """The tags or classes a model outputs: its config's, else its labels.txt; may be empty."""
    known = set(model.config.get("labels") or [])
    listed = Path(model.path) / "assets" / "labels.txt"
    if not known and listed.is_file():
        known = set(listed.read_text(encoding="utf-8").split())
    return known


def unknown_labels(model, examples) -> tuple[list[str], bool]:
    """The file's tags (or classes) the model cannot output, sorted, and whether any
    label other than "O" is shared; ([], True) when the model does not list its labels."""
    known = known_labels(model)
    if not known:
        return [], True
    if model.is_tagger:
        found = {tag for x in examples for tag in x.tags}
    else:
        found = {x.label for x in examples}
    return sorted(found - known), bool((found & known) - {"O"})


def main(argv=None) -> int:
    parser = command_parser(
        "python -m tagger evaluate",
        "Score an exported model on a dataset file in its release format. "
        "The last line printed is a JSON object of metrics.",
        "python -m tagger evaluate models/ner-conll2003 --dataset conll2003 "
        "--file ../shared/data/conll2003/eng.testa")
    parser.add_argument("model", help="models/<name> (highest version) or a version folder")
    parser.add_argument("--dataset", required=True, help="dataset whose format FILE is in")
    parser.add_argument("--file", required=True, help="file to score (e.g. eng.testa)")
    parser.add_argument("--task", help="task (default: the model's own, from its config)")
    args = parser.parse_args(argv)

    from tagger.data.errors import DataFormatError, MissingDataError
    from tagger.data.registry import read_release_file
    from tagger.serving.model import ModelError, load_model

    try:
        model = load_model(args.model)
        task = args.task or model.task
        # Classifiers say "classify"; the dataset task (e.g. TREC coarse/fine) is task_name.
        read_task = model.config.get("task_name") if task == "classify" else task
        examples = read_release_file(args.dataset, args.file, read_task)
    except (ModelError, DataFormatError, MissingDataError, ValueError, OSError) as error:
        print(f"evaluate: error: {error}", file=sys.stderr)
        return 2
    if not examples:
        print(f"evaluate: error: {args.file}: no examples", file=sys.stderr)
        return 2
    unknown, shared = unknown_labels(model, examples)
    if unknown:
        said = (f"{args.file} has labels the model {model.name} does not know: "
                f"{', '.join(unknown[:12])}{' ...' if len(unknown) > 12 else ''}")
        if not shared:  # nothing in common: a score would be meaningless
            print(f"evaluate: error: {said} (the model's: "
                  f"{', '.join(sorted(known_labels(model)))}); is --dataset/--task the one "
                  "it was trained for?", file=sys.stderr)
            return 2
        print(f"evaluate: warning: {said}; they count as errors", file=sys.stderr)
    print(json.dumps(score_saved_model(model, examples, task)))
    return 0
