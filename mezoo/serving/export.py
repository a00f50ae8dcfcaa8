"""A finished run -> a SavedModel that TF Serving loads and answers on raw feature values.

Layout (TF Serving's): `<output>/<version>/` with `saved_model.pb`, `variables/`, `assets/`
(one `key<TAB>id` lookup table per field: the vocabularies, as SavedModel assets) and
`assets.extra/` (`feature_spec.json` with its `vocab/` files, `mezoo_export.json`, and
`tf_serving_warmup_requests`). Signatures:

- `serving_default(examples: string[None])`: serialized `tf.train.Example`s holding the RAW
  source values, every categorical or integer field a `bytes_list` of its raw text (a
  multi-valued field: several values, or one separated string), numeric fields a `float_list`;
  any feature may be absent (= missing). Returns `probability` (batch, 1).
- `predict_raw(raw: string[None, F], dense: float[None, D])`: the same on raw values in spec
  field order, without the Example wrapping (what `mezoo.predict` sends); a multi-valued field's
  cell is its values joined by the field's separator, as in the raw file.
- `predict_ids(ids: int64[None, T], dense: float[None, D])`: ids already mapped, T = the spec's
  `id_width` (a multi-valued field's `max_len` columns, -1 where a row has fewer values).

The raw -> id step is `mezoo.data.RawToIds`, the module the converter ran, so training and
serving cannot disagree. Nothing in the SavedModel needs Python or mezoo at load time.
"""

import contextlib
import itertools
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

import keras
import tensorflow as tf

from mezoo.data.feature_spec import SPEC_NAME, FeatureSpec, read_vocabulary, vocabulary_path
from mezoo.data.multi_valued import PADDING_ID, is_multi_valued
from mezoo.data.transform import RawToIds
from mezoo.directory_lock import directory_lock, remove_stale
from mezoo.disk_full import full_disk_reported
from mezoo.serving.raw_examples import warmup_rows_from_vocabularies
from mezoo.serving.warmup import WARMUP_FILE, write_warmup_requests

EXPORT_META = "mezoo_export.json"
EXPORT_LOCK = ".export.lock"  # in the export base; TF Serving reads numeric directories only
SCRATCH_PATTERN = ".[0-9]*.tmp-*"  # an export's scratch directory (`.<version>.tmp-<random>`)
BUSY_HINT = "wait for it to finish and export again, or pass another --output"


class ExportError(Exception):
    """A run that can't be exported, with what to do about it."""


def run_spec(run_dir: Path) -> FeatureSpec:
    """The run's feature spec with its vocabularies found: in the run directory (the trainer copies
    them there), else in the converted data the run recorded, checked against the spec's sizes."""
    spec_path = run_dir / SPEC_NAME
    if not spec_path.exists():
        raise ExportError(f"{spec_path} does not exist: is {run_dir} a mezoo.train run directory?")
    spec = FeatureSpec.load(str(spec_path))
    missing = [f["name"] for f in spec.fields if not os.path.exists(spec.resolve(f["vocabulary"]))]
    if not missing:
        return spec
    recorded = _recorded_data(run_dir)
    if recorded and os.path.exists(os.path.join(recorded, SPEC_NAME)):
        candidate = FeatureSpec(spec.to_dict(), recorded)
        if all(os.path.exists(candidate.resolve(f["vocabulary"])) for f in spec.fields):
            for f in spec.fields:
                size = len(read_vocabulary(candidate.resolve(f["vocabulary"]))) + 1
                if size != int(f["vocab_size"]):
                    raise ExportError(
                        f"the vocabulary of field {f['name']!r} in {recorded} has {size} ids but the run trained with "
                        f"{f['vocab_size']}: the data was reconverted after training, so this run can't be exported "
                        "with it"
                    )
            return candidate
    where = f"{run_dir / 'vocab'}" + (f" or {recorded}" if recorded else "")
    raise ExportError(
        f"the vocabularies of {len(missing)} fields ({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}) "
        f"are not in {where}: the converted data moved or was deleted. Pass --data with the directory the run "
        "was trained on"
    )


