"""The SavedModel's three signatures over a zoo model and its feature spec (`build_archive`).

Every signature checks its input inside the graph, so that every loader and TF Serving enforce
it: `raw`, `ids` and `dense` have the spec's number of columns, ids lie in their field's range,
dense values are finite; a `serving_default` Example names only the spec's features (and the
label, ignored) with at most one value each (none is missing, as an absent feature is), a
multi-valued field's values joined by its separator as in the raw file. Op names are part of the
error a client sees.
"""

import itertools
from typing import Any, List, Optional

import keras
import tensorflow as tf

from mezoo.data.feature_spec import FeatureSpec
from mezoo.data.multi_valued import PADDING_ID, is_multi_valued
from mezoo.data.transform import RawToIds


def check_width(name: str, tensor, width: int, what: str):
    """`tensor` with an assertion, inside the graph, that its second dimension is `width`: a client's
    extra column would shift every field by one."""
    check = tf.debugging.assert_equal(
        tf.shape(tensor, out_type=tf.int64)[1],
        tf.constant(width, tf.int64),
        message=f"{name} must have {width} columns ({what})",
        name=f"{name}_must_have_{width}_columns",
    )
    with tf.control_dependencies([check]):
        return tf.identity(tensor)


def check_finite(dense):
    with tf.control_dependencies(
        [tf.debugging.assert_all_finite(dense, message="dense values must be finite numbers (no inf or nan)")]
    ):
        return tf.identity(dense)


def check_id_ranges(ids, names: List[str], sizes: List[int], lowest: Optional[List[int]] = None):
    """Every id of field f in [0, vocab_size_f) (`lowest`: per column, -1 for a multi-valued field's
    padding): the fused table would read another field's rows. `names` and `sizes` are per column."""
    limits = tf.constant(sizes, tf.int64)
    floor = tf.constant(lowest if lowest is not None else [0] * len(sizes), tf.int64)
    bad = tf.logical_or(ids < floor[None, :], ids >= limits[None, :])
    check = tf.debugging.Assert(
        tf.logical_not(tf.reduce_any(bad)),
        [
            "predict_ids: ids must lie in [0, vocab_size) of their field (-1: no value, in a multi-valued "
            "field); out of range in fields",
            tf.boolean_mask(tf.constant(names), tf.reduce_any(bad, axis=0)),
            "whose vocab_size is",
            tf.boolean_mask(limits, tf.reduce_any(bad, axis=0)),
        ],
        summarize=20,
        name="ids_must_lie_in_their_fields_range",
    )
    with tf.control_dependencies([check]):
        return tf.identity(ids)


def single_value(name: str, sparse, default):
    """A (batch,) column from a VarLen feature: its one value, or `default` where it has none."""
    batch = sparse.dense_shape[0]
    counts = tf.math.bincount(tf.cast(sparse.indices[:, 0], tf.int32), minlength=tf.cast(batch, tf.int32))
    check = tf.debugging.assert_less_equal(
        counts, 1, message=f"feature {name} holds more than one value", name="a_feature_holds_one_value"
    )
    with tf.control_dependencies([check]):
        one_column = tf.sparse.reset_shape(sparse, tf.stack([batch, tf.constant(1, tf.int64)]))
        return tf.sparse.to_dense(one_column, default_value=default)[:, 0]


def joined_values(sparse, separator: str):
    """A multi-valued field's (batch,) cells: each Example's values joined by the field's separator
    (no value: the missing token), then read as the raw file's cell is."""
    rows = tf.RaggedTensor.from_sparse(sparse)
    return tf.strings.reduce_join(rows, axis=1, separator=separator)


def feature_keys(examples, label: str):
    """Every feature name the Examples hold (the strict proto decoder: garbage fails here)."""
    # The decoder refuses an empty batch: one Example naming the label (a known key) is
    # appended, so that every level has something to decode.
    padding = tf.train.Example(features=tf.train.Features(feature={label: tf.train.Feature()}))
    padded = tf.concat([examples, [padding.SerializeToString()]], axis=0)
    _, (features_bytes,) = tf.io.decode_proto(
        padded,
        "tensorflow.Example",
        ["features"],
        [tf.string],
        name="examples_must_be_serialized_tf_Example_protos",
    )
    counts, (entries,) = tf.io.decode_proto(
        tf.reshape(features_bytes, [-1]), "tensorflow.Features", ["feature"], [tf.string]
    )
    entries = tf.boolean_mask(entries, tf.sequence_mask(tf.reshape(counts, [-1]), tf.shape(entries)[1]))
    _, (keys,) = tf.io.decode_proto(entries, "tensorflow.Features.FeatureEntry", ["key"], [tf.string])
    return tf.reshape(keys, [-1])


