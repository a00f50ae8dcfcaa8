"""Raw values -> ids: through `mezoo.data.RawToIds` (the transform `mezoo.export` puts into a SavedModel)."""

import dataclasses
import shutil
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mezoo.data.multi_valued import is_multi_valued, stored_ids
from mezoo.data.raw.threads import ordered_map
from tfrecord_tools.convert.errors import ConversionError
from tfrecord_tools.convert.first_pass import Counted
from tfrecord_tools.convert.options import Options
from tfrecord_tools.convert.plan import SplitPlan, id_dtype, shard_pieces
from tfrecord_tools.convert.scratch import Spool, read_kept_chunks
from tfrecord_tools.convert.vocabularies import FieldVocabulary


def make_transform_fn(transform, fields: Sequence[Dict]):
    """TF function: (serialized distinct values, index (n, F)) of a chunk -> (stored ids (n, T), each
    row's token count before truncation per multi-valued field (n, number of such fields)), through
    `RawToIds.per_field_counted` on the distinct values and a gather per field (the Beam converter's;
    the single-machine one packs its chunks otherwise: `make_packed_transform_fn`). A multi-valued
    field takes `max_len` columns, stored as id + 1 (0: no value)."""
    import tensorflow as tf

    num_fields = len(fields)
    multi = [i for i, f in enumerate(fields) if is_multi_valued(f)]

    def transform_fn(distinct, index):
        values = tf.io.parse_tensor(distinct, tf.string)
        columns = [tf.io.parse_tensor(values[i], tf.string) for i in range(num_fields)]
        ids_of_values, counts = transform.per_field_counted(columns, assume_valid=True)
        if not multi:
            ids = tf.stack([tf.gather(ids_of_values[i], index[:, i]) for i in range(num_fields)], axis=1)
            return ids, tf.zeros(tf.stack([tf.shape(index)[0], 0]), tf.int64)
        tokens = tf.stack([tf.gather(c, index[:, i]) for c, i in zip(counts, multi)], axis=1)
        parts = [
            tf.gather(stored_ids(ids), index[:, i]) if i in multi else tf.gather(ids, index[:, i])[:, None]
            for i, ids in enumerate(ids_of_values)
        ]
        return tf.concat(parts, axis=1), tokens

    return transform_fn


def make_packed_transform_fn(transform, num_fields: int):
    """TF function: (joined distinct values, their byte lengths, values per field) of a kept
    chunk (`arrow_parse.pack_values`) -> (the ids of each value, int64, fields one after another, a
    multi-valued field's `max_len` per value; each multi-valued value's token count, before
    truncation), through `RawToIds.per_field_counted`; `gather_ids` then gives each row its ids."""
    import tensorflow as tf

    def transform_fn(data, lengths, sizes):
        starts = tf.cumsum(lengths, exclusive=True)
        columns = tf.split(tf.strings.substr(data, starts, lengths), sizes, num=num_fields)
        ids, counts = transform.per_field_counted(columns, assume_valid=True)
        flat = tf.concat([tf.reshape(x, [-1]) for x in ids], axis=0)
        return flat, tf.concat(counts, axis=0) if counts else tf.zeros([0], tf.int64)

    return transform_fn


def gather_ids(
    ids_of_values: np.ndarray, sizes: np.ndarray, index: np.ndarray, max_lens: Optional[Sequence[int]] = None
) -> np.ndarray:
    """Each row's ids (n, T) from `make_packed_transform_fn`'s ids of the distinct values and the
    rows' indices (n, F) into each field's values: one numpy gather when every field is
    single-valued. `max_lens` gives each multi-valued field's `max_len` (0 for a single-valued
    one); such a field's columns come out as stored: id + 1, 0 for no value."""
    max_lens = list(max_lens or [0] * len(sizes))
    widths = np.asarray([m or 1 for m in max_lens], np.int64)
    offsets = np.zeros(len(sizes), np.int64)
    np.cumsum(np.asarray(sizes, np.int64)[:-1] * widths[:-1], out=offsets[1:])
    if not any(max_lens):
        return np.take(ids_of_values, index + offsets[None, :])
    parts = []
    for f, max_len in enumerate(max_lens):
        block = ids_of_values[offsets[f] : offsets[f] + sizes[f] * widths[f]]
        parts.append(
            stored_ids(block.reshape(sizes[f], max_len)[index[:, f]]) if max_len else block[index[:, f]][:, None]
        )
    return np.concatenate(parts, axis=1)


