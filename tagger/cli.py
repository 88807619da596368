"""Command-line entry points.

Each subcommand lives in its own module and exposes ``main(argv) -> int``;
this file only dispatches, so importing it stays cheap and ``--help`` on one
subcommand does not import TensorFlow for the others.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys

# subcommand -> (module, one-line help)
SUBCOMMANDS = {
    "train": ("tagger.training.cli", "train a tagger or classifier and export it"),
    "serve": ("tagger.serving.cli", "tag files or answer HTTP requests with a model"),
    "evaluate": ("tagger.evaluation.cli", "score an exported model on a dataset file"),
    "inspect": ("tagger.data.inspect", "count sentences, tokens and labels of a dataset"),
    "silver": ("tagger.evaluation.silver_cli", "relabel a tagged corpus in a model's tag set"),
    "export": ("tagger.export.cli", "export a saved .keras model as a SavedModel"),
    "diagnose": ("tagger.diagnostics", "gradient flow through time for each cell"),
    "beam": ("tagger.beam.cli", "tag a corpus in an Apache Beam pipeline (optional extra)"),
}


def _usage() -> str:
    lines = ["usage: python -m tagger SUBCOMMAND [options]", "", "subcommands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "Run `python -m tagger SUBCOMMAND --help` for its options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"tagger: unknown subcommand {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[name][0])
    if name in ("train", "serve"):  # --help and errors name what the user typed
        return int(module.main(rest, prog=prog or f"python -m tagger {name}") or 0)
    return int(module.main(rest) or 0)


def quiet_tensorflow(argv: list[str]) -> None:
    """Keep TensorFlow's log lines off the terminal unless ``--verbose`` is in ``argv``.

    For process entry points only (``train.py``, ``serve.py``, ``python -m
    tagger``), before TensorFlow is imported. TensorFlow 2.21 writes its C++
    log lines (oneDNN notices, "could not find cuda drivers", a CUDA ``E0000``
    on machines without a GPU) straight to file descriptor 2, before and
    whatever ``TF_CPP_MIN_LOG_LEVEL`` says. So Python's ``sys.stderr`` moves
    to a duplicate of the real stderr, and descriptor 2, which only native
    code still writes to, goes to /dev/null. Our messages, warnings,
    tracebacks, tqdm bars and faulthandler dumps all go through
    ``sys.stderr`` and still show; TensorFlow's and absl's Python loggers
    (TFDS logs through absl) and warnings from TensorFlow and Keras are turned
    down to errors.
    """
    if "--verbose" in argv:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import logging
    import warnings

    for logger in ("tensorflow", "absl"):
        logging.getLogger(logger).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(tensorflow|keras|tensorflow_datasets|absl)\b")
    try:
        sys.stderr.flush()
        real = os.dup(2)
    except (OSError, AttributeError, ValueError):  # no usable stderr: nothing to protect
        return
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    sys.stderr = os.fdopen(real, "w", buffering=1, encoding=encoding, errors="backslashreplace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def entry(argv: list[str], prog: str | None = None) -> int:
    """A process entry point: quiet TensorFlow (unless --verbose), then dispatch."""
    quiet_tensorflow(argv)
    return main(argv, prog)


def train_main(argv: list[str] | None = None) -> int:
    """Entry point of ``train.py``."""
    return entry(["train", *(sys.argv[1:] if argv is None else argv)], "train.py")


def serve_main(argv: list[str] | None = None) -> int:
    """Entry point of ``serve.py``."""
    return entry(["serve", *(sys.argv[1:] if argv is None else argv)], "serve.py")


def exit_now(code: int) -> None:
    """End the process at once: for scripts whose outputs are all written and closed.

    Skips the interpreter's teardown, which with TensorFlow loaded takes about
    a second (bench/RESULTS.md): a tenth of tagging a million tokens.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed or broken pipe
            stream.flush()
    os._exit(code)
