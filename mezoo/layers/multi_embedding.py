"""MultiEmbedding: M independent embedding sets for every field, in one fused table."""

from typing import Any, Optional, Sequence, Union

import keras
import numpy as np
from keras import ops

from mezoo.layers.field_pooling import (
    check_width,
    clamp_padding,
    column_offsets,
    field_layout,
    is_pooled,
    layout_config,
    pool_fields,
)
from mezoo.layers.per_set import per_set_initializer
from mezoo.layers.row_padding import load_variables, padded_row_count, save_variables, shard_row_multiple, zero_padded
from mezoo.layers.sparse_rows import read_rows
from mezoo.layers.types import Config, OutputShape, Shape, Tensor


@keras.saving.register_keras_serializable(package="mezoo")
class MultiEmbedding(keras.layers.Layer):
    """Embeds every field in `num_sets` independent embedding sets with a single gather.

    All fields of all sets live in one fused table of shape
    `(sum(vocab_sizes), num_sets * embedding_dim)`: field `f` owns rows
    `offsets[f] : offsets[f] + vocab_sizes[f]` and set `m` owns columns
    `m * embedding_dim : (m + 1) * embedding_dim`. One `take` fetches every set of every
    field at once, and the result is numerically identical to `num_sets` separate tables:
    each set is initialised on its own `(sum(vocab_sizes), embedding_dim)` shape with its own
    seed (the paper's Xavier-uniform over each set's whole table), so sets are independent.
    With `num_sets=1` this is an ordinary single-embedding (SE) layer.

    Ids of field `f` must lie in `[0, vocab_sizes[f])`; id 0 is the field's OOV id by
    mezoo's convention, but the layer treats every id alike.

    Multi-valued fields (a bag of ids: a movie's genres, a user's last items) take
    `field_lengths[f] = max_len` consecutive input columns, their unused positions holding the
    padding id -1. Each is pooled over its non-padding positions, per set, into one embedding:
    `"mean"`, `"sum"` or `"sqrtn"` (sum / sqrt(count)), count taken as at least 1, so a field
    with no value embeds to zeros. The single gather still reads every column at once:
    padding reads its field's row 0 and is weighed out exactly, so it reaches neither the
    output nor the table's gradient (see `mezoo.layers.field_pooling`). The table is the same
    whatever the lengths; with every length 1 (the default) the layer computes exactly as a
    layer without pooling.

    Under Keras' `ModelParallel` distribution the fused table gains zero rows after the last
    field's, up to a multiple of the mesh's device count, so that its rows can be sharded;
    no id reads them, and saved weights leave them out (`mezoo.layers.row_padding`).

    `sparse_reads` (an attribute, False by default, not part of the config) says how the table's
    rows are read (`mezoo.layers.sparse_rows.read_rows`): set it when an optimiser updates the
    table row-sparsely (`RowSparseAdam`; `compile_model(mode="fast")` sets it), leave it off for
    dense updates (exact mode, any Keras optimiser).

    Args:
        vocab_sizes: rows of each field's table, in input column order.
        embedding_dim: width `d` of one set's embedding.
        num_sets: number of embedding sets `M` (1 = single embedding).
        embeddings_initializer: initializer applied to each set's table separately.
        embeddings_regularizer: regularizer on the fused table.
        field_names: optional names of the fields (used by abundance reports).
        field_lengths: input columns of each field: 1 for a single-valued field (the default
            for all), `max_len` for a multi-valued one.
        poolings: each field's pooling (`"mean"`, the default, `"sum"` or `"sqrtn"`), or one
            name for all; unused for single-valued fields.
        **kwargs: standard `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Input: int tensor `(batch, sum(field_lengths))` (`(batch, num_fields)` without
    multi-valued fields).
    Output: `(batch, num_sets, num_fields, embedding_dim)` in the layer's compute dtype.

    Example:
    >>> import numpy as np
    >>> layer = MultiEmbedding(vocab_sizes=[10, 20, 5], embedding_dim=4, num_sets=3)
    >>> out = layer(np.array([[0, 19, 4], [9, 0, 1]]))
    >>> tuple(out.shape)
    (2, 3, 3, 4)
    >>> tuple(layer.table(field=1, set=2).shape)
    (20, 4)

    A multi-valued middle field of up to 3 ids, mean-pooled; the second row has no value:
    >>> pooled = MultiEmbedding([10, 20, 5], 4, num_sets=2, field_lengths=[1, 3, 1], poolings="mean")
    >>> out = pooled(np.array([[0, 19, 7, -1, 4], [9, -1, -1, -1, 1]]))
    >>> tuple(out.shape)
    (2, 2, 3, 4)
    >>> from keras.ops import convert_to_numpy
    >>> rows, out = convert_to_numpy(pooled.table(field=1, set=0)), convert_to_numpy(out)
    >>> bool(np.allclose(out[0, 0, 1], (rows[19] + rows[7]) / 2))
    True
    >>> bool(np.all(out[1, :, 1] == 0))
    True
    """

    def __init__(
        self,
        vocab_sizes: Sequence[int],
        embedding_dim: int,
        num_sets: int = 1,
        embeddings_initializer: Any = "glorot_uniform",
        embeddings_regularizer: Any = None,
        field_names: Optional[Sequence[str]] = None,
        field_lengths: Optional[Sequence[int]] = None,
        poolings: Union[None, str, Sequence[str]] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vocab_sizes = [int(v) for v in vocab_sizes]
        if not self.vocab_sizes or min(self.vocab_sizes) < 1:
            raise ValueError(f"vocab_sizes must be a non-empty list of positive ints, got {vocab_sizes}")
        if int(embedding_dim) < 1 or int(num_sets) < 1:
            raise ValueError(f"embedding_dim and num_sets must be >= 1, got {embedding_dim}, {num_sets}")
        if field_names is not None and len(field_names) != len(self.vocab_sizes):
            raise ValueError(f"field_names has {len(field_names)} names for {len(self.vocab_sizes)} fields")
        self.embedding_dim = int(embedding_dim)
        self.num_sets = int(num_sets)
        self.field_names = None if field_names is None else [str(n) for n in field_names]
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.embeddings_regularizer = keras.regularizers.get(embeddings_regularizer)
        self.offsets = np.concatenate([[0], np.cumsum(self.vocab_sizes)]).astype("int64")
        self.field_lengths, self.poolings = field_layout(len(self.vocab_sizes), field_lengths, poolings)
        self.pooled = is_pooled(self.field_lengths)
        self.column_offsets = column_offsets(self.offsets, self.field_lengths)  # (T,): each column's field offset
        self.sparse_reads = False

    @property
    def num_fields(self) -> int:
        return len(self.vocab_sizes)

    @property
    def total_rows(self) -> int:
        return int(self.offsets[-1])

    @property
    def num_columns(self) -> int:
        """Input width `T = sum(field_lengths)` (the number of fields without multi-valued ones)."""
        return len(self.column_offsets)

    def build(self, input_shape: Shape) -> None:
        check_width("MultiEmbedding", input_shape, self.field_lengths)
        initializer = per_set_initializer(self.embeddings_initializer, self.num_sets, concat_axis=1, key="embeddings")
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(padded_row_count(self.total_rows, shard_row_multiple()), self.num_sets * self.embedding_dim),
            initializer=zero_padded(initializer, self.total_rows),
            regularizer=self.embeddings_regularizer,
            # Never autocast: under a mixed policy a cast table would be a full-table pass per
            # step (and a dense read); rows are gathered in the variable's dtype, cast in `call`.
            autocast=False,
        )

    def save_own_variables(self, store: Any) -> None:
        save_variables(self, store, {"embeddings": self.total_rows})

    def load_own_variables(self, store: Any) -> None:
        load_variables(self, store)

    def call(self, inputs: Tensor) -> Tensor:
        check_width("MultiEmbedding", inputs.shape, self.field_lengths)
        if self.pooled:
            offsets = ops.convert_to_tensor(self.column_offsets, dtype=inputs.dtype)
            rows = self.gather_rows(clamp_padding(inputs) + offsets)  # (batch, T, M*d), padding at row 0
            rows = pool_fields(rows, inputs, self.field_lengths, self.poolings)  # (batch, F, M*d)
        else:
            offsets = ops.convert_to_tensor(self.offsets[:-1], dtype=inputs.dtype)
            rows = self.gather_rows(inputs + offsets)  # (batch, F, M*d)
        rows = ops.reshape(rows, (-1, self.num_fields, self.num_sets, self.embedding_dim))
        return ops.cast(ops.transpose(rows, (0, 2, 1, 3)), self.compute_dtype)

    def gather_rows(self, row_ids: Tensor) -> Tensor:
        """Rows of the fused table (`row_ids` already offset), reading only those rows."""
        return read_rows(self.embeddings, row_ids, sparse=self.sparse_reads)

    def compute_output_shape(self, input_shape: Shape) -> OutputShape:
        return (input_shape[0], self.num_sets, self.num_fields, self.embedding_dim)

    def compute_output_spec(self, inputs: Tensor) -> Any:
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.compute_dtype)

    def table(self, field: int, set: Optional[int] = None) -> Tensor:
        """Rows of one field: of one set `(vocab_size, d)`, or of all sets `(vocab_size, M*d)`.

        With `set=None` the result is the concatenation `[E^(1) .. E^(M)]` of the field's
        tables, the matrix whose abundance is compared with a single embedding of width M*d.
        """
        if not 0 <= field < self.num_fields:
            raise IndexError(f"field {field} out of range for {self.num_fields} fields")
        start, stop = int(self.offsets[field]), int(self.offsets[field + 1])
        if set is None:
            return self.embeddings[start:stop]
        if not 0 <= set < self.num_sets:
            raise IndexError(f"set {set} out of range for {self.num_sets} sets")
        d = self.embedding_dim
        return self.embeddings[start:stop, set * d : (set + 1) * d]

    def get_config(self) -> Config:
        config: Config = super().get_config()
        config.update(
            {
                "vocab_sizes": self.vocab_sizes,
                "embedding_dim": self.embedding_dim,
                "num_sets": self.num_sets,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": keras.regularizers.serialize(self.embeddings_regularizer),
                "field_names": self.field_names,
                **layout_config(self.field_lengths, self.poolings),
            }
        )
        return config
