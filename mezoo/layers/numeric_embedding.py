"""NumericEmbedding: numeric fields as value x a learned vector, per embedding set."""

from typing import Any

import keras
from keras import ops

from mezoo.layers.per_set import per_set_initializer
from mezoo.layers.types import Config, OutputShape, Shape, Tensor


@keras.saving.register_keras_serializable(package="mezoo")
class NumericEmbedding(keras.layers.Layer):
    """Embeds each numeric field as its value times a learned vector, `e_i = x_i * v_i`.

    This is how FuxiCTR-style models put float features beside categorical ones: the
    output has the layout of `MultiEmbedding`'s, so the two concatenate on the field axis and
    every interaction treats numeric fields like categorical ones. Each embedding set has
    its own vectors.

    Args:
        num_fields: number of numeric fields.
        embedding_dim: width of one set's vectors.
        num_sets: number of embedding sets M.
        embeddings_initializer: initializer of one set's `(num_fields, embedding_dim)` vectors.
        embeddings_regularizer: optional regularizer of the vectors.
        **kwargs: standard `keras.layers.Layer` arguments.

    Input: `(batch, num_fields)` floats. Output: `(batch, num_sets, num_fields, embedding_dim)`.

    Example:
    >>> import numpy as np
    >>> layer = NumericEmbedding(num_fields=2, embedding_dim=4, num_sets=3)
    >>> tuple(layer(np.ones((5, 2), "float32")).shape)
    (5, 3, 2, 4)
    """

    def __init__(
        self,
        num_fields: int,
        embedding_dim: int,
        num_sets: int = 1,
        embeddings_initializer: Any = "glorot_uniform",
        embeddings_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_fields = int(num_fields)
        self.embedding_dim = int(embedding_dim)
        self.num_sets = int(num_sets)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.embeddings_regularizer = keras.regularizers.get(embeddings_regularizer)

    def build(self, input_shape: Shape) -> None:
        if input_shape[-1] is not None and input_shape[-1] != self.num_fields:
            raise ValueError(
                f"NumericEmbedding expects {self.num_fields} numeric fields, got input shape {input_shape}"
            )
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.num_sets, self.num_fields, self.embedding_dim),
            initializer=per_set_initializer(self.embeddings_initializer, self.num_sets, key="numeric"),
            regularizer=self.embeddings_regularizer,
        )

    def call(self, inputs: Tensor) -> Tensor:
        values = ops.cast(inputs, self.compute_dtype)
        return ops.einsum("bf,mfd->bmfd", values, ops.cast(self.embeddings, self.compute_dtype))

    def compute_output_shape(self, input_shape: Shape) -> OutputShape:
        return (input_shape[0], self.num_sets, self.num_fields, self.embedding_dim)

    def get_config(self) -> Config:
        config: Config = super().get_config()
        config.update(
            {
                "num_fields": self.num_fields,
                "embedding_dim": self.embedding_dim,
                "num_sets": self.num_sets,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": keras.regularizers.serialize(self.embeddings_regularizer),
            }
        )
        return config
