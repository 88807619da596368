"""Custom recurrent cells and the fast sequence layer that runs them.

``CELLS`` maps each cell name to its class; ``make_cell`` builds a cell for
``keras.layers.RNN``; ``make_rnn`` builds the sequence layer the models use
(input projections hoisted out of the time loop, padded steps skipped).

Modules: ``base`` (the gate helpers all cells share), one file per family
(``elman``, ``lstm``, ``gru``, ``minimal_rnn``, ``cfn``), ``sequence`` /
``loop`` / ``packing`` (the fast sequence layer). May import: Keras and NumPy
only (the bottom floor: everything else builds on it).

>>> from tagger.cells import CELLS, make_cell, make_rnn
>>> sorted(CELLS)
['cfn', 'elman', 'gru', 'lstm', 'lstm_cifg', 'lstm_nfg', 'lstm_peephole', 'minimal_rnn']
"""

from __future__ import annotations

from tagger.cells.base import RecurrentCell
from tagger.cells.cfn import CFNCell
from tagger.cells.elman import ElmanCell
from tagger.cells.gru import GRUCell
from tagger.cells.lstm import CIFGLSTMCell, LSTMCell, LSTMNoForgetCell, PeepholeLSTMCell
from tagger.cells.minimal_rnn import MinimalRNNCell
from tagger.cells.sequence import SequenceRNN

CELLS: dict[str, type[RecurrentCell]] = {
    "elman": ElmanCell,
    "lstm": LSTMCell,
    "lstm_nfg": LSTMNoForgetCell,
    "lstm_peephole": PeepholeLSTMCell,
    "lstm_cifg": CIFGLSTMCell,
    "gru": GRUCell,
    "minimal_rnn": MinimalRNNCell,
    "cfn": CFNCell,
}

# Arguments of the sequence layer, as opposed to the cell's own.
_SEQUENCE_ARGS = ("return_sequences", "return_state", "go_backwards", "zero_output_for_mask",
                  "stateful", "name")


def _cell_class(name: str) -> type[RecurrentCell]:
    try:
        return CELLS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown cell {name!r}. Choose one of: {', '.join(sorted(CELLS))}"
        ) from None


def make_cell(name: str, units: int, /, **kwargs) -> RecurrentCell:
    """A fresh cell usable in ``keras.layers.RNN`` and ``keras.layers.Bidirectional``.

    Args:
        name: A key of ``CELLS``.
        units: Size of the hidden state.
        **kwargs: The cell's own arguments (``dropout``, ``activation``,
            ``reset_after``, initializers, ...); ``name=`` names the cell.
    """
    return _cell_class(name)(units, **kwargs)


def make_rnn(name: str, units: int, /, bidirectional: bool = False, **kwargs) -> SequenceRNN:
    """The fast sequence layer for cell ``name``.

    Computes the same function as ``keras.layers.RNN(make_cell(name, units))``
    (or, with ``bidirectional=True``, as
    ``keras.layers.Bidirectional(keras.layers.RNN(make_cell(name, units)))``,
    forward outputs first) with the same weights.

    Args:
        name: A key of ``CELLS``.
        units: Size of the hidden state (per direction).
        bidirectional: Run both directions (two concurrent time loops), outputs
            concatenated forward first.
        **kwargs: ``return_sequences``, ``return_state``, ``go_backwards``,
            ``zero_output_for_mask`` and ``name`` go to the layer, ``dtype``
            to both; everything else goes to the cell.
    """
    layer_kwargs = {k: kwargs.pop(k) for k in _SEQUENCE_ARGS if k in kwargs}
    if "dtype" in kwargs:  # the layer and its cell compute in the same dtype
        layer_kwargs["dtype"] = kwargs["dtype"]
    cell = make_cell(name, units, **kwargs)
    return SequenceRNN(cell, bidirectional=bidirectional, **layer_kwargs)


__all__ = [
    "CELLS",
    "CFNCell",
    "CIFGLSTMCell",
    "ElmanCell",
    "GRUCell",
    "LSTMCell",
    "LSTMNoForgetCell",
    "MinimalRNNCell",
    "PeepholeLSTMCell",
    "RecurrentCell",
    "SequenceRNN",
    "make_cell",
    "make_rnn",
]
