"""Reading a few rows of a big table without reading the table."""

from typing import Any

import keras
from keras import ops


def read_rows(table: Any, rows: Any, sparse: bool) -> Any:
    """`table[rows]` (rows along axis 0) for a Keras or backend variable.

    `sparse=True` is for a table that receives row-sparse updates (fast mode's `RowSparseAdam`,
    and that optimiser's own moments): on TensorFlow such a variable is in copy-on-read mode,
    where every dense read (what `ops.take` does first) copies the whole table, O(vocabulary)
    per step, so its rows are read with the variable's `sparse_read` (a ResourceGather).

    `sparse=False` is for a table updated densely (exact mode's `FusedAdam`, any Keras
    optimiser): a dense read and a gather (`ops.take`). On TensorFlow a `sparse_read` would put
    the variable in copy-on-read mode for good, and the optimiser's dense read of it would then
    copy the whole table every step (a 36 MB copy per step at Criteo's 910,747 x 10 table).

    Elsewhere, and for tf.distribute's mirrored variables (which can't `sparse_read` inside a
    replica), the sparse case is `ops.take` too.
    """
    if not sparse:
        return ops.take(ops.convert_to_tensor(table), rows, axis=0)
    if keras.backend.backend() == "tensorflow":
        variable = table.value if isinstance(table, keras.Variable) else table
        try:
            return variable.sparse_read(rows)
        except AttributeError:
            pass
    return ops.take(table, rows, axis=0)
