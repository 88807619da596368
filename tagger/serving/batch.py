"""Tag text files in bulk with an exported SavedModel (TensorFlow + standard library).

Records stream through in chunks: each chunk's sentences are cut into
model-sized pieces, sorted by length, run in batches, and put back together in
input order, so memory stays flat for a file of any size. Example::

    from tagger.serving.batch import FileTagger, TagOptions
    from tagger.serving.model import load_model
    tagger = FileTagger(load_model("models/ner-conll2003"), TagOptions(batch_size=128))
    with open("notes.txt", "rb") as src, open("notes.jsonl", "w") as dst:
        tagger.tag_stream(src, dst, input_format="text", output_format="jsonl")
    print(tagger.summary())

Bad input never stops the job: see ``tagger.serving.inputs`` for how lines are read;
a batch the model rejects is retried one sentence at a time, and a sentence it
still rejects is written with its whitespace tokens tagged ``O`` (counted as
``model_errors``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import BinaryIO, TextIO

import numpy as np

from tagger.serving.formats import OUTPUT_FORMATS, RecordWriter, default_output_format
from tagger.serving.inputs import INPUT_FORMATS, ReadStats, Unit, read_units
from tagger.serving.model import ModelError, SavedModel, load_model
from tagger.serving.text import split_pieces

__all__ = ["INPUT_FORMATS", "OUTPUT_FORMATS", "FileTagger", "ModelError", "TagOptions",
           "default_output_format", "load_model"]


@dataclass(frozen=True)
class TagOptions:
    batch_size: int = 128  # sentences (pieces) per model call (bench/RESULTS.md)
    max_tokens: int = 512  # longer sentences are tagged in pieces of this many words
    max_chars: int = 5000  # ... and of at most this many characters
    chunk_size: int = 8192  # records read, sorted and batched together (bench/RESULTS.md)
    max_line_bytes: int = 1 << 20  # longer physical lines are cut into parts
    workers: int = 2  # model calls in flight at once (TensorFlow releases the GIL)


def _decode(values) -> list[str]:
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]


def _decode_rows(array, lengths) -> list[list[str]]:
    """Row ``i`` of a ``[B, T]`` bytes array, cut to ``lengths[i]``, as str.

    One decode per row instead of one per token: no token holds a newline
    (every input format is line-based and the tokenizer splits on it).
    """
    rows = array.tolist()
    return [b"\n".join(row[:n]).decode("utf-8", "replace").split("\n") if n else []
            for row, n in zip(rows, lengths, strict=True)]


class FileTagger:
    """Runs a SavedModel over streams of records; keeps running totals for the summary."""

    def __init__(self, model: SavedModel, options: TagOptions | None = None,
                 warn: Callable[[str], None] | None = None):
        self.model = model
        self.options = options or TagOptions()
        self.warn = warn or (lambda message: None)
        self.read = ReadStats()
        self.files = self.sentences = self.tokens = self.model_errors = 0
        self.seconds = 0.0
        self._pool: ThreadPoolExecutor | None = None  # model calls
        self._chunks: ThreadPoolExecutor | None = None  # the chunk being tagged

    # -- model calls ----------------------------------------------------------
    def _call(self, pieces: list) -> list[dict]:
        """Model outputs for a batch of pieces (all strings, or all token lists)."""
        if isinstance(pieces[0], str):
            out = self.model.predict(pieces)
        else:
            out = self.model.predict_tokens(pieces)
        if self.model.is_tagger:
            tokens, tags = out["tokens"], out["tags"]
            scores = out.get("scores", np.zeros(tags.shape, dtype=np.float32))
            lengths = out.get("lengths")
            if lengths is None:
                lengths = (tokens != b"").sum(axis=1)
            lengths = np.asarray(lengths).tolist()
            rows = zip(_decode_rows(tokens, lengths), _decode_rows(tags, lengths),
                       scores.astype(float).tolist(), lengths, strict=True)
            results = [{"tokens": t, "tags": g, "scores": s[:n]} for t, g, s, n in rows]
            if "entity_scores" in out:  # models exported before entity confidences lack it
                for result, row, n in zip(results, out["entity_scores"].astype(float).tolist(),
                                          lengths, strict=True):
                    result["entity_scores"] = row[:n]
            return results
        probabilities = np.asarray(out["probabilities"], dtype=float)
        classes = out.get("classes")
        names = (_decode(classes[0]) if classes is not None and len(classes)
                 else [str(i) for i in range(probabilities.shape[-1])])
        return [{"probabilities": dict(zip(names, row.tolist(), strict=False))}
                for row in probabilities]

    def _fallback(self, piece) -> dict:
        tokens = piece.split() if isinstance(piece, str) else list(piece)
        if self.model.is_tagger:
            zeros = [0.0] * len(tokens)
            return {"tokens": tokens, "tags": ["O"] * len(tokens), "scores": zeros,
                    "entity_scores": zeros}
        return {"probabilities": {}}

    def _call_safely(self, pieces: list) -> list[dict]:
        try:
            return self._call(pieces)
        except Exception as error:  # noqa: BLE001 - a bad batch must not stop the job
            if len(pieces) > 1:
                return [r for piece in pieces for r in self._call_safely([piece])]
            self.model_errors += 1
            first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            self.warn(f"model failed on one sentence ({type(error).__name__}: {first}); "
                      "wrote it tagged O")
            return [self._fallback(pieces[0])]

    def _map(self, function, items: list) -> Iterable:
        """``map(function, items)``, up to ``workers`` calls at once, results in order.

        One call leaves a core idle between its small per-step ops and while
        Python unpacks its outputs; two in flight keep both cores busy.
        """
        if self.options.workers <= 1 or len(items) <= 1:
            return map(function, items)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.options.workers, thread_name_prefix="tagger")
        return self._pool.map(function, items)

    def close(self) -> None:
        """Stop the background threads (a new call starts them again)."""
        for pool in (self._chunks, self._pool):
            if pool is not None:
                pool.shutdown()
        self._chunks = self._pool = None

    # -- records --------------------------------------------------------------
    def _pieces(self, unit: Unit) -> list:
        opts = self.options
        if unit.tokens is not None:
            step = opts.max_tokens
            return [unit.tokens[i:i + step] for i in range(0, len(unit.tokens), step)] or [[]]
        return [unit.text[a:b] for a, b in split_pieces(unit.text, opts.max_tokens,
                                                          opts.max_chars)]

    def _assemble(self, unit: Unit, results: list[dict]) -> dict:
        if not self.model.is_tagger:
            names = next((list(r["probabilities"]) for r in results if r["probabilities"]), [])
            probs = {name: sum(r["probabilities"].get(name, 0.0) for r in results) / len(results)
                     for name in names}
            label = max(probs, key=probs.get) if probs else None
            return {"label": label, "probabilities": probs}
        keys = ["tokens", "tags", "scores"]
        if all("entity_scores" in result for result in results):
            keys.append("entity_scores")
        merged = {key: [] for key in keys}
        for result in results:
            for key in keys:
                merged[key].extend(result[key])
        if unit.tokens is not None:  # keep the given tokens; line up the tags with them
            n = len(unit.tokens)
            if len(merged["tags"]) != n:
                merged["tags"] = (merged["tags"] + ["O"] * n)[:n]
                for key in ("scores", "entity_scores"):
                    if key in merged:
                        merged[key] = (merged[key] + [0.0] * n)[:n]
            merged["tokens"] = list(unit.tokens)
        return merged

    def tag_units(self, units: list[Unit]) -> None:
        """Fill ``unit.result`` for every record of one chunk."""
        pieces, owners = [], []
        for index, unit in enumerate(units):
            if unit.kind == "tag":
                for piece in self._pieces(unit):
                    pieces.append(piece)
                    owners.append(index)
        results: list[dict | None] = [None] * len(pieces)
        size = self.options.batch_size
        batches = []
        for given_tokens in (False, True):  # a model call takes texts or token lists
            order = sorted((i for i, piece in enumerate(pieces)
                            if isinstance(piece, list) == given_tokens),
                           key=lambda i: len(pieces[i]))
            batches += [order[start:start + size] for start in range(0, len(order), size)]
        outputs = self._map(lambda batch: self._call_safely([pieces[i] for i in batch]), batches)
        for batch, batch_results in zip(batches, outputs, strict=True):
            for i, result in zip(batch, batch_results, strict=True):
                results[i] = result
        grouped: dict[int, list[dict]] = {}
        for owner, result in zip(owners, results, strict=True):
            grouped.setdefault(owner, []).append(result)
        for index, unit in enumerate(units):
            if unit.kind == "tag":
                unit.result = self._assemble(unit, grouped[index])
                self.sentences += 1
                counted = (unit.result["tokens"] if self.model.is_tagger
                           else unit.tokens or unit.text.split())
                self.tokens += len(counted)
            elif unit.kind == "docstart":
                unit.result = {"tokens": ["-DOCSTART-"], "tags": ["O"], "scores": [1.0]}

    def tag_records(self, units: Iterable[Unit]) -> Iterator[Unit]:
        """Tag a stream of records chunk by chunk, yielding them in input order.

        With ``workers > 1`` the next chunk is read while the current one is
        tagged in the background, and the previous one is written meanwhile.
        """
        iterator = iter(units)
        pending = None  # (chunk, future) being tagged in the background
        started = time.perf_counter()
        try:
            while True:
                chunk = list(islice(iterator, self.options.chunk_size))
                if pending is not None:
                    pending[1].result()
                    yield from pending[0]
                    pending = None
                if not chunk:
                    return
                if self.options.workers <= 1:
                    self.tag_units(chunk)
                    yield from chunk
                else:
                    if self._chunks is None:
                        self._chunks = ThreadPoolExecutor(1, thread_name_prefix="tagger-chunks")
                    pending = (chunk, self._chunks.submit(self.tag_units, chunk))
        finally:
            self.seconds += time.perf_counter() - started

    def tag_stream(self, source: BinaryIO, sink: TextIO, *, input_format: str = "text",
                   output_format: str | None = None, file_label: str | None = None,
                   on_progress: Callable[[int], None] | None = None) -> None:
        """Read records from a binary stream, tag them, write them to a text stream."""
        output_format = output_format or default_output_format(self.model)
        writer = RecordWriter(sink, output_format, self.model, file_label=file_label)
        before = self.read.bytes
        units = read_units(source, input_format, self.read, max_tokens=self.options.max_tokens,
                           max_line_bytes=self.options.max_line_bytes)
        for unit in self.tag_records(units):
            writer.write(unit)
            if on_progress and self.read.bytes != before:
                on_progress(self.read.bytes - before)
                before = self.read.bytes
        self.files += 1

    def summary(self, wall_seconds: float | None = None) -> dict:
        """Totals so far; ``seconds`` is wall time when given, else time spent in tag_records."""
        seconds = self.seconds if wall_seconds is None else wall_seconds
        return {
            "files": self.files,
            "lines": self.read.lines,
            "sentences": self.sentences,
            "tokens": self.tokens,
            "seconds": round(seconds, 3),
            "tokens_per_second": round(self.tokens / seconds, 1) if seconds > 0 else None,
            "invalid_utf8_lines": self.read.invalid_utf8_lines,
            "split_lines": self.read.split_lines,
            "model_errors": self.model_errors,
            "model": self.model.name,
            "version": self.model.version,
        }
