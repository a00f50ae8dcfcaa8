"""Raw values -> ids: through `mezoo.data.RawToIds` (the transform `mezoo.export` puts into a SavedModel)."""

import shutil
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from mezoo.data.raw.threads import ordered_map
from tfrecord_tools.convert.errors import ConversionError
from tfrecord_tools.convert.first_pass import Counted
from tfrecord_tools.convert.options import Options
from tfrecord_tools.convert.plan import SplitPlan, id_dtype, shard_pieces
from tfrecord_tools.convert.scratch import Spool, read_kept_chunks
from tfrecord_tools.convert.vocabularies import FieldVocabulary


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
    chunk (`arrow_parse.pack_values`) -> the id of each value (int64, fields one after another),
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


def transform_and_spool(
    counted: Counted,
    fields: List[Dict],
    vocabularies: Sequence[FieldVocabulary],
    plan: SplitPlan,
    opts: Options,
    spool_dir: str,
) -> Dict[str, int]:
    """The kept chunks' raw values -> ids, spooled per output shard; returns positives per split.

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
    ids_fn = tf.function(
        make_packed_transform_fn(RawToIds.from_vocabularies(fields, [v.tokens for v in vocabularies]), num_fields),
        input_signature=[
            tf.TensorSpec([], tf.string),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([num_fields], tf.int32),
        ],
        autograph=False,
    )

    def transform(kept: Tuple[Any, ...]) -> np.ndarray:  # in a worker thread: TF and numpy release the GIL
        data, lengths, sizes, index = kept[:4]
        return gather_ids(ids_fn(data, lengths, sizes).numpy(), sizes, index).astype(dtype)

    kept = read_kept_chunks(counted.chunk_dir, counted.chunk_rows, num_fields, numeric)
    chunks = ordered_map(transform, kept, max(1, opts.parallel))
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
