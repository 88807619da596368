"""The fast sequence layer: a cell run over whole sequences.

``SequenceRNN`` computes the same function as ``keras.layers.RNN(cell)`` (and,
with ``bidirectional=True``, as ``keras.layers.Bidirectional(RNN(cell))``)
but is organised for speed:

1. every input-only term is computed for all time steps at once
   (``cell.project_inputs`` on the ``(batch, time, features)`` tensor: one
   large matrix product instead of one small product per step);
2. the two directions of a bidirectional layer run as two independent time
   loops, which TensorFlow executes concurrently (one core each here);
3. padded steps are never computed: rows are packed by length (``packing.py``)
   so step ``t`` runs only the rows that still have real steps, and the input
   projection covers real tokens only; one gather puts outputs back in place.
"""

from __future__ import annotations

import keras
from keras import ops

from tagger.cells.base import register
from tagger.cells.loop import run_time_loop
from tagger.cells.packing import pack


@register
class SequenceRNN(keras.layers.Layer):
    """Runs a ``tagger.cells`` cell over a sequence, with input projections hoisted.

    Args:
        cell: A cell from ``tagger.cells`` (or its serialized config).
        return_sequences: Return the output at every step (else only the last).
        return_state: Also return the final states.
        go_backwards: Process the sequence in reverse (as ``keras.layers.RNN``:
            the returned sequence is in processing order).
        bidirectional: Run a second, independently weighted cell backwards and
            concatenate the outputs (forward first), like
            ``keras.layers.Bidirectional(keras.layers.RNN(cell))``.
        zero_output_for_mask: Output zeros at masked steps instead of carrying
            the previous output (``Bidirectional`` sets it).

    Inputs: ``(batch, time, features)`` plus an optional ``(batch, time)``
    mask (right padding); padded steps leave the states unchanged.

    Dropout: the cell's ``dropout`` uses one input mask per sequence and
    ``recurrent_dropout`` one mask on ``h_{t-1}`` per sequence (variational
    dropout, Gal & Ghahramani 2016).

    Example:

    >>> layer = SequenceRNN(make_cell("lstm", 64), return_sequences=True, bidirectional=True)
    """

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        bidirectional=False,
        zero_output_for_mask=False,
        stateful=False,
        **kwargs,
    ):
        if stateful:
            raise ValueError("SequenceRNN does not support `stateful=True`.")
        if bidirectional and go_backwards:
            raise ValueError(
                "`go_backwards=True` is meaningless with `bidirectional=True`; "
                "a bidirectional layer already runs both directions."
            )
        super().__init__(**kwargs)
        if isinstance(cell, dict):
            cell = keras.saving.deserialize_keras_object(cell)
        if not hasattr(cell, "project_inputs") or not hasattr(cell, "step"):
            raise ValueError(
                "`cell` must be a tagger.cells cell (with project_inputs and step). "
                f"Received: cell={cell!r}"
            )
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.bidirectional = bool(bidirectional)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.stateful = False
        self.supports_masking = True
        # Each step runs a data-dependent number of rows (packing.py): no XLA.
        self.supports_jit = False
        self.backward_cell = None
        if self.bidirectional:
            config = cell.get_config()
            config["name"] = f"backward_{cell.name}"
            self.backward_cell = type(cell).from_config(config)

    @property
    def cells(self):
        return [self.cell] if self.backward_cell is None else [self.cell, self.backward_cell]

    def build(self, sequences_shape, initial_state_shape=None):
        step_shape = (sequences_shape[0], sequences_shape[-1])
        for cell in self.cells:
            if not cell.built:
                cell.build(step_shape)
        self.built = True

    # ------------------------------------------------------------------ call
    def call(self, sequences, initial_state=None, mask=None, training=False):
        cells = self.cells
        D, units = len(cells), self.cell.units
        batch, length = ops.shape(sequences)[0], ops.shape(sequences)[1]
        mask = ops.ones((batch, length), "bool") if mask is None else ops.cast(mask, "bool")
        zero_output = self.zero_output_for_mask or (self.bidirectional and self.return_sequences)
        plan = pack(mask, [self.go_backwards or d == 1 for d in range(D)], zero_output)

        projected, rec_masks, states = [], [], []
        features = sequences.shape[-1] or ops.shape(sequences)[-1]
        for direction, cell in enumerate(cells):
            x = sequences
            if training and cell.dropout > 0:
                noise_shape = (batch, 1, ops.shape(sequences)[-1])
                x = keras.random.dropout(
                    x, cell.dropout, noise_shape=noise_shape, seed=cell.seed_generator
                )
            x = ops.take(ops.reshape(x, (-1, features)), plan.sources[direction], 0)
            projected.append(cell.project_inputs(x))  # real steps only
            rec_masks.append(
                cell.recurrent_dropout_mask(batch, projected[-1].dtype)
                if training and cell.recurrent_dropout > 0
                else None
            )
            states.append(self._initial_states(cell, initial_state, direction, batch))

        # One loop per direction: independent loops run concurrently on TensorFlow's
        # inter-op threads (bench/RESULTS.md: 1.3-1.5x one fused loop on 2 cores).
        loops = [self._run_direction(cell, projected[d], states[d], rec_masks[d], plan)
                 for d, cell in enumerate(cells)]
        # (d, t, j) order, the packing plan's layout: one direction after the other
        outputs, *histories = [ops.concatenate(parts, 0) for parts in zip(*(
            [out, *hist] for out, hist in loops), strict=True)]
        zero = ops.zeros((1, units), outputs.dtype)  # the row masked steps read
        outputs = ops.concatenate([outputs, zero], axis=0)
        index = list(plan.output_index)  # per direction, (B, T) in processing order
        if self.return_sequences:
            if self.bidirectional:  # the backward direction is returned in input order
                index[1] = ops.flip(index[1], axis=1)
            gathered = ops.take(outputs, ops.stack(index, axis=-1), axis=0)  # (B, T, D, U)
            result = ops.reshape(gathered, (batch, length, D * units))
        else:
            last = [ops.concatenate([ops.full((batch, 1), D * plan.total, "int32"), i], 1)[:, -1]
                    for i in index]  # (the zero row when there are no steps)
            result = ops.reshape(ops.take(outputs, ops.stack(last, -1), axis=0), (batch, -1))
        if not self.return_state:
            return result
        final = []
        packed_states = [outputs] + [ops.concatenate([h, zero], 0) for h in histories]
        for direction in range(D):
            for packed_state, first in zip(packed_states, states[direction], strict=True):
                got = ops.take(packed_state, plan.last_index[direction], axis=0)
                final.append(ops.where(plan.lengths[:, None] > 0, got, first))
        return [result, *final]

    def _run_direction(self, cell, projected, states, rec_mask, plan):
        """One direction's loop over its packed steps, rows sorted by decreasing length."""
        weights = cell.recurrent_weights()
        init = [ops.take(s, plan.order, axis=0) for s in states]
        if rec_mask is not None:
            rec_mask = ops.take(rec_mask, plan.order, axis=0)

        def step(x, s, n):
            return cell.step(x, s, weights, None if rec_mask is None else rec_mask[:n])

        return run_time_loop(step, projected, plan.sizes, plan.steps, init,
                             keep_states=self.return_state)

    def _initial_states(self, cell, initial_state, direction, batch):
        if initial_state is None:
            return cell.get_initial_state(batch)
        initial_state = list(initial_state) if isinstance(initial_state, (list, tuple)) else [
            initial_state
        ]
        count = cell.state_count
        expected = count * len(self.cells)
        if len(initial_state) != expected:
            raise ValueError(
                f"{self.name} expects {expected} initial state tensors. "
                f"Received: {len(initial_state)}"
            )
        chosen = initial_state[direction * count : (direction + 1) * count]
        return [ops.cast(s, self.compute_dtype) for s in chosen]

    # ----------------------------------------------------------- shapes/mask
    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, length = sequences_shape[0], sequences_shape[1]
        width = self.cell.units * len(self.cells)
        output_shape = (batch, length, width) if self.return_sequences else (batch, width)
        if self.return_state:
            states = [(batch, self.cell.units)] * (self.cell.state_count * len(self.cells))
            return [output_shape, *states]
        return output_shape

    def compute_mask(self, sequences, mask=None):
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * (self.cell.state_count * len(self.cells))
        return output_mask

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = {
            "cell": keras.saving.serialize_keras_object(self.cell),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "bidirectional": self.bidirectional,
            "zero_output_for_mask": self.zero_output_for_mask,
        }
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cell"] = keras.saving.deserialize_keras_object(config["cell"])
        return cls(**config)

