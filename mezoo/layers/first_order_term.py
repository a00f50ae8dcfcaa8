"""FirstOrderTerm: the linear part of FM-style models, one weight per id and numeric field."""

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
from mezoo.layers.row_padding import load_variables, padded_row_count, save_variables, shard_row_multiple
from mezoo.layers.sparse_rows import read_rows


@keras.saving.register_keras_serializable(package="mezoo")
class FirstOrderTerm(keras.layers.Layer):
    """`sum_i w[field_i, id_i] + sum_k v_k x_k + b`: the first-order logit of FM and DeepFM.

    One weight per categorical id, in one fused `(sum(vocab_sizes), 1)` table (field `f` at
    its offset, as in `MultiEmbedding`, so it is a single gather), one weight per numeric
    field (value x weight) and an optional bias. It has no embedding sets: the term is
    linear, so per-set copies averaged would be one table again. Every weight starts at
    zero, so at initialisation the model is its interaction part alone.

    A multi-valued field (`field_lengths[f] > 1` columns, padding id -1, as in
    `MultiEmbedding`) contributes the pooled weight of its ids: their mean, sum or sum /
    sqrt(count) over the non-padding positions, 0 when it has none.

    `sparse_reads`: as `MultiEmbedding`'s (row-sparse updates of the table: set it).

    Args:
        vocab_sizes: rows of each categorical field, in input column order.
        num_numeric: number of numeric fields (the `dense` call argument's width).
        use_bias: whether to add a bias (DeepFM leaves it to its MLP head).
        field_lengths: input columns of each field (1, the default, for single-valued ones).
        poolings: each field's pooling (`"mean"`, the default, `"sum"` or `"sqrtn"`), or one for all.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call args: `ids` int `(batch, sum(field_lengths))`; `dense` float `(batch, num_numeric)`
    when `num_numeric > 0`. Output: `(batch, 1)`.

    Example:
    >>> import numpy as np
    >>> term = FirstOrderTerm([10, 20], num_numeric=2)
    >>> tuple(term(np.array([[1, 2]]), np.array([[0.5, -1.0]])).shape)
    (1, 1)
    >>> bag = FirstOrderTerm([10, 20], field_lengths=[1, 3], poolings="sum")
    >>> tuple(bag(np.array([[1, 5, 7, -1]])).shape)
    (1, 1)
    """

    def __init__(
        self,
        vocab_sizes: Sequence[int],
        num_numeric: int = 0,
        use_bias: bool = True,
        field_lengths: Optional[Sequence[int]] = None,
        poolings: Union[None, str, Sequence[str]] = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.vocab_sizes = [int(v) for v in vocab_sizes]
        self.num_numeric = int(num_numeric)
        self.use_bias = bool(use_bias)
        self.offsets = np.concatenate([[0], np.cumsum(self.vocab_sizes)[:-1]]).astype("int32")
        self.field_lengths, self.poolings = field_layout(len(self.vocab_sizes), field_lengths, poolings)
        self.pooled = is_pooled(self.field_lengths)
        self.column_offsets = column_offsets(self.offsets, self.field_lengths).astype("int32")
        self.sparse_reads = False

    def build(self, ids_shape: Sequence[Optional[int]], dense_shape: Optional[Sequence[Optional[int]]] = None) -> None:
        check_width("FirstOrderTerm", ids_shape, self.field_lengths)
        rows = padded_row_count(sum(self.vocab_sizes), shard_row_multiple())  # zeros beyond the real rows
        # Never autocast: under a mixed policy a cast table would be a full-table pass per step
        # (and a dense read); rows are gathered in the variable's dtype and cast below.
        self.table = self.add_weight(name="table", shape=(rows, 1), initializer="zeros", autocast=False)
        self.numeric_kernel = None
        if self.num_numeric:
            self.numeric_kernel = self.add_weight(
                name="numeric_kernel", shape=(self.num_numeric, 1), initializer="zeros"
            )
        self.bias = self.add_weight(name="bias", shape=(1,), initializer="zeros") if self.use_bias else None

    def save_own_variables(self, store: Any) -> None:
        save_variables(self, store, {"table": sum(self.vocab_sizes)})

    def load_own_variables(self, store: Any) -> None:
        load_variables(self, store)

    def call(self, ids: Any, dense: Any = None) -> Any:
        check_width("FirstOrderTerm", ids.shape, self.field_lengths)
        if self.pooled:
            ids = ops.cast(ids, "int32")
            columns = clamp_padding(ids) + ops.convert_to_tensor(self.column_offsets)
            rows = read_rows(self.table, columns, self.sparse_reads)
            out = ops.sum(pool_fields(rows, ids, self.field_lengths, self.poolings), axis=1)  # padding weighs 0
        else:
            rows = ops.cast(ids, "int32") + ops.convert_to_tensor(self.offsets)
            out = ops.sum(read_rows(self.table, rows, self.sparse_reads), axis=1)
        out = ops.cast(out, self.compute_dtype)
        if self.numeric_kernel is not None:
            if dense is None:
                raise ValueError(f"FirstOrderTerm has {self.num_numeric} numeric fields; pass `dense`")
            out = out + ops.matmul(ops.cast(dense, out.dtype), self.numeric_kernel)
        if self.bias is not None:
            out = out + self.bias
        return out

    def compute_output_shape(
        self, ids_shape: Sequence[Optional[int]], dense_shape: Optional[Sequence[Optional[int]]] = None
    ) -> tuple[Optional[int], int]:
        return (ids_shape[0], 1)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(
            {
                "vocab_sizes": self.vocab_sizes,
                "num_numeric": self.num_numeric,
                "use_bias": self.use_bias,
                **layout_config(self.field_lengths, self.poolings),
            }
        )
        return config
