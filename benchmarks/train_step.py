"""Benchmark: training examples/s of zoo models over data-set shapes, modes and XLA settings.

For each shape (`--shapes`: criteo, avazu, frappe, small; see `benchmarks.common.shape_vocab_sizes`),
each row (Criteo: the official code's rows DCNv2 SE 1x/4x/10x, ME 4x10/10x10, DNN SE 1x/ME 10x10;
other shapes: DCNv2 and DNN, SE 1x, ME 4x10 and 10x10), each training mode of
`mezoo.training.compile_model` (`--modes`: exact, fast) and each XLA setting (`--jit`: any of
auto, true, false), a process of its own trains on in-memory uniform ids, batch 2048, float32,
`steps_per_execution=1` as `mezoo.train` does. A cell's figure is the median over `--repeats`
timed epochs of about `--seconds` each, after an untimed epoch that traces and compiles and a
two-step estimate of the step time. Each cell also reports TensorFlow's oneDNN "MatMul reference
implementation" warnings (counted in the process's log), what `jit_compile="auto"` resolved to,
and peak resident memory; each (shape, row, mode) line says which XLA setting was fastest, what
`jit_compile="auto"` picks there (`mezoo.training.training_mode.auto_jit_compile`) and how far
its pick is from the fastest.

With `--peer FILE` (`../shared/peerbench/torch_me_bench.py --out FILE`, run on the same machine
just before), Criteo rows gain the ratio to the official PyTorch code's training examples/s.

`--epoch_costs` adds, per Criteo row, the time of one epoch's abundance measurement
(`mezoo.abundance.embedding_abundance` over every table) and of an exact validation AUC pass,
each against a 1M-example training epoch at that row's speed.

    python benchmarks/train_step.py --peer peer.json --epoch_costs          # Criteo table
    python benchmarks/train_step.py --shapes criteo,avazu,frappe,small --jit true,false
    python benchmarks/train_step.py --smoke                                 # CI: tiny, checks the script works
    python benchmarks/train_step.py --shapes criteo_sv,criteo_mv --rows "DCNv2 SE 1x,DCNv2 ME 4x10"

Backends and distributions (`--placements`, default `tensorflow`): `tensorflow` is the above;
`jax` the same model, mode and batch on Keras' JAX backend on one device, `jax_data_parallel`
and `jax_model_parallel` under `mezoo.training.jax_distribution` over `--devices` devices (XLA's
virtual CPU devices here, which share the cores: a ratio between them measures the partitioned
program's overhead, not a speed-up). JAX cells (exact mode only: fast mode needs TensorFlow)
also report the largest per-device resident state (weights and Adam slots, from each array's
shards), the figure table sharding divides; each line with several placements gives each one's
step-time and state ratio to its first placement.

    python benchmarks/train_step.py --rows "DCNv2 SE 1x,DCNv2 ME 10x10" --modes exact \
        --placements tensorflow,jax,jax_data_parallel,jax_model_parallel --devices 4

Multi-valued fields: `criteo_mv` is Criteo's 39 fields plus two multi-valued ones (10,000 and
100,000 ids, `max_len` 20 and 50, mean pooling, each row holding 1..max_len values), `criteo_sv`
the same 41 fields all single-valued. Run together, each (row, mode, XLA) gets the ratio of their
step times, and every cell says how long its embedding lookup (and pooling) takes, forward and
backward, on one batch.
"""

import argparse
import itertools
import json
import math
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # keep oneDNN's warnings: they are counted
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    add_write_flag,
    command_line,
    peer_rates,
    published,
    row_in_subprocess,
    shape_vocab_sizes,
    timed_fit,
)

