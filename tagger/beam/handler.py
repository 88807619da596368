"""A Beam ``ModelHandler`` for our exported SavedModels.

Beam's stock TensorFlow handler expects a Keras model fed tensors; ours take
strings (``serving_default``: sentences) and need the piecewise tagging and
record assembly of ``serve.py``. This handler loads the SavedModel once per
worker process (``RunInference`` shares what ``load_model`` returns) as a
``FileTagger``, and runs each batch Beam forms through ``FileTagger.tag_units``:
long sentences cut into pieces, pieces sorted by length and run
``batch_size`` at a time, records put back together, exactly as ``serve.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from apache_beam.ml.inference.base import ModelHandler

from tagger.beam.records import Source, output_record
from tagger.serving.batch import FileTagger, TagOptions
from tagger.serving.inputs import Unit
from tagger.serving.model import load_model

Element = tuple[Source, Unit]


class SavedModelHandler(ModelHandler[Element, dict, FileTagger]):
    """``(Source, Unit)`` elements in, ``serve.py``-style JSONL records (dicts) out.

    Args:
        model_path: a model folder (its highest version) or a version folder,
            on any filesystem TensorFlow reads (``gs://...``).
        options: piece sizes and the model's batch size, as ``serve.py``'s.
        min_batch_size, max_batch_size: the records Beam's ``BatchElements``
            puts in one ``run_inference`` call; the larger, the better the
            length sorting inside it packs the model's batches.
    """

    def __init__(self, model_path: str, options: TagOptions | None = None, *,
                 min_batch_size: int = 256, max_batch_size: int = 4096):
        super().__init__(min_batch_size=min_batch_size, max_batch_size=max_batch_size)
        self.model_path = str(model_path)
        self.options = options or TagOptions()

    def load_model(self) -> FileTagger:
        return FileTagger(load_model(self.model_path), self.options)

    def run_inference(self, batch: Sequence[Element], model: FileTagger,
                      inference_args: dict | None = None) -> Iterable[dict]:
        # tag copies: Beam may still hold the input elements
        units = [dataclasses.replace(unit) for _, unit in batch]
        model.tag_units(units)
        return [output_record(source, unit, model.model.is_tagger, model.model.spans)
                for (source, _), unit in zip(batch, units, strict=True)]

    def get_num_bytes(self, batch: Sequence[Element]) -> int:
        return sum(len(unit.text.encode("utf-8")) for _, unit in batch)

    def get_metrics_namespace(self) -> str:
        return "tagger"
