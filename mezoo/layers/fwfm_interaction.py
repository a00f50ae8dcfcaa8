"""FwFMInteraction: the field-weighted FM interaction used by NFwFM."""

from typing import Any, Optional

import keras
from keras import ops

from mezoo.layers.per_set import check_set_axis, per_set_initializer, set_einsum, set_shape
from mezoo.layers.types import Config, OutputShape, Shape, Tensor


@keras.saving.register_keras_serializable(package="mezoo")
class FwFMInteraction(keras.layers.Layer):
    """Field-weighted interaction `h_k = sum_i sum_j r_ij e_ik e_jk` (NFwFM).

    `r` is a learned `(num_fields, num_fields)` matrix over all ordered pairs, the diagonal
    (i = j) included, as in the paper's NFwFM; the output keeps the embedding dimension.
    With `num_sets=M` each set has its own `r`, and inputs carry a set axis.

    Args:
        r_initializer: initializer of `r`; None means N(0, 1), the paper's code.
        r_regularizer: regularizer of `r`.
        num_sets: None for one set, or the number of embedding sets M.
        **kwargs: standard `keras.layers.Layer` arguments.

    Input: `(batch, num_fields, dim)` or `(batch, M, num_fields, dim)`.
    Output: `(batch, dim)` or `(batch, M, dim)`.

    Example:
    >>> import keras
    >>> import numpy as np
    >>> layer = FwFMInteraction(r_initializer="ones")
    >>> out = layer(np.ones((1, 3, 2)))  # 9 ordered pairs (i, j), each e_i * e_j * r_ij = 1
    >>> keras.ops.convert_to_numpy(out).tolist()
    [[9.0, 9.0]]
    """

    def __init__(
        self,
        r_initializer: Any = None,
        r_regularizer: Any = None,
        num_sets: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if r_initializer is None:
            r_initializer = keras.initializers.RandomNormal(mean=0.0, stddev=1.0)
        self.r_initializer = keras.initializers.get(r_initializer)
        self.r_regularizer = keras.regularizers.get(r_regularizer)
        self.num_sets = None if num_sets is None else int(num_sets)
        self._equation = set_einsum("bmik,mij,bmjk->bmk", self.num_sets)

    def build(self, input_shape: Shape) -> None:
        check_set_axis("FwFMInteraction", input_shape, self.num_sets, rank=3)
        num_fields = input_shape[-2]
        self.r = self.add_weight(
            name="r",
            shape=set_shape((num_fields, num_fields), self.num_sets),
            initializer=per_set_initializer(self.r_initializer, self.num_sets, key="r"),
            regularizer=self.r_regularizer,
        )

    def call(self, inputs: Tensor) -> Tensor:
        return ops.einsum(self._equation, inputs, self.r, inputs)

    def compute_output_shape(self, input_shape: Shape) -> OutputShape:
        return (*input_shape[:-2], input_shape[-1])

    def get_config(self) -> Config:
        config: Config = super().get_config()
        config.update(
            {
                "r_initializer": keras.initializers.serialize(self.r_initializer),
                "r_regularizer": keras.regularizers.serialize(self.r_regularizer),
                "num_sets": self.num_sets,
            }
        )
        return config
