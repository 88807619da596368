"""`python serve.py MODEL [INPUT ...]` (tag files), `python serve.py MODEL --text "..."`
(tag a sentence) and `python serve.py MODEL --http` (REST).

Exit codes: 0 success; 2 usage error, missing or broken model, missing input;
1 other I/O error (port in use, unwritable output, disk full); 130 interrupted
(SIGINT); 143 terminated (SIGTERM). The last stdout line of file tagging is a
JSON summary (on stderr instead when the tags themselves go to stdout).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
import threading

from tagger.commands import command_parser, positive_int
from tagger.serving.jobs import (
    Outputs,
    UsageError,
    expand_inputs,
    plan_outputs,
    tag_files,
    tag_texts,
)

DESCRIPTION = """\
Tag text with an exported model: sentences given with --text, stdin, or files;
or answer HTTP requests like TensorFlow Serving (--http).

MODEL is models/<name> (its highest integer version is used) or one version
folder models/<name>/<version>. With --http, MODEL may also be a folder of
several models (<root>/<name>/<version>/): all are served.
"""
EPILOG = """\
input formats:
  text    raw text; paragraphs (blank-line separated) are split into sentences,
          one record per sentence; the model tokenizes
  lines   one sentence per line, one record per line (an empty line gives an
          empty record)
  tokens  whitespace-separated tokens, one sentence per line
  conll   CoNLL columns: the first column is the token, a blank line ends a
          sentence; output lines match input lines one to one

output formats (default: pretty for --text and stdin; else conll for taggers,
tsv for classifiers):
  pretty    for people: the sentence with entities marked [text](TYPE), then
            one line per entity: text, type, confidence (classifiers: label,
            probability, text)
  conll     token<TAB>tag per line, blank line after each sentence (CoNLL input:
            each input line with the predicted tag appended)
  tsv       one row per record: tokens, tags, scores (classifiers: label,
            probability, text)
  jsonl     one JSON object per record: line, column, text, tokens, tags, scores,
            character offsets, entities with confidences (classifiers: label,
            probabilities)
  entities  one JSON object per entity: record, line, text, type, start, end,
            confidence

examples (on a fresh clone):
  python serve.py models/ner-conll2003 --text "Angela Merkel visited Paris."
  echo "EU rejects German call to boycott British lamb ." | python serve.py models/ner-conll2003
  python serve.py models/ner-conll2003 examples/news.txt --output-format jsonl -o out/
  python serve.py models/ner-conll2003 examples/news.txt --output-format entities
  python serve.py models/ --http --port 8501