class ServingFunctions:
    """The signatures' functions over `model` and `spec`: raw values or ids in, probability out.

    Args:
        model: the zoo model (called in inference mode, cast to float32 at the output).
        spec: its feature spec, with vocabularies.
        table_dir: where the raw -> id lookup tables are written (they become SavedModel assets).
        jit_compile: XLA for the model part only (table lookups stay outside the cluster); TF
            Serving runs such a graph only with --xla_cpu_compilation_enabled=true.
    """

    def __init__(self, model, spec: FeatureSpec, table_dir: str, jit_compile: bool = False):
        self.model, self.spec = model, spec
        self.to_ids = RawToIds.from_spec(spec, table_dir)
        self.names, self.numeric = spec.field_names, spec.numeric_names
        self.field_list = ", ".join(self.names[:6]) + (", ..." if len(self.names) > 6 else "")
        fields = spec.model_fields
        lengths = [f.max_len for f in fields]
        # per id column (a multi-valued field has max_len of them): its field, vocab size, lowest id
        self.column_names = [f.name for f in fields for _ in range(f.max_len)]
        self.column_sizes = [f.vocab_size for f in fields for _ in range(f.max_len)]
        # (a max_len-1 field always holds its one id: the model embeds it as a single-valued field)
        self.lowest = [PADDING_ID if n > 1 else 0 for n in lengths for _ in range(n)]
        self.separators = {f["name"]: f["separator"] for f in spec.fields if is_multi_valued(f)}
        # A multi-valued field with no value (every column -1) is the empty cell, which the raw
        # signatures map to the field's missing token: its id here, so that ids score as raw rows do.
        no_value_ids = self.to_ids(tf.fill([1, len(self.names)], "")).numpy()[0]
        starts = [0, *itertools.accumulate(lengths)]
        self.no_value_fields = [(start, n, int(no_value_ids[start])) for start, n in zip(starts, lengths) if n > 1]
        self.model_part = tf.function(self.forward, jit_compile=True) if jit_compile else self.forward
        # Each feature as a list: an empty bytes_list / float_list is a missing value, as an absent
        # feature is; more than one value is refused.
        self.features = {name: tf.io.VarLenFeature(tf.string) for name in self.names}
        self.features.update({name: tf.io.VarLenFeature(tf.float32) for name in self.numeric})
        self.known = tf.constant([*self.names, *self.numeric, spec.label])

    def forward(self, ids, dense):
        inputs = {"ids": tf.cast(ids, tf.int32)}
        if self.numeric:
            inputs["dense"] = tf.cast(dense, tf.float32)
        return tf.cast(self.model(inputs, training=False), tf.float32)

    def checked_dense(self, dense):
        return check_finite(check_width("dense", dense, len(self.numeric), f"numeric fields {', '.join(self.numeric)}"))

    def empty_cells_as_missing_tokens(self, ids):
        pieces, done = [], 0
        for start, n, missing_id in self.no_value_fields:
            columns = ids[:, start : start + n]
            empty = tf.reduce_all(tf.equal(columns, PADDING_ID), axis=1, keepdims=True)
            first = tf.where(empty, tf.constant(missing_id, tf.int64), columns[:, :1])
            pieces += [ids[:, done:start], first]
            done = start + 1
        return tf.concat([*pieces, ids[:, done:]], axis=1) if pieces else ids

    def probability_of_ids(self, ids, dense):
        what = f"fields {self.field_list}" + (", a multi-valued field's max_len each" if self.separators else "")
        ids = check_width("ids", ids, self.spec.id_width, what)
        ids = self.empty_cells_as_missing_tokens(
            check_id_ranges(ids, self.column_names, self.column_sizes, self.lowest)
        )
        return {"probability": self.model_part(ids, None if dense is None else self.checked_dense(dense))}

    def probability_of_raw(self, raw, dense):
        if not isinstance(raw, dict):
            raw = check_width("raw", raw, len(self.names), f"fields {self.field_list}, in the spec's order")
        return {"probability": self.model_part(self.to_ids(raw), self.checked_dense(dense))}

    def serving_default(self, examples):
        keys = feature_keys(examples, self.spec.label)
        unknown = tf.logical_not(tf.reduce_any(tf.equal(keys[:, None], self.known[None, :]), axis=1))
        check = tf.debugging.Assert(
            tf.logical_not(tf.reduce_any(unknown)),
            ["the Examples name features the model does not know (a typo?):", tf.boolean_mask(keys, unknown)],
            summarize=10,
            name="examples_may_name_only_the_models_features",
        )
        with tf.control_dependencies([check]):
            examples = tf.identity(examples)
        parsed = tf.io.parse_example(
            examples, self.features, name="raw_features_bytes_list_per_field_float_list_per_numeric_field"
        )
        raw = {
            name: joined_values(parsed[name], self.separators[name])
            if name in self.separators
            else single_value(name, parsed[name], "")
            for name in self.names
        }
        dense = (
            tf.stack([single_value(name, parsed[name], 0.0) for name in self.numeric], axis=1)
            if self.numeric
            else tf.zeros([tf.shape(examples)[0], 0], tf.float32)
        )
        return self.probability_of_raw(raw, dense)


def build_archive(model, spec: FeatureSpec, table_dir: str, jit_compile: bool = False) -> Any:
    """The `keras.export.ExportArchive` with the three signatures (not yet written)."""
    functions = ServingFunctions(model, spec, table_dir, jit_compile)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(functions.to_ids)
    archive.add_endpoint(
        "serving_default",
        functions.serving_default,
        input_signature=[tf.TensorSpec([None], tf.string, name="examples")],
    )
    raw_spec = tf.TensorSpec([None, len(functions.names)], tf.string, name="raw")
    ids_spec = tf.TensorSpec([None, spec.id_width], tf.int64, name="ids")
    if functions.numeric:
        dense_spec = tf.TensorSpec([None, len(functions.numeric)], tf.float32, name="dense")
        archive.add_endpoint("predict_raw", functions.probability_of_raw, input_signature=[raw_spec, dense_spec])
        archive.add_endpoint("predict_ids", functions.probability_of_ids, input_signature=[ids_spec, dense_spec])
    else:
        archive.add_endpoint(
            "predict_raw",
            lambda raw: functions.probability_of_raw(raw, tf.zeros([tf.shape(raw)[0], 0])),
            input_signature=[raw_spec],
        )
        archive.add_endpoint(
            "predict_ids", lambda ids: functions.probability_of_ids(ids, None), input_signature=[ids_spec]
        )
    return archive
