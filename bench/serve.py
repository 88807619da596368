"""End-to-end throughput and peak memory of ``serve.py`` on a 1,000,000-token file.

The input is built from real sentences (CoNLL-2003 training text, read at run
time from ``../shared/data``; never copied into the project), one sentence per
line, in random order and sorted by length. Each configuration runs
``serve.py`` as a subprocess, file in -> file out; the peak resident memory is
the child's ``ru_maxrss``. Medians of ``--repeats`` runs, interleaved.

    python bench/serve.py models/ner-conll2003 --tokens 1000000 --repeats 3
    git worktree add /tmp/before <rev>      # then, before and after in one run:
    python bench/serve.py /tmp/before::/tmp/before/models/ner-conll2003@64 models/ner-conll2003
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def read_sentences(path: Path) -> list[list[str]]:
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
        elif not line.startswith("-DOCSTART-"):
            current.append(line.split()[0])
    if current:
        sentences.append(current)
    return sentences


def write_input(sentences, tokens: int, order: str, path: Path, seed: int = 0) -> int:
    rng = random.Random(seed)
    chosen, total = [], 0
    while total < tokens:
        sentence = rng.choice(sentences)
        chosen.append(sentence)
        total += len(sentence)
    if order == "sorted":
        chosen.sort(key=len)
    path.write_text("\n".join(" ".join(s) for s in chosen) + "\n", encoding="utf-8")
    return len(chosen)


def run_once(config: dict, source: Path, output: Path, workers: int) -> dict:
    """One ``serve.py`` process (of ``config["root"]``), file in -> file out."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(config["root"] / "serve.py"), config["model"], str(source),
         "--input-format", "lines", "--output-format", "tsv", "-o", str(output),
         "--batch-size", str(config["batch_size"]), "--workers", str(workers), "-q"],
        capture_output=True, text=True, cwd=config["root"],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(config["root"])})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"serve.py failed: {done.stderr[-2000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    lines_in = sum(1 for _ in source.open(encoding="utf-8"))
    with output.open(encoding="utf-8") as handle:  # tsv: one row per input line
        lines_out = sum(1 for _ in handle)
    return {"wall_seconds": seconds, "serve_seconds": summary["seconds"],
            "tokens": summary["tokens"], "tokens_per_second": summary["tokens_per_second"],
            "end_to_end_tokens_per_second": summary["tokens"] / seconds,
            "lines_in": lines_in, "lines_seen": summary["lines"], "lines_out": lines_out,
            "peak_rss_mb_upper_bound": max(peak_kib, before) / 1024}


def parse_config(text: str, batch_size: int) -> dict:
    """``[CHECKOUT::]MODEL[@BATCH]`` -> {label, root, model, batch_size}.

    ``CHECKOUT`` is another working tree of this repository (e.g. a ``git
    worktree`` of an older commit) whose ``serve.py`` runs the model.
    """
    root, _, rest = text.rpartition("::")
    model, _, batch = rest.partition("@")
    root_dir = Path(root).resolve() if root else ROOT
    model_path = Path(model) if Path(model).is_absolute() else (Path.cwd() / model)
    return {"label": text, "root": root_dir, "model": str(model_path),
            "batch_size": int(batch) if batch else batch_size}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", metavar="[CHECKOUT::]MODEL[@BATCH]",
                        help="exported model folder, e.g. models/ner-conll2003; several are "
                             "run interleaved, optionally with another checkout's serve.py "
                             "(CHECKOUT::MODEL) and their own batch size (MODEL@64)")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "conll2003"
                                              / "eng.train"))
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2, help="serve.py --workers")
    args = parser.parse_args(argv)

    configs = [parse_config(text, args.batch_size) for text in args.models]
    sentences = read_sentences(Path(args.data))
    results = {c["label"]: {"random": [], "sorted": []} for c in configs}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {}
        for order in ("random", "sorted"):
            inputs[order] = Path(tmp) / f"{order}.txt"
            count = write_input(sentences, args.tokens, order, inputs[order])
            print(f"{order}: {count} sentences, {args.tokens}+ tokens", file=sys.stderr)
        for repeat in range(args.repeats):
            for config in configs:
                for order, source in inputs.items():
                    result = run_once(config, source, Path(tmp) / f"{order}.out", args.workers)
                    assert result["lines_in"] == result["lines_seen"] == result["lines_out"], \
                        result
                    results[config["label"]][order].append(result)
                    print(f"repeat {repeat} {config['label']} {order}: "
                          f"{result['tokens_per_second']:.0f} tok/s (end to end "
                          f"{result['end_to_end_tokens_per_second']:.0f}), "
                          f"peak <= {result['peak_rss_mb_upper_bound']:.0f} MB", file=sys.stderr)
    summaries = {}
    for label, by_order in results.items():
        summary = {
            order: {
                "tokens": runs[0]["tokens"],
                "median_tokens_per_second": statistics.median(
                    r["tokens_per_second"] for r in runs),
                "median_end_to_end_tokens_per_second": statistics.median(
                    r["end_to_end_tokens_per_second"] for r in runs),
                "peak_rss_mb": max(r["peak_rss_mb_upper_bound"] for r in runs),
                "records_match_lines": all(r["lines_in"] == r["lines_out"] for r in runs),
            }
            for order, runs in by_order.items()
        }
        summary["sorted_over_random"] = (summary["sorted"]["median_tokens_per_second"]
                                         / summary["random"]["median_tokens_per_second"])
        summaries[label] = summary
    print(json.dumps(summaries[configs[0]["label"]] if len(configs) == 1 else summaries,
                     indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
