"""Accuracy experiments: runs train.py for a plan of configurations, tabulates results.

Each run is ``python train.py ... --name <id>`` in a subprocess; its last-line
JSON summary is appended to ``bench/accuracy/<plan>.jsonl`` (a finished id is
skipped when the plan is run again, so an interrupted plan resumes), and the
table is rewritten to ``bench/accuracy/<plan>.md``.

    python bench/accuracy.py seeds      # default NER config, seeds 0 1 2
    python bench/accuracy.py datasets   # default config on every local dataset
    python bench/accuracy.py cells --epochs 4   # every cell on CoNLL-2003 and UD
    python bench/accuracy.py heads      # CRF vs softmax, same encoder
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "accuracy"
CELLS = ["elman", "lstm", "lstm_nfg", "lstm_peephole", "lstm_cifg", "gru", "minimal_rnn", "cfn"]


def plan(name: str, epochs: int | None) -> list[tuple[str, list[str]]]:
    """``[(run id, train.py arguments)]`` of a plan."""
    more = ["--epochs", str(epochs)] if epochs else []
    if name == "seeds":
        return [(f"ner-conll2003-seed{s}", ["--task", "ner", "--dataset", "conll2003",
                                            "--seed", str(s), *more]) for s in (0, 1, 2)]
    if name == "datasets":
        tasks = [("ner", "conll2003"), ("pos", "ud_english"), ("chunk", "conll2000"),
                 ("ner", "wnut17"), ("classify", "sst2"), ("coarse", "trec"), ("fine", "trec")]
        return [(f"{t}-{d}", ["--task", t, "--dataset", d, *more]) for t, d in tasks]
    if name == "cells":
        return [(f"{t}-{d}-{c}", ["--task", t, "--dataset", d, "--cell", c, *more])
                for t, d in (("ner", "conll2003"), ("pos", "ud_english")) for c in CELLS]
    if name == "heads":
        return [(f"ner-conll2003-{h}", ["--task", "ner", "--dataset", "conll2003", "--head", h,
                                        *more]) for h in ("crf", "softmax")]
    raise SystemExit(f"unknown plan {name!r}")


def run(run_id: str, args: list[str], data_dir: str, work: Path) -> dict:
    command = [sys.executable, str(ROOT / "train.py"), *args, "--data-dir", data_dir,
               "--name", run_id, "--models-dir", str(work / "models"),
               "--runs-dir", str(work / "runs")]
    started = time.time()
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if done.returncode != 0:
        raise SystemExit(f"{run_id} failed:\n{done.stderr[-3000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    epochs = max(summary["epochs_run"], 1)
    return {"id": run_id, "args": args, "wall_seconds": round(time.time() - started, 1),
            "seconds_per_epoch": round(summary["train_seconds"] / epochs, 1), **summary}


def table(results: list[dict]) -> str:
    results = list({r["id"]: r for r in results}.values())  # a re-run replaces its row
    rows = ["| run | dev metric | dev score | test score | best epoch / run | s per epoch |",
            "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        main = r["dev_main"]
        test = r.get("test", {}).get(main)
        rows.append(f"| {r['id']} | {main} | {100 * r['dev'][main]:.2f} | "
                    f"{'' if test is None else f'{100 * test:.2f}'} | "
                    f"{r['best_epoch']} / {r['epochs_run']} | {r['seconds_per_epoch']} |")
    groups = {}
    for r in results:
        groups.setdefault(r["id"].rsplit("-seed", 1)[0], []).append(100 * r["dev"][r["dev_main"]])
    for key, scores in groups.items():
        if len(scores) > 1:
            rows.append(f"\n{key}: mean {statistics.mean(scores):.2f}, "
                        f"std {statistics.stdev(scores):.2f} over {len(scores)} seeds")
    return "\n".join(rows) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plan", choices=["seeds", "datasets", "cells", "heads"])
    parser.add_argument("--epochs", type=int, help="override the default epochs")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--work", default="/tmp/tagger-accuracy",
                        help="where models and runs of the plan go")
    parser.add_argument("--only", nargs="*", help="run ids to run (default: all)")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / f"{args.plan}.jsonl"
    done = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    finished = {r["id"] for r in done}
    for run_id, train_args in plan(args.plan, args.epochs):
        if run_id in finished or (args.only and run_id not in args.only):
            continue
        print(f"running {run_id}: train.py {' '.join(train_args)}", file=sys.stderr, flush=True)
        result = run(run_id, train_args, args.data_dir, Path(args.work))
        with log.open("a") as handle:
            handle.write(json.dumps(result) + "\n")
        done.append(result)
        (OUT / f"{args.plan}.md").write_text(table(done))
    print(table(done))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
