"""Pooling padded multi-valued fields: each field's rows, masked by its padding, to one row.

A layer's ids come as `(batch, T)` with `T = sum(field_lengths)`: a single-valued field takes
one column, a multi-valued one `max_len` consecutive columns, in the fields' order, its unused
positions holding `PADDING_ID` (-1). The layer reads the rows of every column at once (padding
clamped to the field's row 0), and `pool_fields` turns the `(batch, T, k)` rows into one
`(batch, num_fields, k)` row per field: a single-valued field's row as it is, a multi-valued
field's rows masked (padding weighs exactly 0, in the output and in the gradient) and pooled.
"""

from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
from keras import ops

from mezoo.fields import POOLINGS
from mezoo.layers.types import Config, Shape, Tensor


def field_layout(
    num_fields: int,
    field_lengths: Optional[Sequence[int]] = None,
    poolings: Union[None, str, Sequence[str]] = None,
) -> Tuple[List[int], List[str]]:
    """Checked `(field_lengths, poolings)` lists, one entry per field.

    Args:
        num_fields: number of fields.
        field_lengths: columns of each field (1 = single-valued, the default for every field).
        poolings: a pooling per field (`"mean"`, `"sum"` or `"sqrtn"`), or one for all;
            default `"mean"`. A single-valued field's pooling is checked but not used.

    Example:
    >>> field_layout(3, [1, 4, 1], "sum")
    ([1, 4, 1], ['sum', 'sum', 'sum'])
    """
    lengths = [1] * num_fields if field_lengths is None else [int(n) for n in field_lengths]
    if len(lengths) != num_fields or min(lengths, default=1) < 1:
        raise ValueError(f"field_lengths must hold one length >= 1 per field ({num_fields}), got {field_lengths}")
    if poolings is None or isinstance(poolings, str):
        names = [poolings or POOLINGS[0]] * num_fields
    else:
        names = [str(p) for p in poolings]
    if len(names) != num_fields:
        raise ValueError(f"poolings has {len(names)} entries for {num_fields} fields")
    unknown = sorted({p for p in names if p not in POOLINGS})
    if unknown:
        raise ValueError(f"unknown pooling {', '.join(map(repr, unknown))}: expected one of {', '.join(POOLINGS)}")
    return lengths, names


def is_pooled(field_lengths: Sequence[int]) -> bool:
    """Whether some field is multi-valued (takes more than one column)."""
    return any(n > 1 for n in field_lengths)


def layout_config(field_lengths: Sequence[int], poolings: Sequence[str]) -> Config:
    """The config entries of a layout: none when every field is single-valued, so that such a
    layer's config (and a `.keras` file holding it) is what it was before pooled fields."""
    if not is_pooled(field_lengths):
        return {}
    return {"field_lengths": list(field_lengths), "poolings": list(poolings)}


def column_offsets(field_offsets: Any, field_lengths: Sequence[int]) -> "np.ndarray[Any, Any]":
    """The row offset of each of the `T` columns: its field's offset, repeated over its length.

    `field_offsets` (a sequence or array) holds at least one offset per field; extra trailing
    entries (the table's total rows) are ignored.

    Example:
    >>> column_offsets([0, 10, 30], [1, 3, 1]).tolist()
    [0, 10, 10, 10, 30]
    """
    return np.repeat(np.asarray(field_offsets[: len(field_lengths)], "int64"), field_lengths)


def check_width(layer_name: str, shape: Shape, field_lengths: Sequence[int]) -> None:
    """Fails, naming the expected and the given width, when ids are not `(batch, sum(field_lengths))`."""
    width = sum(field_lengths)
    if len(shape) != 2 or (shape[-1] is not None and shape[-1] != width):
        what = f" (the sum of field_lengths {list(field_lengths)})" if is_pooled(field_lengths) else ""
        raise ValueError(f"{layer_name} expects ids of shape (batch, {width}){what}; got {tuple(shape)}")


def clamp_padding(ids: Tensor) -> Tensor:
    """Ids with padding (any negative id) replaced by 0: padding then reads its field's row 0,
    which `pool_fields` weighs 0."""
    return ops.maximum(ids, ops.zeros((), dtype=ids.dtype))


def pool_fields(rows: Tensor, ids: Tensor, field_lengths: Sequence[int], poolings: Sequence[str]) -> Tensor:
    """One row per field from the rows of every column.

    Args:
        rows: `(batch, T, k)`, the rows read at `clamp_padding(ids)` (plus offsets).
        ids: `(batch, T)`, the ids as given: a negative id marks a padding position.
        field_lengths: columns of each field, summing to `T`.
        poolings: each field's pooling over its non-padding positions: `"mean"` (sum / count),
            `"sum"` or `"sqrtn"` (sum / sqrt(count)), count taken as at least 1, so a field
            with no value pools to zeros. Unused for single-valued fields.

    Returns `(batch, num_fields, k)`: a single-valued field's row unchanged (runs of such
    fields are sliced, not recomputed), a multi-valued field's pooled row.

    Example:
    >>> import numpy as np
    >>> rows = np.arange(8, dtype="float32").reshape(1, 4, 2)
    >>> ids = np.array([[3, 1, -1, 2]])
    >>> out = pool_fields(rows, ids, [1, 3], ["mean", "mean"])
    >>> np.asarray(out).tolist()  # field 1: the mean of columns 1 and 3, column 2 is padding
    [[[0.0, 1.0], [4.0, 5.0]]]
    """
    if sum(field_lengths) != rows.shape[1]:
        raise ValueError(
            f"rows have {rows.shape[1]} columns; field_lengths {list(field_lengths)} need {sum(field_lengths)}"
        )
    parts = []
    start = run = 0  # columns [run, start) are single-valued fields not yet taken
    for length, pooling in zip(field_lengths, poolings):
        if length > 1:
            if run < start:
                parts.append(rows[:, run:start])
            parts.append(pool_field(rows[:, start : start + length], ids[:, start : start + length], pooling))
            run = start + length
        start += length
    if run < start:
        parts.append(rows[:, run:start])
    return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=1)


def pool_field(rows: Tensor, ids: Tensor, pooling: str) -> Tensor:
    """One multi-valued field's `(batch, L, k)` rows and `(batch, L)` ids -> its `(batch, 1, k)` row.

    Padding positions (negative ids) are taken out with a `where`, so they add exactly 0 to the
    row and receive exactly 0 gradient, whatever their (clamped) rows hold.

    Args:
        rows: the rows read at the field's clamped ids.
        ids: the field's ids as given.
        pooling: `"mean"`, `"sum"` or `"sqrtn"`; count is the number of non-padding ids, at least 1.

    Example:
    >>> import numpy as np
    >>> rows = np.array([[[1.0], [3.0], [9.0]]], dtype="float32")
    >>> round(float(np.asarray(pool_field(rows, np.array([[4, 2, -1]]), "sqrtn"))[0, 0, 0]), 4)  # 4 / sqrt(2)
    2.8284
    """
    present = ops.greater_equal(ids, 0)
    total = ops.sum(ops.where(present[..., None], rows, ops.zeros_like(rows)), axis=1, keepdims=True)
    if pooling == "sum":
        return total
    count = ops.maximum(ops.sum(ops.cast(present, rows.dtype), axis=1), 1)[:, None, None]
    return total / (count if pooling == "mean" else ops.sqrt(count))
