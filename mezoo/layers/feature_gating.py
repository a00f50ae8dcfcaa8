"""FeatureGating: FinalMLP's stream-specific feature selection gate."""

from typing import Any, Optional, Sequence

import keras
from keras import ops

from mezoo.layers.per_set import check_set_axis, per_set_initializer, set_einsum, set_shape
from mezoo.layers.types import Config, OutputShape, Shape, Tensor


@keras.saving.register_keras_serializable(package="mezoo")
class FeatureGating(keras.layers.Layer):
    """Re-weights a stream's input: `x * 2 * sigmoid(MLP(context))` (FinalMLP's gate).

    The gate MLP (ReLU hidden layers, sigmoid output of x's width) reads a context: the
    `context` call argument (e.g. some fields' embeddings) or, without one, a learned vector of
    width `context_dim` that starts at zero, as FinalMLP does when no context features are
    named. Starting at zero makes the initial gate input-independent. With `num_sets=M`,
    inputs carry a set axis and each set has its own gate.

    Args:
        hidden_units: widths of the gate MLP's hidden layers.
        context_dim: width of the learned context used when `context` is not given.
        kernel_initializer: initializer of the gate MLP's kernels.
        kernel_regularizer: regularizer of the gate MLP's kernels.
        num_sets: None for one set, or the number of embedding sets M.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call args: `x` `(batch, [M,] dim)`; optional `context` `(batch, [M,] context_width)`.
    Output: same shape as `x`.

    Example:
    >>> import numpy as np
    >>> gate = FeatureGating(hidden_units=(16,), context_dim=4)
    >>> tuple(gate(np.random.rand(3, 12)).shape)
    (3, 12)
    """

    def __init__(
        self,
        hidden_units: Sequence[int] = (64,),
        context_dim: int = 10,
        kernel_initializer: Any = "glorot_uniform",
        kernel_regularizer: Any = None,
        num_sets: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.hidden_units = [int(u) for u in hidden_units]
        self.context_dim = int(context_dim)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.num_sets = None if num_sets is None else int(num_sets)
        self._matmul = set_einsum("bmi,mio->bmo", self.num_sets)

    def build(self, x_shape: Shape, context_shape: Optional[Shape] = None) -> None:
        check_set_axis("FeatureGating", x_shape, self.num_sets, rank=2)
        if context_shape is None:
            self.learned_context = self.add_weight(
                name="learned_context", shape=set_shape((self.context_dim,), self.num_sets), initializer="zeros"
            )
            width = self.context_dim
        else:
            self.learned_context = None
            width = context_shape[-1]
        self.kernels, self.biases = [], []
        for i, units in enumerate([*self.hidden_units, x_shape[-1]]):
            self.kernels.append(
                self.add_weight(
                    name=f"kernel_{i}",
                    shape=set_shape((width, units), self.num_sets),
                    initializer=per_set_initializer(self.kernel_initializer, self.num_sets, key=f"kernel_{i}"),
                    regularizer=self.kernel_regularizer,
                )
            )
            self.biases.append(
                self.add_weight(name=f"bias_{i}", shape=set_shape((units,), self.num_sets), initializer="zeros")
            )
            width = units

    def call(self, x: Tensor, context: Optional[Tensor] = None) -> Tensor:
        if context is None:
            if self.learned_context is None:
                raise ValueError("FeatureGating was built with a context input; pass `context`")
            leading = ops.shape(x)[:-1]
            context = ops.broadcast_to(self.learned_context, (*leading, self.context_dim))
        h = context
        last = len(self.kernels) - 1
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
            h = ops.einsum(self._matmul, h, kernel) + bias
            h = ops.sigmoid(h) if i == last else ops.relu(h)
        return x * 2.0 * h

    def compute_output_shape(self, x_shape: Shape, context_shape: Optional[Shape] = None) -> OutputShape:
        return tuple(x_shape)

    def get_config(self) -> Config:
        config: Config = super().get_config()
        config.update(
            {
                "hidden_units": self.hidden_units,
                "context_dim": self.context_dim,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "num_sets": self.num_sets,
            }
        )
        return config
