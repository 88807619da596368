"""The fast sequence layer: a cell run over whole sequences.

``SequenceRNN`` computes the same function as ``keras.layers.RNN(cell)`` (and,
with ``bidirectional=True``, as ``keras.layers.Bidirectional(RNN(cell))``)
but is organised for speed:

1. every input-only term is computed for all time steps at once
   (``cell.project_inputs`` on the ``(batch, time, features)`` tensor: one
   large matrix product instead of one small product per step);
2. both directions of a bidirectional layer advance in one time loop, their
   states stacked on a leading axis so each step is one batched product;
3. masks cost one ``where`` per state per step, and padded outputs are zeroed
   after the loop in one product rather than inside it.
"""

from __future__ import annotations

import keras
from keras import ops

from tagger.cells.base import register
from tagger.cells.loop import run_time_loop


def _stack_directions(tensors, dtype):
    """Stack per-direction weights on a new leading axis (vectors broadcast over batch)."""
    stacked = ops.stack([ops.cast(t, dtype) for t in tensors], axis=0)
    return ops.expand_dims(stacked, 1) if len(tensors[0].shape) == 1 else stacked


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
        batch = ops.shape(sequences)[0]
        if mask is not None:
            mask = ops.cast(mask, "bool")

        projected, masks, rec_masks, states = [], [], [], []
        for direction, cell in enumerate(cells):
            backwards = self.go_backwards or direction == 1
            x = sequences
            if training and cell.dropout > 0:
                noise_shape = (batch, 1, ops.shape(sequences)[-1])
                x = keras.random.dropout(
                    x, cell.dropout, noise_shape=noise_shape, seed=cell.seed_generator
                )
            p = cell.project_inputs(x)
            projected.append(ops.flip(p, axis=1) if backwards else p)
            if mask is not None:
                masks.append(ops.flip(mask, axis=1) if backwards else mask)
            rec_masks.append(
                cell.recurrent_dropout_mask(batch, p.dtype)
                if training and cell.recurrent_dropout > 0
                else None
            )
            states.append(self._initial_states(cell, initial_state, direction, batch))

        if len(cells) == 1:
            p_tm = ops.transpose(projected[0], (1, 0, 2))
            m_tm = None if mask is None else ops.expand_dims(ops.transpose(masks[0]), -1)
            init = states[0]
            weights = cells[0].recurrent_weights()
            rec_mask = rec_masks[0]
        else:
            p_tm = ops.transpose(ops.stack(projected), (2, 0, 1, 3))  # (T, 2, B, P)
            m_tm = None
            if mask is not None:
                m_tm = ops.expand_dims(ops.transpose(ops.stack(masks), (2, 0, 1)), -1)
            init = [ops.stack(pair) for pair in zip(*states, strict=True)]
            weights = {
                name: _stack_directions([w, bw], p_tm.dtype)
                for (name, w), bw in zip(
                    cells[0].recurrent_weights().items(),
                    cells[1].recurrent_weights().values(),
                    strict=True,
                )
            }
            rec_mask = None if rec_masks[0] is None else ops.stack(rec_masks)

        zero_output = self.zero_output_for_mask or (self.bidirectional and self.return_sequences)
        track_output = mask is not None and initial_state is not None and not zero_output
        outputs, last_output, final_states = run_time_loop(
            step=lambda p, s: cells[0].step(p, s, weights, rec_mask),
            projected=p_tm,
            mask=m_tm,
            states=init,
            return_sequences=self.return_sequences,
            track_output=track_output,
        )
        if zero_output and m_tm is not None:
            if self.return_sequences:
                outputs = outputs * ops.cast(m_tm, outputs.dtype)
            else:
                last_output = last_output * ops.cast(m_tm[-1], last_output.dtype)

        if len(cells) == 1:
            result = ops.transpose(outputs, (1, 0, 2)) if self.return_sequences else last_output
            final = list(final_states)
        else:
            if self.return_sequences:
                forward = ops.transpose(outputs[:, 0], (1, 0, 2))
                backward = ops.flip(ops.transpose(outputs[:, 1], (1, 0, 2)), axis=1)
            else:
                forward, backward = last_output[0], last_output[1]
            result = ops.concatenate([forward, backward], axis=-1)
            final = [s[0] for s in final_states] + [s[1] for s in final_states]
        if self.return_state:
            return [result, *final]
        return result

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

