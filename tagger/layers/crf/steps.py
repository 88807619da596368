"""What every CRF recursion shares: input preparation and the scan's step layout."""

from __future__ import annotations

from keras import ops

# Added to forbidden transitions. Finite (unlike -inf) so logsumexp and its
# gradient never meet inf - inf; exp(-1e4) is 0 in float32.
CONSTRAINT_PENALTY = -1e4


def prepare(emissions, mask):
    """Float32 emissions, a bool mask (all True if None) and lengths [B]."""
    emissions = ops.cast(emissions, "float32")
    if mask is None:
        mask = ops.ones(ops.shape(emissions)[:2], dtype="bool")
    mask = ops.cast(mask, "bool")
    return emissions, mask, ops.sum(ops.cast(mask, "int32"), axis=1)


def scan_input(emissions, mask):
    """Time-major ``[T, B, K + 1]``: the emissions with the mask as last channel.

    One ``xs`` tensor on purpose: Keras' TensorFlow ``scan`` cannot trace
    several ``xs`` with an unknown time dimension, and reading step ``t`` of a
    captured tensor instead makes the backward pass quadratic in ``T``.
    """
    x = ops.concatenate([emissions, ops.cast(mask, "float32")[:, :, None]], axis=-1)
    return ops.transpose(x, (1, 0, 2))


def split_step(x_t):
    """Emissions ``[B, K]`` and mask ``[B, 1]`` of one step of the scan input."""
    return x_t[:, :-1], x_t[:, -1:] > 0.5
