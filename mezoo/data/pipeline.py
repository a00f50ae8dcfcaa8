"""The `tf.data` input pipeline: TFRecord shards of a spec's split -> model batches.

    ds = make_dataset(spec, "train", batch_size=2048, training=True)
    # elements: ({"ids": int32 (batch, T)[, "dense": float32 (batch, D)]}, label float32 (batch, 1))
    # T = spec.id_width: one column per field, max_len per multi-valued field (-1 = no value)

Files are interleaved (parallel reads), records batched first and then parsed with one
`tf.io.parse_example` per batch (the packed `ids` feature makes that fast), then prefetched.
Training adds a file-order shuffle, repeat, a window shuffle (`shuffle_buffer` records parsed
together, permuted, cut into batches, and the batches shuffled) and drop_remainder.
Under `tf.distribute`, pass the `InputContext` (or use `dataset_fn`): each input pipeline
reads its own subset of the files and batches with the per-replica batch size.
"""

import dataclasses
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np
import tensorflow as tf

from mezoo.data.examples import parse_examples
from mezoo.data.feature_spec import FeatureSpec
from mezoo.data.multi_valued import stored_shift

AUTOTUNE = tf.data.AUTOTUNE


def _ensure_remote_filesystems(paths: List[str]) -> None:
    if any(p.startswith("s3://") for p in paths):
        import tensorflow_io  # noqa: F401  (registers the s3:// file system)


