"""The TFRecord layout (docs/formats.md): one tf.train.Example per row with `label` (float), `ids`
(int64 list in spec field order: one column per single-valued field, `max_len` per multi-valued
one, stored as id + 1 with 0 unused) and, when the spec has numeric fields, `dense` (floats).

`serialize_examples` builds the serialized protos for a whole batch with `tf.io.encode_proto`
(C++, no Python per row); `parse_examples` parses a batch of them into the model inputs.
"""

from typing import Any, Dict, Optional, Sequence, Tuple

import tensorflow as tf


def _ones(n: tf.Tensor, k: int = 1) -> tf.Tensor:
    return tf.ones(tf.stack([n, k]), tf.int32)


def serialize_examples(labels: Any, ids: Any, dense: Optional[Any] = None) -> tf.Tensor:
    """labels (n,), ids (n, F) int, dense (n, D) float or None -> (n,) serialized Examples."""
    labels = tf.reshape(tf.cast(labels, tf.float32), [-1, 1])
    ids = tf.cast(ids, tf.int64)
    n = tf.shape(ids)[0]
    entries = []

    def feature(values: tf.Tensor, list_type: str, kind: str) -> tf.Tensor:
        packed = tf.io.encode_proto(tf.fill(tf.stack([n, 1]), tf.shape(values)[1]), [values], ["value"], list_type)
        return tf.io.encode_proto(_ones(n), [packed[:, None]], [kind], "tensorflow.Feature")

    entries.append(("label", feature(labels, "tensorflow.FloatList", "float_list")))
    entries.append(("ids", feature(ids, "tensorflow.Int64List", "int64_list")))
    if dense is not None:
        entries.append(("dense", feature(tf.cast(dense, tf.float32), "tensorflow.FloatList", "float_list")))
    k = len(entries)
    keys = tf.broadcast_to(tf.constant([[[name] for name, _ in entries]]), tf.stack([n, k, 1]))
    values = tf.stack([value for _, value in entries], axis=1)[:, :, None]
    pairs = tf.io.encode_proto(
        tf.ones(tf.stack([n, k, 2]), tf.int32), [keys, values], ["key", "value"], "tensorflow.Features.FeatureEntry"
    )
    features = tf.io.encode_proto(tf.fill(tf.stack([n, 1]), k), [pairs], ["feature"], "tensorflow.Features")
    return tf.io.encode_proto(_ones(n), [features[:, None]], ["features"], "tensorflow.Example")


def feature_description(num_fields: int, num_numeric: int = 0) -> Dict[str, tf.io.FixedLenFeature]:
    desc = {"label": tf.io.FixedLenFeature([], tf.float32), "ids": tf.io.FixedLenFeature([num_fields], tf.int64)}
    if num_numeric:
        desc["dense"] = tf.io.FixedLenFeature([num_numeric], tf.float32)
    return desc


def parse_examples(
    serialized: tf.Tensor, num_fields: int, num_numeric: int = 0, stored_shift: Optional[Sequence[int]] = None
) -> Tuple[Dict[str, tf.Tensor], tf.Tensor]:
    """(batch,) serialized Examples -> ({"ids": int32 (batch, F)[, "dense"]}, label (batch, 1)).

    `num_fields` is the width of `ids` (`FeatureSpec.id_width`); `stored_shift`
    (`multi_valued.stored_shift(spec.fields)`) marks the columns of multi-valued fields, stored as
    id + 1, which come out as ids with `multi_valued.PADDING_ID` (-1: stored 0 minus 1) where a row has no value.
    """
    parsed = tf.io.parse_example(serialized, feature_description(num_fields, num_numeric))
    ids = tf.cast(parsed["ids"], tf.int32)
    if stored_shift is not None and any(stored_shift):
        shift = tf.constant([int(s) for s in stored_shift], tf.int32)
        ids = ids - shift
    features = {"ids": ids}
    if num_numeric:
        features["dense"] = parsed["dense"]
    return features, tf.reshape(parsed["label"], [-1, 1])
