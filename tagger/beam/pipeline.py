"""The corpus-tagging pipeline: files -> lines -> records -> RunInference -> JSONL shards.

::

    MatchAll(globs) -> ReadMatches -> lines of each file -> Reshuffle
      -> parse (Beam exception handling: a bad line goes to the dead letters)
      -> RunInference(SavedModelHandler) (exception handling: a failed batch too)
      -> JSON lines -> WriteToText(PREFIX-SSSSS-of-NNNNN.jsonl)
    dead letters -> error records -> WriteToText(PREFIX-errors-SSSSS-of-NNNNN.jsonl)

Each file is read by one worker (line numbers need its lines in order); the
Reshuffle after reading spreads its lines over all workers. Counters (namespace
``tagger``): ``records``, ``tokens``, ``entities_<TYPE>``, ``errors``,
``blank_lines``; see ``counter_summary``.
"""

from __future__ import annotations

from dataclasses import dataclass

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import RunInference

from tagger.beam.handler import SavedModelHandler
from tagger.beam.records import (
    InputError,
    LineElement,
    error_record,
    parse,
    read_file_lines,
    record_counts,
)
from tagger.files import json_line
from tagger.serving.batch import TagOptions

NAMESPACE = "tagger"
SHARD_TEMPLATE = "-SSSSS-of-NNNNN"
SUFFIX = ".jsonl"


@dataclass(frozen=True)
class CorpusJob:
    """What to tag, with what, and where the shards go."""

    model: str
    inputs: tuple[str, ...]
    output: str  # shard prefix
    input_format: str = "lines"
    options: TagOptions = TagOptions(workers=1)
    min_batch_records: int = 256
    max_batch_records: int = 4096
    num_shards: int = 0  # 0: the runner decides

    @property
    def errors_prefix(self) -> str:
        return f"{self.output}-errors"


class _ReadLines(beam.DoFn):
    def __init__(self, max_line_bytes: int):
        self.max_line_bytes = max_line_bytes

    def process(self, readable):
        with readable.open() as stream:
            yield from read_file_lines(readable.metadata.path, stream, self.max_line_bytes)


class _Parse(beam.DoFn):
    """Records of one line; raises InputError (to the dead letters) for a bad one."""

    def __init__(self, input_format: str):
        self.input_format = input_format
        self.blank = Metrics.counter(NAMESPACE, "blank_lines")

    def process(self, element: LineElement):
        records = list(parse(element, self.input_format))
        if not records:
            self.blank.inc()
        yield from records


class _Serialize(beam.DoFn):
    """An output record as one JSON line, counted."""

    def process(self, record: dict):
        for name, value in record_counts(record).items():
            Metrics.counter(NAMESPACE, name).inc(value)
        yield json_line(record)


def _bad_line(dead_letter) -> list[dict]:
    element, (error_type, message, _traceback) = dead_letter
    reason = message if issubclass(error_type, InputError) else f"{error_type.__name__}: {message}"
    line = element.line
    return [error_record(element.file, line.number, reason, line.text, part=line.part)]


def _failed_batch(dead_letter) -> list[dict]:
    batch, (error_type, message, _traceback) = dead_letter
    reason = f"model failed on its batch: {error_type.__name__}: {message}"
    return [error_record(source.file, source.line, reason, unit.text, part=unit.part,
                         source=source) for source, unit in batch]


class _CountErrors(beam.DoFn):
    def __init__(self):
        self.errors = Metrics.counter(NAMESPACE, "errors")

    def process(self, record: dict):
        self.errors.inc()
        yield json_line(record)


def _write(prefix: str, num_shards: int) -> beam.PTransform:
    return beam.io.WriteToText(prefix, file_name_suffix=SUFFIX, num_shards=num_shards,
                               shard_name_template=SHARD_TEMPLATE)


def tag_corpus(pipeline: beam.Pipeline, job: CorpusJob) -> None:
    """Adds the whole job to ``pipeline`` (run it to tag)."""
    handler = SavedModelHandler(job.model, job.options, min_batch_size=job.min_batch_records,
                                max_batch_size=job.max_batch_records)
    lines = (pipeline
             | "Inputs" >> beam.Create(list(job.inputs))
             | "Match" >> fileio.MatchAll()
             | "Open" >> fileio.ReadMatches()
             | "ReadLines" >> beam.ParDo(_ReadLines(job.options.max_line_bytes))
             | "Spread" >> beam.Reshuffle())
    parsed, bad_lines = (lines | "Parse" >> beam.ParDo(_Parse(job.input_format))
                         .with_exception_handling())
    records, failed = parsed | "Tag" >> RunInference(handler).with_exception_handling()
    _ = (records
         | "Serialize" >> beam.ParDo(_Serialize())
         | "Write" >> _write(job.output, job.num_shards))
    _ = ((bad_lines | "BadLines" >> beam.FlatMap(_bad_line),
          failed.failed_inferences | "FailedBatches" >> beam.FlatMap(_failed_batch))
         | "Errors" >> beam.Flatten()
         | "SerializeErrors" >> beam.ParDo(_CountErrors())
         | "WriteErrors" >> _write(job.errors_prefix, 0))


def counter_summary(result) -> dict:
    """The job's counters from a finished pipeline result: records, tokens, errors,
    blank lines and ``entities`` per type (runners without metrics: empty)."""
    try:
        counters = result.metrics().query(
            beam.metrics.MetricsFilter().with_namespace(NAMESPACE))["counters"]
    except (NotImplementedError, AttributeError, KeyError):
        return {}
    totals: dict[str, int] = {}
    for counter in counters:
        name = counter.key.metric.name
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[name] = totals.get(name, 0) + int(value or 0)
    summary = {key: totals.get(key, 0) for key in ("records", "tokens", "errors", "blank_lines")}
    summary["entities"] = {name.removeprefix("entities_"): value
                           for name, value in sorted(totals.items())
                           if name.startswith("entities_")}
    return summary
