"""Tiny SavedModels that follow the export contract (DESIGN §2, issue 5), for serving tests.

They are plain ``tf.Module``s with rule-based signatures, so the serving code is
tested against the contract, not against a trained network:

- tagger: tokenizes like the real export (punctuation split off, whitespace
  split; curly quotes normalised to ``"`` so some tokens are not substrings of
  the input) and tags every capitalized token that is not sentence-initial as
  an entity (``B-``/``I-``); the entity type is ``PER`` in version 1 and
  ``ORG`` in version 2. Scores: 0.9 for entities, 0.6 for ``O``, 0 at padding.
  Version 2 also outputs ``entity_scores`` (0.75 at each entity's first
  token); version 1 does not, like models exported before entity confidences.
- classifier: a label from a hash of the stripped sentence (3 classes), plus a
  one-output ``label_only`` signature (not in the contract) for the REST rules.
"""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path

import tensorflow as tf

CLASSES = ["negative", "neutral", "positive"]


def _shift_right(x, fill):
    return tf.pad(x, [[0, 0], [1, 0]], constant_values=fill)[:, :-1]


class FixtureTagger(tf.Module):
    def __init__(self, entity_type: str, confidences: bool = True):
        super().__init__()
        self.entity_type, self.confidences = entity_type, confidences

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="sentences")])
    def serve(self, sentences):
        text = tf.strings.regex_replace(sentences, "[“”]", '"')
        text = tf.strings.regex_replace(text, r'([.,!?;:()"])', r" \1 ")
        return self._tag(tf.strings.split(text))

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="tokens")])
    def tag_tokens(self, tokens):
        return self._tag(tf.RaggedTensor.from_tensor(tokens, padding=""))

    def _tag(self, ragged):
        tokens = ragged.to_tensor("")
        lengths = tf.cast(ragged.row_lengths(), tf.int32)
        mask = tf.sequence_mask(lengths, tf.shape(tokens)[1])
        position = tf.range(tf.shape(tokens)[1])[tf.newaxis, :]
        capital = tf.strings.regex_full_match(tokens, r"\p{Lu}.*")
        entity = capital & (position > 0) & mask
        inside = _shift_right(entity, False)
        tags = tf.where(inside, f"I-{self.entity_type}", f"B-{self.entity_type}")
        tags = tf.where(entity, tags, "O")
        tags = tf.where(mask, tags, "")
        scores = tf.where(entity, 0.9, 0.6) * tf.cast(mask, tf.float32)
        out = {"tokens": tokens, "tags": tags, "scores": scores, "lengths": lengths}
        if self.confidences:
            out["entity_scores"] = tf.where(entity & ~inside, 0.75, 0.0)
        return out


class FixtureClassifier(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="sentences")])
    def serve(self, sentences):
        bucket = tf.strings.to_hash_bucket_fast(tf.strings.strip(sentences), len(CLASSES))
        probabilities = tf.nn.softmax(tf.one_hot(bucket, len(CLASSES)) * 2.0)
        classes = tf.tile(tf.constant([CLASSES]), [tf.shape(sentences)[0], 1])
        return {
            "label": tf.gather(tf.constant(CLASSES), bucket),
            "probabilities": probabilities,
            "classes": classes,
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="sentences")])
    def label_only(self, sentences):
        """One output: TensorFlow Serving answers bare values for it."""
        return {"label": self.serve(sentences)["label"]}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="tokens")])
    def classify_tokens(self, tokens):
        return self.serve(tf.strings.strip(tf.strings.reduce_join(tokens, axis=1, separator=" ")))


def expected_tagger_tags(tokens: list[str], entity_type: str = "PER") -> list[str]:
    """The fixture tagger's rule in Python, to check answers against."""
    tags = []
    for i, token in enumerate(tokens):
        if i > 0 and token[:1].isupper():
            tags.append(("I-" if tags[-1] != "O" else "B-") + entity_type)
        else:
            tags.append("O")
    return tags


def expected_label(sentence: str) -> str:
    bucket = tf.strings.to_hash_bucket_fast([sentence.strip()], len(CLASSES)).numpy()[0]
    return CLASSES[int(bucket)]


def _write_assets(folder: Path, name: str, task: str, labels: list[str]) -> None:
    assets = folder / "assets"
    assets.mkdir(exist_ok=True)
    (assets / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    (assets / "config.json").write_text(json.dumps({"task": task, "name": name}), encoding="utf-8")
    (assets / "metrics.json").write_text("{}", encoding="utf-8")
    (assets / "MODEL_CARD.md").write_text(f"# {name}\n\nTest fixture.\n", encoding="utf-8")


def save_tagger(folder: Path, entity_type: str = "PER", name: str = "ner",
                confidences: bool = True) -> Path:
    module = FixtureTagger(entity_type, confidences)
    tf.saved_model.save(module, str(folder), signatures={
        "serving_default": module.serve, "tag_tokens": module.tag_tokens})
    labels = ["O", f"B-{entity_type}", f"I-{entity_type}"]
    _write_assets(folder, name, "ner", labels)
    return folder


def save_classifier(folder: Path, name: str = "sentiment") -> Path:
    module = FixtureClassifier()
    tf.saved_model.save(module, str(folder), signatures={
        "serving_default": module.serve, "classify_tokens": module.classify_tokens,
        "label_only": module.label_only})
    _write_assets(folder, name, "classify", CLASSES)
    return folder


@contextlib.contextmanager
def running(server):
    """Serve ``server`` (a ModelServer) in a thread for the ``with`` block; shut it down."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def build_models_root(root: Path) -> Path:
    """``root/ner/{1,2}`` (PER, then ORG) and ``root/sentiment/1``."""
    save_tagger(root / "ner" / "1", "PER", confidences=False)
    save_tagger(root / "ner" / "2", "ORG")
    save_classifier(root / "sentiment" / "1")
    return root
