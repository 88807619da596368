"""Throughput of the BiRNN tagger for every cell, ours side by side with Keras' layers.

One process, one model per variant, round-robin over the variants for several
repeats; the figure of a variant is the median over repeats. The model is the
tagger of issue 6: token ids -> Embedding(20k, 100, mask_zero) -> BiRNN(128 per
direction, return_sequences) -> Dense(9, softmax), trained with Adam on
sparse categorical cross-entropy (masked by the embedding mask).

Variants: ``<cell>`` is ``make_rnn(cell, 128, bidirectional=True)``;
``keras_lstm`` / ``keras_gru`` / ``keras_elman`` are
``Bidirectional(LSTM | GRU(reset_after=True) | SimpleRNN)``, the built-in
layers with the same math as ``lstm`` / ``gru`` / ``elman``.

Batches: 64 sentences whose lengths are drawn from CoNLL-2003 ``eng.train``
(read from ``../shared/data/conll2003/eng.train`` or ``$TAGGER_DATA_DIR``),
right-padded to the longest sentence of the batch (``--batching random``) or
drawn as length-sorted buckets (``--batching bucketed``). When the file is
absent, lengths come from a log-normal fitted to it (mean of log 2.32, sd
0.90, clipped to 1..113). Tokens/s counts real (unpadded) tokens.

GFLOP/s counts the useful multiply-adds of the model's kernels (2 FLOPs each,
per real token; training = 3 x forward) against the float32 peak measured in
the same run with a large matrix product.

    PYTHONPATH=. .venv/bin/python bench/cells.py            # full run (~4 min)
    PYTHONPATH=. .venv/bin/python bench/cells.py --quick    # lstm, gru + twins
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tagger.cells import CELLS, make_rnn  # noqa: E402

VOCAB, EMBED, UNITS, TAGS = 20_000, 100, 128, 9
KERAS_TWINS = {
    "lstm": lambda: keras.layers.LSTM(UNITS, return_sequences=True),
    "gru": lambda: keras.layers.GRU(UNITS, return_sequences=True, reset_after=True),
    "elman": lambda: keras.layers.SimpleRNN(UNITS, return_sequences=True),
}


# ------------------------------------------------------------------ data
def conll_lengths(path: Path) -> np.ndarray | None:
    """Sentence lengths of a CoNLL file (blank line ends a sentence; -DOCSTART- skipped)."""
    if not path.is_file():
        return None
    lengths, n = [], 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                if n:
                    lengths.append(n)
                n = 0
            elif not line.startswith("-DOCSTART-"):
                n += 1
    if n:
        lengths.append(n)
    return np.array(lengths)


def length_source(rng) -> tuple[np.ndarray, str]:
    root = Path(os.environ.get("TAGGER_DATA_DIR", Path(__file__).parents[1] / "../shared/data"))
    path = root / "conll2003" / "eng.train"
    lengths = conll_lengths(path)
    if lengths is not None:
        return lengths, f"{path.resolve()} ({len(lengths)} sentences)"
    synthetic = np.clip(np.rint(rng.lognormal(2.32, 0.90, size=14_041)), 1, 113).astype(int)
    return synthetic, "synthetic log-normal (file not found)"


def make_batches(lengths, count, batch, bucketed, rng):
    """Pre-generated (ids, tags) int32 batches, right-padded with id 0."""
    if bucketed:  # sort a pool, cut it into batches, keep `count` of them at random
        pool = np.sort(rng.choice(lengths, size=batch * count * 8))
        chunks = [pool[i : i + batch] for i in range(0, len(pool), batch)]
        drawn = [chunks[i] for i in rng.choice(len(chunks), size=count, replace=False)]
    else:
        drawn = [rng.choice(lengths, size=batch) for _ in range(count)]
    batches = []
    for lens in drawn:
        width = int(lens.max())
        real = np.arange(width)[None, :] < lens[:, None]
        ids = np.where(real, rng.integers(1, VOCAB, size=real.shape), 0).astype("int32")
        tags = np.where(real, rng.integers(0, TAGS, size=real.shape), 0).astype("int32")
        batches.append((ids, tags, int(real.sum()), real.size))
    return batches


def baseline_cells(rev: str):
    """``tagger/cells`` as of git revision ``rev``, imported as a separate package.

    Lets one process time "ours now" against "ours before a change". The copy
    registers its classes under its own serialization package, so the two
    versions do not collide.
    """
    import importlib
    import subprocess
    import tempfile

    root = Path(__file__).resolve().parents[1]
    names = subprocess.run(["git", "ls-tree", "--name-only", rev, "tagger/cells/"], cwd=root,
                           check=True, capture_output=True, text=True).stdout.split()
    package = "tagger_" + "".join(c for c in rev if c.isalnum())
    target = Path(tempfile.mkdtemp()) / package / "cells"
    target.mkdir(parents=True)
    (target.parent / "__init__.py").write_text("")
    for name in names:
        text = subprocess.run(["git", "show", f"{rev}:{name}"], cwd=root, check=True,
                              capture_output=True, text=True).stdout
        text = text.replace("tagger.cells", f"{package}.cells")
        text = text.replace('PACKAGE = "tagger"', f'PACKAGE = "{package}"')
        (target / Path(name).name).write_text(text)
    sys.path.insert(0, str(target.parents[1]))
    return importlib.import_module(f"{package}.cells")


# ----------------------------------------------------------------- models
def build_model(variant: str, baseline=None) -> keras.Model:
    keras.utils.set_random_seed(0)
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(VOCAB, EMBED, mask_zero=True)(ids)
    if variant.startswith("keras_"):
        x = keras.layers.Bidirectional(KERAS_TWINS[variant[6:]]())(x)
    elif "@" in variant:
        x = baseline.make_rnn(variant.split("@")[0], UNITS, bidirectional=True,
                              return_sequences=True)(x)
    else:
        x = make_rnn(variant, UNITS, bidirectional=True, return_sequences=True)(x)
    out = keras.layers.Dense(TAGS, activation="softmax")(x)
    model = keras.Model(ids, out, name=variant.replace("@", "_at_"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def forward_flops_per_token(model: keras.Model) -> int:
    """2 x (multiply-adds of every kernel) for one token through the model."""
    return sum(
        2 * int(np.prod(w.shape))
        for w in model.weights
        if "kernel" in w.path and len(w.shape) == 2
    )


def peak_gflops(size=2048, repeats=5) -> float:
    """Best float32 rate of a large matrix product (NumPy and TF), in GFLOP/s."""
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    best = 0.0
    ta = tf.constant(a)
    tf_mm = tf.function(lambda m: tf.linalg.matmul(m, m))
    tf_mm(ta).numpy()
    for fn in (lambda: a @ a, lambda: tf_mm(ta).numpy()):
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            best = max(best, 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return best


# ----------------------------------------------------------------- timing
def compiled_steps(model: keras.Model, jit: bool):
    """``(train, infer)`` tf.functions with one fixed signature (no retracing per shape).

    ``train`` is what ``model.fit`` runs per batch (forward, masked loss,
    gradients, Adam update); ``infer`` is ``model.predict``'s forward pass.
    """
    spec = tf.TensorSpec((None, None), tf.int32)
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)

    @tf.function(input_signature=[spec, spec], jit_compile=jit)
    def train(ids, tags):
        with tf.GradientTape() as tape:
            probs = model(ids, training=True)
            mask = tf.cast(ids != 0, probs.dtype)
            losses = keras.losses.sparse_categorical_crossentropy(tags, probs)
            loss = tf.reduce_sum(losses * mask) / tf.reduce_sum(mask)
        variables = model.trainable_variables
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    @tf.function(input_signature=[spec], jit_compile=jit)
    def infer(ids):
        return model(ids, training=False)

    return train, infer


def time_call(steps, batch, mode) -> tuple[float, float]:
    """Wall and process CPU seconds of one compiled step on one batch."""
    train, infer = steps
    ids, tags = batch[0], batch[1]
    wall, cpu = time.perf_counter(), time.process_time()
    if mode == "train":
        train(ids, tags).numpy()
    else:
        infer(ids).numpy()
    return time.perf_counter() - wall, time.process_time() - cpu


def run(args) -> dict:
    rng = np.random.default_rng(args.seed)
    lengths, source = length_source(rng)
    batches = make_batches(lengths, args.batches, args.batch_size, args.batching == "bucketed", rng)
    batches = [(tf.constant(i), tf.constant(t), r, p) for i, t, r, p in batches]
    real = sum(b[2] for b in batches)
    padded = sum(b[3] for b in batches)
    print(f"lengths: {source}")
    print(f"{len(batches)} batches x {args.batch_size}, {real} real tokens, "
          f"{padded} with padding ({1 - real / padded:.0%} padding), batching={args.batching}")
    peak = peak_gflops()
    print(f"float32 peak (2048^3 matmul, best of NumPy/TF): {peak:.1f} GFLOP/s; "
          f"threads: intra={tf.config.threading.get_intra_op_parallelism_threads()} "
          f"inter={tf.config.threading.get_inter_op_parallelism_threads()}, cpus={os.cpu_count()}")

    variants = list(args.cells)
    variants += [f"keras_{c}" for c in args.cells if c in KERAS_TWINS and not args.no_keras]
    baseline = None
    if args.baseline:
        baseline = baseline_cells(args.baseline)
        variants += [f"{c}@{args.baseline}" for c in args.cells]
    models, steps = {}, {}
    for v in variants:
        start = time.perf_counter()
        models[v] = build_model(v, baseline)
        steps[v] = compiled_steps(models[v], args.jit)
        for mode in args.modes:  # warm-up: trace once, touch every shape
            for batch in batches:
                time_call(steps[v], batch, mode)
        print(f"  built + warmed {v:16s} {time.perf_counter() - start:6.1f}s", flush=True)

    # Round-robin at the finest grain (one batch of one variant at a time), so
    # the machine's noise hits every variant alike; one repeat = all batches.
    times = {(v, m): np.zeros((args.repeats, 2)) for v in variants for m in args.modes}
    for r in range(args.repeats):
        for batch in batches:
            for v in variants:
                for mode in args.modes:
                    times[v, mode][r] += time_call(steps[v], batch, mode)
        print(f"  repeat {r + 1}/{args.repeats} done", flush=True)

    results = {}
    for v in variants:
        flops = forward_flops_per_token(models[v])
        for mode in args.modes:
            wall, cpu = times[v, mode][:, 0], times[v, mode][:, 1]
            seconds = float(np.median(wall))
            tps = real / seconds
            gflops = tps * flops * (3 if mode == "train" else 1) / 1e9
            results[v, mode] = {"tok_s": tps, "gflops": gflops, "pct_peak": 100 * gflops / peak,
                                "spread": float((wall.max() - wall.min()) / seconds),
                                "best_tok_s": real / float(wall.min()),
                                "cpu_tok_s": real / float(np.median(cpu))}
    report(results, variants, args, peak)
    return {"peak": peak, "results": {f"{v}/{m}": r for (v, m), r in results.items()}}


def ratios(results, a, b, modes) -> str:
    """Median wall-time ratio, with the best-run and CPU-time ratios as a noise check."""
    parts = []
    for m in modes:
        x, y = results[a, m], results[b, m]
        median, best = x["tok_s"] / y["tok_s"], x["best_tok_s"] / y["best_tok_s"]
        cpu = x["cpu_tok_s"] / y["cpu_tok_s"]
        parts.append(f"{m} {median:.2f}x (best {best:.2f}x, cpu {cpu:.2f}x)")
    return ", ".join(parts)


def report(results, variants, args, peak):
    print(f"\nmedian of {args.repeats} interleaved repeats; tokens/s of real tokens; "
          f"peak {peak:.0f} GFLOP/s")
    header = f"{'variant':16s}"
    for mode in args.modes:
        header += f" | {mode + ' tok/s':>12s} {'GFLOP/s':>8s} {'%peak':>6s} {'spread':>6s}"
    print(header)
    for v in variants:
        line = f"{v:16s}"
        for mode in args.modes:
            r = results[v, mode]
            line += (f" | {r['tok_s']:12,.0f} {r['gflops']:8.1f} {r['pct_peak']:5.1f}%"
                     f" {r['spread']:5.0%} ")
        print(line)
    print("\nratios")
    for c in args.cells:
        if f"keras_{c}" in variants:
            print(f"  {c:14s} ours / keras: {ratios(results, c, 'keras_' + c, args.modes)}")
    for c in args.cells:
        if f"{c}@{args.baseline}" in variants:
            print(f"  {c:14s} now / {args.baseline}: "
                  f"{ratios(results, c, f'{c}@{args.baseline}', args.modes)}")
    if "lstm" in variants:
        for c in ("minimal_rnn", "cfn", "gru", "elman"):
            if c in variants:
                print(f"  {c:14s} / our lstm:   {ratios(results, c, 'lstm', args.modes)}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS),
                   help="cells to run (default: all); Keras twins are added for lstm, gru, elman")
    p.add_argument("--repeats", type=int, default=5, help="interleaved repeats (median taken)")
    p.add_argument("--batches", type=int, default=8, help="pre-generated batches per pass")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--batching", choices=["random", "bucketed"], default="random")
    p.add_argument("--modes", nargs="+", choices=["train", "infer"], default=["train", "infer"])
    p.add_argument("--jit", action="store_true", help="compile train/predict steps with XLA")
    p.add_argument("--baseline", metavar="REV",
                   help="also time tagger/cells as of this git revision (variants CELL@REV)")
    p.add_argument("--no-keras", action="store_true", help="skip the Keras built-in twins")
    p.add_argument("--quick", action="store_true",
                   help="lstm, gru and their twins, 3 repeats of 4 batches")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the medians as JSON here")
    args = p.parse_args(argv)
    if args.quick:
        args.cells, args.repeats, args.batches = ["lstm", "gru"], 3, 4
    return args


def main(argv=None):
    args = parse_args(argv)
    out = run(args)
    if args.json:
        args.json.write_text(json.dumps({"argv": sys.argv[1:], **out}, indent=1))


if __name__ == "__main__":
    main()
