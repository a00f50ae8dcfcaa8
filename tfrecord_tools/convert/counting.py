"""Token counts per field: the TF count function (the Beam converter's) and their merge (numpy for integer
keys, pyarrow for bytes)."""

from typing import Any, Dict, List, Tuple

import numpy as np


def kept_mask(counts, min_count: int):
    """The `--min_count` rule, for both converters: a token is kept when counted at least `min_count` times."""
    return counts >= min_count


def make_count_fn(fields: List[Dict]):
    """TF function of a parsed chunk (reason, rows, labels, dense) -> (reason, labels, dense,
    index (n, F) int32, serialized distinct values, then per field three tensors: its token keys
    packed (`token_keys` unpacks them) and their counts).

    Per field, `unique_with_counts` gives the chunk's distinct raw values, each accepted row's
    index into them and their counts; integer fields count their log-square buckets. The Beam
    converter runs it; the single-machine converter computes the same on Arrow
    (`arrow_parse.count_table`, checked against this function in tests/tfrecord_tools/test_arrow_pass.py).
    """
    import tensorflow as tf

    from mezoo.data.multi_valued import cell_tokens, is_multi_valued
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
            elif is_multi_valued(field):  # each kept token of a cell counts as often as the cell
                _, kept = cell_tokens(uniq, field)
                tokens = kept.flat_values
                repeated = tf.repeat(cnt, kept.row_lengths())
                counts += [tf.strings.length(tokens), tf.strings.reduce_join(tokens), repeated]
            else:  # byte lengths + one joined string: no Python object per token on the way out
                counts += [tf.strings.length(uniq), tf.strings.reduce_join(uniq), cnt]
        out.append(tf.stack(index, axis=1))
        out.append(tf.io.serialize_tensor(tf.stack(distinct)))
        return tuple(out + counts)

    return count_fn


# ------------------------------------------------------------------------------ counting
def multi_valued_counts(cells, cell_counts: np.ndarray, field: Dict):
    """A multi-valued field's distinct cells (a pyarrow binary array) and their counts -> its
    kept tokens (pyarrow binary) and counts: each token of a cell (`mezoo.data.multi_valued.cell_tokens`)
    counts as often as the cell."""
    import pyarrow as pa

    from mezoo.data.multi_valued import cell_tokens

    _, kept = cell_tokens(np.asarray(cells.to_numpy(zero_copy_only=False), dtype=object), field)
    tokens = kept.flat_values.numpy()
    return pa.array(tokens, pa.binary()), np.repeat(cell_counts, kept.row_lengths().numpy()).astype(np.int64)


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

    def kept(self, min_count: int, also=None) -> Tuple[Any, np.ndarray, int]:
        """(keys counted at least `min_count` times, and those of `also` counted at all; their counts;
        the number of distinct keys): the filter runs on the Arrow array, so only kept tokens become
        Python bytes. `also`: int64 keys of an integer field, else a list of bytes."""
        self._merge()
        if self.keys is None or self.is_integer:
            keys, counts = self.result()
            keep = kept_mask(counts, min_count)
            if self.is_integer and also is not None and len(also):
                keep |= np.isin(keys, np.asarray(also, np.int64))
            return keys[keep], counts[keep], len(keys)
        import pyarrow as pa
        import pyarrow.compute as pc

        keep = kept_mask(self.counts, min_count)
        if also is not None and len(also):
            known = pc.is_in(self.keys, value_set=pa.array(also, pa.large_binary()))
            keep |= known.to_numpy(zero_copy_only=False)
        kept = self.keys.filter(pa.array(keep))
        return np.asarray(kept.to_numpy(zero_copy_only=False), dtype=object), self.counts[keep], len(self.keys)

    def result(self):
        self._merge()
        if self.keys is None:
            return (np.zeros(0, np.int64) if self.is_integer else np.zeros(0, object)), np.zeros(0, np.int64)
        if not self.is_integer:
            return np.asarray(self.keys.to_numpy(zero_copy_only=False), dtype=object), self.counts
        return self.keys, self.counts