def _recorded_data(run_dir: Path) -> Optional[str]:
    try:
        data = json.loads((run_dir / "run.json").read_text()).get("data")
    except (OSError, ValueError):
        return None
    if not data:
        return None
    path = Path(data)
    return str(path if path.is_absolute() else (run_dir / path))


def next_version(output: Path) -> int:
    """One above the highest numeric version under `output` (TF Serving serves the highest)."""
    versions = [int(p.name) for p in output.iterdir() if p.name.isdigit()] if output.exists() else []
    return max(versions, default=0) + 1


def _load_model(run_dir: Path):
    path = run_dir / "model.keras"
    if not path.exists():
        raise ExportError(f"{path} does not exist: the run has not finished (train it to the end first)")
    from mezoo.saved_models import load_keras_file

    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")  # served in float32 whatever the run trained in
    try:
        return load_keras_file(path, compile=False)
    finally:
        keras.mixed_precision.set_global_policy(policy)


def _check_width(name: str, tensor, width: int, what: str):
    """`tensor` with an assertion, inside the graph (every loader and TF Serving enforce it), that
    its second dimension is `width`: a client's extra column would shift every field by one."""
    check = tf.debugging.assert_equal(
        tf.shape(tensor, out_type=tf.int64)[1],
        tf.constant(width, tf.int64),
        message=f"{name} must have {width} columns ({what})",
        name=f"{name}_must_have_{width}_columns",
    )
    with tf.control_dependencies([check]):
        return tf.identity(tensor)


def _check_finite(dense):
    with tf.control_dependencies(
        [tf.debugging.assert_all_finite(dense, message="dense values must be finite numbers (no inf or nan)")]
    ):
        return tf.identity(dense)


def _check_id_ranges(ids, names, sizes, lowest=None):
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


