"""Classes as groups of finer labels: a coarse classifier trained on fine labels."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="tagger")
class GroupLogits(keras.layers.Layer):
    """Logits of label groups from the logits of their members.

    Fine label ``j`` belongs to group ``g(j)``; a group's probability is the sum
    of its members' probabilities, ``p(c) = Σ_{j: g(j) = c} softmax(z)_j``.
    The group logits

        y_c = log Σ_{j: g(j) = c} exp(z_j)

    give exactly that under a softmax (the shared normaliser cancels), so
    everything downstream of a classifier's logits (argmax, softmax,
    cross-entropy) works on the groups unchanged.

    Input ``[..., F]`` fine logits; output ``[..., C]`` group logits.
    ``groups``: ``F`` group indices in ``[0, C)``, every group non-empty.
    """

    def __init__(self, groups, num_groups: int, **kwargs):
        super().__init__(**kwargs)
        groups = [int(g) for g in groups]
        if sorted(set(groups)) != list(range(num_groups)):
            raise ValueError(f"every group in [0, {num_groups}) needs a member and no index may "
                             f"lie outside it. Received: groups={groups}")
        self.groups, self.num_groups = groups, num_groups
        member = np.zeros((len(groups), num_groups), np.float32)
        member[np.arange(len(groups)), groups] = 1.0
        # 0 for members, a large negative number for the rest (not -inf: no NaN gradients)
        self._offsets = (member - 1.0) * 1e9

    def call(self, logits):
        offsets = ops.convert_to_tensor(self._offsets, dtype=logits.dtype)
        return ops.logsumexp(ops.expand_dims(logits, -1) + offsets, axis=-2)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_groups)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "num_groups": self.num_groups}
