"""``python train.py`` / ``python -m tagger train``: train, report, export."""

from __future__ import annotations

import json
import sys

from tagger.commands import command_parser
from tagger.config import add_config_arguments, resolve_config

DESCRIPTION = """Train a tagger or classifier, select it on dev, report and export it.

Examples (on a fresh clone, with ../shared/data beside it):
  python train.py --task ner --dataset conll2003 --data-dir ../shared/data
  python train.py --task pos --dataset ud_english --data-dir ../shared/data --cell gru
  python train.py --task ner --dataset conll2003 --data-dir ../shared/data \\
      --embeddings none --tag-scheme BIOES --seed 3   # --embeddings PATH: your vectors
  python train.py --config runs/ner-conll2003-lstm/config.json --seed 1   # a run again

Flags override --config, which overrides the task and dataset presets.
The last printed line is a JSON summary (export_dir, dev metrics, seconds)."""


def parse_args(argv, prog: str = "train.py"):
    parser = command_parser(prog, DESCRIPTION)
    parser.add_argument("--config", help="JSON or YAML file with config fields "
                                         "(flags given on the command line win)")
    parser.add_argument("--overwrite", action="store_true",
                        help="train again when runs/<name> holds a finished run (it is "
                             "deleted); without it such a run is left alone and nothing starts")
    add_config_arguments(parser)
    return parser.parse_args(argv)


def check_names(config) -> None:
    """Cell, dataset and task names, checked before anything is read or created."""
    from tagger.cells import CELLS
    from tagger.data.extra import check_paths as check_extra_train
    from tagger.data.lexicon import check_sources as check_lexicon_sources
    from tagger.data.registry import (
        DATASETS,
        check_auxiliary_task,
        check_sentence_repeats,
        finer_task,
    )

    if config.cell not in CELLS:
        raise ValueError(f"--cell must be one of {sorted(CELLS)}, got {config.cell!r}")
    if config.dataset not in DATASETS:
        raise ValueError(f"--dataset must be one of {sorted(DATASETS)}, got {config.dataset!r}")
    DATASETS[config.dataset].resolve_task(config.task)
    if config.train_on_fine_labels:
        finer_task(config.dataset, config.task)
    check_auxiliary_task(config.dataset, config.task, config.auxiliary_task)
    check_sentence_repeats(config.dataset, config.sentence_repeats)
    check_lexicon_sources(config.lexicon, config.data_dir)
    check_extra_train(config.extra_train, DATASETS[config.dataset].kind, config.auxiliary_task)
    if config.language_model > 0 and DATASETS[config.dataset].kind != "tagging":
        raise ValueError(f"--language-model is an objective for taggers; {config.dataset} "
                         "is a classification dataset")
    if config.init_label_map and not config.init_from:
        raise ValueError("--init-label-map needs --init-from (the run whose labels it maps)")
    if config.init_from:
        from tagger.training.warm_start import (
            check_label_map,
            learned_labels,
            parse_label_map,
            source_model_path,
        )

        path = source_model_path(config.init_from)
        if config.init_label_map:
            check_label_map(parse_label_map(config.init_label_map), learned_labels(path))


def main(argv=None, prog: str = "train.py") -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv, prog)
    try:
        config = resolve_config(args)
    except ValueError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    from tagger.data.errors import DataFormatError, MissingDataError
    from tagger.export import export_model
    from tagger.files import write_atomic
    from tagger.training.loop import is_chief, train
    from tagger.training.report import write_report

    try:
        check_names(config)
        model, loaded, run_dir, state, predictor, config = train(config, args.overwrite)
    except (DataFormatError, MissingDataError, ValueError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    if not is_chief():  # the chief reports and exports for the whole cluster
        print(json.dumps({"worker": "non-chief", "run_dir": str(run_dir),
                          "best_epoch": state["best_epoch"]}))
        return 0
    metrics = write_report(run_dir, predictor, loaded, state)
    model.save(run_dir / "model.keras")
    write_atomic(run_dir / "dataset.json", json.dumps(
        {"name": loaded.name, "task": loaded.task, "kind": loaded.kind,
         "labels": list(loaded.labels), "scheme": loaded.scheme}))
    export_dir = export_model(model, config, loaded, metrics, run_dir)
    state["status"] = "done"
    write_atomic(run_dir / "state.json", json.dumps(state, indent=2))
    main_metric = metrics["dev"]["main"]
    summary = {
        "export_dir": str(export_dir),
        "run_dir": str(run_dir),
        "dataset": loaded.name,
        "task": loaded.task,
        "cell": config.cell,
        "dev": {k: metrics["dev"][k] for k in ("f1", "precision", "recall", "accuracy",
                                               "macro_f1") if k in metrics["dev"]},
        "dev_main": main_metric,
        "best_epoch": state["best_epoch"],
        "epochs_run": state["epochs_run"],
        "train_seconds": state["train_seconds"],
    }
    if "test" in metrics:
        summary["test"] = {k: metrics["test"][k] for k in summary["dev"]}
    print(json.dumps(summary))
    return 0