# label, model key, sets, embedding_dim, the official code's config name (../shared/peerbench)
CRITEO_ROWS = [
    ("DCNv2 SE 1x", "dcnv2", 1, 10, "dcn-10"),
    ("DCNv2 SE 4x", "dcnv2", 1, 40, "dcn-40"),
    ("DCNv2 SE 10x", "dcnv2", 1, 100, "dcn-100"),
    ("DCNv2 ME 4x10", "dcnv2", 4, 10, "mdcn-4x10"),
    ("DCNv2 ME 10x10", "dcnv2", 10, 10, "mdcn-10x10"),
    ("DNN SE 1x", "dnn", 1, 10, "dnn-10"),
    ("DNN ME 10x10", "dnn", 10, 10, "mdnnW-10x10"),
]
OTHER_ROWS = [
    ("DCNv2 SE 1x", "dcnv2", 1, 10, None),
    ("DCNv2 ME 4x10", "dcnv2", 4, 10, None),
    ("DCNv2 ME 10x10", "dcnv2", 10, 10, None),
    ("DNN SE 1x", "dnn", 1, 10, None),
    ("DNN ME 4x10", "dnn", 4, 10, None),
    ("DNN ME 10x10", "dnn", 10, 10, None),
]
REFERENCE_MATMUL = "MatMul reference implementation"
MULTI_VALUED = [(10_000, 20), (100_000, 50)]  # (ids, max_len) of the two extra fields of criteo_mv/_sv


def shape_fields(shape: str):
    """(vocabulary sizes, each field's max_len (0: single-valued), where they came from) of a shape."""
    if shape in ("criteo_mv", "criteo_sv"):
        vocab, source = shape_vocab_sizes("criteo")
        extra = [ids for ids, _ in MULTI_VALUED]
        max_lens = [0] * len(vocab) + ([m for _, m in MULTI_VALUED] if shape == "criteo_mv" else [0] * len(extra))
        return vocab + extra, max_lens, source + " + two extra fields"
    vocab, source = shape_vocab_sizes(shape)
    return vocab, [0] * len(vocab), source


def random_ids(rng, vocab, max_lens, rows: int):
    """Uniform ids; a multi-valued field's rows hold 1..max_len values, the rest padding (-1)."""
    import numpy as np

    columns = []
    for v, m in zip(vocab, max_lens):
        if not m:
            columns.append(rng.integers(0, v, (rows, 1)))
            continue
        used = np.arange(m)[None, :] < rng.integers(1, m + 1, rows)[:, None]
        columns.append(np.where(used, rng.integers(0, v, (rows, m)), -1))
    return np.concatenate(columns, axis=1).astype("int32")


JIT = {"auto": "auto", "true": True, "false": False}


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


PLACEMENTS = ("tensorflow", "jax", "jax_data_parallel", "jax_model_parallel")


def row_model(spec: dict, batches: int = 8):
    """A cell's compiled model (seeded, in its precision) and `batches` batches of uniform ids and labels."""
    import keras
    import numpy as np

    import mezoo  # noqa: F401  (registers the zoo's classes for loading)
    from mezoo import models
    from mezoo.training import compile_model

    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy(spec.get("precision", "float32"))
    vocab = spec["vocab_sizes"]
    max_lens = spec.get("max_lens") or [0] * len(vocab)
    fields = [(f"f{i}", v, m, "mean") if m else (f"f{i}", v) for i, (v, m) in enumerate(zip(vocab, max_lens))]
    model = models.get(spec["model"])(
        fields, num_embedding_sets=spec["sets"], embedding_dim=spec["dim"], **spec.get("hparams", {})
    )
    compile_model(model, spec["mode"], jit_compile=JIT[spec["jit"]])
    rng = np.random.default_rng(0)
    rows = spec["batch"] * batches
    ids = random_ids(rng, vocab, max_lens, rows)
    labels = rng.integers(0, 2, (rows, 1)).astype("float32")
    return model, ids, labels


def run_row(spec: dict) -> dict:
    """One (shape, model, mode, XLA, placement) cell in this process: examples/s over timed epochs."""
    import keras
    import tensorflow as tf

    from mezoo.training.training_mode import auto_jit_compile

    placement = spec.get("placement", "tensorflow")
    if placement.startswith("jax_"):
        from mezoo.training.jax_distribution import make_distribution

        distribution = make_distribution(placement[len("jax_") :], None, spec["batch"])
        keras.distribution.set_distribution(distribution.distribution)
    model, ids, labels = row_model(spec)
    vocab = spec["vocab_sizes"]
    batch = spec["batch"]
    data = tf.data.Dataset.from_tensor_slices(({"ids": ids}, labels)).batch(batch, drop_remainder=True).cache().repeat()

    timed = timed_fit(model, data, spec["seconds"], spec["repeats"])
    step_s = timed["step_s"]
    result = {
        "examples_per_s": batch / step_s,
        "step_ms": 1000 * step_s,
        "step_ms_range": [1000 * min(timed["steps"]), 1000 * max(timed["steps"])],
        "first_epoch_s": timed["first_epoch_s"],
        "jit_used": bool(model.jit_compile),
        "auto_choice": bool(auto_jit_compile(model, spec["mode"])),
        "forward_mflops": forward_matmul_flops(model) / 1e6,
        "table_rows": int(sum(vocab)),
    }
    if keras.backend.backend() == "tensorflow":
        result["embedding_ms"] = embedding_step_ms(model, ids[:batch])
    else:
        result["device_state_mb"] = device_state_mb()
    if spec.get("epoch_costs"):
        result.update(epoch_costs(model, data, batch))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def device_state_mb() -> float:
    """The largest per-device total of live JAX arrays (weights, Adam slots), from their shards, in MB."""
    import collections

    import jax

    per_device: collections.Counter = collections.Counter()
    for array in jax.live_arrays():
        for shard in array.addressable_shards:
            per_device[shard.device.id] += shard.data.nbytes
    return max(per_device.values()) / 2**20


