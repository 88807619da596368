"""Task metrics, reports and plots.

Entity scores use seqeval's default mode, which follows conlleval (an entity
counts when its type and both boundaries match). Classification scores use
scikit-learn. Plots are PNG files written with matplotlib's Agg backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

SPAN_TASKS = ("ner", "chunk")


def tagging_metrics(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                    task: str) -> dict:
    """``f1, precision, recall`` (entities; 0 for POS), ``accuracy`` (tokens), counts."""
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    tokens = sum(len(s) for s in gold)
    correct = sum(g == p for gs, ps in zip(gold, predicted, strict=True)
                  for g, p in zip(gs, ps, strict=True))
    result = {
        "accuracy": correct / max(tokens, 1),
        "sentences": len(gold),
        "tokens": tokens,
    }
    if task in SPAN_TASKS:
        gold, predicted = [list(s) for s in gold], [list(s) for s in predicted]
        result.update(
            f1=f1_score(gold, predicted, zero_division=0),
            precision=precision_score(gold, predicted, zero_division=0),
            recall=recall_score(gold, predicted, zero_division=0),
            per_type=classification_report(gold, predicted, output_dict=True, zero_division=0),
        )
        result["per_type"] = {k: {m: float(v) for m, v in d.items()}
                              for k, d in result["per_type"].items()}
    else:
        # For POS the token accuracy is the score; f1 etc. are the micro scores,
        # which equal accuracy for single-label tokens.
        result.update(f1=result["accuracy"], precision=result["accuracy"],
                      recall=result["accuracy"])
    result["main"] = "f1" if task in SPAN_TASKS else "accuracy"
    return result


def classification_metrics(gold: Sequence[str], predicted: Sequence[str],
                           labels: Sequence[str]) -> dict:
    """``accuracy``, ``macro_f1``, per-class report and ``examples``."""
    from sklearn.metrics import accuracy_score, classification_report, f1_score

    return {
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(f1_score(gold, predicted, labels=list(labels), average="macro",
                                   zero_division=0)),
        "examples": len(gold),
        "per_class": classification_report(gold, predicted, labels=list(labels),
                                           output_dict=True, zero_division=0),
        "main": "accuracy",
    }


def text_report(gold, predicted, task: str, labels: Sequence[str]) -> str:
    """Human-readable per-type (seqeval) or per-class (scikit-learn) report."""
    if task in SPAN_TASKS:
        from seqeval.metrics import classification_report

        return classification_report([list(s) for s in gold], [list(s) for s in predicted],
                                     digits=4, zero_division=0)
    from sklearn.metrics import classification_report

    if gold and not isinstance(gold[0], str):  # token level (POS)
        gold = [t for s in gold for t in s]
        predicted = [t for s in predicted for t in s]
    return classification_report(gold, predicted, labels=list(labels), digits=4,
                                 zero_division=0)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_learning_curves(history: list[dict], metric: str, path: Path) -> None:
    """Training loss and dev ``metric`` per epoch, side by side."""
    plt = pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, [h.get("loss") for h in history], marker="o")
    left.set(title="training loss", xlabel="epoch", ylabel="loss")
    right.plot(epochs, [h.get(f"dev_{metric}") for h in history], marker="o", color="C1")
    right.set(title=f"dev {metric}", xlabel="epoch", ylabel=metric)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion_matrix(gold: Sequence[str], predicted: Sequence[str],
                          labels: Sequence[str], path: Path, title: str) -> None:
    """Row-normalized confusion matrix (rows: gold, columns: predicted)."""
    import numpy as np
    from sklearn.metrics import confusion_matrix

    plt = pyplot()
    matrix = confusion_matrix(gold, predicted, labels=list(labels)).astype(float)
    matrix /= np.maximum(matrix.sum(axis=1, keepdims=True), 1.0)
    size = max(5.0, 0.35 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(matrix, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set(xlabel="predicted", ylabel="gold", title=title)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
