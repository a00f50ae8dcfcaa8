"""Naming the shard behind a `tf.data` read error.

A corrupted or truncated TFRecord shard makes `tf.data` raise `DataLossError` (or, for a
broken gzip stream, `InvalidArgumentError` / `OutOfRangeError`) without saying which file of
the interleaved split it was reading. Checking the split's shards one by one, only when such
an error happened, names it without slowing the healthy pipeline.
"""

import re
from typing import List, Optional, Tuple

import tensorflow as tf

from mezoo.data.examples import parse_examples
from mezoo.data.feature_spec import FeatureSpec
from mezoo.errors import BadInput

READ_ERRORS = (tf.errors.DataLossError, tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError)


class ShardReadError(BadInput, RuntimeError):
    """A split's shard could not be read; the message names the file and the records before the damage."""


def _short(error: Exception) -> str:
    message = getattr(error, "message", str(error)).splitlines()[0]
    return re.sub(r"\{\{.*?\}\}\s*", "", message).split(" [Op:")[0][:300]


def unreadable_shards(spec: FeatureSpec, split: str, batch_size: int = 65536) -> List[Tuple[str, int, str]]:
    """`(path, records read before the failure, what failed)` for each shard of `split` that can't be
    read, or holds a record that does not parse as the spec says (an `ids` list of another width)."""
    compression = spec.compression(split) or ""
    bad = []
    for path in spec.files(split):
        records = tf.data.TFRecordDataset(path, compression_type=compression)
        try:
            for _ in records.batch(batch_size):
                pass
        except READ_ERRORS as error:
            # the records before the damage: read again, stopping at the error instead of raising
            good = records.apply(tf.data.experimental.ignore_errors()).reduce(0, lambda n, _: n + 1)
            bad.append((path, int(good), f"corrupted or truncated after {int(good)} good records: {_short(error)}"))
            continue
        failed = first_unparsable(spec, records, batch_size)
        if failed is not None:
            bad.append((path, failed[0], f"record {failed[0] + 1} does not match the feature spec: {failed[1]}"))
    return bad


def first_unparsable(spec: FeatureSpec, records: tf.data.Dataset, batch_size: int) -> Optional[Tuple[int, str]]:
    """(0-based index, parser's message) of the first record the spec's layout can't parse, or None."""
    width, numeric = spec.id_width, len(spec.numeric)
    start = 0
    for batch in records.batch(batch_size):
        try:
            parse_examples(batch, width, numeric)
        except tf.errors.InvalidArgumentError:
            for offset in range(int(tf.shape(batch)[0])):
                try:
                    parse_examples(batch[offset : offset + 1], width, numeric)
                except tf.errors.InvalidArgumentError as error:
                    layout = f"`ids` must hold {width} ids" + (f" and `dense` {numeric} floats" if numeric else "")
                    return start + offset, f"{layout} ({_short(error)})"
        start += int(tf.shape(batch)[0])
    return None


def shard_read_error(spec: FeatureSpec, split: str, error: Exception) -> Exception:
    """A `ShardReadError` naming the damaged shard(s) of `split`, or `error` itself if every shard reads."""
    bad = unreadable_shards(spec, split)
    if not bad:
        return error
    lines = [
        f"split {split!r}: {len(bad)} shard(s) can't be read (re-convert, or check with "
        f"python -m tfrecord_tools.inspect {spec.directory}):"
    ]
    lines += [f"  {path}: {message}" for path, _, message in bad]
    return ShardReadError("\n".join(lines))
