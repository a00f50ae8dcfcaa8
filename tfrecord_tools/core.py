"""The conversion engine shared by the criteo, avazu and csv tools (and, stage by stage, `beam`).

`convert` runs one function per stage; the input is read and parsed once:

1. **Validate, count, keep** (`validate_and_count`, chunks in `--parallel` threads). Every
   line is parsed and either accepted or rejected with the first reason that applies
   (`REASONS`: detected, never derived by subtraction); rejected lines go to `rejects.tsv`
   with file and line number. A chunk whose every line is valid, and that pyarrow reads
   exactly as the TF parser does, is split, validated and counted on Arrow
   (`arrow_pass.first_pass_chunk`); any other chunk goes through the TF parser
   (`make_parser`), which decides each line's reason, and its accepted lines are counted on
   Arrow. Per field, each chunk gives its distinct raw values, each row's index into them,
   and counts (the same as the TF `make_count_fn` the Beam converter runs); the counts of
   the tokens (integer fields: the buckets of the distinct values) are merged across chunks
   (`TokenCounter`: numpy / pyarrow), and the distinct values plus the per-row indices go to
   a temp directory (`keep_chunk`, `.chunks`, about 4 bytes per field per row).
   `check_first_pass` then checks that every line was accepted or rejected.
2. **Vocabularies, memory check, split** (`build_vocabularies`, `check_memory`,
   `assign_splits`). Tokens seen at least `min_count` times are kept, in descending count,
   ties by token (bytes order; integer fields by value, missing first), capped at
   `max_vocab_size - 1` (id 0 is OOV). The embedding-table memory per scale is printed and the
   run stops here, before writing anything, if it exceeds `--memory_limit`. Accepted rows are
   assigned to splits (an exact seeded split, or the given split files), train rows to seeded
   random positions (a uniform shuffle).
3. **Transform** (`transform_and_spool`). Each chunk's distinct values go through the
   raw -> id transform of `mezoo.data` (`RawToIds`, which `mezoo.export` also puts into the
   SavedModel), chunks in threads; each row's ids are gathered through its indices. Ids are
   spooled per output shard (`Spool`, `.spool`).
4. **Write** (`write_shards`, `write_vocabularies`, `write_summary_and_spec`). Each shard is
   put in order, serialized in bulk (`example_bytes`: the bytes of
   `mezoo.data.examples.serialize_examples`, built in numpy), written as (gzip level 1)
   TFRecords; the vocabularies and summary.json follow, feature_spec.json last. The same
   input, options and seed give byte-identical output.

Safety (`output_lock`, `install`): a run holds an exclusive lock on the output directory (a
second run on it stops at once, naming the holder) and writes everything, scratch files
included, into its own hidden scratch directory inside the output. Only when the conversion
has succeeded is it installed: the old spec is removed first, the old conversion's files
next, the new files are moved in and the new spec comes last, so a directory with a spec is
always one complete conversion and a failed rerun leaves the previous one untouched. The
scratch directory is removed on failure; one left by a killed run is removed by the next run.
"""

import contextlib
import dataclasses
import fcntl
import functools
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from typing import Any, BinaryIO, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, cast

import numpy as np

from tfrecord_tools import example_bytes
from tfrecord_tools.arrow_pass import first_pass_chunk, pack_values
from tfrecord_tools.reader import Chunk, FileInfo, InputError, check_inputs, read_parquet_chunks, read_text_chunks

Log = Callable[..., None]  # print, or a no-op when not verbose

REASONS = [
    "empty_line",  # nothing on the line (also the blank last line of some files)
    "invalid_utf8",  # bytes that are not UTF-8 (checked after truncated_last_line)
    "wrong_column_count",  # more or fewer delimited columns than the format has (truncated lines too)
    "missing_label",  # empty label
    "bad_label",  # label other than 0 / 1
    "bad_integer",  # an integer field that is not an integer (e.g. "3.5", "abc", > 18 digits)
    "bad_number",  # a numeric field that is not a finite float32 number
    "truncated_last_line",  # a file's last line without its newline (the file may be cut); checked 2nd
]
LABEL_VALUES = ("0", "1", "0.0", "1.0")
SPLITS = ("train", "valid", "test")


@dataclasses.dataclass
class Layout:
    """Where things are in a raw row: column count, label column, fields and numeric columns."""

    num_columns: int
    label: Optional[int]  # None: no label column (raw rows to score)
    fields: List[Dict]  # spec field dicts (name, kind, source[, transform]) with "column": index
    numeric: List[Dict] = dataclasses.field(default_factory=list)  # {"name", "column"}
    delimiter: str = "\t"
    header: bool = False
    label_name: str = "label"
    columns: Optional[List[str]] = None  # column names in file order (Parquet reads by name)


@dataclasses.dataclass
class Options:
    output: str
    dataset: str
    min_count: int = 1
    split: Sequence[float] = (0.8, 0.1, 0.1)
    seed: int = 0
    max_vocab_size: Dict[str, int] = dataclasses.field(default_factory=dict)  # field (or "*") -> cap
    rows_per_shard: int = 500_000
    compression: str = "GZIP"
    compression_level: int = 1  # zlib level: 1 is ~3x faster to write than 6, shards ~6% larger
    chunk_bytes: int = 8 << 20
    embedding_dim: int = 10
    scales: Sequence[int] = (1, 2, 3, 4, 10)
    memory_limit: Optional[float] = None  # bytes, checked at the largest scale
    vocabulary_splits: Optional[Sequence[str]] = None  # given splits: which count (default train)
    max_rejects_logged: int = -1  # lines written to rejects.tsv (-1: all)
    parallel: int = 2
    verbose: bool = True
    accept_unterminated_last_line: bool = False  # else a last line without newline is rejected
    allow_duplicate_inputs: bool = False  # else byte-identical inputs (same sha256) are refused


class ConversionError(Exception):
    pass


