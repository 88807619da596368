"""Vocabularies, and the in-graph features that turn token strings into ids.

Built in Python from training data: :func:`build_vocab` (words, with a minimum
frequency and optional lowercasing / digit normalization) and
:func:`build_char_vocab`. Applied in the graph by :class:`TokenFeatures`, a
Keras layer made of core TF string ops and ``tf.lookup.StaticHashTable``, so a
SavedModel that contains it reloads with TensorFlow alone.

Id conventions (all int32): 0 = padding (the token ``""``), 1 = out of
vocabulary, 2.. = vocabulary entries in list order. :data:`CASING_CLASSES`
lists the casing ids.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import keras
import tensorflow as tf

PAD, OOV = 0, 1
CASING_CLASSES = (
    "<pad>", "other", "numeric", "has_digit", "lower", "upper", "title", "mixed", "punct",
)
_DIGIT = re.compile("[0-9]")


def normalize_token(token: str, lowercase: bool = False, normalize_digits: bool = False) -> str:
    """The transform :class:`TokenFeatures` applies before the word lookup."""
    if lowercase:
        token = token.lower()
    if normalize_digits:
        token = _DIGIT.sub("0", token)
    return token


def build_vocab(
    token_lists: Iterable[Sequence[str]],
    min_freq: int = 1,
    max_size: int | None = None,
    lowercase: bool = False,
    normalize_digits: bool = False,
) -> list[str]:
    """Word vocabulary: tokens seen ``min_freq`` times or more, most frequent first.

    Ties are broken alphabetically, so the result is deterministic. The empty
    string (padding) is never included. Pass the same ``lowercase`` and
    ``normalize_digits`` to :class:`TokenFeatures`.
    """
    if min_freq < 1:
        raise ValueError(f"min_freq must be >= 1, got {min_freq!r}")
    counts = Counter(
        normalize_token(t, lowercase, normalize_digits) for tokens in token_lists for t in tokens
    )
    counts.pop("", None)
    words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
    return words[:max_size] if max_size is not None else words


def build_char_vocab(
    token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None
) -> list[str]:
    """Character (Unicode code point) vocabulary, most frequent first."""
    return build_vocab(([c for t in tokens for c in t] for tokens in token_lists), min_freq,
                       max_size)


def _table(keys: Sequence[str]) -> tf.lookup.StaticHashTable:
    keys = list(keys)
    if len(set(keys)) != len(keys) or "" in keys:
        raise ValueError("a vocabulary must have distinct, non-empty entries")
    init = tf.lookup.KeyValueTensorInitializer(
        tf.constant(keys or ["\x00<none>"], tf.string),
        tf.range(2, 2 + max(len(keys), 1), dtype=tf.int64),
    )
    return tf.lookup.StaticHashTable(init, default_value=OOV)


@keras.saving.register_keras_serializable(package="tagger")
class TokenFeatures(keras.layers.Layer):
    """Maps padded token strings ``[B, T]`` (``""`` = padding) to id features.

    Returns a dict:

    - ``words``: int32 ``[B, T]``, word ids after the optional lowercasing and
      digit normalization (digits -> ``0``), as :func:`build_vocab` does.
    - ``chars``: int32 ``[B, T, C]``, character ids; ``C`` is the longest word
      in the batch, at most ``max_word_length`` (longer words are cut), at
      least 1. Characters are not lowercased.
    - ``casing``: int32 ``[B, T]``, an index into :data:`CASING_CLASSES`.
    - with ``distinct=True`` also ``distinct_chars``: int32 ``[U, C]``,
      ``chars`` of the ``U`` distinct tokens of the batch, and
      ``token_index``: int32 ``[B, T]``, each token's row in it (``chars ==
      distinct_chars[token_index]``), for encoders that run once per distinct
      token. (Off by default: a saved functional model finds this layer's
      outputs by their position in the sorted keys.)

    Example::

        features = TokenFeatures(build_vocab(train_tokens, min_freq=2),
                                 build_char_vocab(train_tokens))
        out = features(tf.constant([["EU", "rejects", ""]]))
        out["words"].shape  # (1, 3)
    """

    def __init__(
        self,
        vocabulary: Sequence[str],
        char_vocabulary: Sequence[str] = (),
        lowercase: bool = False,
        normalize_digits: bool = False,
        max_word_length: int = 20,
        distinct: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(max_word_length) < 1:
            raise ValueError(f"max_word_length must be >= 1, got {max_word_length!r}")
        self.vocabulary = list(vocabulary)
        self.char_vocabulary = list(char_vocabulary)
        self.lowercase = bool(lowercase)
        self.normalize_digits = bool(normalize_digits)
        self.max_word_length = int(max_word_length)
        self.distinct = bool(distinct)
        self.word_table = _table(self.vocabulary)
        self.char_table = _table(self.char_vocabulary)

    @property
    def word_vocab_size(self) -> int:
        """Number of word ids, padding and OOV included (an Embedding's input_dim)."""
        return len(self.vocabulary) + 2

    @property
    def char_vocab_size(self) -> int:
        return len(self.char_vocabulary) + 2

    def call(self, tokens):
        tokens = tf.convert_to_tensor(tokens, dtype=tf.string)
        # Every string op runs once per distinct token: about half the tokens of a
        # batch of running text are repeats ("the", ",", ".").
        distinct, index = tf.unique(tf.reshape(tokens, [-1]), out_idx=tf.int32)
        shape = tf.shape(tokens)
        index = tf.reshape(index, shape)
        words = distinct
        if self.lowercase:
            words = tf.strings.lower(words, encoding="utf-8")
        if self.normalize_digits:
            words = tf.strings.regex_replace(words, "[0-9]", "0")
        present = tf.not_equal(distinct, "")
        word_ids = tf.where(present, tf.cast(self.word_table.lookup(words), tf.int32), PAD)

        chars = tf.strings.unicode_split(distinct, "UTF-8", errors="replace")[
            :, : self.max_word_length
        ]
        char_ids = chars.with_flat_values(tf.cast(self.char_table.lookup(chars.flat_values),
                                                  tf.int32))
        width = tf.maximum(tf.cast(char_ids.bounding_shape(axis=1), tf.int32), 1)
        char_ids = char_ids.to_tensor(default_value=PAD,
                                      shape=tf.stack([tf.size(distinct), width]))
        features = {
            "words": tf.gather(word_ids, index),
            "chars": tf.gather(char_ids, index),
            "casing": tf.gather(casing_ids(distinct), index),
        }
        if self.distinct:
            features.update(distinct_chars=char_ids, token_index=index)
        return features

    def compute_output_spec(self, tokens):
        b, t = tokens.shape[0], tokens.shape[1]
        spec = {
            "words": keras.KerasTensor((b, t), dtype="int32"),
            "chars": keras.KerasTensor((b, t, None), dtype="int32"),
            "casing": keras.KerasTensor((b, t), dtype="int32"),
        }
        if self.distinct:
            spec.update(distinct_chars=keras.KerasTensor((None, None), dtype="int32"),
                        token_index=keras.KerasTensor((b, t), dtype="int32"))
        return spec

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary=self.vocabulary,
            char_vocabulary=self.char_vocabulary,
            lowercase=self.lowercase,
            normalize_digits=self.normalize_digits,
            max_word_length=self.max_word_length,
            distinct=self.distinct,
        )
        return config


_CASING_PATTERNS = (  # checked in order; the first full match wins
    ("numeric", r"[+-]?[0-9]+(?:[.,:/-][0-9]+)*"),
    ("has_digit", r".*[0-9].*"),
    ("lower", r"\p{Ll}[\p{Ll}\p{Mn}'’.-]*"),
    ("upper", r"\p{Lu}[\p{Lu}\p{Mn}'’.&-]*"),
    ("title", r"\p{Lu}[\p{Ll}\p{Mn}'’.-]*"),
    ("mixed", r".*\p{Lu}.*\p{Ll}.*|.*\p{Ll}.*\p{Lu}.*"),
    ("punct", r"[\p{P}\p{S}]+"),
)


def casing_ids(tokens: tf.Tensor) -> tf.Tensor:
    """Casing class of each token (int32, same shape); ``""`` -> 0 (padding)."""
    result = tf.fill(tf.shape(tokens), CASING_CLASSES.index("other"))
    for name, pattern in reversed(_CASING_PATTERNS):
        match = tf.strings.regex_full_match(tokens, pattern)
        result = tf.where(match, CASING_CLASSES.index(name), result)
    return tf.where(tf.equal(tokens, ""), PAD, result)