def embedding_step_ms(model, ids, repeats: int = 10) -> float:
    """Milliseconds of the embedding layer alone on one batch: the lookup (and pooling) forward and
    its gradient with respect to the table (median of `repeats`)."""
    import tensorflow as tf

    layer = model.multi_embedding

    @tf.function(jit_compile=bool(model.jit_compile))
    def step(ids):
        with tf.GradientTape() as tape:
            out = tf.reduce_sum(tf.cast(layer(ids), tf.float32))
        grad = tape.gradient(out, layer.embeddings.value if hasattr(layer.embeddings, "value") else layer.embeddings)
        return tf.reduce_sum(tf.convert_to_tensor(grad))

    ids = tf.constant(ids)
    step(ids).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(ids).numpy()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def epoch_costs(model, data, batch: int, eval_batches: int = 8) -> dict:
    """Seconds of one epoch's abundance measurement, and validation examples/s (predict + exact AUC)."""
    import numpy as np

    from mezoo.abundance import embedding_abundance
    from mezoo.metrics import auc

    start = time.perf_counter()
    embedding_abundance(model.multi_embedding)
    abundance_s = time.perf_counter() - start
    model.predict(data.take(1), verbose=0)  # traces the predict function
    labels = np.concatenate([y for _, y in data.take(eval_batches).as_numpy_iterator()])
    start = time.perf_counter()
    scores = model.predict(data.take(eval_batches), verbose=0)
    auc(labels.ravel(), scores.ravel())
    return {"abundance_s": abundance_s, "eval_examples_per_s": eval_batches * batch / (time.perf_counter() - start)}


def in_subprocess(spec: dict) -> dict:
    env = dict(os.environ)
    placement = spec.get("placement", "tensorflow")
    env["KERAS_BACKEND"] = "tensorflow" if placement == "tensorflow" else "jax"
    if placement.startswith("jax_"):
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={spec['devices']}"
    result, stderr = row_in_subprocess(__file__, spec, env, f"{spec['model']} {spec['mode']}")
    return {**result, "reference_matmul_warnings": stderr.count(REFERENCE_MATMUL)}


