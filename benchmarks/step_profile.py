"""Benchmark: where one training step's milliseconds go, phase by phase (TensorFlow backend).

For each Criteo row asked for (`--rows`, labels of `benchmarks/train_step.py`) and each mode
(`--modes`), a process of its own builds the row's model as `train_step.py` does (batch 2048,
uniform ids, `--precision`) and times, each the median of `--repeats` calls of its own
`tf.function` after a warm-up call:

- `embedding forward`: the embedding layer's lookup on one batch;
- `embedding forward+backward`: the lookup and its gradient with respect to the table;
- `forward`: the whole model and the loss;
- `forward+backward`: the same and every trainable weight's gradient;
- `optimizer, tables` / `optimizer, dense weights`: the compiled optimiser applying one step of
  gradients computed beforehand to the embedding tables only, then to every other weight;
- `train_step`: Keras' own `model.train_step` (forward, backward, optimiser, loss metric);
- `fit`: one step of `model.fit` over a cached in-memory dataset (adds the input pipeline and
  Keras' step loop around `train_step`);
- and, from TensorFlow's profiler over 10 traced `train_step` calls, each op type's self time
  per step (the row-sparse optimiser's `Unique`, `UnsortedSegmentSum`, `ResourceGather` and
  scatters; the matrix products' `_MklMatMul` / `_MklBatchMatMulV2`; dropout's random numbers).

The table prints each phase, then the differences that name where the time goes: the
interaction and head's forward (forward - embedding forward), backward (the rest of
forward+backward), the optimiser's two parts, what `train_step` adds beyond those (loss metric,
bookkeeping) and what `fit` adds beyond `train_step`. Phases are timed apart, so the parts need
not add up to the step exactly (a small negative part is that noise). A last line gives the
row's matrix products at the machine's float32 matmul rate (`train_step.matmul_rate`): the floor
a step cannot go under in float32 on that machine.

    python benchmarks/step_profile.py --rows "DCNv2 SE 1x" --modes exact,fast
    python benchmarks/step_profile.py --smoke        # CI: tiny, checks the script works
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_write_flag, command_line, epoch_timer, published, row_in_subprocess  # noqa: E402
from benchmarks.train_step import CRITEO_ROWS, forward_matmul_flops, matmul_rate, row_model, shape_fields  # noqa: E402

PHASES = (
    "embedding forward",
    "embedding forward+backward",
    "forward",
    "forward+backward",
    "optimizer, tables",
    "optimizer, dense weights",
    "train_step",
    "fit",
)


def median_ms(function, *args, repeats: int) -> float:
    """Median wall milliseconds of `function(*args)` (a tf.function) after one untimed call."""
    import tensorflow as tf

    def run():
        tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, function(*args))

    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def total(tensors):
    """One scalar that depends on every tensor (so no phase is pruned from its graph)."""
    import tensorflow as tf

    parts = []
    for t in tensors:
        values = t.values if isinstance(t, tf.IndexedSlices) else t
        parts.append(tf.reduce_sum(tf.cast(values, tf.float32)))
    return tf.add_n(parts)


def op_self_times(step, args, steps: int = 10) -> dict:
    """Milliseconds per step of each TensorFlow op type's self time over `steps` traced calls of
    `step` (TensorFlow's profiler; summed over the threads that run ops at once, so the total can
    exceed the step's wall time). Empty where this TensorFlow's profiler can't be read back."""
    import json
    import tempfile

    import tensorflow as tf

    try:  # the profiler's own converter: not a public API, so the table is optional
        from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin
    except ImportError:
        return {}
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(steps):
            tf.nest.map_structure(lambda t: t.numpy(), step(*args))
        tf.profiler.experimental.stop()
        planes = sorted(Path(logdir).rglob("*.xplane.pb"))
        data, ok = plugin.xspace_to_tools_data([str(planes[-1])], "framework_op_stats", {}) if planes else (b"", False)
    if not ok:
        return {}
    table = json.loads(data)[0]
    columns = [c["id"] for c in table["cols"]]
    times: dict = {}
    for row in table["rows"]:
        cells = dict(zip(columns, (cell["v"] if cell else None for cell in row["c"])))
        if cells["type"] != "IDLE":
            times[cells["type"]] = times.get(cells["type"], 0.0) + cells["total_self_time"] / 1000 / steps
    return times


def profile_row(spec: dict) -> dict:
    """Every phase of `PHASES` for one row and mode, in milliseconds."""
    import keras
    import tensorflow as tf

    model, ids, labels = row_model(spec, batches=2)
    batch, repeats, jit = spec["batch"], spec["repeats"], bool(model.jit_compile)
    x = {"ids": tf.constant(ids[:batch])}
    y = tf.constant(labels[:batch])
    layer = model.multi_embedding
    table = layer.embeddings
    loss_fn = keras.losses.BinaryCrossentropy()

    def loss_of(x, y):
        return loss_fn(y, model(x, training=True)) + tf.add_n(model.losses or [tf.constant(0.0)])

    @tf.function(jit_compile=jit)
    def embedding_forward(ids):
        return tf.reduce_sum(tf.cast(layer(ids), tf.float32))

    @tf.function(jit_compile=jit)
    def embedding_both(ids):
        with tf.GradientTape() as tape:
            out = tf.reduce_sum(tf.cast(layer(ids), tf.float32))
        return total([tape.gradient(out, table.value)])

    @tf.function(jit_compile=jit)
    def forward(x, y):
        return loss_of(x, y)

    def gradients_of(x, y):
        with tf.GradientTape() as tape:
            loss = loss_of(x, y)
        return tape.gradient(loss, [w.value for w in model.trainable_weights])

    forward_backward = tf.function(lambda x, y: total(gradients_of(x, y)), jit_compile=jit)

    weights = model.trainable_weights
    grads = tf.function(gradients_of, jit_compile=jit)(x, y)
    model.optimizer.build(weights)

    def applier(tables: bool):
        """One optimiser step on the tables (or on every other weight), with the gradients above."""
        pairs = [(g, w) for g, w in zip(grads, weights) if (w is table) == tables]

        def apply():
            model.optimizer.apply([g for g, _ in pairs], [w for _, w in pairs])
            return model.optimizer.iterations.value

        return tf.function(apply, jit_compile=jit)

    apply_tables, apply_dense = applier(tables=True), applier(tables=False)

    train_step = tf.function(model.train_step, jit_compile=jit)
    result = {
        "embedding forward": median_ms(embedding_forward, x["ids"], repeats=repeats),
        "embedding forward+backward": median_ms(embedding_both, x["ids"], repeats=repeats),
        "forward": median_ms(forward, x, y, repeats=repeats),
        "forward+backward": median_ms(forward_backward, x, y, repeats=repeats),
        "optimizer, tables": median_ms(apply_tables, repeats=repeats),
        "optimizer, dense weights": median_ms(apply_dense, repeats=repeats),
        "train_step": median_ms(train_step, (x, y), repeats=repeats),
    }
    data = tf.data.Dataset.from_tensor_slices(({"ids": ids}, labels)).batch(batch, drop_remainder=True)
    data = data.cache().repeat()
    times: list = []
    steps = 10
    model.fit(data, steps_per_epoch=1, epochs=1, verbose=0)
    model.fit(data, steps_per_epoch=steps, epochs=max(3, repeats // 4), verbose=0, callbacks=[epoch_timer(times)])
    result["fit"] = 1000 * statistics.median(times) / steps
    result["forward_gflop"] = forward_matmul_flops(model) * batch / 1e9
    result["ops"] = op_self_times(train_step, [(x, y)])
    return result


def breakdown(r: dict) -> list:
    """(part, ms) pairs: where the step's time goes, from the phases' differences."""
    backward = r["forward+backward"] - r["forward"]
    embedding_backward = r["embedding forward+backward"] - r["embedding forward"]
    parts = [
        ("embedding lookup (forward)", r["embedding forward"]),
        ("interaction, head and loss (forward)", r["forward"] - r["embedding forward"]),
        ("embedding gradient (backward)", embedding_backward),
        ("interaction and head (backward)", backward - embedding_backward),
        ("optimizer: tables", r["optimizer, tables"]),
        ("optimizer: dense weights", r["optimizer, dense weights"]),
    ]
    accounted = sum(ms for _, ms in parts)
    parts.append(("train_step beyond the above", r["train_step"] - accounted))
    parts.append(("fit beyond train_step (input, step loop)", r["fit"] - r["train_step"]))
    return parts


def in_subprocess(spec: dict) -> dict:
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    return row_in_subprocess(__file__, spec, env, f"{spec['label']} {spec['mode']}")[0]


def print_op_table(label: str, measured: dict, top: int = 20) -> None:
    """The op types with the most self time in `train_step`, per mode (`op_self_times`)."""
    modes = [m for m in measured if measured[m].get("ops")]
    if not modes:
        print(f"\n{label}: TensorFlow's profiler could not be read back here: no op table")
        return
    totals: dict = {}
    for m in modes:
        for op, ms in measured[m]["ops"].items():
            totals[op] = max(totals.get(op, 0.0), ms)
    print(
        f"\n{label}: train_step's self time per op type, ms per step (TensorFlow's profiler over 10 steps; "
        "ops run two at a time, so a column can add up to more than the step)\n"
    )
    print("| op type | " + " | ".join(modes) + " |")
    print("|---|" + "---|" * len(modes))
    for op in sorted(totals, key=lambda o: -totals[o])[:top]:
        print(f"| {op} | " + " | ".join(f"{measured[m]['ops'].get(op, 0.0):.1f}" for m in modes) + " |")
    print("| all op types | " + " | ".join(f"{sum(measured[m]['ops'].values()):.1f}" for m in modes) + " |")


def report(args) -> None:
    if args.row:
        print(json.dumps(profile_row(json.loads(args.row))))
        return
    print("command:", command_line(), flush=True)
    vocab, _, source = shape_fields("criteo")
    rows, batch, hparams = CRITEO_ROWS, 2048, {}
    if args.smoke:
        vocab = [max(2, v // 1000) for v in vocab]
        rows, batch, hparams, args.repeats = [("DCNv2 SE 1x4 (smoke)", "dcnv2", 1, 4, None)], 256, {}, 3
    else:
        wanted = {r.strip() for r in args.rows.split(",")}
        unknown = wanted - {r[0] for r in CRITEO_ROWS}
        if unknown:
            raise SystemExit(f"--rows: {', '.join(sorted(unknown))} not among {', '.join(r[0] for r in CRITEO_ROWS)}")
        rows = [r for r in CRITEO_ROWS if r[0] in wanted]
    print(f"shape criteo: {len(vocab)} fields, {sum(vocab):,} rows ({source}), batch {batch}, {args.precision}")
    n, k = (256, 256) if args.smoke else (2048, 1024)
    rate = matmul_rate(n, k)
    print(f"float32 matmul rate: {rate:.1f} GFLOP/s (median, {n}x{k} @ {k}x{k}, TensorFlow)")
    for label, key, sets, dim, _ in rows:
        measured = {}
        for mode in args.modes.split(","):
            spec = {
                "label": label,
                "model": key,
                "sets": sets,
                "dim": dim,
                "mode": mode,
                "vocab_sizes": vocab,
                "batch": batch,
                "repeats": args.repeats,
                "hparams": hparams,
                "jit": "auto",
                "precision": args.precision,
            }
            measured[mode] = in_subprocess(spec)
        modes = list(measured)
        print(f"\n{label}: milliseconds per step of {batch} (median of {args.repeats} calls per phase)\n")
        print("| phase | " + " | ".join(modes) + " |")
        print("|---|" + "---|" * len(modes))
        for phase in PHASES:
            print(f"| {phase} | " + " | ".join(f"{measured[m][phase]:.1f}" for m in modes) + " |")
        print(f"\n{label}: where the step goes\n")
        print("| part | " + " | ".join(f"{m} ms | {m} share" for m in modes) + " |")
        print("|---|" + "---|---|" * len(modes))
        parts = {m: breakdown(measured[m]) for m in modes}
        for i, (name, _) in enumerate(parts[modes[0]]):
            cells = []
            for m in modes:
                ms = parts[m][i][1]
                cells.append(f"{ms:.1f} | {100 * ms / measured[m]['fit']:.0f}%")
            print(f"| {name} | " + " | ".join(cells) + " |")
        print("| fit step | " + " | ".join(f"{measured[m]['fit']:.1f} | 100%" for m in modes) + " |")
        print_op_table(label, measured)
        floor = 3 * measured[modes[0]]["forward_gflop"] / rate * 1000
        print(
            f"\n{label}: its matrix products (forward and twice that backward, "
            f"{measured[modes[0]]['forward_gflop']:.2f} GFLOP forward) take {floor:.1f} ms at the matmul rate above: "
            + ", ".join(f"{m} {100 * floor / measured[m]['fit']:.0f}% of its step" for m in modes)
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny row, for CI")
    parser.add_argument("--rows", default="DCNv2 SE 1x", help="comma-separated Criteo row labels")
    parser.add_argument("--modes", default="exact,fast", help="comma-separated training modes")
    parser.add_argument("--precision", default="float32", help="Keras dtype policy")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per phase")
    parser.add_argument("--row", help=argparse.SUPPRESS)
    add_write_flag(parser, "step_profile")
    args = parser.parse_args(argv)
    with published(args.write, "Where a training step's time goes"):
        report(args)


if __name__ == "__main__":
    main()
