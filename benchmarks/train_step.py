"""Benchmark: training examples/s of zoo models at Criteo shapes, exact and fast mode.

For each row of the issue's table (DCNv2 SE 1x/4x/10x, ME 4x10/10x10; DNN SE 1x, ME 10x10)
and each training mode of `mezoo.training.compile_model`:

- `exact`: the paper's optimiser semantics (dense Adam over every weight, coupled L2 on
  every embedding row), compiled with XLA;
- `fast`: `RowSparseAdam` and the L2 on the batch's rows only (rows outside a batch neither
  decay nor move), without XLA (`tf.unique` has none).

Shapes: 39 fields with the vocabulary sizes `vocab_min_count_10_Criteo_x4_001` of
`../shared/data/stats/criteo_kaggle_stats.json` (910,747 rows), batch 2048, float32, ids
uniform per field (more distinct rows per batch than real, skewed data). Each row runs in
its own process, so `peak_rss_mb` is that row's peak resident memory. A row's figure is the
median over `--repeats` timed epochs of `--seconds` each, after one untimed epoch that
traces and compiles. The table also gives the model's forward matmul FLOPs per example, the
achieved training FLOP rate (3x forward: forward, input and weight gradients) and its
share of this machine's measured float32 matmul rate.

Then the vocabulary-growth check: DNN SE 1x with the 39 fields scaled to 100k and to 10M
rows in total, both modes; fast mode must grow by less than 1.5x.

    python benchmarks/train_step.py                # full table
    python benchmarks/train_step.py --smoke        # CI: tiny, checks the script works
"""

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import command_line, criteo_vocab_sizes  # noqa: E402

# label, model key, sets, embedding_dim, the official PyTorch code's examples/s (issue 3)
ROWS = [
    ("DCNv2 SE 1x", "dcnv2", 1, 10, 6241),
    ("DCNv2 SE 4x", "dcnv2", 1, 40, 1157),
    ("DCNv2 SE 10x", "dcnv2", 1, 100, 176),
    ("DCNv2 ME 4x10", "dcnv2", 4, 10, 1777),
    ("DCNv2 ME 10x10", "dcnv2", 10, 10, 699),
    ("DNN SE 1x", "dnn", 1, 10, 8848),
    ("DNN ME 10x10", "dnn", 10, 10, 1077),
]


def forward_matmul_flops(model) -> int:
    """2 x the multiply-adds of every dense/cross kernel for one example (embeddings excluded)."""
    flops = 0
    for weight in model.trainable_weights:
        name = weight.path.split("/")[-1]
        if "kernel" in name and len(weight.shape) >= 2:
            flops += 2 * math.prod(weight.shape)
    return flops


def matmul_rate(n: int = 2048, k: int = 1024, repeats: int = 7) -> float:
    """This machine's float32 matmul rate in GFLOP/s: median of (n x k) @ (k x k) products."""
    import tensorflow as tf

    a = tf.random.normal((n, k))
    b = tf.random.normal((k, k))
    product = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
    product(a, b).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        product(a, b).numpy()
        times.append(time.perf_counter() - start)
    return 2 * n * k * k / statistics.median(times) / 1e9