def build_archive(model, spec: FeatureSpec, table_dir: str, jit_compile: bool = False):
    """The `keras.export.ExportArchive` with the three signatures (not yet written).

    Every signature checks its input inside the graph: `raw`, `ids` and `dense` have the spec's
    number of columns, ids lie in their field's range, dense values are finite; a
    `serving_default` Example names only the spec's features (and the label, ignored) with at
    most one value each (none is missing, as an absent feature is).
    """
    to_ids = RawToIds.from_spec(spec, table_dir)
    names, numeric = spec.field_names, spec.numeric_names
    num_fields, num_numeric = len(names), len(numeric)
    field_list = ", ".join(names[:6]) + (", ..." if num_fields > 6 else "")
    # per id column (a multi-valued field has max_len of them): its field, vocab size, lowest id
    column_names = [f["name"] for f, n in zip(spec.fields, spec.field_lengths) for _ in range(n)]
    column_sizes = [int(f["vocab_size"]) for f, n in zip(spec.fields, spec.field_lengths) for _ in range(n)]
    # (a max_len-1 field always holds its one id: the model embeds it as a single-valued field)
    lowest = [PADDING_ID if n > 1 else 0 for n in spec.field_lengths for _ in range(n)]
    separators = {f["name"]: f["separator"] for f in spec.fields if is_multi_valued(f)}

    def forward(ids, dense):
        inputs = {"ids": tf.cast(ids, tf.int32)}
        if num_numeric:
            inputs["dense"] = tf.cast(dense, tf.float32)
        return tf.cast(model(inputs, training=False), tf.float32)

    def checked_dense(dense):
        return _check_finite(_check_width("dense", dense, num_numeric, f"numeric fields {', '.join(numeric)}"))

    # A multi-valued field with no value (every column -1) is the empty cell, which the raw
    # signatures map to the field's missing token: its id here, so that ids score as raw rows do.
    no_value_ids = to_ids(tf.fill([1, num_fields], "")).numpy()[0]
    starts = [0, *itertools.accumulate(spec.field_lengths)]
    no_value_fields = [(start, n, int(no_value_ids[start])) for start, n in zip(starts, spec.field_lengths) if n > 1]

    def empty_cells_as_missing_tokens(ids):
        pieces, done = [], 0
        for start, n, missing_id in no_value_fields:
            columns = ids[:, start : start + n]
            empty = tf.reduce_all(tf.equal(columns, PADDING_ID), axis=1, keepdims=True)
            first = tf.where(empty, tf.constant(missing_id, tf.int64), columns[:, :1])
            pieces += [ids[:, done:start], first]
            done = start + 1
        return tf.concat([*pieces, ids[:, done:]], axis=1) if pieces else ids

    def probability_of_ids(ids, dense):
        what = f"fields {field_list}" + (", a multi-valued field's max_len each" if separators else "")
        ids = _check_width("ids", ids, spec.id_width, what)
        ids = empty_cells_as_missing_tokens(_check_id_ranges(ids, column_names, column_sizes, lowest))
        return {"probability": model_part(ids, None if dense is None else checked_dense(dense))}

    # XLA for the model part only: table lookups stay outside the cluster. TF Serving runs such
    # a graph only with --xla_cpu_compilation_enabled=true, hence off by default.
    model_part = tf.function(forward, jit_compile=True) if jit_compile else forward

    def probability_of_raw(raw, dense):
        if not isinstance(raw, dict):
            raw = _check_width("raw", raw, num_fields, f"fields {field_list}, in the spec's order")
        ids = to_ids(raw)
        return {"probability": model_part(ids, checked_dense(dense))}

    # Each feature as a list: an empty bytes_list / float_list is a missing value, as an absent
    # feature is; more than one value is refused below.
    features = {name: tf.io.VarLenFeature(tf.string) for name in names}
    features.update({name: tf.io.VarLenFeature(tf.float32) for name in numeric})
    known = tf.constant([*names, *numeric, spec.label])

    def single_value(name, sparse, default):
        """A (batch,) column from a VarLen feature: its one value, or `default` where it has none."""
        batch = sparse.dense_shape[0]
        counts = tf.math.bincount(tf.cast(sparse.indices[:, 0], tf.int32), minlength=tf.cast(batch, tf.int32))
        check = tf.debugging.assert_less_equal(
            counts, 1, message=f"feature {name} holds more than one value", name="a_feature_holds_one_value"
        )
        with tf.control_dependencies([check]):
            one_column = tf.sparse.reset_shape(sparse, tf.stack([batch, tf.constant(1, tf.int64)]))
            return tf.sparse.to_dense(one_column, default_value=default)[:, 0]

    def joined_values(sparse, separator):
        """A multi-valued field's (batch,) cells: each Example's values joined by the field's
        separator (no value: the missing token), then read as the raw file's cell is."""
        rows = tf.RaggedTensor.from_sparse(sparse)
        return tf.strings.reduce_join(rows, axis=1, separator=separator)

    def feature_keys(examples):
        """Every feature name the Examples hold (the strict proto decoder: garbage fails here)."""
        # The decoder refuses an empty batch: one Example naming the label (a known key) is
        # appended, so that every level has something to decode.
        padding = tf.train.Example(features=tf.train.Features(feature={spec.label: tf.train.Feature()}))
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

    def serving_default(examples):
        # Op names are part of the error a client sees.
        keys = feature_keys(examples)
        unknown = tf.logical_not(tf.reduce_any(tf.equal(keys[:, None], known[None, :]), axis=1))
        check = tf.debugging.Assert(
            tf.logical_not(tf.reduce_any(unknown)),
            ["the Examples name features the model does not know (a typo?):", tf.boolean_mask(keys, unknown)],
            summarize=10,
            name="examples_may_name_only_the_models_features",
        )
        with tf.control_dependencies([check]):
            examples = tf.identity(examples)
        parsed = tf.io.parse_example(
            examples, features, name="raw_features_bytes_list_per_field_float_list_per_numeric_field"
        )
        raw = {
            name: joined_values(parsed[name], separators[name])
            if name in separators
            else single_value(name, parsed[name], "")
            for name in names
        }
        dense = (
            tf.stack([single_value(name, parsed[name], 0.0) for name in numeric], axis=1)
            if num_numeric
            else tf.zeros([tf.shape(examples)[0], 0], tf.float32)
        )
        return probability_of_raw(raw, dense)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(to_ids)
    archive.add_endpoint(
        "serving_default", serving_default, input_signature=[tf.TensorSpec([None], tf.string, name="examples")]
    )
    raw_spec = tf.TensorSpec([None, num_fields], tf.string, name="raw")
    ids_spec = tf.TensorSpec([None, spec.id_width], tf.int64, name="ids")
    if num_numeric:
        dense_spec = tf.TensorSpec([None, num_numeric], tf.float32, name="dense")
        archive.add_endpoint("predict_raw", probability_of_raw, input_signature=[raw_spec, dense_spec])
        archive.add_endpoint("predict_ids", probability_of_ids, input_signature=[ids_spec, dense_spec])
    else:
        archive.add_endpoint(
            "predict_raw",
            lambda raw: probability_of_raw(raw, tf.zeros([tf.shape(raw)[0], 0])),
            input_signature=[raw_spec],
        )
        archive.add_endpoint("predict_ids", lambda ids: probability_of_ids(ids, None), input_signature=[ids_spec])
    return archive


