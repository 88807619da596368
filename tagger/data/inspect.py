"""``python -m tagger inspect``: count a dataset's sentences, tokens and labels.

Prints, per split, the number of sentences (or examples), tokens, the label
counts and (for span tasks) entity counts; for local data also the counts of
each release file as read, and how a dev split was carved. The last line is
one JSON object with all of it. A missing or malformed file fails with the
file name and line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from tagger.commands import command_parser
from tagger.data.errors import DataFormatError, MissingDataError
from tagger.data.examples import count, labels_of
from tagger.data.registry import DATASETS, LoadedDataset, load_dataset
from tagger.data.schemes import entity_spans


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "python -m tagger inspect",
        "Count the sentences (or examples), tokens and labels of each split of a dataset. "
        "The last line printed is a JSON object.",
        "python -m tagger inspect --dataset conll2003 --data-dir ../shared/data")
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS),
                        help="dataset name")
    parser.add_argument("--task", default=None,
                        help="task (default: the dataset's first): "
                        + "; ".join(f"{n}: {', '.join(s.tasks)}" for n, s in DATASETS.items()))
    parser.add_argument("--data-dir", default=None,
                        help="folder with one sub-folder per dataset (default: $TAGGER_DATA_DIR,"
                        " else TFDS downloads)")
    parser.add_argument("--dev-fraction", type=float, default=0.1,
                        help="share carved from train as dev where the release has no dev split")
    parser.add_argument("--seed", type=int, default=0, help="seed of that carve")
    return parser


def summarize(loaded: LoadedDataset) -> dict:
    """The JSON-ready summary that :func:`main` prints last."""
    splits = {}
    for split, items in loaded.splits.items():
        stats = count(items)
        stats["labels"] = dict(Counter(labels_of(items)).most_common())
        if loaded.scheme:
            types = Counter(t for x in items for t, _, _ in entity_spans(x.tags, loaded.scheme))
            stats["entities"] = dict(types.most_common())
        splits[split] = stats
    return {
        "dataset": loaded.name, "task": loaded.task, "kind": loaded.kind,
        "scheme": loaded.scheme, "source": loaded.source, "location": loaded.location,
        "files": loaded.files, "carve": loaded.carve, "splits": splits,
        "num_labels": len(loaded.labels),
    }


def _report(summary: dict) -> list[str]:
    unit = "examples" if summary["kind"] == "classification" else "sentences"
    lines = [f"{summary['dataset']} / task {summary['task']}"
             + (f" / tags {summary['scheme']}" if summary["scheme"] else "")
             + f" / from {summary['source']}: {summary['location']}"]
    for name, info in summary["files"].items():
        lines.append(f"  file {name:<24} ({info['split']}): {info[unit]:>7,} {unit}, "
                     f"{info['tokens']:>9,} tokens")
    carve = summary["carve"]
    if carve:
        lines.append(
            f"  dev carved from {carve['train_before']:,} train {unit} ({carve['method']}, "
            f"fraction {carve['fraction']}, seed {carve['seed']}): train {carve['train']:,}, "
            f"dev {carve['dev']:,}, dropped {carve['dropped']:,}"
        )
    for split, stats in summary["splits"].items():
        lines.append(f"  {split:<5} {stats[unit]:>7,} {unit}, {stats['tokens']:>9,} tokens, "
                     f"{len(stats['labels'])} labels")
        top = ", ".join(f"{k} {v:,}" for k, v in list(stats["labels"].items())[:12])
        lines.append(f"        labels: {top}" + (" ..." if len(stats["labels"]) > 12 else ""))
        if "entities" in stats:
            ents = ", ".join(f"{k} {v:,}" for k, v in stats["entities"].items())
            lines.append(f"        entities ({sum(stats['entities'].values()):,}): {ents}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        loaded = load_dataset(args.dataset, args.task, args.data_dir,
                              dev_fraction=args.dev_fraction, seed=args.seed)
    except (DataFormatError, MissingDataError, ValueError, OSError) as err:  # + DataSourceError
        print(f"inspect: error: {err}", file=sys.stderr)
        return 2
    summary = summarize(loaded)
    print("\n".join(_report(summary)))
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
