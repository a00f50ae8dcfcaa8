"""FMInteraction: the factorization machine's second-order term."""

from typing import Any

import keras
from keras import ops

from mezoo.layers.types import Config, OutputShape, Shape, Tensor


@keras.saving.register_keras_serializable(package="mezoo")
class FMInteraction(keras.layers.Layer):
    """Sum of all pairwise interactions `sum_{i<j} e_i * e_j` of field embeddings.

    Computed in O(N d) as `0.5 * ((sum_i e_i)^2 - sum_i e_i^2)`. The layer has no weights, so
    any leading axes pass through: `(batch, num_fields, dim)` for one embedding set, or
    `(batch, num_sets, num_fields, dim)` for several, each set on its own.

    Args:
        reduce_sum: True for the scalar FM term `sum_{i<j} <e_i, e_j>` (last axis size 1),
            False for the per-dimension vector (last axis size `dim`, as in NFM's Bi-Interaction).
        **kwargs: standard `keras.layers.Layer` arguments.

    Input: `(..., num_fields, dim)`. Output: `(..., 1)` or `(..., dim)`.

    Example:
    >>> import keras
    >>> import numpy as np
    >>> out = FMInteraction()(np.ones((2, 3, 4)))  # 3 pairs x <1, 1> = 4 each, per row
    >>> keras.ops.convert_to_numpy(out).tolist()
    [[12.0], [12.0]]
    """

    def __init__(self, reduce_sum: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reduce_sum = bool(reduce_sum)

    def call(self, inputs: Tensor) -> Tensor:
        square_of_sum = ops.square(ops.sum(inputs, axis=-2))
        sum_of_square = ops.sum(ops.square(inputs), axis=-2)
        out = 0.5 * (square_of_sum - sum_of_square)
        if self.reduce_sum:
            out = ops.sum(out, axis=-1, keepdims=True)
        return out

    def compute_output_shape(self, input_shape: Shape) -> OutputShape:
        return (*input_shape[:-2], 1 if self.reduce_sum else input_shape[-1])

    def get_config(self) -> Config:
        config: Config = super().get_config()
        config["reduce_sum"] = self.reduce_sum
        return config
