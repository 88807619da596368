"""The shape every command-line tool shares: its program name, description, an
example that works on a fresh clone, and ``--verbose`` (see ``tagger.cli.quiet_tensorflow``)."""

from __future__ import annotations

import argparse


def command_parser(prog: str, description: str, example: str | None = None,
                   epilog: str | None = None) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` laid out as ours are, with the shared ``--verbose`` flag."""
    if example is not None:
        epilog = f"example (on a fresh clone):\n  {example}" + (f"\n\n{epilog}" if epilog else "")
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's own log lines and warnings")
    return parser


def positive_int(text: str) -> int:
    """An ``argparse`` type: an integer of at least 1."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def comma_list(spec: str, flag: str, item: str) -> list[str]:
    """A comma-separated flag value as a list (``"a, b"`` -> ``["a", "b"]``); ``none`` ->
    ``[]``; an empty item fails, naming the flag: ``--lexicon: an empty source in 'a,'``."""
    if spec.strip() == "none":
        return []
    items = [part.strip() for part in spec.split(",")]
    if not all(items):
        raise ValueError(f"{flag}: an empty {item} in {spec!r}")
    return items
