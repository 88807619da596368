"""The file-tagging job of ``serve.py``: inputs and where their outputs go, the run over
them, and ``--text``. Each output is committed as soon as its last input is done."""

from __future__ import annotations

import contextlib
import glob
import io
import os
import sys
import time
from pathlib import Path


class UsageError(Exception):
    """Bad inputs or outputs: reported in one line, exit code 2."""


def expand_inputs(args: list[str]) -> list[str]:
    """Files, globs and '-' (stdin) -> list of paths ('-' for stdin), in order."""
    if not args:
        return ["-"]
    found: list[str] = []
    for arg in args:
        if arg == "-":
            found.append(arg)
        elif any(ch in arg for ch in "*?[") and not Path(arg).exists():
            matches = sorted(p for p in glob.glob(arg, recursive=True) if Path(p).is_file())
            if not matches:
                raise UsageError(f"no file matches {arg!r}")
            found.extend(matches)
        elif Path(arg).is_dir():
            raise UsageError(f"input is a folder: {arg} (use a glob such as '{arg}/*.txt')")
        elif not Path(arg).exists():  # a FIFO or /dev/fd/N (process substitution) is fine
            raise UsageError(f"input file not found: {arg}")
        else:
            found.append(arg)
    return found


def plan_outputs(inputs: list[str], output: str | None, extension: str) -> list[str | None]:
    """Output path per input (None: stdout); one shared path means one output file."""
    if output is None:
        return [None] * len(inputs)
    target = Path(output)
    folder = (target.is_dir() or output.endswith(("/", os.sep))
              or (len(inputs) > 1 and not target.suffix and not target.exists()))
    if not folder:
        paths = [str(target)] * len(inputs)
    else:
        paths = [str(target / ((Path(p).stem if p != "-" else "stdin") + extension))
                 for p in inputs]
        seen: dict[str, str] = {}
        for source, path in zip(inputs, paths, strict=True):
            if path in seen:
                raise UsageError(f"{seen[path]} and {source} would both write {path}")
            seen[path] = source
    for source, path in zip(inputs, paths, strict=True):
        if source != "-" and Path(path).exists() and Path(path).samefile(source):
            raise UsageError(f"output {path} would overwrite its input")
    return paths


def _utf8_stdout():
    if not hasattr(sys.stdout, "buffer"):
        return sys.stdout
    sys.stdout.flush()
    return io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", errors="replace",
                            newline="\n", line_buffering=False, write_through=False)


def _progress(total: int | None, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc="tagging", file=sys.stderr,
                disable=quiet or not sys.stderr.isatty(), leave=False)


class Outputs:
    """The output files of one job: each committed as soon as its last input is done."""

    def __init__(self):
        self.files, self.last_use, self.stdout = {}, {}, None

    def plan(self, targets: list[str | None]) -> None:
        """The output path of each input, in order (None: stdout)."""
        from tagger.serving.outputs import SafeOutput

        self.files = {t: SafeOutput(t) for t in dict.fromkeys(targets) if t is not None}
        self.last_use = {t: i for i, t in enumerate(targets) if t is not None}

    def sink(self, target: str | None):
        if target is None:
            self.stdout = self.stdout or _utf8_stdout()
            return self.stdout
        out = self.files[target]
        return out.stream or out.open()

    def input_done(self, index: int) -> None:
        for target, last in self.last_use.items():
            if last == index:
                self.files[target].commit()

    def finish(self) -> None:
        for out in self.files.values():
            out.commit()
        if self.stdout is not None:
            self.stdout.flush()
            if self.stdout is not sys.stdout:
                self.stdout.detach()

    def abort(self) -> tuple[list[str], list[str]]:
        """Drop unfinished outputs; returns (finished, dropped) paths."""
        finished = [t for t, out in self.files.items() if out.done]
        dropped = [t for t, out in self.files.items() if out.stream is not None and not out.done]
        for out in self.files.values():
            out.abort()
        if self.stdout is not None:
            with contextlib.suppress(OSError, ValueError):
                self.stdout.flush()
        return finished, dropped


def tag_files(args, model, inputs: list[str], outputs: Outputs | None = None) -> dict:
    from tagger.serving.batch import FileTagger, TagOptions
    from tagger.serving.formats import EXTENSIONS, default_output_format

    output_format = args.output_format or default_output_format(model)
    targets = plan_outputs(inputs, args.output, EXTENSIONS[output_format])
    outputs = outputs if outputs is not None else Outputs()
    outputs.plan(targets)
    warn = (lambda m: None) if args.quiet else (lambda m: print(f"serve: {m}", file=sys.stderr))
    tagger = FileTagger(model, TagOptions(batch_size=args.batch_size, max_tokens=args.max_tokens,
                                          workers=args.workers), warn=warn)
    sizes = [os.path.getsize(p) if p != "-" and Path(p).is_file() else None for p in inputs]
    total = None if None in sizes else sum(sizes)
    shared = len(inputs) > 1 and len(set(targets)) == 1
    started = time.perf_counter()
    with _progress(total, args.quiet) as bar:
        try:
            for index, (source, target) in enumerate(zip(inputs, targets, strict=True)):
                label = source if shared or (target is None and len(inputs) > 1) else None
                stream = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115
                try:
                    tagger.tag_stream(stream, outputs.sink(target), input_format=args.input_format,
                                      output_format=output_format, file_label=label,
                                      on_progress=bar.update)
                finally:
                    if stream is not sys.stdin.buffer:
                        stream.close()
                outputs.input_done(index)
        finally:
            tagger.close()
        outputs.finish()
    summary = tagger.summary(wall_seconds=time.perf_counter() - started)
    summary["outputs"] = sorted(outputs.files) if outputs.files else ["-"]
    return summary


def tag_texts(args, model, outputs: Outputs | None = None) -> dict:
    """``--text``: each text one record, written to stdout (or ``-o``) like a file's."""
    from tagger.serving.batch import FileTagger, TagOptions
    from tagger.serving.formats import RecordWriter, default_output_format
    from tagger.serving.inputs import text_unit

    output_format = args.output_format or default_output_format(model)
    tagger = FileTagger(model, TagOptions(batch_size=args.batch_size, max_tokens=args.max_tokens,
                                          workers=1))
    units = [text_unit(number, text) for number, text in enumerate(args.text, 1)]
    started = time.perf_counter()
    outputs = outputs if outputs is not None else Outputs()
    outputs.plan([args.output])
    try:
        writer = RecordWriter(outputs.sink(args.output), output_format, model)
        for unit in tagger.tag_records(units):
            writer.write(unit)
    finally:
        tagger.close()
    outputs.finish()
    summary = tagger.summary(wall_seconds=time.perf_counter() - started)
    summary.update(lines=len(units), outputs=[args.output] if args.output else ["-"])
    return summary
