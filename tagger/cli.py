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
    "export": ("tagger.export", "export a saved .keras model as a SavedModel"),
    "diagnose": ("tagger.diagnostics", "gradient flow through time for each cell"),
}


def _usage() -> str:
    lines = ["usage: python -m tagger SUBCOMMAND [options]", "", "subcommands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "Run `python -m tagger SUBCOMMAND --help` for its options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"tagger: unknown subcommand {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[name][0])
    return int(module.main(rest) or 0)


def train_main(argv: list[str] | None = None) -> int:
    """Entry point of ``train.py``."""
    return main(["train", *(sys.argv[1:] if argv is None else argv)])


def serve_main(argv: list[str] | None = None) -> int:
    """Entry point of ``serve.py``."""
    return main(["serve", *(sys.argv[1:] if argv is None else argv)])


def exit_now(code: int) -> None:
    """End the process at once: for scripts whose outputs are all written and closed.

    Skips the interpreter's teardown, which with TensorFlow loaded takes about
    a second (bench/RESULTS.md): a tenth of tagging a million tokens.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed or broken pipe
            stream.flush()
    os._exit(code)