def export_run(
    run_dir,
    output=None,
    version: Optional[int] = None,
    jit_compile: bool = False,
    warmup_rows: Optional[Sequence[Dict]] = None,
    num_warmup: int = 8,
    warmup_input: Optional[str] = None,
    warmup_format: str = "criteo",
    verbose: bool = True,
) -> Path:
    """Exports a finished `mezoo.train` run; returns the version directory written.

    Args:
        run_dir: the run directory (holds `model.keras` and `feature_spec.json`).
        output: TF Serving's base path for the model (default `<run_dir>/export`).
        version: the version directory's number (default: one above the highest there).
        jit_compile: compile the model part with XLA (TF Serving then needs
            `--xla_cpu_compilation_enabled=true`).
        warmup_rows: raw rows (dicts field -> raw value) for the TF Serving warm-up requests;
            default: the first `num_warmup` accepted lines of `warmup_input` (a raw file in
            `warmup_format`), else `num_warmup` rows of values from the vocabularies, and one
            with every feature absent.
    """
    run_dir = Path(run_dir)
    output = Path(output) if output else run_dir / "export"
    if output.exists() and not output.is_dir():
        raise ExportError(f"--output {output} is a file, not a directory to hold the model's versions")
    spec = run_spec(run_dir)
    if warmup_rows is None and warmup_input:
        from mezoo.serving.scoring import read_raw_rows

        warmup_rows = read_raw_rows(spec, warmup_input, warmup_format, num_warmup)
    model = _load_model(run_dir)
    full = (
        f"no space left on the device of {output} (the export base) while exporting {run_dir}: free space there, "
        "or pass another --output; the partial version was removed"
    )
    with full_disk_reported(full):
        output.mkdir(parents=True, exist_ok=True)
        # One export of a base at a time (`mezoo.export` and the end of training alike): two would
        # pick the same version. Holding the lock, what dead exports left is theirs alone.
        with directory_lock(output, "an export", hint=BUSY_HINT, name=EXPORT_LOCK):
            removed = remove_stale(output, [SCRATCH_PATTERN])
            if removed and verbose:
                print(f"removed what a dead export left in {output}: {', '.join(removed)}", file=sys.stderr)
            version = int(version) if version is not None else next_version(output)
            final = output / str(version)
            if final.exists():
                raise ExportError(f"{final} exists already: pass another --version (TF Serving serves the highest)")
            rows = list(warmup_rows) if warmup_rows is not None else warmup_rows_from_vocabularies(spec, num_warmup)
            _write_version(model, spec, run_dir, output, version, jit_compile, rows)
    if verbose:
        print(
            f"exported {run_dir} to {final} (signatures serving_default, predict_raw, predict_ids"
            f"{'; XLA: serve with --xla_cpu_compilation_enabled=true' if jit_compile else ''})",
            flush=True,
        )
    return final