def table_row(label: str, mode: str, xla: str, r: dict, ratio: str, train_gflops: float, rate: float) -> str:
    """One row of the printed table, plus a line on abundance and validation cost when measured."""
    low, high = r["step_ms_range"]
    embedding = f"{r['embedding_ms']:.1f}" if "embedding_ms" in r else "-"
    state = f"{r['device_state_mb']:,.1f}" if "device_state_mb" in r else "-"
    text = (
        f"| {label} | {mode} | {r.get('placement', 'tensorflow')} | {xla} | {r['examples_per_s']:,.0f} | {ratio}"
        f" | {r['step_ms']:.0f} ({low:.0f}-{high:.0f})"
        f" | {train_gflops:.1f} | {100 * train_gflops / rate:.0f}% | {r['reference_matmul_warnings']}"
        f" | {r['peak_rss_mb']:,.0f} | {embedding} | {state} |"
    )
    if "abundance_s" in r:
        epoch_s = 1e6 / r["examples_per_s"]
        share = 100 * r["abundance_s"] / epoch_s
        text += (
            f"\n|  | one epoch's abundance {r['abundance_s']:.2f} s = {share:.1f}% of a 1M-example epoch"
            f" ({epoch_s:.0f} s); validation {r['eval_examples_per_s']:,.0f} examples/s (predict + exact AUC) |||||||||"
        )
    return text


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny shapes and two rows, for CI")
    parser.add_argument(
        "--shapes", default="criteo", help="comma-separated: criteo, avazu, frappe, small, criteo_sv, criteo_mv"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per cell")
    parser.add_argument("--seconds", type=float, default=3.0, help="target length of one timed epoch")
    parser.add_argument("--modes", default="exact,fast", help="comma-separated training modes")
    parser.add_argument("--jit", default="auto", help="comma-separated XLA settings: auto, true, false")
    parser.add_argument(
        "--precision", default="float32", help="comma-separated Keras dtype policies: float32, mixed_bfloat16"
    )
    parser.add_argument("--rows", default="", help="comma-separated row labels to run (default all)")
    parser.add_argument(
        "--peer", help="torch_me_bench.py --out JSON of the same run: adds the ratio to the official code"
    )
    parser.add_argument("--epoch_costs", action="store_true", help="time abundance and validation per Criteo row")
    parser.add_argument("--out", help="also write every cell as JSON here")
    parser.add_argument(
        "--placements", default="tensorflow", help=f"comma-separated backends/distributions: {', '.join(PLACEMENTS)}"
    )
    parser.add_argument("--devices", type=int, default=4, help="JAX distributions: virtual CPU devices")
    parser.add_argument("--row", help=argparse.SUPPRESS)
    add_write_flag(parser, "train_step")
    args = parser.parse_args(argv)
    with published(args.write, "Training throughput per shape, mode, XLA setting and precision"):
        report(args)


def report(args) -> None:
    """Runs the benchmark and prints its figures."""
    if args.row:
        print(json.dumps(run_row(json.loads(args.row))))
        return

    print("command:", command_line(), flush=True)
    peer = peer_rates(args.peer, "train") if args.peer else {}
    modes, jits, placements = args.modes.split(","), args.jit.split(","), args.placements.split(",")
    for placement in placements:
        if placement not in PLACEMENTS:
            raise SystemExit(f"--placements: {placement!r} is not one of {', '.join(PLACEMENTS)}")
    for jit in jits:
        if jit not in JIT:
            raise SystemExit(f"--jit: {jit!r} is not one of auto, true, false")
    batch, hparams = 2048, {}
    if args.smoke:
        batch, hparams, args.repeats, args.seconds = 256, {"hidden_units": (32, 32)}, 2, 0.2
    n, k = (256, 256) if args.smoke else (2048, 1024)
    rate = matmul_rate(n, k)
    print(f"float32 matmul rate: {rate:.1f} GFLOP/s (median, {n}x{k} @ {k}x{k}, TensorFlow)", flush=True)
    cells = []
    for shape in args.shapes.split(","):
        vocab, max_lens, source = shape_fields(shape)
        rows = CRITEO_ROWS if shape.startswith("criteo") else OTHER_ROWS
        if args.smoke:
            vocab = [max(2, v // 1000) for v in vocab]
            rows = [("DCNv2 ME 2x4 (smoke)", "dcnv2", 2, 4, None), ("DNN SE 1x4 (smoke)", "dnn", 1, 4, None)]
        elif args.rows:
            wanted = {r.strip() for r in args.rows.split(",")}
            rows = [r for r in rows if r[0] in wanted]
        print(
            f"\nshape {shape}: {len(vocab)} fields, {sum(vocab):,} rows ({source}), batch {batch}, {args.precision}",
            flush=True,
        )
        print(
            "| model | mode | placement | XLA | examples/s | vs official | step ms (min-max) | train GFLOP/s "
            "| of matmul rate | ref. matmul warnings | peak RSS MB | embedding ms | state MB per device |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for label, key, sets, dim, peer_config in rows:
            for mode, precision in itertools.product(modes, args.precision.split(",")):
                line, by_placement = {}, {}
                for jit, placement in itertools.product(jits, placements):
                    if placement != "tensorflow" and mode != "exact":
                        continue  # fast mode needs TensorFlow's row-sparse gradients
                    spec = {
                        "placement": placement,
                        "devices": args.devices,
                        "model": key,
                        "sets": sets,
                        "dim": dim,
                        "mode": mode,
                        "vocab_sizes": vocab,
                        "max_lens": max_lens,
                        "batch": batch,
                        "repeats": args.repeats,
                        "seconds": args.seconds,
                        "hparams": hparams,
                        "jit": jit,
                        "precision": precision,
                        "epoch_costs": args.epoch_costs and shape == "criteo" and jit == jits[0],
                    }
                    r = {**in_subprocess(spec), "placement": placement}
                    if placement == placements[0]:
                        line[jit] = r
                    by_placement[(jit, placement)] = r
                    cells.append({"shape": shape, "row": label, "mode": mode, "precision": precision, "jit": jit, **r})
                    train_gflops = 3 * r["forward_mflops"] * 1e6 * r["examples_per_s"] / 1e9
                    ratio = f"{r['examples_per_s'] / peer[peer_config]:.2f}x" if peer_config in peer else "-"
                    xla = f"{jit} ({'on' if r['jit_used'] else 'off'})" if jit == "auto" else jit
                    mode_label = mode if precision == "float32" else f"{mode}, {precision}"
                    print(table_row(label, mode_label, xla, r, ratio, train_gflops, rate), flush=True)
                if line:
                    print(choice_summary(line), flush=True)
                ratios = placement_ratios(by_placement)
                if ratios:
                    print(ratios, flush=True)
    print_multi_valued_ratios(cells)
    if args.out:
        Path(args.out).write_text(
            json.dumps({"command": command_line(), "matmul_gflops": rate, "cells": cells}, indent=1)
        )


def placement_ratios(by_placement: dict) -> str:
    """Each placement's step time against the first placement's, and each JAX distribution's
    per-device state against the first JAX placement's, per XLA setting ("" with one placement)."""
    parts = []
    for jit in dict.fromkeys(j for j, _ in by_placement):
        cells = [(p, r) for (j, p), r in by_placement.items() if j == jit]
        (base_name, base), others = cells[0], cells[1:]
        with_state = [(p, r) for p, r in cells if "device_state_mb" in r]
        for name, r in others:
            text = f"{name}/{base_name} step time {r['step_ms'] / base['step_ms']:.2f}x"
            if with_state and name != with_state[0][0] and "device_state_mb" in r:
                state_name, state = with_state[0]
                text += f", state per device vs {state_name} {r['device_state_mb'] / state['device_state_mb']:.2f}x"
            parts.append(text + (f" (XLA {jit})" if len(by_placement) > len(cells) else ""))
    return "|  | " + "; ".join(parts) + " |||||||||||" if parts else ""


def print_multi_valued_ratios(cells) -> None:
    """Per (row, mode, precision, XLA) measured on both criteo_sv and criteo_mv: the step-time ratio."""

    def key(c):
        return c["row"], c["mode"], c["precision"], c["jit"]

    single = {key(c): c for c in cells if c["shape"] == "criteo_sv"}
    pairs = [(c, single[key(c)]) for c in cells if c["shape"] == "criteo_mv" and key(c) in single]
    if not pairs:
        return
    print("\nmulti-valued (criteo_mv) vs the same fields single-valued (criteo_sv): step time ratio")
    print("| model | mode | XLA | step ms single | step ms multi | ratio | embedding ms single | embedding ms multi |")
    print("|---|---|---|---|---|---|---|---|")
    for mv, sv in pairs:
        print(
            f"| {mv['row']} | {mv['mode']} | {mv['jit']} | {sv['step_ms']:.0f} | {mv['step_ms']:.0f} "
            f"| {mv['step_ms'] / sv['step_ms']:.2f}x | {sv['embedding_ms']:.1f} | {mv['embedding_ms']:.1f} |",
            flush=True,
        )


def choice_summary(line: dict) -> str:
    """Which XLA setting was fastest in this (shape, row, mode), and how far auto's choice is from it."""
    speed = {"true" if r["jit_used"] else "false": r["examples_per_s"] for r in line.values()}
    if len(speed) < 2:
        return "|  | (one XLA setting measured) |||||||||"
    best = max(speed, key=speed.get)
    chosen = "true" if next(iter(line.values()))["auto_choice"] else "false"
    return (
        f"|  | fastest: XLA {best}; auto picks {chosen}: {100 * (1 - speed[chosen] / speed[best]):.0f}% below "
        "the fastest |||||||||"
    )


if __name__ == "__main__":
    main()
