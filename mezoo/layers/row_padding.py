"""Tables padded to a row count that a sharded layout can split, saved without the padding.

Under Keras' `ModelParallel` distribution (JAX), a table whose rows are sharded over a mesh
axis must have a row count that the axis divides, which a vocabulary seldom gives. The
gathered tables (`MultiEmbedding`, `FirstOrderTerm`) therefore round their rows up to a
multiple of the active mesh's device count (every axis of the mesh divides it) and fill the
extra rows with zeros. No id reaches them (ids are offset into the real rows), so their
gradient is zero, and the coupled L2 of a zero row is zero: they stay zero and change nothing.

What a layer saves (`model.keras`, weights files) is its real rows only, and it loads
such a file into a padded table or a plain one alike; `FusedAdam` loads its slots of a padded
table the same way: a model trained sharded loads on any backend and device count, and the
other way round.
"""

from typing import Any, Dict, List, Sequence

import keras
import numpy as np
from keras import ops


def shard_row_multiple() -> int:
    """The row multiple a table needs under the active Keras distribution: the mesh's device
    count under `keras.distribution.ModelParallel`, else 1 (no padding)."""
    distribution = keras.distribution.distribution()
    if isinstance(distribution, keras.distribution.ModelParallel):
        return int(np.prod(distribution.device_mesh.shape))
    return 1


def padded_row_count(rows: int, multiple: int) -> int:
    """`rows` rounded up to a multiple of `multiple`."""
    return -(-int(rows) // int(multiple)) * int(multiple)


def zero_padded(initializer: Any, rows: int) -> "ZeroPadded":
    """An initializer drawing the first `rows` rows as `initializer` would on a `rows`-row table
    (same values, same fans) and filling the rows after them with zeros."""
    return ZeroPadded(keras.initializers.get(initializer), rows)


class ZeroPadded(keras.initializers.Initializer):
    """`zero_padded`'s initializer: an object, as Keras' JAX backend compiles big sharded
    initialisations through the initializer's `__call__` method (a bare function's can't be)."""

    def __init__(self, initializer: Any, rows: int):
        self.initializer, self.rows = initializer, int(rows)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        values = self.initializer((self.rows, *shape[1:]), dtype=dtype)
        if shape[0] == self.rows:
            return values
        padding = ops.zeros((shape[0] - self.rows, *shape[1:]), dtype=dtype)
        return ops.concatenate([values, padding], axis=0)


def save_variables(layer: keras.layers.Layer, store: Any, real_rows: Dict[str, int]) -> None:
    """`Layer.save_own_variables`, with each variable named in `real_rows` (by its name) cut to
    its real rows."""
    for i, variable in enumerate(_own_variables(layer)):
        rows = real_rows.get(variable.name)
        if rows is None or variable.shape[0] == rows:
            store[f"{i}"] = variable
        else:
            store[f"{i}"] = ops.convert_to_numpy(variable[:rows])


def load_variables(layer: keras.layers.Layer, store: Any) -> None:
    """`Layer.load_own_variables`, padding (with zeros) or cutting saved rows to each variable's."""
    load_resized(_own_variables(layer), store, f"layer {layer.name!r}")


def load_resized(variables: Sequence[Any], store: Any, owner: str) -> None:
    """Assigns `store["0"], store["1"], ...` to `variables`, a saved value whose row count alone
    differs (a table saved padded, or loaded into a padded one) padded with zero rows or cut
    to the variable's rows, which must then be zeros (an optimizer's slots of a padded table)."""
    if len(store.keys()) != len(variables):
        raise ValueError(f"{owner} expects {len(variables)} variables, but the saved file holds {len(store.keys())}")
    for i, variable in enumerate(variables):
        value = np.asarray(store[f"{i}"])
        if value.ndim and value.shape[1:] == tuple(variable.shape[1:]) and value.shape[0] != variable.shape[0]:
            value = _resized_rows(value, int(variable.shape[0]), owner, variable.name)
        variable.assign(value)


def _resized_rows(value: np.ndarray, rows: int, owner: str, name: str) -> np.ndarray:
    if value.shape[0] > rows:
        if np.any(value[rows:]):
            raise ValueError(
                f"{owner}: the saved {name} has {value.shape[0]} rows, this one {rows}, and the rows "
                "beyond are not padding (zeros): it is another table"
            )
        return value[:rows]
    return np.concatenate([value, np.zeros((rows - value.shape[0], *value.shape[1:]), value.dtype)])


def _own_variables(layer: keras.layers.Layer) -> List[Any]:
    # Keras' own order (Layer.save_own_variables) for a layer without sub-layers.
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)
