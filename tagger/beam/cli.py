"""``python -m tagger beam MODEL INPUT... --output PREFIX [Beam pipeline options]``.

Our options are parsed here; every other ``--option`` goes to Beam's
``PipelineOptions`` (``--runner``, ``--direct_num_workers``, ``--project``,
...). Without ``--runner`` the job runs locally: ``DirectRunner`` in
multi-processing mode with one worker per core.

Exit codes: 0 done (bad lines are in the errors shards, not failures); 2 usage
error, no apache-beam, an input glob that matches nothing, an output that
exists; 1 the pipeline failed.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from tagger.commands import command_parser, positive_int

INSTALL_HINT = ("python -m tagger beam needs Apache Beam, an optional extra: "
                "pip install -r requirements-beam.txt")
DESCRIPTION = """\
Tag a corpus with an exported model in an Apache Beam pipeline (RunInference):
locally on all cores, or unchanged on Dataflow, Flink or Spark.

Writes PREFIX-SSSSS-of-NNNNN.jsonl: one record per input line (jsonl input: per
object), serve.py --output-format jsonl's record plus "file" (and "id").
Lines that cannot be read go to PREFIX-errors-SSSSS-of-NNNNN.jsonl with their
file, line and reason; they never fail the job. Options this command does not
know are Beam pipeline options (--runner, --direct_num_workers, --project, ...).
"""
EXAMPLE = ('python -m tagger beam models/ner-conll2003 "corpus/*.txt" --output out/ner')


def build_parser():
    from tagger.beam.records import INPUT_FORMATS
    from tagger.serving.cli import add_tagging_options

    parser = command_parser("python -m tagger beam", DESCRIPTION, EXAMPLE)
    parser.add_argument("model", help="models/<name> (highest version) or a version folder; "
                                      "any filesystem TensorFlow reads (gs://...)")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="input files or globs (any filesystem Beam reads; .gz is read "
                             "as gzip)")
    parser.add_argument("--output", required=True, metavar="PREFIX",
                        help="shard prefix: writes PREFIX-00000-of-0000N.jsonl ...")
    parser.add_argument("--input-format", choices=INPUT_FORMATS, default="lines",
                        help="lines: one record per line; jsonl: one {\"id\": ..., \"text\": "
                             "...} per line (default: %(default)s)")
    add_tagging_options(parser, workers=1,
                        workers_help="in each worker process: the runner's processes already "
                                     "use the cores")
    parser.add_argument("--max-batch-records", type=positive_int, default=4096,
                        help="most records Beam batches into one RunInference call "
                             "(default: %(default)s)")
    parser.add_argument("--num-shards", type=int, default=0,
                        help="output shards (default: the runner decides)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the shards of an earlier run with this prefix")
    return parser


def _beam_available() -> bool:
    try:
        import apache_beam  # noqa: F401
    except ImportError:
        return False
    return True


def _check_inputs(patterns: list[str]) -> None:
    from apache_beam.io.filesystems import FileSystems

    from tagger.serving.jobs import UsageError

    for pattern in patterns:
        try:
            found = FileSystems.match([pattern])[0].metadata_list
        except Exception as error:  # noqa: BLE001 - unknown scheme, no access, bad glob
            raise UsageError(f"cannot list input {pattern!r}: {error}") from None
        if not found:
            raise UsageError(f"no input file matches {pattern!r}")


def _existing_outputs(prefix: str) -> list[str]:
    from apache_beam.io.filesystems import FileSystems

    from tagger.beam.pipeline import SUFFIX

    patterns = [f"{prefix}-[0-9]*-of-[0-9]*{SUFFIX}", f"{prefix}-errors-[0-9]*-of-[0-9]*{SUFFIX}"]
    return sorted(m.path for result in FileSystems.match(patterns) for m in result.metadata_list)


def _temp_dirs(prefix: str) -> set[Path]:
    """The folders Beam's file sinks write into before renaming shards into place
    (``beam-temp-<name>-<uuid>`` beside the prefix; local outputs only)."""
    if "://" in prefix:
        return set()
    folder = Path(prefix).parent
    return set(folder.glob(f"beam-temp-{Path(prefix).name}-*"))


def _pipeline_options(beam_args: list[str]):
    from apache_beam.options.pipeline_options import PipelineOptions

    args = list(beam_args)
    given = {arg.split("=", 1)[0] for arg in args if arg.startswith("--")}
    if "--runner" not in given:
        args.append("--runner=DirectRunner")
    runner = ""  # --runner=NAME or --runner NAME
    for index, arg in enumerate(args):
        if arg.startswith("--runner="):
            runner = arg.split("=", 1)[1]
        elif arg == "--runner" and index + 1 < len(args):
            runner = args[index + 1]
    if runner in ("DirectRunner", "direct"):
        if "--direct_running_mode" not in given:
            args.append("--direct_running_mode=multi_processing")
        if "--direct_num_workers" not in given:
            args.append(f"--direct_num_workers={len(os.sched_getaffinity(0))}")
        # worker processes import tagger from where this process does
        root = str(Path(__file__).resolve().parents[2])
        paths = os.environ.get("PYTHONPATH", "")
        if root not in paths.split(os.pathsep):
            os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, paths) if p)
    return PipelineOptions(args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, beam_args = parser.parse_known_args(argv)
    unknown = [a for a in beam_args if not a.startswith("--")]
    if unknown:
        parser.error(f"unexpected arguments {unknown}: inputs come before the options")
    if args.num_shards < 0:
        parser.error("--num-shards must be 0 (the runner decides) or more")
    if not args.verbose:  # Beam's and its workers' notices; errors still show
        logging.getLogger().setLevel(logging.ERROR)
        logging.getLogger("apache_beam").setLevel(logging.ERROR)
    if not _beam_available():
        print(f"beam: error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    from dataclasses import replace

    import apache_beam as beam

    from tagger.beam.pipeline import CorpusJob, counter_summary, tag_corpus
    from tagger.serving.cli import Terminated, on_sigterm
    from tagger.serving.jobs import UsageError
    from tagger.serving.model import ModelError, resolve_version_dir

    try:
        model_dir = str(resolve_version_dir(args.model))
        _check_inputs(args.inputs)
        existing = _existing_outputs(args.output)
        if existing and not args.overwrite:
            raise UsageError(f"{len(existing)} shard(s) of an earlier run exist, e.g. "
                             f"{existing[0]}; pass --overwrite or another --output")
        options = _pipeline_options(beam_args)
    except (ModelError, UsageError) as error:
        print(f"beam: error: {error}", file=sys.stderr)
        return 2
    if existing:
        from apache_beam.io.filesystems import FileSystems

        FileSystems.delete(existing)  # no stale shards of another shard count stay behind
    parent = os.path.dirname(args.output)
    if parent and "://" not in args.output:
        os.makedirs(parent, exist_ok=True)
    job = CorpusJob(model=model_dir, inputs=tuple(args.inputs), output=args.output,
                    input_format=args.input_format,
                    options=replace(CorpusJob.options, batch_size=args.batch_size,
                                    max_tokens=args.max_tokens, workers=args.workers),
                    max_batch_records=args.max_batch_records,
                    min_batch_records=min(256, args.max_batch_records),
                    num_shards=args.num_shards)
    started = time.perf_counter()
    print(f"beam: tagging {', '.join(args.inputs)} with {model_dir} -> {args.output}-*.jsonl",
          file=sys.stderr)
    temp_before = _temp_dirs(args.output)
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        pipeline = beam.Pipeline(options=options)
        tag_corpus(pipeline, job)
        result = pipeline.run()
        result.wait_until_finish()
    except (KeyboardInterrupt, Terminated, Exception) as error:
        # no half-written output: drop what the sinks had written before renaming
        for folder in _temp_dirs(args.output) - temp_before:
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(error, (KeyboardInterrupt, Terminated)):
            code, what = (130, "SIGINT") if isinstance(error, KeyboardInterrupt) else (143,
                                                                                      "SIGTERM")
            print(f"beam: interrupted ({what}); no shards written by this run remain "
                  "half-finished", file=sys.stderr)
            return code
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print(f"beam: error: the pipeline failed: {type(error).__name__}: {first}",
              file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    seconds = time.perf_counter() - started
    summary = counter_summary(result)
    summary.update(seconds=round(seconds, 3), output=args.output)
    if summary.get("tokens"):
        summary["tokens_per_second"] = round(summary["tokens"] / seconds, 1)
    print(json.dumps(summary), flush=True)
    return 0
