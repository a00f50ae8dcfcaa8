"""Benchmark: the mezoo.data input pipeline, examples/s into parsed batches of 2048.

Prints the command, then one line of figures: median (min/max) examples/s over `--repeats`
timed passes of `--batches` batches from `make_dataset(spec, "train", 2048)` (training mode:
interleave, shuffle buffer, repeat, batched parse_example, prefetch), after a warm-up of 20
batches, on shards converted from `--rows` generated Criteo rows (gzip level 1, 39 packed
ids). For comparison it also times the same rows written with one int64 feature per field
(`--per_field`: 100,000 rows), both read in order without shuffling so that the figures
compare parsing: the reason the spec packs ids into one feature.

    python benchmarks/input_pipeline.py            # 1,000,000 rows, 3 repeats
    python benchmarks/input_pipeline.py --smoke    # CI
"""

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.common import add_write_flag, published  # noqa: E402


def time_batches(ds, batches):
    it = iter(ds)
    for _ in range(20):
        next(it)
    t = time.perf_counter()
    n = 0
    for _ in range(batches):
        features, labels = next(it)
        n += int(labels.shape[0])
    return n / (time.perf_counter() - t)


def per_field_dataset(spec, batch_size):
    """The first 100,000 train rows rewritten as one feature per field (written once, cached;
    the dataset repeats them)."""
    import tensorflow as tf

    from mezoo.data.pipeline import make_dataset

    names = spec.field_names
    desc = {"label": tf.io.FixedLenFeature([], tf.float32)}
    desc.update({n: tf.io.FixedLenFeature([1], tf.int64) for n in names})
    path = spec.resolve("per_field.tfrecord.gz")
    if not os.path.exists(path):
        with tf.io.TFRecordWriter(
            path + ".tmp", tf.io.TFRecordOptions(compression_type="GZIP", compression_level=1)
        ) as w:
            for features, labels in make_dataset(spec, "train", 4096, training=False).take(25):
                ids, lab = features["ids"].numpy(), labels.numpy()[:, 0]
                for i in range(len(lab)):
                    ex = tf.train.Example()
                    ex.features.feature["label"].float_list.value.append(lab[i])
                    for j, n in enumerate(names):
                        ex.features.feature[n].int64_list.value.append(ids[i, j])
                    w.write(ex.SerializeToString())
        os.replace(path + ".tmp", path)

    def parse(s):
        p = tf.io.parse_example(s, desc)
        return {"ids": tf.cast(tf.concat([p[n] for n in names], axis=1), tf.int32)}, p["label"][:, None]

    ds = tf.data.TFRecordDataset([path], compression_type="GZIP", buffer_size=1 << 20)
    return (
        ds.repeat()
        .batch(batch_size, drop_remainder=True)
        .map(parse, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--batch_size", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per_field", action="store_true", help="also time one feature per field (slow to prepare)")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "mezoo-bench-pipeline"))
    parser.add_argument("--smoke", action="store_true", help="20,000 rows, 10 batches, 1 repeat (CI)")
    add_write_flag(parser, "input_pipeline")
    args = parser.parse_args()
    with published(args.write, "Input pipeline throughput"):
        report(args)


def report(args) -> None:
    """Runs the benchmark and prints its figures."""
    if args.smoke:
        args.rows, args.batches, args.repeats = 20_000, 10, 1
    print("command:", " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv), flush=True)

    from mezoo.data import FeatureSpec
    from mezoo.data.pipeline import make_dataset
    from mezoo.data.raw.reader import FileInfo
    from tfrecord_tools.convert.options import Options
    from tfrecord_tools.convert.pipeline import convert
    from tfrecord_tools.formats import criteo_layout
    from tfrecord_tools.synthetic import generate

    out = os.path.join(args.workdir, f"criteo_{args.rows}")
    if not os.path.exists(os.path.join(out, "feature_spec.json")):
        os.makedirs(args.workdir, exist_ok=True)
        source = os.path.join(args.workdir, f"criteo_{args.rows}.txt")
        generate("criteo", args.rows, source, seed=0)
        convert(
            [FileInfo(source)],
            criteo_layout(),
            Options(
                output=out, dataset="criteo", min_count=10, rows_per_shard=max(args.rows // 16, 1000), verbose=False
            ),
        )
        os.remove(source)
    spec = FeatureSpec.load(out)
    rates = [
        time_batches(make_dataset(spec, "train", args.batch_size, seed=r), args.batches) for r in range(args.repeats)
    ]
    line = (
        f"input_pipeline: {spec.rows('train'):,} train rows in {len(spec.files('train'))} gzip shards, batch "
        f"{args.batch_size}, {args.batches} batches x {args.repeats} repeats, {os.cpu_count()} CPUs: packed ids "
        f"median {statistics.median(rates):,.0f} examples/s (min {min(rates):,.0f}, max {max(rates):,.0f})"
    )
    if args.per_field:
        # parse cost alone: both read 100,000 rows in order (no shuffle), repeated
        def packed():
            return make_dataset(spec, "train", args.batch_size, training=False, repeat=True, drop_remainder=True)

        pk = [time_batches(packed(), args.batches) for _ in range(args.repeats)]
        pf = [time_batches(per_field_dataset(spec, args.batch_size), args.batches) for _ in range(args.repeats)]
        line += (
            f"; no shuffle: packed ids {statistics.median(pk):,.0f} vs one feature per field "
            f"{statistics.median(pf):,.0f} examples/s ({statistics.median(pk) / statistics.median(pf):.1f}x)"
        )
    print(line, flush=True)


if __name__ == "__main__":
    main()
