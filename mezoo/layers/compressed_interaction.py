"""CompressedInteraction: xDeepFM's Compressed Interaction Network (CIN)."""

from typing import Any, Optional, Sequence

import keras
from keras import ops

from mezoo.layers.per_set import check_set_axis, per_set_initializer, set_einsum, set_shape
from mezoo.layers.types import Config, OutputShape, Shape, Tensor


@keras.saving.register_keras_serializable(package="mezoo")
class CompressedInteraction(keras.layers.Layer):
    """The CIN of xDeepFM: explicit vector-wise interactions of bounded degree.

    With `x0` the `(num_fields, dim)` embeddings and `h_0 = x0`, layer `l` computes, for each
    embedding dimension `k`, `h_l[c, k] = act(sum_{i, j} W_l[c, i, j] * x0[i, k] * h_{l-1}[j, k]
    + b_l[c])` (a 1x1 convolution over the outer product). Each layer's feature maps are
    sum-pooled over `k` and concatenated. With `split_half`, every layer but the last keeps
    half its maps for the output and feeds the other half on (xDeepFM's default).
    The paper's multi-embedding xDeepFM uses CIN(16, 16) and 32 pooled features, so
    `split_half` defaults to False here.

    With `num_sets=M`, every set has its own CIN weights; inputs carry a set axis.

    Args:
        layer_sizes: feature maps of each CIN layer.
        split_half: halve every layer but the last, as in the xDeepFM paper's code.
        activation: activation after each layer (pytorch-fm and the paper's code: ReLU).
        use_bias: whether each layer has a bias.
        kernel_initializer: initializer of each set's kernels.
        bias_initializer: initializer of the biases.
        kernel_regularizer: regularizer of the kernels.
        num_sets: None for one set, or the number of embedding sets M.
        **kwargs: standard `keras.layers.Layer` arguments.

    Input: `(batch, num_fields, dim)` or `(batch, M, num_fields, dim)`.
    Output: `(batch, output_dim)` or `(batch, M, output_dim)`; `output_dim` is
    `sum(layer_sizes)`, or with `split_half` `sum(s // 2 for s in layer_sizes[:-1]) + layer_sizes[-1]`.

    Example:
    >>> import numpy as np
    >>> cin = CompressedInteraction(layer_sizes=(16, 16))
    >>> tuple(cin(np.random.rand(2, 5, 4)).shape)
    (2, 32)
    """

    def __init__(
        self,
        layer_sizes: Sequence[int] = (16, 16),
        split_half: bool = False,
        activation: Any = "relu",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        num_sets: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.layer_sizes = [int(s) for s in layer_sizes]
        if not self.layer_sizes or min(self.layer_sizes) < 1:
            raise ValueError(f"layer_sizes must be positive ints, got {layer_sizes}")
        if split_half and any(s % 2 for s in self.layer_sizes[:-1]):
            raise ValueError(f"split_half needs even sizes for all but the last layer, got {layer_sizes}")
        self.split_half = bool(split_half)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.num_sets = None if num_sets is None else int(num_sets)
        self._interact = set_einsum("bmik,bmjk->bmijk", self.num_sets)
        self._compress = set_einsum("bmijk,mcij->bmck", self.num_sets)

    @property
    def output_dim(self) -> int:
        if not self.split_half:
            return sum(self.layer_sizes)
        return sum(s // 2 for s in self.layer_sizes[:-1]) + self.layer_sizes[-1]

    def build(self, input_shape: Shape) -> None:
        check_set_axis("CompressedInteraction", input_shape, self.num_sets, rank=3)
        num_fields = input_shape[-2]
        self.kernels, self.biases = [], []
        prev = num_fields
        for i, size in enumerate(self.layer_sizes):
            self.kernels.append(
                self.add_weight(
                    name=f"kernel_{i}",
                    shape=set_shape((size, num_fields, prev), self.num_sets),
                    # Drawn with the fans of a 1x1 convolution, (fields * prev) in and size out;
                    # Keras would read this 3-D shape's first axes as a receptive field.
                    initializer=per_set_initializer(
                        self.kernel_initializer, self.num_sets, key=f"kernel_{i}", draw_shape=(num_fields * prev, size)
                    ),
                    regularizer=self.kernel_regularizer,
                )
            )
            if self.use_bias:
                self.biases.append(
                    self.add_weight(
                        name=f"bias_{i}",
                        shape=set_shape((size,), self.num_sets),
                        initializer=per_set_initializer(self.bias_initializer, self.num_sets, key=f"bias_{i}"),
                    )
                )
            last = i == len(self.layer_sizes) - 1
            prev = size // 2 if self.split_half and not last else size

    def call(self, inputs: Tensor) -> Tensor:
        x0 = h = inputs
        pooled = []
        for i, size in enumerate(self.layer_sizes):
            z = ops.einsum(self._compress, ops.einsum(self._interact, x0, h), self.kernels[i])
            if self.use_bias:
                z = z + ops.expand_dims(self.biases[i], -1)
            z = self.activation(z)
            last = i == len(self.layer_sizes) - 1
            if self.split_half and not last:
                out, h = z[..., : size // 2, :], z[..., size // 2 :, :]
            else:
                out = h = z
            pooled.append(ops.sum(out, axis=-1))
        return ops.concatenate(pooled, axis=-1)

    def compute_output_shape(self, input_shape: Shape) -> OutputShape:
        return (*input_shape[:-2], self.output_dim)

    def get_config(self) -> Config:
        config: Config = super().get_config()
        config.update(
            {
                "layer_sizes": self.layer_sizes,
                "split_half": self.split_half,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "num_sets": self.num_sets,
            }
        )
        return config
