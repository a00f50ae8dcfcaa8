"""MLPBlock: Dense -> BatchNorm -> activation -> Dropout, the paper's Blk(n)."""

from typing import Any, Optional

import keras
from keras import ops

from mezoo.layers.per_set import check_set_axis, per_set_initializer, set_shape
from mezoo.layers.types import Config, OutputShape, Shape, Tensor


@keras.saving.register_keras_serializable(package="mezoo")
class MLPBlock(keras.layers.Layer):
    """One hidden block of the paper's networks: Dense(units) -> BatchNorm -> ReLU -> Dropout.

    BatchNorm defaults are the paper's PyTorch ones (momentum 0.1 there, 0.9 in Keras terms;
    epsilon 1e-5). With `num_sets=M`, inputs are `(batch, M, in)` and each set has its own
    Dense kernel, bias and BatchNorm statistics (the per-set non-linear projection of
    multi-embedding), computed in one batched matrix product.

    Args:
        units: output width.
        activation: activation after BatchNorm.
        dropout: dropout rate (0 disables).
        use_batch_norm: whether to normalise before the activation.
        batch_norm_momentum: Keras-style moving-average momentum.
        batch_norm_epsilon: BatchNorm epsilon.
        kernel_initializer: initializer of each set's kernel.
        bias_initializer: initializer of the bias.
        kernel_regularizer: regularizer of the kernel.
        bias_regularizer: regularizer of the bias.
        num_sets: None for one block, or the number of embedding sets M.
        **kwargs: standard `keras.layers.Layer` arguments.

    Example:
    >>> import numpy as np
    >>> block = MLPBlock(400, num_sets=3)
    >>> tuple(block(np.random.rand(8, 3, 39)).shape)
    (8, 3, 400)
    """

    def __init__(
        self,
        units: int,
        activation: Any = "relu",
        dropout: float = 0.2,
        use_batch_norm: bool = True,
        batch_norm_momentum: float = 0.9,
        batch_norm_epsilon: float = 1e-5,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        num_sets: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if int(units) < 1 or not 0 <= dropout < 1:
            raise ValueError(f"need units >= 1 and 0 <= dropout < 1, got {units}, {dropout}")
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.dropout_rate = float(dropout)
        self.use_batch_norm = bool(use_batch_norm)
        self.batch_norm_momentum = float(batch_norm_momentum)
        self.batch_norm_epsilon = float(batch_norm_epsilon)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.num_sets = None if num_sets is None else int(num_sets)
        self.batch_norm = None
        if self.use_batch_norm:
            # Per-set statistics: sets are flattened into the feature axis for normalisation.
            self.batch_norm = keras.layers.BatchNormalization(
                momentum=self.batch_norm_momentum,
                epsilon=self.batch_norm_epsilon,
                dtype=self.dtype_policy,
                name="batch_norm",
            )
        self.dropout = keras.layers.Dropout(self.dropout_rate, dtype=self.dtype_policy, name="dropout")

    def build(self, input_shape: Shape) -> None:
        check_set_axis("MLPBlock", input_shape, self.num_sets, rank=2)
        self.kernel = self.add_weight(
            name="kernel",
            shape=set_shape((input_shape[-1], self.units), self.num_sets),
            initializer=per_set_initializer(self.kernel_initializer, self.num_sets, key="kernel"),
            regularizer=self.kernel_regularizer,
        )
        self.bias = self.add_weight(
            name="bias",
            shape=set_shape((self.units,), self.num_sets),
            initializer=per_set_initializer(self.bias_initializer, self.num_sets, key="bias"),
            regularizer=self.bias_regularizer,
        )
        width = self.units * (self.num_sets or 1)
        if self.batch_norm is not None:
            self.batch_norm.build((None, width))

    def call(self, inputs: Tensor, training: Optional[Tensor] = None) -> Tensor:
        if self.num_sets == 1:
            # One set: a 2-D matrix product, as in `Cross` (a batched one with a batch of 1 is slower
            # on TensorFlow's CPU kernels at wide inputs).
            flat = ops.matmul(
                ops.reshape(inputs, (-1, inputs.shape[-1])), ops.reshape(self.kernel, self.kernel.shape[1:])
            )
            x = ops.reshape(flat, (-1, 1, self.units)) + self.bias
        elif self.num_sets is not None:
            # Set-major for the product: one batched matrix product over sets, then back. TF's einsum
            # of the same product ran 1.5x slower forward + backward (10 sets, 2048 x 390 -> 400);
            # after `CrossNet`, whose output is transposed back from set-major, grappler drops the
            # two transposes that cancel.
            product = ops.matmul(ops.transpose(inputs, (1, 0, 2)), self.kernel)
            x = ops.transpose(product, (1, 0, 2)) + self.bias
        else:
            x = ops.matmul(inputs, self.kernel) + self.bias
        if self.batch_norm is not None:
            if self.num_sets is None:
                x = self.batch_norm(x, training=training)
            else:
                flat = ops.reshape(x, (-1, self.num_sets * self.units))
                x = ops.reshape(self.batch_norm(flat, training=training), (-1, self.num_sets, self.units))
        x = self.activation(x)
        return self.dropout(x, training=training)

    def compute_output_shape(self, input_shape: Shape) -> OutputShape:
        return (*input_shape[:-1], self.units)

    def get_config(self) -> Config:
        config: Config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": keras.activations.serialize(self.activation),
                "dropout": self.dropout_rate,
                "use_batch_norm": self.use_batch_norm,
                "batch_norm_momentum": self.batch_norm_momentum,
                "batch_norm_epsilon": self.batch_norm_epsilon,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
                "num_sets": self.num_sets,
            }
        )
        return config