@dataclasses.dataclass(frozen=True)
class Transformed:
    """What the transform found: positive labels per split, and per multi-valued field how many
    rows held more than `max_len` tokens (`rows_truncated`), the tokens dropped and the most in a row."""

    positives: Dict[str, int]
    truncation: Dict[str, Dict[str, int]]


def truncation_counts(tokens: np.ndarray, max_len: int) -> np.ndarray:
    """Rows over `max_len`, tokens dropped and the most tokens of a row, from each row's token count."""
    over = np.maximum(tokens.astype(np.int64) - max_len, 0)
    return np.asarray([int((over > 0).sum()), int(over.sum()), int(tokens.max(initial=0))], np.int64)


def transform_and_spool(
    counted: Counted,
    fields: List[Dict],
    vocabularies: Sequence[FieldVocabulary],
    plan: SplitPlan,
    opts: Options,
    spool_dir: str,
) -> Transformed:
    """The kept chunks' raw values -> ids, spooled per output shard.

    `fields` are the spec's field entries (with their vocab_size, `vocabularies.spec_fields`).

    Each chunk's distinct values go through `mezoo.data.RawToIds` (`make_packed_transform_fn`;
    the transform `mezoo.export` also puts into a SavedModel), chunks in `--parallel` threads,
    each row's ids are gathered through its indices (`gather_ids`),
    and the rows go to their shard's spool (`shard_pieces`) with their position in the shard.
    """
    import tensorflow as tf

    from mezoo.data.transform import RawToIds

    num_fields = len(fields)
    numeric = counted.numeric
    rps = opts.rows_per_shard
    dtype = id_dtype(sum(v.vocab_size for v in vocabularies))
    split_names, split_of_row, position = list(plan.rows), plan.split_of_row, plan.position
    max_lens = [int(f["max_len"]) if is_multi_valued(f) else 0 for f in fields]
    multi = [f for f, m in enumerate(max_lens) if m]
    ids_fn = tf.function(
        make_packed_transform_fn(RawToIds.from_vocabularies(fields, [v.tokens for v in vocabularies]), num_fields),
        input_signature=[
            tf.TensorSpec([], tf.string),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([num_fields], tf.int32),
        ],
        autograph=False,
    )

    # in a worker thread: TF and numpy release the GIL
    def transform(kept: Tuple[Any, ...]) -> Tuple[np.ndarray, np.ndarray]:
        data, lengths, sizes, index = kept[:4]
        ids_of_values, tokens = ids_fn(data, lengths, sizes)
        ids: np.ndarray = gather_ids(ids_of_values.numpy(), sizes, index, max_lens).astype(dtype)
        truncation = np.zeros((len(multi), 3), np.int64)
        starts = np.concatenate([[0], np.cumsum([sizes[f] for f in multi])]).astype(np.int64)
        tokens = tokens.numpy()
        for j, f in enumerate(multi):
            truncation[j] = truncation_counts(tokens[starts[j] : starts[j + 1]][index[:, f]], max_lens[f])
        return ids, truncation

    kept = read_kept_chunks(counted.chunk_dir, counted.chunk_rows, num_fields, numeric)
    chunks = ordered_map(transform, kept, max(1, opts.parallel))
    spool = Spool(spool_dir)
    row = 0
    positives = {n: 0 for n in split_names}
    truncated = np.zeros((len(multi), 3), np.int64)
    for (_, _, _, _, labels, dense), (ids, truncation) in chunks:
        truncated[:, :2] += truncation[:, :2]
        truncated[:, 2] = np.maximum(truncated[:, 2], truncation[:, 2])
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
    keys = ("rows_truncated", "values_dropped", "most_values")
    return Transformed(
        positives, {fields[f]["name"]: dict(zip(keys, map(int, truncated[j]))) for j, f in enumerate(multi)}
    )
