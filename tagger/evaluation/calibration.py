"""Are entity confidences probabilities? Expected calibration error, reliability
diagrams and temperature scaling, measured on dev.

For every predicted entity the model gives a confidence ``c`` (the probability
that exactly this span has exactly this type, :mod:`tagger.layers.spans`);
it is right when the gold data has the same span and type. With the
predicted entities put in ``M = 10`` equal-width bins of confidence,

    ECE = sum_m |B_m| / n * |accuracy(B_m) - mean confidence(B_m)|

Temperature scaling divides every score by ``T`` before normalising (the
best path does not change, only its probabilities): ``T`` is chosen on a
grid to minimise the log loss of the entities' correctness, and kept only
when it lowers the ECE.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from tagger.data.pipeline import tagging_dataset
from tagger.data.schemes import as_iob2, entity_spans
from tagger.layers.spans import entity_confidences, span_tables

BINS = 10
TEMPERATURES = tuple(np.round(np.exp(np.linspace(np.log(0.5), np.log(4.0), 22)), 4))


def expected_calibration_error(confidence, correct, bins: int = BINS) -> float:
    """ECE over equal-width confidence bins (module docstring); 0 for no entities."""
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, float)
    if confidence.size == 0:
        return 0.0
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        chosen = which == b
        if chosen.any():
            total += chosen.mean() * abs(correct[chosen].mean() - confidence[chosen].mean())
    return float(total)


def reliability_bins(confidence, correct, bins: int = BINS) -> list[dict]:
    """Per bin: range, entities, mean confidence, accuracy (the diagram's data)."""
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, float)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        chosen = which == b
        rows.append({"low": b / bins, "high": (b + 1) / bins, "entities": int(chosen.sum()),
                     "confidence": float(confidence[chosen].mean()) if chosen.any() else None,
                     "accuracy": float(correct[chosen].mean()) if chosen.any() else None})
    return rows


def log_loss(confidence, correct) -> float:
    p = np.clip(np.asarray(confidence, float), 1e-7, 1 - 1e-7)
    y = np.asarray(correct, float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))) if p.size else 0.0


def _spans(tags) -> dict[int, tuple[str, int]]:
    """{first token: (type, end)} of the entities in IOB2 tags (an I- without B- starts one)."""
    return {first: (kind, end) for kind, first, end in entity_spans(tags)}


@dataclass
class EntityPredictions:
    """Dev emissions computed once, so each temperature costs only the CRF part."""

    model: object
    batches: list  # (emissions, mask, gold tag ids) per batch
    labels: list

    @classmethod
    def collect(cls, model, examples, labels, batch_size: int = 128) -> EntityPredictions:
        emit = tf.function(lambda tokens: model(tokens, training=False),
                           input_signature=[tf.TensorSpec([None, None], tf.string)])
        batches = []
        for tokens, tag_ids in tagging_dataset(examples, list(labels), batch_size,
                                               shuffle=False, bucket=True):
            batches.append((tf.cast(emit(tokens), tf.float32), tf.not_equal(tokens, ""),
                            tag_ids.numpy()))
        return cls(model, batches, list(labels))

    def at(self, temperature: float) -> tuple[np.ndarray, np.ndarray]:
        """(confidence, correct) of every predicted entity at ``temperature``."""
        tables = span_tables(self.labels)
        names = [as_iob2(tag) for tag in self.labels]
        fn = getattr(self, "_fn", None)
        if fn is None:
            def confidences(emissions, mask, temperature):
                tags, marginals, conditionals = self.model.posteriors_of(emissions, mask,
                                                                         temperature)
                return tags, entity_confidences(tags, marginals, conditionals, mask, tables)

            num_tags = len(self.labels)
            fn = self._fn = tf.function(confidences, input_signature=[
                tf.TensorSpec([None, None, num_tags], tf.float32),
                tf.TensorSpec([None, None], tf.bool), tf.TensorSpec([], tf.float32)])
        confidence, correct = [], []
        for emissions, mask, gold_ids in self.batches:
            tags, scores = fn(emissions, mask, tf.constant(temperature, tf.float32))
            tags, scores = tags.numpy(), scores.numpy()
            for row, length in enumerate(mask.numpy().sum(axis=1)):
                predicted = _spans([names[t] for t in tags[row, :length]])
                gold = _spans([names[t] for t in gold_ids[row, :length]])
                for first, span in predicted.items():
                    confidence.append(float(scores[row, first]))
                    correct.append(gold.get(first) == span)
        return np.array(confidence), np.array(correct, dtype=bool)


def calibrate(model, examples, labels) -> dict:
    """Measure entity-confidence calibration on ``examples``; fit a temperature.

    Returns ``{"temperature", "ece", "ece_uncalibrated", "log_loss",
    "entities", "accuracy", "bins", "bins_uncalibrated"}``; ``temperature``
    is 1.0 when scaling did not lower the ECE.
    """
    predictions = EntityPredictions.collect(model, examples, labels)
    before = predictions.at(1.0)
    losses = {t: log_loss(*predictions.at(t)) for t in TEMPERATURES}
    best = min(losses, key=losses.get)
    after = predictions.at(best)
    ece_before, ece_after = (expected_calibration_error(*x) for x in (before, after))
    chosen, final = (best, after) if ece_after < ece_before else (1.0, before)
    return {"temperature": float(chosen), "ece": min(ece_before, ece_after),
            "ece_uncalibrated": ece_before, "log_loss": log_loss(*final),
            "entities": int(final[0].size), "accuracy": float(final[1].mean()) if final[1].size
            else 0.0, "bins": reliability_bins(*final),
            "bins_uncalibrated": reliability_bins(*before)}


def plot_reliability(result: dict, path: Path, title: str) -> None:
    """Reliability diagram: accuracy against confidence per bin, before and after scaling."""
    from tagger.evaluation.metrics import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    curves = [("bins_uncalibrated", f"T = 1 (ECE {result['ece_uncalibrated']:.3f})", "o")]
    if result["temperature"] != 1.0:
        curves.append(("bins", f"T = {result['temperature']:.2f} (ECE {result['ece']:.3f})", "s"))
    for key, label, marker in curves:
        rows = [r for r in result[key] if r["entities"]]
        ax.plot([r["confidence"] for r in rows], [r["accuracy"] for r in rows],
                marker=marker, label=label)
    ax.set(xlabel="entity confidence (bin mean)", ylabel="share of entities correct",
           xlim=(0, 1), ylim=(0, 1), title=title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def calibration_table(result: dict) -> str:
    """The reliability diagram as a Markdown table (for the model card)."""
    lines = ["| confidence | entities | mean confidence | correct |",
             "| --- | ---: | ---: | ---: |"]
    for r in result["bins"]:
        if r["entities"]:
            lines.append(f"| {r['low']:.1f}–{r['high']:.1f} | {r['entities']} | "
                         f"{r['confidence']:.3f} | {r['accuracy']:.3f} |")
    return "\n".join(lines)