def _write_version(model, spec: FeatureSpec, run_dir: Path, output: Path, version: int, jit_compile: bool, rows):
    """Writes `<output>/<version>`: built in a scratch directory TF Serving ignores (not a number),
    renamed into place when complete. A killed export leaves only the scratch directory, which
    the next export removes."""
    scratch = Path(tempfile.mkdtemp(prefix=f".{version}.tmp-", dir=output))  # private (0700) until renamed
    staging, tables = scratch / "version", scratch / "tables"
    staging.mkdir()  # the version's own mode follows the umask, as TF Serving's user must read it
    tables.mkdir()
    try:
        archive = build_archive(model, spec, str(tables), jit_compile)
        with _quiet_tensorflow_logger():  # "Assets written to ..." and the fingerprint, at INFO level
            archive.write_out(str(staging), verbose=False)
        extra = staging / "assets.extra"
        (extra / "vocab").mkdir(parents=True)
        spec_data = spec.to_dict()
        for field in spec_data["fields"]:
            target = vocabulary_path(field["name"])
            shutil.copyfile(spec.resolve(field["vocabulary"]), extra / target)
            field["vocabulary"] = target
        # The shipped model names its inputs by file name only: no local paths leave the machine.
        for entry in spec_data.get("source") or []:
            if isinstance(entry, dict) and "path" in entry:
                entry["path"] = os.path.basename(str(entry["path"]))
        (extra / SPEC_NAME).write_text(json.dumps(spec_data, indent=1) + "\n")
        write_warmup_requests(extra / WARMUP_FILE, spec, rows)
        meta = {
            "run": run_dir.resolve().name,
            "version": version,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "jit_compile": bool(jit_compile),
            "signatures": signature_summary(spec),
            "fields": spec.field_names,
            "numeric": spec.numeric_names,
            "warmup_requests": len(rows),
        }
        (extra / EXPORT_META).write_text(json.dumps(meta, indent=1) + "\n")
        os.replace(staging, output / str(version))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def _quiet_tensorflow_logger():
    from absl import logging as absl_logging  # TF's saver logs through absl as well as "tensorflow"

    tf_logger = logging.getLogger("tensorflow")
    tf_level, absl_verbosity = tf_logger.level, absl_logging.get_verbosity()
    tf_logger.setLevel(max(tf_level, logging.WARNING))
    absl_logging.set_verbosity(min(absl_verbosity, absl_logging.WARNING))  # absl: higher = more verbose
    try:
        yield
    finally:
        tf_logger.setLevel(tf_level)
        absl_logging.set_verbosity(absl_verbosity)


def signature_summary(spec: FeatureSpec) -> Dict[str, Dict]:
    dense = {"dense": f"float32 [batch, {len(spec.numeric)}] ({', '.join(spec.numeric_names)})"} if spec.numeric else {}
    return {
        "serving_default": {
            "inputs": {
                "examples": "string [batch]: serialized tf.train.Example with raw values "
                "(bytes_list per field, several values in a multi-valued one; float_list per numeric field)"
            },
            "outputs": {"probability": "float32 [batch, 1]"},
        },
        "predict_raw": {
            "inputs": {"raw": f"string [batch, {len(spec.fields)}] (spec field order)", **dense},
            "outputs": {"probability": "float32 [batch, 1]"},
        },
        "predict_ids": {
            "inputs": {
                "ids": f"int64 [batch, {spec.id_width}]"
                + (" (a multi-valued field's max_len columns, -1 = no value)" if spec.has_multi_valued else ""),
                **dense,
            },
            "outputs": {"probability": "float32 [batch, 1]"},
        },
    }