"""


def add_tagging_options(group, workers: int, workers_help: str) -> None:
    """``--batch-size``, ``--workers`` and ``--max-tokens``: how records are run through
    the model (``TagOptions``), shared by serve.py and ``python -m tagger beam``."""
    group.add_argument("--batch-size", type=positive_int, default=128,
                       help="sentences per model call (default 128)")
    group.add_argument("--workers", type=positive_int, default=workers,
                       help=f"model calls in flight at once (default {workers}, {workers_help})")
    group.add_argument("--max-tokens", type=positive_int, default=512,
                       help="tag longer sentences in pieces of this many words (default 512)")


def build_parser(prog: str = "serve.py") -> argparse.ArgumentParser:
    from tagger.serving.formats import OUTPUT_FORMATS
    from tagger.serving.inputs import INPUT_FORMATS

    parser = command_parser(prog, DESCRIPTION, epilog=EPILOG)
    parser.add_argument("model", metavar="MODEL", help="model folder (see above)")
    parser.add_argument("inputs", metavar="INPUT", nargs="*",
                        help="files or globs to tag; stdin when none or '-'")
    files = parser.add_argument_group("tagging")
    files.add_argument("--text", action="append", metavar="TEXT",
                       help="tag this text (one record; repeat for more); no INPUT files then")
    files.add_argument("--input-format", choices=INPUT_FORMATS, default="text",
                       help="how INPUT is read (default: text; see below)")
    files.add_argument("--output-format", choices=OUTPUT_FORMATS, default=None,
                       help="what is written (default: see below)")
    files.add_argument("-o", "--output", metavar="PATH",
                       help="output file, or folder (existing, ending in '/', or for several "
                            "inputs) getting one <input name>.<format> per input; "
                            "default stdout")
    add_tagging_options(files, workers=2, workers_help="one per core here")
    files.add_argument("-q", "--quiet", action="store_true",
                       help="no progress bar or messages on stderr")
    http = parser.add_argument_group("HTTP server (TensorFlow Serving REST API)")
    http.add_argument("--http", action="store_true", help="serve HTTP instead of tagging files")
    http.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    http.add_argument("--port", type=int, default=8501,
                      help="port (default 8501; 0 picks a free one, printed on stderr)")
    http.add_argument("--max-request-bytes", type=positive_int, default=10 * 1024 * 1024,
                      help="larger request bodies get 413 (default 10 MiB)")
    http.add_argument("--read-timeout", type=float, default=10.0,
                      help="seconds a client may stall while sending a request (then 408) "
                           "or keep an idle connection open (default 10)")
    http.add_argument("--max-instances", type=positive_int, default=1024,
                      help="examples per request; more get 400 (default 1024)")
    http.add_argument("--max-sentence-tokens", type=positive_int, default=4096,
                      help="tokens of one sentence in a request; more get 400 (default 4096)")
    http.add_argument("--max-concurrent-calls", type=positive_int, default=4,
                      help="model calls running at once per model version; more requests "
                           "wait (default 4)")
    return parser


class Terminated(BaseException):
    """SIGTERM, turned into an exception so the job unwinds like on Ctrl-C."""


def on_sigterm(signum, frame):
    """A SIGTERM handler: raises ``Terminated`` in the main thread."""
    raise Terminated()


# Imported by `import tensorflow` (Keras, eagerly) and by Keras (scikit-learn,
# SciPy, matplotlib, for wrappers and plots); a SavedModel needs none of them.
_UNUSED_BY_SERVING = ("keras", "sklearn", "matplotlib", "scipy")


def import_tensorflow_lean() -> None:
    """Import TensorFlow without the packages it pulls in that serving never uses.

    ``import tensorflow`` imports Keras, which imports scikit-learn, SciPy and
    matplotlib when they are installed: about 2.5 s of serve.py's start-up on
    2 cores, and loading a SavedModel is faster without Keras too
    (bench/RESULTS.md). They are hidden only while TensorFlow is imported
    (both treat them as optional), so a later ``import keras`` or ``import
    sklearn`` in this process still works.
    """
    if "tensorflow" in sys.modules:
        return
    hidden = [name for name in _UNUSED_BY_SERVING if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # makes `import name` raise ImportError
    try:
        import tensorflow  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


def _http_limits(args) -> dict:
    return {"read_timeout": args.read_timeout, "max_instances": args.max_instances,
            "max_sentence_tokens": args.max_sentence_tokens}


def _validate(args) -> list[str]:
    """Everything that can be checked before the (slow) model load; returns the inputs."""
    if args.http:
        if args.inputs or args.text is not None:
            raise UsageError("--http takes no INPUT files and no --text")
        if not 0 <= args.port <= 65535:
            raise UsageError(f"--port must be between 0 and 65535, got {args.port}")
        if not args.read_timeout > 0:
            raise UsageError(f"--read-timeout must be positive, got {args.read_timeout}")
        return []
    if args.text is not None and args.inputs:
        raise UsageError("--text and INPUT files do not mix: tag one or the other")
    inputs = [] if args.text is not None else expand_inputs(args.inputs)
    if args.output_format is not None and inputs:
        from tagger.serving.formats import EXTENSIONS

        plan_outputs(inputs, args.output, EXTENSIONS[args.output_format])
    return inputs


def _report_interrupt(outputs: Outputs, why: str) -> None:
    finished, dropped = outputs.abort()
    said = [f"serve: {why}"]
    if finished:
        said.append("finished outputs kept: " + ", ".join(finished))
    if dropped:
        said.append("unfinished outputs not written: " + ", ".join(dropped))
    print("; ".join(said), file=sys.stderr, flush=True)


def main(argv: list[str] | None = None, prog: str = "serve.py") -> int:
    # intermixed: options may come before, between or after MODEL and the INPUT files
    args = build_parser(prog).parse_intermixed_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tagger.serving.jobs import (
        Outputs,
        UsageError,
    )
    from tagger.serving.model import ModelError, load_model

    outputs = Outputs()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        inputs = _validate(args)
        if args.http:
            import_tensorflow_lean()
            from tagger.serving.http import run_server

            signal.signal(signal.SIGTERM, previous or signal.SIG_DFL)
            previous = None  # the server handles SIGTERM itself
            return run_server(args.model, host=args.host, port=args.port,
                              max_request_bytes=args.max_request_bytes, quiet=args.quiet,
                              max_concurrent_calls=args.max_concurrent_calls,
                              **_http_limits(args))
        import_tensorflow_lean()
        model = load_model(args.model)
        if args.output_format is None and args.output is None and (
                args.text is not None or inputs == ["-"]):
            args.output_format = "pretty"  # a person typed or piped a sentence
        if args.output_format == "entities" and not model.is_tagger:
            raise UsageError("--output-format entities needs a tagger; "
                             f"{model.name} is a classifier")
        # TensorFlow leaves ~400k long-lived objects that every full garbage collection
        # would walk again while records are tagged; freeze them out of its sight.
        gc.freeze()
        if not args.quiet:
            kind = "tagger" if model.is_tagger else "classifier"
            print(f"serve: {model.name} version {model.version} ({kind}, task {model.task}) "
                  f"from {model.path}", file=sys.stderr)
        summary = (tag_texts(args, model, outputs) if args.text is not None
                   else tag_files(args, model, inputs, outputs))
    except (ModelError, UsageError) as error:
        outputs.abort()
        print(f"serve: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `| head`: the reader went away, stop quietly
        outputs.abort()
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:  # e.g. port in use, unwritable output folder, disk full
        _report_interrupt(outputs, f"error: {error}")
        return 1
    except KeyboardInterrupt:
        _report_interrupt(outputs, "interrupted (SIGINT)")
        return 130
    except Terminated:
        _report_interrupt(outputs, "terminated (SIGTERM)")
        return 143
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    line = json.dumps(summary)
    to_stdout = summary["outputs"] != ["-"]
    print(line, file=sys.stdout if to_stdout else sys.stderr, flush=True)
    return 0