# ----------------------------------------------------------------------------------- parsing
def make_parser(layout: Layout, accept_unterminated: bool = False):
    """TF functions: chunk -> (reason code per line, accepted rows (n, num_columns) strings,
    labels, dense). Fast paths skip copies when every line has the right column count and
    when every row is accepted."""
    import tensorflow as tf

    int_cols = [f["column"] for f in layout.fields if f.get("source") == "integer"]
    num_cols = [n["column"] for n in layout.numeric]
    ncol = layout.num_columns

    truncated_code = REASONS.index("truncated_last_line") + 1

    def validate(matrix, ncols, bad_utf8, empty, truncated=None):
        n = tf.shape(matrix)[0]
        reason = tf.zeros([n], tf.int32)

        def mark(reason, cond, code):
            return tf.where(tf.logical_and(tf.equal(reason, 0), cond), code, reason)

        reason = mark(reason, empty, 1)
        if truncated is not None:
            reason = mark(reason, truncated, truncated_code)
        reason = mark(reason, bad_utf8, 2)
        reason = mark(reason, tf.not_equal(ncols, ncol), 3)
        if layout.label is not None:  # (rows to score may come without one)
            label = matrix[:, layout.label]
            reason = mark(reason, tf.equal(label, ""), 4)
            ok_label = tf.reduce_any(tf.equal(label[:, None], tf.constant(LABEL_VALUES)[None, :]), axis=1)
            reason = mark(reason, tf.logical_not(ok_label), 5)
        if int_cols:
            ints = tf.gather(matrix, int_cols, axis=1)
            ok = tf.strings.regex_full_match(ints, "(-?[0-9]{1,18})?")
            reason = mark(reason, tf.logical_not(tf.reduce_all(ok, axis=1)), 6)
        if num_cols:
            nums = tf.gather(matrix, num_cols, axis=1)
            ok = tf.strings.regex_full_match(nums, r"([-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?)?")
            # A number beyond float32 (1e39, 1e400) is written as +-inf: not a number either.
            value = tf.strings.to_number(tf.where(tf.logical_and(ok, tf.not_equal(nums, "")), nums, "0"), tf.float32)
            ok = tf.logical_and(ok, tf.math.is_finite(value))
            reason = mark(reason, tf.logical_not(tf.reduce_all(ok, axis=1)), 7)
        good = tf.equal(reason, 0)
        rows = tf.cond(tf.reduce_all(good), lambda: matrix, lambda: tf.boolean_mask(matrix, good))
        if layout.label is not None:
            labels = tf.strings.to_number(tf.gather(rows, layout.label, axis=1), tf.float32)
        else:
            labels = tf.zeros([tf.shape(rows)[0]], tf.float32)
        if num_cols:
            nums = tf.gather(rows, num_cols, axis=1)
            dense = tf.strings.to_number(tf.where(tf.equal(nums, ""), "0", nums), tf.float32)
        else:
            dense = tf.zeros([tf.shape(rows)[0], 0], tf.float32)
        return reason, rows, labels, dense

    def parse_text(data, bad_utf8, unterminated):
        lines = tf.strings.split(data, "\n")
        cells = tf.strings.split(lines, layout.delimiter)
        ncols = tf.cast(cells.row_lengths(), tf.int32)
        matrix = tf.cond(
            tf.reduce_all(tf.equal(ncols, ncol)),
            lambda: tf.reshape(cells.flat_values, [-1, ncol]),
            lambda: cells.to_tensor("", shape=[None, ncol]),
        )
        n = tf.shape(lines)[0]
        # A last line without its newline may be cut anywhere, even inside its last field
        # (c97d7481 -> c97d748 still parses): reject it unless told the files end that way.
        truncated = tf.logical_and(tf.logical_and(unterminated, not accept_unterminated), tf.equal(tf.range(n), n - 1))
        return validate(matrix, ncols, bad_utf8, tf.equal(lines, ""), truncated)

    def parse_matrix(matrix):
        n = tf.shape(matrix)[0]
        return validate(matrix, tf.fill([n], ncol), tf.zeros([n], tf.bool), tf.zeros([n], tf.bool))

    return parse_text, parse_matrix


def make_count_fn(fields: List[Dict]):
    """TF function of a parsed chunk (reason, rows, labels, dense) -> (reason, labels, dense,
    index (n, F) int32, serialized distinct values, then per field three tensors: its token keys
    packed (`token_keys` unpacks them) and their counts).

    Per field, `unique_with_counts` gives the chunk's distinct raw values, each accepted row's
    index into them and their counts; integer fields count their log-square buckets. The Beam
    converter runs it; the single-machine converter computes the same on Arrow
    (`arrow_pass.count_table`, checked against this function in tests/tfrecord_tools/test_arrow_pass.py).
    """
    import tensorflow as tf

    from mezoo.data.transform import field_tokens

    is_int = [f.get("source") == "integer" for f in fields]

    def count_fn(reason, rows, labels, dense):
        out = [reason, labels, dense]
        index, distinct = [], []
        counts = []
        for i, field in enumerate(fields):
            uniq, idx, cnt = tf.unique_with_counts(rows[:, field["column"]], out_idx=tf.int32)
            index.append(idx)
            distinct.append(tf.io.serialize_tensor(uniq))
            if is_int[i]:
                counts += [field_tokens([field], uniq[:, None])[0], tf.zeros([0], tf.string), cnt]
            else:  # byte lengths + one joined string: no Python object per token on the way out
                counts += [tf.strings.length(uniq), tf.strings.reduce_join(uniq), cnt]
        out.append(tf.stack(index, axis=1))
        out.append(tf.io.serialize_tensor(tf.stack(distinct)))
        return tuple(out + counts)

    return count_fn


def make_transform_fn(transform, num_fields: int):
    """TF function: (serialized distinct values, index (n, F)) of a chunk -> ids (n, F), through
    `RawToIds.per_field` on the distinct values and a gather per field (the Beam converter's;
    the single-machine one packs its chunks otherwise: `make_packed_transform_fn`)."""
    import tensorflow as tf

    def transform_fn(distinct, index):
        values = tf.io.parse_tensor(distinct, tf.string)
        columns = [tf.io.parse_tensor(values[i], tf.string) for i in range(num_fields)]
        ids_of_values = transform.per_field(columns, assume_valid=True)
        return tf.stack([tf.gather(ids_of_values[i], index[:, i]) for i in range(num_fields)], axis=1)

    return transform_fn


def make_packed_transform_fn(transform, num_fields: int):
    """TF function: (joined distinct values, their byte lengths, values per field) of a kept
    chunk (`arrow_pass.pack_values`) -> the id of each value (int64, fields one after another),
    through `RawToIds.per_field`; `gather_ids` then gives each row its ids."""
    import tensorflow as tf

    def transform_fn(data, lengths, sizes):
        starts = tf.cumsum(lengths, exclusive=True)
        columns = tf.split(tf.strings.substr(data, starts, lengths), sizes, num=num_fields)
        return tf.concat(transform.per_field(columns, assume_valid=True), axis=0)

    return transform_fn


