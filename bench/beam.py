"""``serve.py`` vs the Beam pipeline (``python -m tagger beam``) on the same real tokens.

Both tag the same file of 1,000,000 tokens (CoNLL-2003 training sentences in
random order, one per line, built at run time from ``../shared/data``) into
JSONL, each as a fresh process, so start-up (TensorFlow import, model load;
for Beam also the runner and its worker processes) is included. Runs are
interleaved: serve, beam, serve, beam, ... Medians of ``--repeats``.

    python bench/beam.py models/ner-conll2003 --tokens 1000000 --repeats 3
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from serve import read_sentences, write_input  # noqa: E402 - the same input as bench/serve.py


def _count_lines(paths: list[str]) -> int:
    total = 0
    for path in paths:
        with open(path, encoding="utf-8") as stream:
            total += sum(1 for _ in stream)
    return total


def run_serve(model: str, source: Path, out: Path) -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "serve.py"), model, str(source),
                           "--input-format", "lines", "--output-format", "jsonl",
                           "-o", str(out), "-q"], capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"serve.py failed: {done.stderr[-2000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {"seconds": seconds, "tokens": summary["tokens"], "records": _count_lines([out])}


def run_beam(model: str, source: Path, prefix: Path, workers: int, extra: list[str]) -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tagger", "beam", model, str(source),
                           "--output", str(prefix), "--overwrite",
                           f"--direct_num_workers={workers}", *extra],
                          capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"beam failed: {done.stderr[-2000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    shards = glob.glob(f"{prefix}-[0-9]*-of-*.jsonl")
    return {"seconds": seconds, "tokens": summary["tokens"], "records": _count_lines(shards),
            "errors": summary["errors"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="DirectRunner worker processes")
    parser.add_argument("--beam-arg", action="append", default=[],
                        help="extra option for the pipeline (repeatable)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    sentences = read_sentences(Path(args.data_dir) / "conll2003" / "eng.train")
    runs: dict[str, list[dict]] = {"serve.py": [], "beam": []}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "corpus.txt"
        lines = write_input(sentences, args.tokens, "random", source)
        for repeat in range(args.repeats):
            runs["serve.py"].append(run_serve(args.model, source, Path(tmp) / "serve.jsonl"))
            runs["beam"].append(run_beam(args.model, source, Path(tmp) / "beam", args.workers,
                                         args.beam_arg))
            for name, results in runs.items():
                last = results[-1]
                assert last["records"] == lines, (name, last["records"], lines)
                print(f"run {repeat + 1} {name:9s} {last['seconds']:7.1f} s "
                      f"{last['tokens'] / last['seconds']:9.0f} tok/s", file=sys.stderr)
    table = {}
    for name, results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results)
        table[name] = {"median_seconds": round(seconds, 2), "tokens": results[0]["tokens"],
                       "tokens_per_second": round(results[0]["tokens"] / seconds),
                       "seconds": [round(r["seconds"], 2) for r in results]}
    ratio = table["beam"]["tokens_per_second"] / table["serve.py"]["tokens_per_second"]
    report = {"model": args.model, "lines": lines, "workers": args.workers,
              "cpus": len(os.sched_getaffinity(0)), "runs": table,
              "beam_over_serve": round(ratio, 3)}
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
