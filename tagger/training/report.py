"""The end-of-training report: metrics per split, calibration, text reports, plots, metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

from tagger.data.schemes import output_labels
from tagger.evaluation.calibration import calibrate, calibration_table, plot_reliability
from tagger.evaluation.metrics import (
    SPAN_TASKS,
    plot_confusion_matrix,
    plot_learning_curves,
    text_report,
)
from tagger.evaluation.predict import evaluate_examples
from tagger.files import write_atomic


def write_report(run_dir: Path, predictor, loaded, state: dict) -> dict:
    """Scores dev (and test), writes the report files; returns ``metrics.json``'s content."""
    report_dir = run_dir / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    labels = list(loaded.labels)
    metrics = {"dataset": loaded.name, "task": loaded.task, "source": loaded.source,
               "best_epoch": state["best_epoch"], "epochs_run": state.get("epochs_run"),
               "train_seconds": state.get("train_seconds"), "history": state["history"]}
    if state.get("embeddings"):
        metrics["embeddings"] = state["embeddings"]
    if state.get("lexicon"):
        metrics["lexicon"] = state["lexicon"]
    if state.get("extra_train"):
        metrics["extra_train"] = state["extra_train"]
    if state.get("init_from"):
        metrics["init_from"] = state["init_from"]
    if loaded.carve:  # which items the dev scores are on, where the release has no dev split
        metrics["dev_carve"] = loaded.carve
    texts = []
    for split in ("dev", "test"):
        if split not in loaded.splits:
            continue
        scores, gold, predicted = evaluate_examples(predictor, loaded.splits[split], labels,
                                                    loaded.task)
        metrics[split] = scores
        shown = output_labels(labels)  # what gold and predicted are scored in
        texts.append(f"== {split} ==\n{text_report(gold, predicted, loaded.task, shown)}")
        if split == "dev":
            flat = lambda rows: rows if rows and isinstance(rows[0], str) else [  # noqa: E731
                t for r in rows for t in r]
            plot_confusion_matrix(flat(gold), flat(predicted), shown,
                                  report_dir / "confusion_dev.png",
                                  f"{loaded.name} {loaded.task} dev")
    if loaded.kind == "tagging" and loaded.task in SPAN_TASKS and loaded.splits.get("dev"):
        calibration = calibrate(predictor.model, loaded.splits["dev"], labels)
        plot_reliability(calibration, report_dir / "calibration_dev.png",
                         f"{loaded.name} {loaded.task} dev: entity confidence")
        metrics["calibration"] = calibration
        texts.append(f"== calibration (dev entities) ==\nECE {calibration['ece']:.4f} at "
                     f"temperature {calibration['temperature']:.2f} (uncalibrated "
                     f"{calibration['ece_uncalibrated']:.4f}), {calibration['entities']} "
                     f"entities\n{calibration_table(calibration)}\n")
    if state["history"]:
        plot_learning_curves(state["history"], metrics["dev"]["main"],
                             report_dir / "learning_curves.png")
    write_atomic(report_dir / "report.txt", "\n".join(texts))
    write_atomic(report_dir / "metrics.json", json.dumps(metrics, indent=2))
    return metrics
