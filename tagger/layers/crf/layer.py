"""The :class:`CRF` Keras layer: owns the weights, applies the scheme's constraints."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tagger.layers.crf.likelihood import crf_log_likelihood
from tagger.layers.crf.posteriors import crf_marginals, crf_posteriors
from tagger.layers.crf.steps import CONSTRAINT_PENALTY, prepare
from tagger.layers.crf.viterbi import viterbi_decode
from tagger.layers.tag_constraints import allowed_transitions


@keras.saving.register_keras_serializable(package="tagger")
class CRF(keras.layers.Layer):
    """Linear-chain CRF head: transition weights, loss and decoding.

    ``call(emissions, mask=None)`` returns the emissions unchanged (and passes
    the mask on), so a functional model can output them and train with
    :meth:`crf_loss`; decoding is a separate method, usable in a serving graph.
    Forbidden transitions of ``scheme`` get ``CONSTRAINT_PENALTY`` added to
    their weights, in training and decoding alike (gold tags must follow the
    scheme, e.g. convert CoNLL-2003 IOB1 to IOB2 first or use ``"iob1"``).

    Args:
        num_tags: Number of tags ``K`` (last dim of the emissions).
        tag_names: Optional list of ``K`` tag strings ("O", "B-PER", ...).
        scheme: Optional constraint scheme, see :func:`allowed_transitions`;
            needs ``tag_names``.
        transitions_initializer: Initializer of all three weights (small
            uniform by default).
        transitions_regularizer: Optional regularizer of all three weights.

    Example:

    >>> crf = CRF(3, tag_names=["O", "B-X", "I-X"], scheme="iob2")
    >>> emissions = keras.random.normal((2, 5, 3))
    >>> mask = keras.ops.arange(5)[None] < keras.ops.array([[5], [2]])
    >>> _ = crf(emissions, mask=mask)
    >>> tags, scores = crf.decode(emissions, mask)
    >>> loss = crf.crf_loss(emissions, tags, mask)
    """

    def __init__(
        self,
        num_tags,
        tag_names=None,
        scheme=None,
        transitions_initializer="random_uniform",
        transitions_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(num_tags, bool) or not isinstance(num_tags, int | np.integer) or num_tags < 1:
            raise ValueError(f"Received an invalid value for `num_tags`: {num_tags!r}.")
        if tag_names is not None:
            tag_names = [str(name) for name in tag_names]
            if len(tag_names) != num_tags or len(set(tag_names)) != num_tags:
                raise ValueError(
                    f"`tag_names` must be {num_tags} distinct names (num_tags), "
                    f"received: {tag_names}."
                )
        if scheme is not None:
            if tag_names is None:
                raise ValueError(f"`scheme={scheme!r}` needs `tag_names`.")
            scheme = str(scheme).lower()
            self._allowed = allowed_transitions(tag_names, scheme)
        self.num_tags = int(num_tags)
        self.tag_names = tag_names
        self.scheme = scheme
        self.transitions_initializer = keras.initializers.get(transitions_initializer)
        self.transitions_regularizer = keras.regularizers.get(transitions_regularizer)
        self.supports_masking = True

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.num_tags:
            raise ValueError(
                f"CRF with num_tags={self.num_tags} got emissions of shape {input_shape}."
            )

        def weight(name, shape):
            return self.add_weight(
                name=name,
                shape=shape,
                initializer=self.transitions_initializer,
                regularizer=self.transitions_regularizer,
                autocast=False,
            )

        self.transitions = weight("transitions", (self.num_tags, self.num_tags))
        self.start_transitions = weight("start_transitions", (self.num_tags,))
        self.end_transitions = weight("end_transitions", (self.num_tags,))

    def call(self, emissions, mask=None):
        return emissions

    def compute_output_shape(self, input_shape):
        return input_shape

    def potentials(self):
        """``(transitions, start, end)`` float32, with the constraint penalty added."""
        weights = [self.transitions, self.start_transitions, self.end_transitions]
        weights = [ops.cast(w, "float32") for w in weights]
        if self.scheme is None:
            return tuple(weights)
        return tuple(
            w + ops.convert_to_tensor(np.where(ok, 0.0, CONSTRAINT_PENALTY).astype("float32"))
            for w, ok in zip(weights, self._allowed, strict=True)
        )

    def log_likelihood(self, emissions, tags, mask=None):
        """``log p(tags | emissions)`` per sequence, float32 ``[B]``."""
        return crf_log_likelihood(emissions, tags, mask, *self.potentials())

    def crf_loss(self, emissions, tags, mask=None, per_token=False):
        """Mean negative log-likelihood over sequences (or over real tokens)."""
        nll = -ops.sum(self.log_likelihood(emissions, tags, mask))
        if not per_token:
            return nll / ops.cast(ops.shape(emissions)[0], "float32")
        _, mask, lengths = prepare(emissions, mask)
        return nll / ops.maximum(ops.cast(ops.sum(lengths), "float32"), 1.0)

    def marginals(self, emissions, mask=None):
        """Posterior ``p(y_t = k | emissions)``, float32 ``[B, T, K]``."""
        return crf_marginals(emissions, mask, *self.potentials())

    def posteriors(self, emissions, mask=None, temperature=1.0):
        """Viterbi tags and posteriors at ``temperature``: ``(tags, marginals, conditionals)``.

        ``p_T(y) ∝ exp(s(y) / T)``: dividing every score by ``T`` leaves the
        best path unchanged and softens (``T > 1``) or sharpens its
        probabilities; export uses the ``T`` fitted on dev (calibration).
        See :func:`crf_posteriors` for the two ``[B, T, K]`` tensors.
        """
        potentials = self.potentials()
        tags, _ = viterbi_decode(emissions, mask, *potentials)
        scale = 1.0 / temperature
        marginals, conditionals = crf_posteriors(
            ops.cast(emissions, "float32") * scale, mask, tags,
            *(p * scale for p in potentials))
        return tags, marginals, conditionals

    def decode(self, emissions, mask=None):
        """Viterbi tags int32 ``[B, T]`` and per-token scores float32 ``[B, T]``.

        A token's score is the marginal probability of its decoded tag (0 on
        padding), i.e. the model's confidence in that tag at that position.
        """
        potentials = self.potentials()
        tags, _ = viterbi_decode(emissions, mask, *potentials)
        marginals = crf_marginals(emissions, mask, *potentials)
        return tags, ops.take_along_axis(marginals, tags[:, :, None], axis=2)[:, :, 0]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_tags": self.num_tags,
                "tag_names": self.tag_names,
                "scheme": self.scheme,
                "transitions_initializer": keras.initializers.serialize(
                    self.transitions_initializer
                ),
                "transitions_regularizer": keras.regularizers.serialize(
                    self.transitions_regularizer
                ),
            }
        )
        return config