def gather_ids(ids_of_values: np.ndarray, sizes: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Each row's ids (n, F) from `make_packed_transform_fn`'s ids of the distinct values and the
    rows' indices (n, F) into each field's values: one numpy gather for all fields."""
    offsets = np.zeros(len(sizes), np.int64)
    np.cumsum(sizes[:-1], out=offsets[1:])
    return np.take(ids_of_values, index + offsets[None, :])


def chunk_rejects(chunk: Chunk, reason: np.ndarray):
    """(index in chunk, line number, reason name, line bytes) of each rejected line of a chunk."""
    bad = np.nonzero(reason)[0]
    if not len(bad):
        return
    lines = chunk.data.split(b"\n") if chunk.data is not None else None
    columns = chunk.columns or []  # (Parquet chunks have columns, text chunks data)
    for idx in bad:
        text = lines[idx] if lines is not None else b"\t".join(str(c[idx]).encode() for c in columns)
        yield int(idx), chunk.first_line + int(idx), REASONS[reason[idx] - 1], text


def assign_splits(
    valid_per_file: Sequence[int], file_splits: Sequence[Optional[str]], ratios: Sequence[float], seed: int
):
    """The exact seeded split of the accepted rows (in input order) and each row's position in its split.

    Returns (split names in use, split_rows {name: rows} over all names, split_of_row int8
    (index into list(split_rows)), position int64): with given splits (file_splits) each file's
    rows go to its split, else a seeded permutation of exactly rounded split sizes (train takes
    the rest); train rows get seeded random positions (a uniform shuffle), the others keep
    input order. Both converters call this one function, so they split identically.
    """
    rng = np.random.default_rng(seed)
    n_valid = int(sum(valid_per_file))
    if any(file_splits):
        given = cast(Sequence[str], file_splits)  # with given splits, every file has one
        names = [s for s in SPLITS if any(f == s for f in given)]
        names += sorted(set(given) - set(names))
        split_of_row = np.concatenate(
            [np.full(n, names.index(s), np.int8) for n, s in zip(valid_per_file, given)] or [np.zeros(0, np.int8)]
        )
    else:
        fractions = np.asarray(ratios, dtype=np.float64)
        fractions = fractions / fractions.sum()
        names = list(SPLITS[: len(fractions)])
        sizes = np.floor(fractions * n_valid + 0.5).astype(np.int64)
        sizes[0] = n_valid - sizes[1:].sum()
        split_of_row = rng.permutation(np.repeat(np.arange(len(names), dtype=np.int8), sizes))
    split_rows = {name: int((split_of_row == i).sum()) for i, name in enumerate(names)}
    used = [n for n in names if split_rows[n] > 0]
    position = np.zeros(n_valid, np.int64)
    for i, name in enumerate(list(split_rows)):
        idx = np.nonzero(split_of_row == i)[0]
        position[idx] = rng.permutation(len(idx)) if name == "train" else np.arange(len(idx))
    return used, split_rows, split_of_row, position


def shard_pieces(split_names: List[str], split_of: np.ndarray, position: np.ndarray, rows_per_shard: int):
    """(split name, shard, row indices) of a batch of rows, given each row's split index and
    position in its split: the rows that go to one shard, in batch order."""
    for si, name in enumerate(split_names):
        sel = np.nonzero(split_of == si)[0]
        if not len(sel):
            continue
        shard = position[sel] // rows_per_shard
        order = np.argsort(shard, kind="stable")
        sel, shard = sel[order], shard[order]
        bounds = np.nonzero(np.diff(shard))[0] + 1
        for part in np.split(np.arange(len(sel)), bounds):
            yield name, int(shard[part[0]]), sel[part]


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


# ------------------------------------------------------------------------------ counting
def token_keys(is_integer: bool, first, second):
    """The packed token keys of `make_count_fn` (numpy) -> int64 keys, or a pyarrow binary array
    built straight from the byte lengths and the joined bytes (no Python object per token)."""
    if is_integer:
        return np.asarray(first, np.int64)
    import pyarrow as pa

    offsets = np.zeros(len(first) + 1, np.int64)
    np.cumsum(first, out=offsets[1:])
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(first), [None, pa.py_buffer(offsets), pa.py_buffer(second)]
    )


def merge_counts(parts, is_integer: bool, as_arrow: bool = False):
    """[(keys, counts), ...] -> (distinct keys, summed counts): numpy for int64 keys, pyarrow for
    bytes (keys given as numpy object arrays or pyarrow arrays; returned as a numpy object array,
    or with `as_arrow` as a pyarrow array)."""
    if is_integer:
        keys = np.concatenate([np.asarray(k, np.int64) for k, _ in parts])
        counts = np.concatenate([c for _, c in parts])
        uniq, inverse = np.unique(keys, return_inverse=True)
        return uniq, np.bincount(inverse, weights=counts, minlength=len(uniq)).astype(np.int64)
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = pa.chunked_array(
        [
            k.cast(pa.large_binary())
            if isinstance(k, (pa.Array, pa.ChunkedArray))
            else pa.array(k, type=pa.large_binary())
            for k, _ in parts
        ],
        type=pa.large_binary(),
    ).combine_chunks()
    counts = np.concatenate([np.asarray(c, np.int64) for _, c in parts])
    # distinct keys by hashing (dictionary_encode, ~5x faster than a group_by), counts summed by
    # bincount (float64 weights: exact below 2**53)
    encoded = pc.dictionary_encode(keys)
    summed = np.bincount(encoded.indices.to_numpy(), weights=counts, minlength=len(encoded.dictionary))
    summed = summed.astype(np.int64)
    if as_arrow:
        return encoded.dictionary, summed
    return encoded.dictionary.to_numpy(zero_copy_only=False), summed


class TokenCounter:
    """Per-field token counts, merged chunk by chunk (numpy for int64 keys, pyarrow for bytes)."""

    def __init__(self, is_integer: bool):
        self.is_integer = is_integer
        self.parts: List = []
        self.pending = 0
        self.keys, self.counts = None, None

    def add(self, keys, counts):
        self.parts.append((keys, counts))
        self.pending += len(keys)
        if self.pending > 4_000_000:
            self._merge()

    def _merge(self):
        parts = self.parts
        if self.keys is not None:
            parts = [(self.keys, self.counts)] + parts
        self.parts, self.pending = [], 0
        if not parts:
            return
        self.keys, self.counts = merge_counts(parts, self.is_integer, as_arrow=True)

    def kept(self, min_count: int) -> Tuple[Any, np.ndarray, int]:
        """(keys counted at least `min_count` times, their counts, the number of distinct keys):
        the filter runs on the Arrow array, so only kept tokens become Python bytes."""
        self._merge()
        if self.keys is None or self.is_integer:
            keys, counts = self.result()
            keep = counts >= min_count
            return keys[keep], counts[keep], len(keys)
        import pyarrow as pa

        keep = self.counts >= min_count
        kept = self.keys.filter(pa.array(keep))
        return np.asarray(kept.to_numpy(zero_copy_only=False), dtype=object), self.counts[keep], len(self.keys)

    def result(self):
        self._merge()
        if self.keys is None:
            return (np.zeros(0, np.int64) if self.is_integer else np.zeros(0, object)), np.zeros(0, np.int64)
        if not self.is_integer:
            return np.asarray(self.keys.to_numpy(zero_copy_only=False), dtype=object), self.counts
        return self.keys, self.counts


def build_vocabulary(keys, counts, is_integer: bool, min_count: int, max_size: Optional[int]) -> List[bytes]:
    """Kept tokens in id order: count >= min_count, descending count, ties by token."""
    from mezoo.data.transform import integer_token

    keep = counts >= min_count
    keys, counts = keys[keep], counts[keep]
    if is_integer:
        order = np.lexsort((keys, -counts))
        tokens = [integer_token(k) for k in keys[order]]
    else:
        # ties by token bytes: sort by token first, then stable by descending count
        by_token = np.asarray(sorted(range(len(keys)), key=lambda i: keys[i]), dtype=np.int64)
        order = by_token[np.argsort(-counts[by_token], kind="stable")]
        tokens = [bytes(keys[i]) for i in order]
    if max_size is not None and len(tokens) > max_size - 1:
        tokens = tokens[: max(max_size - 1, 0)]
    return tokens


# ------------------------------------------------------------------------------- helpers
def parse_size(text: Optional[str]) -> Optional[float]:
    """'16GB', '512M', '1e9' -> bytes."""
    if text in (None, "", "0"):
        return None
    text = str(text).strip().upper().rstrip("B")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


def human(n: float) -> str:
    if abs(n) < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if abs(n) < 1024:
            return f"{n:.1f} {unit}"
    return f"{n / 1024:.1f} TiB"


def memory_table(vocab_total: int, dim: int, scales: Sequence[int]) -> List[Dict]:
    """Embedding memory per scale: float32 tables (sum of vocabularies x dim x scale), and with
    Adam's two moment slots (3x): what training would hold."""
    return [
        {
            "scale": int(s),
            "embedding_dim": dim,
            "parameters": vocab_total * dim * int(s),
            "table_bytes": vocab_total * dim * int(s) * 4,
            "with_adam_bytes": vocab_total * dim * int(s) * 12,
        }
        for s in scales
    ]


def check_output(output: str) -> None:
    try:
        os.makedirs(output, exist_ok=True)
        probe = os.path.join(output, ".write-test")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise InputError(f"output directory is not writable: {output} ({e.strerror or e})") from e


def _escape_line(line: bytes) -> str:
    """One rejects.tsv cell: the whole line, backslash escapes for \\, tab, CR and bytes that are not UTF-8."""
    text = line.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")
    return text.replace("\t", "\\t").replace("\r", "\\r")


def _shard_name(split: str, i: int, n: int, compression: str) -> str:
    return f"{split}-{i:05d}-of-{n:05d}.tfrecord" + (".gz" if compression == "GZIP" else "")


SHARD_NAME = re.compile(r".+-\d{5}-of-\d{5}\.tfrecord(\.gz)?$")
LOCK_NAME = ".convert.lock"
SCRATCH_PREFIX = ".convert-"
# what a conversion writes, besides its shards; the spec goes last (installed) and first (removed)
CONVERSION_FILES = ("rejects.tsv", "summary.json")
# scratch names of earlier versions, written straight into the output directory
OLD_LEFTOVERS = (".chunks", ".spool", "rejects.tsv.tmp", "summary.json.tmp", "feature_spec.json.tmp")


@contextlib.contextmanager
def output_lock(output: str):
    """An exclusive lock on the output directory for the whole conversion.

    `flock` on `<output>/.convert.lock`: released by the kernel when the process ends, however
    it ends, so a killed run never leaves a stale lock. The holder writes who it is into the
    file, for a second run's message, and removes the file when done (a run that opened the
    file just before that finds its inode gone and opens the path again).
    """
    path = os.path.join(output, LOCK_NAME)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            try:
                with open(path, errors="replace") as f:
                    holder = f.read().strip() or "another process"
            except FileNotFoundError:
                continue  # released meanwhile
            raise ConversionError(
                f"output directory {output} is being written by another conversion ({holder}); "
                "wait for it to finish, or choose another --output"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(
            fd,
            f"pid {os.getpid()} on {socket.gethostname()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}, "
            f"command: {' '.join(sys.argv)}\n".encode(),
        )
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)
        os.close(fd)  # releases the lock


def remove_leftovers(output: str) -> List[str]:
    """Scratch files of runs that died (call with the lock held: no other run is alive); the names removed."""
    removed = []
    for name in sorted(os.listdir(output)):
        path = os.path.join(output, name)
        if (
            name.startswith(SCRATCH_PREFIX)
            or name in OLD_LEFTOVERS
            or (SHARD_NAME.match(name[:-4]) and name.endswith(".tmp"))
        ):
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
            removed.append(name)
    return removed


def install(scratch: str, output: str) -> None:
    """Replaces the conversion in `output` by the finished one in `scratch`.

    The old spec goes first, so that from then on the directory is no conversion until the new
    spec, moved in last, makes it the new one. Only a conversion's own files are touched.
    """
    spec = os.path.join(output, "feature_spec.json")
    if os.path.exists(spec):
        os.remove(spec)
    for name in os.listdir(output):
        path = os.path.join(output, name)
        if SHARD_NAME.match(name) or name in CONVERSION_FILES:
            os.remove(path)
        elif name == "vocab" and os.path.isdir(path):
            shutil.rmtree(path)
    for name in sorted(os.listdir(scratch)):
        if name != "feature_spec.json":
            os.replace(os.path.join(scratch, name), os.path.join(output, name))
    os.replace(os.path.join(scratch, "feature_spec.json"), spec)


def unique_inputs(files: List[FileInfo], log) -> List[FileInfo]:
    """`files` without repeats of one file (by real path): a glob and a path naming the same file."""
    seen: Dict[str, FileInfo] = {}
    out = []
    for f in files:
        real = os.path.realpath(f.path)
        if real in seen:
            if seen[real].split != f.split:
                raise ConversionError(
                    f"input {f.path} is given for split {f.split!r} and as {seen[real].path} for "
                    f"split {seen[real].split!r}: one file can't be in two splits"
                )
            log(f"warning: input {f.path} is the same file as {seen[real].path}; read once")
            continue
        seen[real] = f
        out.append(f)
    return out


def check_distinct_contents(files: List[FileInfo], allow: bool) -> None:
    """Refuses byte-identical inputs (equal sha256, empty files aside): a copy would be read twice."""
    by_hash: Dict[str, List[str]] = {}
    for f in files:
        if f.sha256 and f.lines:
            by_hash.setdefault(f.sha256, []).append(f.path)
    same = [paths for paths in by_hash.values() if len(paths) > 1]
    if same and not allow:
        raise ConversionError(
            "inputs with identical contents (sha256) would be converted twice: "
            + "; ".join(" = ".join(paths) for paths in same)
            + ". Remove the copies, or pass --allow_duplicate_inputs if you mean it"
        )


# ---------------------------------------------------------------------------------- convert
def convert(files: List[FileInfo], layout: Layout, opts: Options, fmt: str = "text") -> Dict:
    """Converts `files` (FileInfo, with .split set when the splits are given) into opts.output.

    Holds the output's lock throughout; everything is written in a scratch directory and
    installed only once the conversion has succeeded (see the module docstring). The
    conversion itself, in a scratch directory `work`, is a pipeline of one function per stage:

    1. `validate_and_count`: every line parsed, accepted or rejected (`rejects.tsv`); token
       counts per field; the accepted rows kept per chunk as distinct values + indices.
    2. `check_first_pass`: every line accepted or rejected, duplicate inputs, some valid rows.
    3. `build_vocabularies`, then `check_memory` (stops over --memory_limit, nothing written).
    4. `assign_splits` and `shard_counts`: each accepted row's split and position.
    5. `transform_and_spool`: raw values -> ids (`mezoo.data.RawToIds`), spooled per shard.
    6. `write_shards`: each shard put in order, serialized and written as TFRecords.
    7. `check_written` (rows read == written + rejected), `write_vocabularies`, then
       `spec_and_summary` and `write_summary_and_spec`: summary.json, feature_spec.json last.

    Args:
        files: the inputs, in order; `FileInfo.split` set on each when the splits are given.
        layout: where the label, fields and numeric columns are in a raw row.
        opts: the conversion's options (output directory, min_count, split, seed, ...).
        fmt: "text" (delimited, plain or gzip) or "parquet".

    Returns:
        The summary (as summary.json, plus `timing`).
    """
    log = _logger(opts.verbose)
    check_inputs([f.path for f in files])
    files = unique_inputs(files, log)
    check_output(opts.output)
    with output_lock(opts.output):
        for name in remove_leftovers(opts.output):
            log(f"removed {os.path.join(opts.output, name)}, left by a conversion that did not finish")
        scratch = tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=opts.output)
        try:
            summary = _convert(files, layout, opts, fmt, scratch, log)
            install(scratch, opts.output)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    log(format_summary(summary))
    return summary


