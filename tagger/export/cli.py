"""``python -m tagger export RUN_DIR``: export a finished run again, optionally rebuilt
in today's graph and calibrated on its dev split."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import keras

from tagger.commands import command_parser
from tagger.data.schemes import is_bioes
from tagger.export.savedmodel import export_model


def _calibrate_run(model, config: dict, dataset, data_dir: str, run_dir: Path) -> dict:
    """Calibration of a finished run on its dev split (``--calibrate``); adds the diagram."""
    from tagger.data.registry import load_dataset
    from tagger.data.schemes import iob2_to_bioes
    from tagger.evaluation.calibration import calibrate, plot_reliability

    loaded = load_dataset(config["dataset"], config["task"], data_dir)
    dev = loaded.splits["dev"]
    if is_bioes(dataset.labels):  # gold tags in the scheme the model learned
        dev = [type(x)(x.tokens, tuple(iob2_to_bioes(x.tags))) for x in dev]
    result = calibrate(model, dev, dataset.labels)
    (run_dir / "report").mkdir(exist_ok=True)
    plot_reliability(result, run_dir / "report" / "calibration_dev.png",
                     f"{loaded.name} {loaded.task} dev: entity confidence")
    return result


def main(argv=None) -> int:
    """``python -m tagger export RUN_DIR``: export a run's ``model.keras`` again."""
    parser = command_parser(
        "python -m tagger export",
        "Export the model.keras of a training run folder (runs/<name>) as the next "
        "SavedModel version of models/<name>.",
        epilog="example (after a training run):\n  python -m tagger export "
               "runs/ner-conll2003-lstm --name ner-conll2003 --rebuild")
    parser.add_argument("run_dir", help="training run folder holding model.keras, config.json "
                                        "and report/metrics.json")
    parser.add_argument("--models-dir", help="root of exported models (default: the run's)")
    parser.add_argument("--name", help="model name (default: the run's)")
    parser.add_argument("--rebuild", action="store_true",
                        help="taggers: put the weights into the graph this version builds "
                             "(faster for runs saved by older versions; same outputs)")
    parser.add_argument("--calibrate", metavar="DATA_DIR",
                        help="taggers: measure entity-confidence calibration on the run's dev "
                             "split read from DATA_DIR (fitting a temperature, as training "
                             "does) when the run's report has none")
    parser.add_argument("--card-note", metavar="TEXT",
                        help="a paragraph for the model card, after its data notes (e.g. where "
                             "--extra-train files came from and their terms)")
    args = parser.parse_args(argv)
    import tagger.models  # noqa: F401  (registers the model classes before loading)

    run_dir = Path(args.run_dir)
    try:
        config = json.loads((run_dir / "config.json").read_text())
        metrics = json.loads((run_dir / "report" / "metrics.json").read_text())
        dataset = SimpleNamespace(**json.loads((run_dir / "dataset.json").read_text()))
        model = keras.saving.load_model(run_dir / "model.keras")
    except (OSError, ValueError) as error:
        print(f"export: error: {run_dir}: {error}", file=sys.stderr)
        return 2
    if args.rebuild and dataset.kind == "tagging":
        from dataclasses import fields

        from tagger.config import TrainConfig
        from tagger.models import rebuild_sequence_tagger

        known = {f.name for f in fields(TrainConfig)}
        train_config = TrainConfig(**{k: v for k, v in config.items() if k in known})
        model = rebuild_sequence_tagger(model, train_config, dataset.labels, dataset.scheme)
    if args.calibrate and dataset.kind == "tagging":
        try:
            metrics["calibration"] = _calibrate_run(model, config, dataset, args.calibrate,
                                                    run_dir)
        except (OSError, ValueError) as error:  # missing or malformed data files
            print(f"export: error: {error}", file=sys.stderr)
            return 2
    if args.card_note:
        metrics["card_note"] = args.card_note.strip()
    config["models_dir"] = args.models_dir or config["models_dir"]
    config["name"] = args.name or config.get("name") or (
        f"{config['task']}-{config['dataset']}-{config['cell']}")
    print(json.dumps({"export_dir": str(export_model(model, config, dataset, metrics, run_dir))}))
    return 0
