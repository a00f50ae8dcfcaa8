"""InnerProductInteraction: all pairwise inner products of field embeddings (IPNN)."""

from typing import Tuple

import keras
import numpy as np
from keras import ops
from numpy.typing import NDArray

from mezoo.layers.types import OutputShape, Shape, Tensor


def pair_indices(num_fields: int) -> Tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Pairs (i, j), i < j, row-major over i: (0,1), (0,2), ..., (0,N-1), (1,2), ..."""
    return np.triu_indices(num_fields, k=1)


@keras.saving.register_keras_serializable(package="mezoo")
class InnerProductInteraction(keras.layers.Layer):
    """`<e_i, e_j>` for every field pair i < j, in the order (0,1), (0,2), ..., (1,2), ...

    That is the order of the paper's code (and of `itertools.combinations`). The layer has no
    weights; any leading axes (such as an embedding-set axis) pass through.

    Args:
        **kwargs: standard `keras.layers.Layer` arguments.

    Input: `(..., num_fields, dim)`. Output: `(..., num_fields * (num_fields - 1) / 2)`.

    Example:
    >>> import keras
    >>> import numpy as np
    >>> out = InnerProductInteraction()(np.arange(6.0).reshape(1, 3, 2))  # pairs (0,1), (0,2), (1,2)
    >>> keras.ops.convert_to_numpy(out).tolist()
    [[3.0, 5.0, 23.0]]
    """

    def call(self, inputs: Tensor) -> Tensor:
        num_fields = inputs.shape[-2]
        gram = ops.einsum("...id,...jd->...ij", inputs, inputs)
        rows, cols = pair_indices(num_fields)
        flat = ops.reshape(gram, (*ops.shape(gram)[:-2], num_fields * num_fields))
        return ops.take(flat, ops.convert_to_tensor(rows * num_fields + cols), axis=-1)

    def compute_output_shape(self, input_shape: Shape) -> OutputShape:
        n = input_shape[-2]
        return (*input_shape[:-2], n * (n - 1) // 2)