def _logger(verbose: bool) -> Log:
    if verbose:
        return lambda *a: print(*a, flush=True)
    return lambda *a: None


def _convert(files: List[FileInfo], layout: Layout, opts: Options, fmt: str, work: str, log: Log) -> Dict:
    """The stages of `convert`, every file (scratch and result) written under `work`."""
    t0 = time.time()
    fields = [dict(f) for f in layout.fields]
    vocab_splits = vocabulary_splits(files, opts)
    counted = validate_and_count(files, layout, opts, fmt, fields, vocab_splits, work)
    t_pass1 = time.time() - t0
    check_first_pass(files, counted.valid_per_file, counted.rejected, counted.first_rejects, opts, log)

    vocabularies = build_vocabularies(fields, counted.counters, opts)
    vocab_total, memory = check_memory(fields, opts, log)

    names, split_rows, split_of_row, position = assign_splits(
        counted.valid_per_file, [f.split for f in files], opts.split, opts.seed
    )
    num_shards = shard_counts(names, split_rows, opts.rows_per_shard)

    t1 = time.time()
    id_dtype = np.int32 if vocab_total < 2**31 else np.int64
    spool = os.path.join(work, ".spool")
    positives = transform_and_spool(
        counted, fields, vocabularies, layout, opts, list(split_rows), split_of_row, position, spool, id_dtype
    )
    t_pass2 = time.time() - t1

    t2 = time.time()
    written = write_shards(spool, work, names, num_shards, id_dtype, len(fields), len(layout.numeric), opts)
    t_write = time.time() - t2
    check_written(files, written, counted.rejected)

    write_vocabularies(work, fields, vocabularies)
    spec, summary = spec_and_summary(
        files,
        fields,
        layout,
        opts,
        names,
        written,
        num_shards,
        positives,
        counted.rejected,
        vocab_total,
        memory,
        vocab_splits,
    )
    write_summary_and_spec(work, summary, spec)
    total = time.time() - t0
    summary["timing"] = {
        "pass1_validate_count_s": round(t_pass1, 2),
        "pass2_transform_s": round(t_pass2, 2),
        "write_shards_s": round(t_write, 2),
        "total_s": round(total, 2),
        "rows_per_s": round(summary["rows_read"] / max(total, 1e-9)),
    }
    return summary


