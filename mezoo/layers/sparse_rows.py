"""Reading a few rows of a big table without reading the table."""

from typing import Any

import keras
from keras import ops


def read_rows(table: Any, rows: Any) -> Any:
    """`table[rows]` (rows along axis 0) for a Keras or backend variable.

    On TensorFlow this is the variable's `sparse_read` (a ResourceGather): a variable that
    also receives row-sparse updates is in copy-on-read mode, where every dense read (what
    `ops.take` does first) copies the whole table, O(vocabulary) per step. Elsewhere, and for
    tf.distribute's mirrored variables (which can't `sparse_read` inside a replica), `ops.take`.
    """
    if keras.backend.backend() == "tensorflow":
        variable = table.value if isinstance(table, keras.Variable) else table
        try:
            return variable.sparse_read(rows)
        except AttributeError:
            pass
    return ops.take(table, rows, axis=0)