def make_dataset(
    spec: Union[FeatureSpec, str],
    split: str,
    batch_size: int,
    training: Optional[bool] = None,
    shuffle_buffer: int = 100_000,
    seed: Optional[int] = None,
    repeat: Optional[bool] = None,
    drop_remainder: Optional[bool] = None,
    deterministic: bool = False,
    input_context: Optional[tf.distribute.InputContext] = None,
    cycle_length: Optional[int] = None,
    num_epochs: Optional[int] = None,
) -> tf.data.Dataset:
    """Batches of `split` from `spec` (a FeatureSpec or the path of one).

    training (default: split == "train") turns on file and record shuffling, repeat and
    drop_remainder; repeat and drop_remainder can be set on their own. Records are shuffled
    in windows of `shuffle_buffer` (rounded down to whole batches; <= batch_size: no record
    shuffle): each window is parsed at once, permuted (stateless, from `seed` and the window's
    number), cut into batches, and batches are shuffled. Rows never cross a window, which is
    fine because the converter already shuffled train rows uniformly. `deterministic=True` keeps element order
    fixed for a given seed (interleave and map in order; set `seed` too when shuffling);
    the default lets parallel reads return out of order for speed. `batch_size` is the
    global batch size when `input_context` is given (it is divided among replicas).
    `num_epochs` repeats a finite number of times (None with repeat: forever). Without repeat,
    every iteration of the returned dataset gives the same batches in the same order (a seeded
    epoch can be replayed); with it, each pass is shuffled anew.
    """
    if not isinstance(spec, FeatureSpec):
        spec = FeatureSpec.load(spec)
    training = (split == "train") if training is None else training
    repeat = training if repeat is None else repeat
    drop_remainder = training if drop_remainder is None else drop_remainder
    files = spec.files(split)
    _ensure_remote_filesystems(files)
    if input_context is not None:
        n, i = input_context.num_input_pipelines, input_context.input_pipeline_id
        if len(files) < n:
            raise ValueError(
                f"split {split!r} has {len(files)} shard(s) for {n} input pipelines: "
                "convert with more shards (--rows_per_shard)"
            )
        files = files[i::n]
        batch_size = input_context.get_per_replica_batch_size(batch_size)
    # A dataset that repeats shuffles every pass anew; a single pass gives the same order each time
    # it is iterated, so that a consumer that iterates once more (Keras' JAX trainer takes a batch
    # to build the model in a process's first `fit`) or a resumed run replays the epoch's order.
    order = Order(seed, reshuffle=bool(repeat), deterministic=deterministic)
    window = (
        max(batch_size, shuffle_buffer // batch_size * batch_size) if training and shuffle_buffer > batch_size else 0
    )
    ds = _records(files, spec.compression(split) or "", training, window, cycle_length or min(len(files), 8), order)
    if repeat:
        ds = ds.repeat(num_epochs)

    def parse(serialized: tf.Tensor) -> Tuple[Any, tf.Tensor]:
        return parse_examples(serialized, spec.id_width, len(spec.numeric), stored_shift(spec.fields))

    if window:
        ds = _window_shuffled(ds, parse, batch_size, window, drop_remainder, order)
    else:
        ds = ds.batch(
            batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE, deterministic=deterministic
        )
        ds = ds.map(parse, num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    options = tf.data.Options()
    options.deterministic = deterministic
    ds = ds.with_options(options)
    return ds.prefetch(AUTOTUNE)


@dataclasses.dataclass(frozen=True)
class Order:
    """How `make_dataset` orders: the shuffles' seed, whether each pass reshuffles, whether parallel
    steps keep their order."""

    seed: Optional[int]
    reshuffle: bool
    deterministic: bool


def _records(
    files: List[str], compression: str, training: bool, window: int, cycle: int, order: Order
) -> tf.data.Dataset:
    """The split's records (in windows of `window` records of one file, when `window`), files interleaved;
    file order shuffled when training."""
    ds = tf.data.Dataset.from_tensor_slices(files)
    if training:
        ds = ds.shuffle(len(files), seed=order.seed, reshuffle_each_iteration=order.reshuffle)

    def records(f: tf.Tensor) -> tf.data.Dataset:
        data = tf.data.TFRecordDataset(f, compression_type=compression, buffer_size=1 << 20)
        # Window shuffle: each file's reader also cuts its records into windows, so that the
        # per-record work runs in the interleave's parallel readers, not in one batch op after it.
        return data.batch(window) if window else data

    return ds.interleave(
        records, cycle_length=cycle, block_length=1, num_parallel_calls=AUTOTUNE, deterministic=order.deterministic
    )


def _window_shuffled(
    ds: tf.data.Dataset,
    parse: Callable[[tf.Tensor], Any],
    batch_size: int,
    window: int,
    drop_remainder: bool,
    order: Order,
) -> tf.data.Dataset:
    """Windows parsed at once, each permuted with a stateless seed of its own, cut into batches
    (rebatch: no per-record work), then the batches shuffled.

    Per-record shuffle buffers cost about half the pipeline's speed; the converter has already
    shuffled train rows uniformly over the shards, so rows of one file are as random as rows of
    several, and file order is shuffled every pass.
    """
    base_seed = order.seed if order.seed is not None else int(np.random.randint(0, 2**31 - 1))
    ds = ds.enumerate().map(
        lambda i, s: _permute(parse(s), base_seed, i), num_parallel_calls=AUTOTUNE, deterministic=order.deterministic
    )
    ds = ds.rebatch(batch_size, drop_remainder=drop_remainder)
    return ds.shuffle(max(2, window // batch_size), seed=order.seed, reshuffle_each_iteration=order.reshuffle)


def _permute(batch: Tuple[Any, tf.Tensor], seed: int, index: tf.Tensor) -> Tuple[Any, tf.Tensor]:
    features, labels = batch
    n = tf.shape(labels)[0]
    order = tf.argsort(tf.random.stateless_uniform([n], seed=tf.stack([tf.cast(seed, tf.int64), index])))
    permuted: Tuple[Any, tf.Tensor] = tf.nest.map_structure(lambda t: tf.gather(t, order), (features, labels))
    return permuted


def dataset_fn(
    spec: Union[FeatureSpec, str], split: str, global_batch_size: int, **kwargs: Any
) -> Callable[[tf.distribute.InputContext], tf.data.Dataset]:
    """For `strategy.distribute_datasets_from_function`: a function of the InputContext."""

    def fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
        return make_dataset(spec, split, global_batch_size, input_context=input_context, **kwargs)

    return fn
