"""Shards: rows serialized as `mezoo.data` Examples (in numpy, `example_bytes`) and written as TFRecords."""

import functools
import os
import re
import shutil
from typing import Any, Callable, Dict, List, Optional

import numpy as np

import tfrecord_tools.convert.example_bytes as example_bytes
from tfrecord_tools.convert.options import Options


def make_serializer(num_fields: int, num_numeric: int) -> Callable[..., List[bytes]]:
    """(labels, ids (any integer dtype)[, dense]) numpy -> serialized Examples (a list of bytes): the records of
    `mezoo.data.examples.serialize_examples`, built in numpy (`example_bytes`, the same bytes)
    when there are ids, else by that TF function."""
    if num_fields:

        def serialize(labels: np.ndarray, ids: np.ndarray, dense: Optional[np.ndarray] = None) -> List[bytes]:
            flat, lengths = example_bytes.serialize_examples(labels, ids, dense if num_numeric else None)
            data, ends = flat.tobytes(), np.cumsum(lengths).tolist()
            return [data[start:end] for start, end in zip([0] + ends[:-1], ends)]

        return serialize
    import tensorflow as tf

    from mezoo.data.examples import serialize_examples

    signature = [tf.TensorSpec([None], tf.float32), tf.TensorSpec([None, num_fields], tf.int64)]
    if num_numeric:
        with_dense = tf.function(
            serialize_examples, input_signature=signature + [tf.TensorSpec([None, num_numeric], tf.float32)]
        )
        return lambda labels, ids, dense=None: list(with_dense(labels, np.asarray(ids, np.int64), dense).numpy())
    serialize_two = tf.function(lambda labels, ids: serialize_examples(labels, ids), input_signature=signature)
    return lambda labels, ids, dense=None: list(serialize_two(labels, np.asarray(ids, np.int64)).numpy())


def shard_name(split: str, i: int, n: int, compression: str) -> str:
    return f"{split}-{i:05d}-of-{n:05d}.tfrecord" + (".gz" if compression == "GZIP" else "")


SHARD_NAME = re.compile(r".+-\d{5}-of-\d{5}\.tfrecord(\.gz)?$")


def tfrecord_options(opts: Options) -> Any:
    """The `tf.io.TFRecordOptions` of --compression and --compression_level."""
    import tensorflow as tf

    if opts.compression == "GZIP":
        return tf.io.TFRecordOptions(compression_type="GZIP", compression_level=opts.compression_level)
    return tf.io.TFRecordOptions(compression_type="")


def write_records(
    path: str,
    options: Any,
    serialize: Callable[..., Any],
    labels: np.ndarray,
    ids: np.ndarray,
    dense: Optional[np.ndarray],
) -> None:
    """Rows (already in order) -> one TFRecord file, serialized in bulk 100,000 rows at a time."""
    from concurrent.futures import ThreadPoolExecutor

    import tensorflow as tf

    def batch(start: int) -> List[bytes]:
        part = slice(start, start + 100_000)
        return serialize(labels[part], ids[part], None if dense is None else dense[part])

    # the next batch is serialized while this one is written
    with tf.io.TFRecordWriter(path, options) as writer, ThreadPoolExecutor(1) as pool:
        futures = [pool.submit(batch, start) for start in range(0, len(labels), 100_000)[:1]]
        for start in range(100_000, len(labels) + 100_000, 100_000):
            records = futures.pop().result()
            if start < len(labels):
                futures.append(pool.submit(batch, start))
            for record in records:
                writer.write(record)


def write_shard(
    spool_dir: str,
    work: str,
    name: str,
    k: int,
    num_shards: int,
    id_dtype: type,
    num_fields: int,
    num_numeric: int,
    opts: Options,
    serialize: Callable[..., Any],
) -> int:
    """One shard from its spool: rows put in position order and written; returns its row count."""
    base = os.path.join(spool_dir, f"{name}-{k}")
    pos = np.fromfile(base + ".pos", np.int32) if os.path.exists(base + ".pos") else np.zeros(0, np.int32)
    order = np.argsort(pos, kind="stable")
    ids, labels, dense = np.zeros((0, num_fields), np.int64), np.zeros(0, np.float32), None
    if len(pos):
        ids = np.fromfile(base + ".ids", id_dtype).reshape(-1, num_fields)[order]
        labels = np.fromfile(base + ".lab", np.uint8)[order].astype(np.float32)
        dense = np.fromfile(base + ".dense", np.float32).reshape(-1, num_numeric)[order] if num_numeric else None
    final = os.path.join(work, shard_name(name, k, num_shards, opts.compression))
    write_records(final, tfrecord_options(opts), serialize, labels, ids, dense)
    return len(pos)


def write_shards(
    spool_dir: str,
    work: str,
    names: List[str],
    num_shards: Dict[str, int],
    id_dtype: type,
    num_fields: int,
    num_numeric: int,
    opts: Options,
) -> Dict[str, int]:
    """Stage 6: every shard (`write_shard`, --parallel at a time); returns rows written per split.

    The first failure stops the rest (no more shards started) and is raised."""
    from concurrent.futures import ThreadPoolExecutor

    write = functools.partial(
        write_shard,
        spool_dir,
        work,
        id_dtype=id_dtype,
        num_fields=num_fields,
        num_numeric=num_numeric,
        opts=opts,
        serialize=make_serializer(num_fields, num_numeric),
    )
    written = {name: 0 for name in names}
    jobs = [(name, k) for name in names for k in range(num_shards[name])]
    with ThreadPoolExecutor(max(1, opts.parallel)) as pool:
        futures = [(name, pool.submit(write, name, k, num_shards[name])) for name, k in jobs]
        try:
            for name, future in futures:
                written[name] += future.result()
        except BaseException:
            for _, future in futures:
                future.cancel()
            raise
    shutil.rmtree(spool_dir)
    return written