def vocabulary_splits(files: List[FileInfo], opts: Options) -> Set[str]:
    """The splits whose rows are counted for the vocabularies: --vocabulary_from, else train with
    given splits, else all."""
    given_splits = any(f.split for f in files)
    return set(opts.vocabulary_splits or (["train"] if given_splits else SPLITS))


@dataclasses.dataclass
class Counted:
    """What the first pass (`validate_and_count`) leaves for the later stages."""

    counters: List[TokenCounter]  # per field: token counts over the vocabulary splits
    valid_per_file: List[int]  # accepted rows per input file
    rejected: Dict[str, int]  # rejected lines per reason (every reason, zeros included)
    first_rejects: List[str]  # the first three, for the message when nothing is accepted
    chunk_dir: str  # the kept chunks (`keep_chunk`), numbered in input order
    chunk_rows: List[int]  # accepted rows per kept chunk

    @property
    def num_valid(self) -> int:
        return sum(self.valid_per_file)

    @property
    def num_rejected(self) -> int:
        return sum(self.rejected.values())


def _read_chunks(files: List[FileInfo], layout: Layout, opts: Options, fmt: str) -> Iterator[Chunk]:
    if fmt == "parquet":
        if layout.columns is None:
            raise ConversionError("internal error: a Parquet layout needs its column names")
        return read_parquet_chunks(files, layout.columns, batch_rows=max(opts.chunk_bytes // 128, 1024))
    return read_text_chunks(files, layout.header, opts.chunk_bytes)


def validate_and_count(
    files: List[FileInfo],
    layout: Layout,
    opts: Options,
    fmt: str,
    fields: List[Dict],
    vocab_splits: Set[str],
    work: str,
) -> Counted:
    """Stage 1: every line parsed and accepted or rejected; token counts; accepted rows kept.

    Rejected lines go to `work/rejects.tsv` (`RejectLog`: file, line, reason, text; the first
    `max_rejects_logged`) and are counted per reason, overall and on their FileInfo. Each
    chunk's accepted rows are kept (`keep_chunk`, in `work/.chunks`) as, per field, the chunk's
    distinct raw values plus each row's index into them: `transform_and_spool` then runs the
    transform on the distinct values and gathers, instead of reading and parsing the input again.

    Args:
        files: the inputs; their `rejected` counts are filled in.
        layout: the raw rows' layout.
        opts: options (chunk size, parallelism, rejects logged, unterminated last lines).
        fmt: "text" or "parquet".
        fields: the layout's field dicts.
        vocab_splits: the splits whose rows are counted (with given splits).
        work: the scratch directory.
    """
    given_splits = any(f.split for f in files)
    is_int = [f.get("source") == "integer" for f in fields]
    counted = Counted(
        counters=[TokenCounter(i) for i in is_int],
        valid_per_file=[0] * len(files),
        rejected={r: 0 for r in REASONS},
        first_rejects=[],
        chunk_dir=os.path.join(work, ".chunks"),
        chunk_rows=[],
    )
    os.makedirs(counted.chunk_dir)
    first_pass = functools.partial(
        first_pass_chunk,
        fields=fields,
        layout=layout,
        label_values=LABEL_VALUES,
        tf_parse=make_tf_parse(layout, opts.accept_unterminated_last_line),
        accept_unterminated=opts.accept_unterminated_last_line,
    )
    results = ordered_map(first_pass, _read_chunks(files, layout, opts, fmt), max(1, opts.parallel))
    with RejectLog(os.path.join(work, "rejects.tsv"), opts.max_rejects_logged, counted) as rejects:
        for chunk, res in results:
            info = files[chunk.file_index]
            counted.valid_per_file[chunk.file_index] += len(res.reason) - rejects.add(chunk, res.reason, info)
            base = os.path.join(counted.chunk_dir, str(len(counted.chunk_rows)))
            keep_chunk(base, res.labels, res.dense, res.index, pack_values(res.values), bool(layout.numeric))
            counted.chunk_rows.append(len(res.labels))
            if given_splits and info.split not in vocab_splits:
                continue
            for counter, keys, counts in zip(counted.counters, res.keys, res.counts):
                counter.add(keys, counts)
    return counted


def make_tf_parse(layout: Layout, accept_unterminated: bool) -> Callable[[Chunk], Tuple[Any, Any, Any]]:
    """The TF parser (`make_parser`) as chunk -> (reason, accepted rows (a tensor), dense) for
    `arrow_pass.first_pass_chunk`: it decides every line of a chunk that is not wholly valid."""
    import tensorflow as tf

    parse_text, parse_matrix = make_parser(layout, accept_unterminated)

    def without_labels(parsed: Tuple[Any, ...]) -> Tuple[Any, ...]:  # (labels: `arrow_pass.count_table`)
        reason, rows, _, dense = parsed
        return reason, rows, dense

    text_fn = tf.function(
        lambda data, bad, unterminated: without_labels(parse_text(data, bad, unterminated)),
        input_signature=[tf.TensorSpec([], tf.string), tf.TensorSpec([None], tf.bool), tf.TensorSpec([], tf.bool)],
        autograph=False,
    )
    matrix_fn = tf.function(
        lambda matrix: without_labels(parse_matrix(matrix)),
        input_signature=[tf.TensorSpec([None, layout.num_columns], tf.string)],
        autograph=False,
    )

    def tf_parse(chunk: Chunk) -> Tuple[Any, Any, Any]:
        if chunk.data is not None:
            bad = chunk.bad_utf8 if chunk.bad_utf8 is not None else np.zeros(chunk.num_lines, bool)
            reason, rows, dense = text_fn(chunk.data, bad, chunk.unterminated)
        else:
            matrix = (
                np.stack(chunk.columns, axis=1)
                if chunk.num_lines and chunk.columns
                else np.zeros((0, layout.num_columns), object)
            )
            reason, rows, dense = matrix_fn(matrix)
        return reason.numpy(), rows, dense.numpy()

    return tf_parse


def ordered_map(fn: Callable[[Any], Any], items: Iterator[Any], workers: int) -> Iterator[Tuple[Any, Any]]:
    """(item, fn(item)) in input order, fn running in `workers` threads, a few items ahead."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        pending: Any = deque()
        try:
            for item in items:
                pending.append((item, pool.submit(fn, item)))
                if len(pending) > workers + 1:
                    head, future = pending.popleft()
                    yield head, future.result()
            while pending:
                head, future = pending.popleft()
                yield head, future.result()
        finally:
            for _, future in pending:
                future.cancel()


class RejectLog:
    """`rejects.tsv` (file, line, reason, text; at most `limit` lines, -1: all) and the reject
    counts: per reason in `counted.rejected` and on each line's FileInfo, the first three in
    `counted.first_rejects`. A context manager: the file is closed on leaving."""

    def __init__(self, path: str, limit: int, counted: Counted):
        self.limit, self.counted, self.logged = limit, counted, 0
        self.file = open(path, "w", encoding="utf-8")
        self.file.write("file\tline\treason\ttext\n")

    def __enter__(self) -> "RejectLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()

    def add(self, chunk: Chunk, reason: np.ndarray, info: FileInfo) -> int:
        """Records a chunk's rejected lines (`reason` != 0); returns how many there were."""
        n_bad = 0
        for _, line_no, name, text in chunk_rejects(chunk, reason):
            n_bad += 1
            self.counted.rejected[name] += 1
            info.rejected[name] = info.rejected.get(name, 0) + 1
            if len(self.counted.first_rejects) < 3:
                self.counted.first_rejects.append(f"{info.path} line {line_no}: {name}")
            if self.limit < 0 or self.logged < self.limit:
                self.file.write(f"{info.path}\t{line_no}\t{name}\t{_escape_line(text)}\n")
                self.logged += 1
        return n_bad


def keep_chunk(
    base: str,
    labels: np.ndarray,
    dense: np.ndarray,
    index: np.ndarray,
    values: Tuple[np.ndarray, np.ndarray, bytes],
    numeric: bool,
) -> None:
    """Writes a chunk's accepted rows to `base`.{idx,lab,dense,len,siz,val}: each row's indices,
    labels, dense values, and the distinct values of each field (`arrow_pass.pack_values`)."""
    index.astype(np.int32).tofile(base + ".idx")
    labels.astype(np.uint8).tofile(base + ".lab")
    if numeric:
        dense.astype(np.float32).tofile(base + ".dense")
    lengths, sizes, data = values
    lengths.astype(np.int32).tofile(base + ".len")
    sizes.astype(np.int32).tofile(base + ".siz")
    with open(base + ".val", "wb") as f:
        f.write(data)


KEPT_SUFFIXES = (".val", ".len", ".siz", ".idx", ".lab", ".dense")


def read_kept_chunks(counted: Counted, num_fields: int, numeric: bool) -> Iterator[Tuple[Any, ...]]:
    """The chunks of `keep_chunk`, in order, as (joined values, lengths, values per field,
    index, labels, dense); each removed once read."""
    for k, rows in enumerate(counted.chunk_rows):
        base = os.path.join(counted.chunk_dir, str(k))
        with open(base + ".val", "rb") as f:
            data = f.read()
        lengths = np.fromfile(base + ".len", np.int32)
        sizes = np.fromfile(base + ".siz", np.int32)
        index = np.fromfile(base + ".idx", np.int32).reshape(rows, num_fields)
        labels = np.fromfile(base + ".lab", np.uint8)
        dense = (
            np.fromfile(base + ".dense", np.float32).reshape(rows, -1) if numeric else np.zeros((rows, 0), np.float32)
        )
        for ext in KEPT_SUFFIXES:
            if os.path.exists(base + ext):
                os.remove(base + ext)
        yield data, lengths, sizes, index, labels, dense


def check_first_pass(
    files: List[FileInfo],
    valid_per_file: Sequence[int],
    rejected: Dict[str, int],
    first_rejects: List[str],
    opts: Options,
    log: Log,
) -> None:
    """Stage 2: every line read was accepted or rejected; then `check_accepted` (empty inputs
    noted, duplicate inputs refused, no valid rows an error)."""
    rows_read, n_valid, n_rejected = sum(f.lines for f in files), sum(valid_per_file), sum(rejected.values())
    if rows_read != n_valid + n_rejected:
        raise ConversionError(f"internal error: {rows_read} lines read, {n_valid} accepted, {n_rejected} rejected")
    check_accepted(files, rejected, n_valid, rows_read, first_rejects, opts, log)


def check_written(files: List[FileInfo], written: Dict[str, int], rejected: Dict[str, int]) -> None:
    """After the shards, before the spec: rows read == rows written + rows rejected."""
    rows_read, n_written, n_rejected = sum(f.lines for f in files), sum(written.values()), sum(rejected.values())
    if rows_read != n_written + n_rejected:
        raise ConversionError(f"rows read {rows_read} != written {n_written} + rejected {n_rejected}")


def build_vocabularies(fields: List[Dict], counters: List[TokenCounter], opts: Options) -> List[List[bytes]]:
    """Stage 3: each field's vocabulary (`build_vocabulary` with --min_count and --max_vocab_size);
    sets each field's `vocab_size` (OOV id 0 included) and `distinct_values`."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, opts.parallel)) as pool:  # the merges run in Arrow, without the GIL
        kept = list(pool.map(lambda counter: counter.kept(opts.min_count), counters))
    vocabularies = []
    for field, counter, (keys, counts, distinct) in zip(fields, counters, kept):
        cap = opts.max_vocab_size.get(field["name"], opts.max_vocab_size.get("*"))
        vocabularies.append(build_vocabulary(keys, counts, counter.is_integer, opts.min_count, cap))
        field["vocab_size"] = len(vocabularies[-1]) + 1
        field["distinct_values"] = int(distinct)
    return vocabularies


def shard_counts(names: List[str], split_rows: Dict[str, int], rows_per_shard: int) -> Dict[str, int]:
    """Shards per split: ceil(rows / rows_per_shard), and one (empty) shard for an empty split."""
    return {n: max(1, -(-split_rows[n] // rows_per_shard)) for n in names}


class Spool:
    """Per-shard spool files (`<split>-<shard>.{pos,ids,lab,dense}`), opened on first use."""

    def __init__(self, directory: str):
        self.directory = directory
        self.handles: Dict[Tuple[str, int, str], BinaryIO] = {}
        os.makedirs(directory)

    def write(self, split: str, shard: int, kind: str, data: np.ndarray) -> None:
        key = (split, shard, kind)
        if key not in self.handles:
            self.handles[key] = open(os.path.join(self.directory, f"{split}-{shard}.{kind}"), "ab")
        self.handles[key].write(data.tobytes())

    def close(self) -> None:
        for h in self.handles.values():
            h.close()


def transform_and_spool(
    counted: Counted,
    fields: List[Dict],
    vocabularies: List[List[bytes]],
    layout: Layout,
    opts: Options,
    split_names: List[str],
    split_of_row: np.ndarray,
    position: np.ndarray,
    spool_dir: str,
    id_dtype: type,
) -> Dict[str, int]:
    """Stage 5: the kept chunks' raw values -> ids, spooled per output shard; returns positives per split.

    Each chunk's distinct values go through `mezoo.data.RawToIds` (`make_packed_transform_fn`;
    the transform `mezoo.export` also puts into a SavedModel), chunks in `--parallel` threads,
    each row's ids are gathered through its indices (`gather_ids`),
    and the rows go to their shard's spool (`shard_pieces`) with their position in the shard.
    """
    import tensorflow as tf

    from mezoo.data.transform import RawToIds

    num_fields = len(fields)
    numeric = bool(layout.numeric)
    rps = opts.rows_per_shard
    ids_fn = tf.function(
        make_packed_transform_fn(RawToIds.from_vocabularies(fields, vocabularies), num_fields),
        input_signature=[
            tf.TensorSpec([], tf.string),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([num_fields], tf.int32),
        ],
        autograph=False,
    )

    def transform(kept: Tuple[Any, ...]) -> np.ndarray:  # in a worker thread: TF and numpy release the GIL
        data, lengths, sizes, index = kept[:4]
        return gather_ids(ids_fn(data, lengths, sizes).numpy(), sizes, index).astype(id_dtype)

    chunks = ordered_map(transform, read_kept_chunks(counted, num_fields, numeric), max(1, opts.parallel))
    spool = Spool(spool_dir)
    row = 0
    positives = {n: 0 for n in split_names}
    for (_, _, _, _, labels, dense), ids in chunks:
        n = len(ids)
        s_of = split_of_row[row : row + n]
        pos = position[row : row + n]
        row += n
        for name, k, rows in shard_pieces(split_names, s_of, pos, rps):
            positives[name] += int(labels[rows].sum())
            spool.write(name, k, "pos", (pos[rows] % rps).astype(np.int32))
            spool.write(name, k, "ids", ids[rows])
            spool.write(name, k, "lab", labels[rows].astype(np.uint8))
            if numeric:
                spool.write(name, k, "dense", dense[rows].astype(np.float32))
    spool.close()
    shutil.rmtree(counted.chunk_dir)
    if row != counted.num_valid:
        raise ConversionError(f"input changed between passes: {counted.num_valid} valid rows, then {row}")
    return positives


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
    final = os.path.join(work, _shard_name(name, k, num_shards, opts.compression))
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


def write_vocabularies(work: str, fields: List[Dict], vocabularies: List[List[bytes]]) -> None:
    """Stage 7a: each field's vocabulary as `work/vocab/<field>.txt`; sets the field's `vocabulary`."""
    from mezoo.data.feature_spec import vocabulary_path, write_vocabulary

    os.makedirs(os.path.join(work, "vocab"))
    for field, vocab in zip(fields, vocabularies):
        rel = vocabulary_path(field["name"])
        write_vocabulary(os.path.join(work, rel), vocab)
        field["vocabulary"] = rel


def write_summary_and_spec(work: str, summary: Dict, spec: Dict) -> None:
    """Stage 7b: `work/summary.json`, then `work/feature_spec.json` last (validated by `FeatureSpec`)."""
    from mezoo.data.feature_spec import FeatureSpec

    with open(os.path.join(work, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    FeatureSpec(spec, work).save(work)


def check_accepted(
    files: List[FileInfo],
    rejected: Dict[str, int],
    n_valid: int,
    rows_read: int,
    first_rejects: List[str],
    opts: Options,
    log,
) -> None:
    """After the first pass: empty inputs noted, byte-identical inputs refused, no valid rows an error."""
    for f in files:
        if f.empty:
            log(f"warning: input {f.path} is empty")
    check_distinct_contents(files, opts.allow_duplicate_inputs)  # the hashes are known once read
    if n_valid == 0:
        reasons = ", ".join(f"{r} {n:,}" for r, n in rejected.items() if n)
        raise ConversionError(
            f"no valid rows in {', '.join(f.path for f in files)} ({rows_read} lines read, all "
            f"rejected: {reasons or 'no lines'}; first: {'; '.join(first_rejects) or '-'}); "
            f"nothing was written to {opts.output}"
        )


def check_memory(fields: List[Dict], opts: Options, log):
    """Embedding memory per scale of the fields' vocab_size; stops (before anything is written)
    over --memory_limit. Returns (sum of vocab sizes, memory table)."""
    vocab_total = sum(f["vocab_size"] for f in fields)
    memory = memory_table(vocab_total, opts.embedding_dim, opts.scales)
    log(
        f"vocabulary: {len(fields)} fields, sum of vocabulary sizes {vocab_total:,} "
        f"(largest {max(f['vocab_size'] for f in fields):,}); embedding memory at d={opts.embedding_dim}:"
    )
    for m in memory:
        log(
            f"  scale {m['scale']:>3}: {m['parameters']:>15,} parameters, tables {human(m['table_bytes'])}, "
            f"with Adam slots {human(m['with_adam_bytes'])}"
        )
    if opts.memory_limit and memory and max(m["table_bytes"] for m in memory) > opts.memory_limit:
        worst = max(memory, key=lambda m: m["table_bytes"])
        raise ConversionError(
            f"stopping before writing anything: the embedding tables at scale {worst['scale']} need "
            f"{human(worst['table_bytes'])}, over --memory_limit {human(opts.memory_limit)}; raise --min_count, "
            f"set --max_vocab_size, lower --scales or raise --memory_limit"
        )
    return vocab_total, memory


def spec_and_summary(
    files: List[FileInfo],
    fields: List[Dict],
    layout: Layout,
    opts: Options,
    names: List[str],
    written: Dict[str, int],
    num_shards: Dict[str, int],
    positives: Dict[str, int],
    rejected: Dict[str, int],
    vocab_total: int,
    memory: List[Dict],
    vocab_splits,
):
    """The feature spec and summary.json of a finished conversion (fields carry vocab_size,
    vocabulary and distinct_values; files their statistics)."""
    given_splits = any(f.split for f in files)
    rows_read = sum(f.lines for f in files)
    n_written = sum(written.values())
    n_rejected = sum(rejected.values())
    suffix = ".tfrecord.gz" if opts.compression == "GZIP" else ".tfrecord"
    spec = {
        "format_version": 1,
        "dataset": opts.dataset,
        "label": layout.label_name,
        "fields": [{k: v for k, v in f.items() if k not in ("column", "distinct_values")} for f in fields],
        "numeric": [{"name": n["name"]} for n in layout.numeric],
        "splits": {
            n: {
                "files": f"{n}-*{suffix}",
                "rows": written[n],
                "shards": num_shards[n],
                "compression": opts.compression if opts.compression != "NONE" else "",
                "positive_rate": round(positives[n] / max(written[n], 1), 6),
            }
            for n in names
        },
        "preprocessing": {
            "min_count": opts.min_count,
            "split": "given" if given_splits else [float(r) for r in opts.split],
            "seed": opts.seed,
            "vocabulary_from": sorted(vocab_splits) if given_splits else "all",
            "max_vocab_size": opts.max_vocab_size,
            "oov_id": 0,
            "integer_transform": "log_square_bucket: missing -> '', v > 2 -> floor(ln(v)^2), else v - 2",
        },
        "source": [
            {
                "path": os.path.basename(f.path),
                "bytes": f.bytes,
                "sha256": f.sha256,
                **({"split": f.split} if f.split else {}),
            }
            for f in files
        ],
    }
    summary = {
        "dataset": opts.dataset,
        "rows_read": rows_read,
        "rows_written": n_written,
        "rows_rejected": n_rejected,
        "check": f"rows_read {rows_read} == rows_written {n_written} + rows_rejected {n_rejected}",
        "written": written,
        "rejected": {r: c for r, c in rejected.items() if c},
        "positive_rate": {n: round(positives[n] / max(written[n], 1), 6) for n in names},
        "vocab_sizes": {f["name"]: f["vocab_size"] for f in fields},
        "distinct_values": {f["name"]: f["distinct_values"] for f in fields},
        "vocab_size_total": vocab_total,
        "memory": memory,
        # a last line without newline may have been cut: what this run did with such lines
        "unterminated_last_line": "accepted" if opts.accept_unterminated_last_line else "rejected",
        "inputs": [
            {
                "path": f.path,
                "split": f.split,
                "rows_read": f.lines,
                "rows_rejected": sum(f.rejected.values()),
                "rejected": f.rejected,
                "empty": f.empty,
                "final_newline": f.final_newline,
                "crlf": f.crlf,
                "utf8_bom": f.bom,
                "compression": f.compression,
            }
            for f in files
        ],
    }
    return spec, summary


def format_summary(s: Dict) -> str:
    lines = [
        f"{s['dataset']}: read {s['rows_read']:,} rows, wrote {s['rows_written']:,}, rejected "
        f"{s['rows_rejected']:,}  [{s['check']}: OK]"
    ]
    for name, n in s["written"].items():
        lines.append(f"  {name:<6} {n:>12,} rows  positive rate {s['positive_rate'][name]:.4f}")
    if s["rejected"]:
        lines.append("  rejected: " + ", ".join(f"{r} {n:,}" for r, n in s["rejected"].items()))
    for f in s["inputs"]:
        notes = [
            k
            for k, v in (
                ("empty", f["empty"]),
                ("no final newline", not f["final_newline"]),
                ("CRLF", f["crlf"]),
                ("UTF-8 BOM", f["utf8_bom"]),
            )
            if v
        ]
        lines.append(
            f"  input {f['path']}{' [' + f['split'] + ']' if f['split'] else ''}: {f['rows_read']:,} rows, "
            f"{f['rows_rejected']:,} rejected" + (f" ({', '.join(notes)})" if notes else "")
        )
        if not f["final_newline"] and not f["empty"]:
            choice = s.get("unterminated_last_line", "rejected")
            lines.append(
                f"    its last line has no newline and was {choice}"
                + (
                    " as truncated_last_line (pass --accept_unterminated_last_line if the file is complete)"
                    if choice == "rejected"
                    else " (--accept_unterminated_last_line)"
                )
            )
    lines.append(
        f"  vocabulary sizes (incl. OOV id 0), total {s['vocab_size_total']:,}: "
        + " ".join(f"{k}={v}" for k, v in s["vocab_sizes"].items())
    )
    if "timing" in s:
        t = s["timing"]
        lines.append(
            f"  time {t['total_s']} s ({t['rows_per_s']:,} rows/s): validate+count {t['pass1_validate_count_s']} s, "
            f"transform {t['pass2_transform_s']} s, write {t['write_shards_s']} s"
        )
    return "\n".join(lines)