def run_row(spec: dict) -> dict:
    """One (model, mode) in this process: examples/s over timed epochs, peak memory."""
    import keras
    import numpy as np
    import tensorflow as tf

    import mezoo  # noqa: F401
    from mezoo import models
    from mezoo.training import compile_model

    keras.utils.set_random_seed(0)
    vocab = spec["vocab_sizes"]
    fields = [(f"f{i}", v) for i, v in enumerate(vocab)]
    model = models.get(spec["model"])(
        fields, num_embedding_sets=spec["sets"], embedding_dim=spec["dim"], **spec.get("hparams", {})
    )
    compile_model(model, spec["mode"], jit_compile=spec.get("jit_compile", "auto"), steps_per_execution=spec["steps"])
    rng = np.random.default_rng(0)
    batch, batches = spec["batch"], 8
    ids = np.stack([rng.integers(0, v, batch * batches) for v in vocab], axis=1).astype("int32")
    labels = rng.integers(0, 2, (batch * batches, 1)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices(({"ids": ids}, labels)).batch(batch, drop_remainder=True).cache().repeat()

    times = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(data, steps_per_epoch=spec["steps"], epochs=1, verbose=0, callbacks=[EpochTimer()])
    first = times.pop()  # tracing and compilation
    model.fit(data, steps_per_epoch=spec["steps"], epochs=spec["repeats"], verbose=0, callbacks=[EpochTimer()])
    step_s = statistics.median(times) / spec["steps"]
    return {
        "examples_per_s": batch / step_s,
        "step_ms": 1000 * step_s,
        "step_ms_range": [1000 * min(times) / spec["steps"], 1000 * max(times) / spec["steps"]],
        "first_epoch_s": first,
        "forward_mflops": forward_matmul_flops(model) / 1e6,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "table_rows": int(sum(vocab)),
    }


def in_subprocess(spec: dict) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--row", json.dumps(spec)], capture_output=True, text=True, env=os.environ
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"row {spec['model']} {spec['mode']} failed:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1])


def steps_for(spec: dict, seconds: float) -> int:
    """Steps per timed epoch: about `seconds` long, from a one-step probe (at least 1)."""
    probe = in_subprocess({**spec, "steps": 1, "repeats": 1})
    return max(1, min(50, round(seconds * 1000 / probe["step_ms"])))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny shapes and two rows, for CI")
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per row")
    parser.add_argument("--seconds", type=float, default=3.0, help="target length of one timed epoch")
    parser.add_argument("--modes", default="exact,fast", help="comma-separated training modes")
    parser.add_argument("--rows", default="", help="comma-separated row labels to run (default all)")
    parser.add_argument("--skip-growth", action="store_true", help="skip the 100k vs 10M rows check")
    parser.add_argument("--jit", default="auto", choices=["auto", "true", "false"], help="XLA for every mode")
    parser.add_argument("--row", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.row:
        print(json.dumps(run_row(json.loads(args.row))))
        return

    print("command:", command_line(), flush=True)
    vocab, source = criteo_vocab_sizes()
    rows, batch, growth = ROWS, 2048, (100_000, 10_000_000)
    if args.smoke:
        vocab = [max(2, v // 1000) for v in vocab]
        rows = [("DCNv2 ME 2x4 (smoke)", "dcnv2", 2, 4, None), ("DNN SE 1x4 (smoke)", "dnn", 1, 4, None)]
        batch, growth, args.repeats, args.seconds = 256, (10_000, 100_000), 2, 0.2
    elif args.rows:
        wanted = {r.strip() for r in args.rows.split(",")}
        rows = [r for r in ROWS if r[0] in wanted]
    modes = args.modes.split(",")
    jit = {"auto": "auto", "true": True, "false": False}[args.jit]
    hparams = {"hidden_units": (32, 32)} if args.smoke else {}
    n, k = (256, 256) if args.smoke else (2048, 1024)
    rate = matmul_rate(n, k)
    print(f"float32 matmul rate: {rate:.1f} GFLOP/s (median, {n}x{k} @ {k}x{k}, TensorFlow)", flush=True)
    print(f"shapes: 39 fields, {sum(vocab):,} rows ({source}), batch {batch}, float32", flush=True)
    print("| model | mode | examples/s | vs official | step ms (min-max) | train GFLOP/s | of matmul rate | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for label, key, sets, dim, official in rows:
        for mode in modes:
            spec = {"model": key, "sets": sets, "dim": dim, "mode": mode, "vocab_sizes": vocab, "batch": batch,
                    "repeats": args.repeats, "hparams": hparams, "jit_compile": jit}
            spec["steps"] = steps_for(spec, args.seconds)
            r = in_subprocess(spec)
            train_gflops = 3 * r["forward_mflops"] * 1e6 * r["examples_per_s"] / 1e9
            ratio = f"{r['examples_per_s'] / official:.2f}x" if official else "-"
            print(
                f"| {label} | {mode} | {r['examples_per_s']:,.0f} | {ratio} | {r['step_ms']:.0f} "
                f"({r['step_ms_range'][0]:.0f}-{r['step_ms_range'][1]:.0f}) | {train_gflops:.1f} | "
                f"{100 * train_gflops / rate:.0f}% | {r['peak_rss_mb']:,.0f} |",
                flush=True,
            )
    if args.skip_growth:
        return
    print("vocabulary growth, DNN SE 1x (d=10), 39 equal fields:", flush=True)
    for mode in modes:
        step = {}
        for total in growth:
            spec = {"model": "dnn", "sets": 1, "dim": 10 if not args.smoke else 4, "mode": mode,
                    "vocab_sizes": [total // 39] * 39, "batch": batch, "repeats": args.repeats, "hparams": hparams}
            spec["steps"] = steps_for(spec, args.seconds)
            step[total] = in_subprocess(spec)
        small, big = (step[t]["step_ms"] for t in growth)
        print(
            f"  {mode}: step {small:.0f} ms at {growth[0]:,} rows, {big:.0f} ms at {growth[1]:,} rows: "
            f"x{big / small:.2f} (peak RSS {step[growth[1]]['peak_rss_mb']:,.0f} MB)",
            flush=True,
        )


if __name__ == "__main__":
    main()
