"""BilinearFusion: FinalMLP's multi-head bilinear fusion of two streams."""

from typing import Any, Optional

import keras
from keras import ops

from mezoo.layers.per_set import check_set_axis, per_set_initializer, set_einsum, set_shape
from mezoo.layers.types import Config, OutputShape, Shape, Tensor


@keras.saving.register_keras_serializable(package="mezoo")
class BilinearFusion(keras.layers.Layer):
    """Fuses two stream outputs: `w_x x + w_y y + sum_h x_h^T W_xy^h y_h + b` (FinalMLP).

    `x` and `y` are split into `num_heads` equal chunks; each head has its own bilinear
    matrix per output unit. With `num_sets=M`, inputs carry a set axis and each set has its
    own weights.

    Args:
        output_dim: number of fused outputs (1: a logit).
        num_heads: heads; must divide both stream widths.
        kernel_initializer: initializer of the linear terms `w_x`, `w_y`.
        bilinear_initializer: initializer of `W_xy` (FinalMLP: Xavier-normal; the paper's
            multi-embedding code starts it at zero).
        bias_initializer: initializer of `b`.
        kernel_regularizer: regularizer of all kernels.
        num_sets: None for one set, or the number of embedding sets M.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call args: `x` `(batch, [M,] dx)` and `y` `(batch, [M,] dy)`.
    Output: `(batch, [M,] output_dim)`.

    Example:
    >>> import numpy as np
    >>> fusion = BilinearFusion(output_dim=1, num_heads=2)
    >>> tuple(fusion(np.random.rand(4, 8), np.random.rand(4, 6)).shape)
    (4, 1)
    """

    def __init__(
        self,
        output_dim: int = 1,
        num_heads: int = 1,
        kernel_initializer: Any = "glorot_uniform",
        bilinear_initializer: Any = "glorot_normal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        num_sets: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.output_dim = int(output_dim)
        self.num_heads = int(num_heads)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bilinear_initializer = keras.initializers.get(bilinear_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.num_sets = None if num_sets is None else int(num_sets)
        self._linear = set_einsum("bmi,mio->bmo", self.num_sets)
        self._bilinear = set_einsum("bmhi,mhijo,bmhj->bmo", self.num_sets)

    def build(self, x_shape: Shape, y_shape: Shape) -> None:
        check_set_axis("BilinearFusion", x_shape, self.num_sets, rank=2)
        check_set_axis("BilinearFusion", y_shape, self.num_sets, rank=2)
        dx, dy = x_shape[-1], y_shape[-1]
        if dx % self.num_heads or dy % self.num_heads:
            raise ValueError(f"num_heads={self.num_heads} must divide both stream widths {dx} and {dy}")
        hx, hy = dx // self.num_heads, dy // self.num_heads

        def weight(
            name: str, shape: Shape, initializer: Any, regularizer: Any = None, draw_shape: Optional[Shape] = None
        ) -> Any:
            return self.add_weight(
                name=name,
                shape=set_shape(shape, self.num_sets),
                initializer=per_set_initializer(initializer, self.num_sets, key=name, draw_shape=draw_shape),
                regularizer=regularizer,
            )

        self.x_kernel = weight("x_kernel", (dx, self.output_dim), self.kernel_initializer, self.kernel_regularizer)
        self.y_kernel = weight("y_kernel", (dy, self.output_dim), self.kernel_initializer, self.kernel_regularizer)
        # FinalMLP draws W_xy as one (heads * hx * hy, output_dim) matrix.
        self.bilinear_kernel = weight(
            "bilinear_kernel",
            (self.num_heads, hx, hy, self.output_dim),
            self.bilinear_initializer,
            self.kernel_regularizer,
            draw_shape=(self.num_heads * hx * hy, self.output_dim),
        )
        self.bias = weight("bias", (self.output_dim,), self.bias_initializer)

    def _split(self, t: Tensor) -> Tensor:
        return ops.reshape(t, (*ops.shape(t)[:-1], self.num_heads, t.shape[-1] // self.num_heads))

    def call(self, x: Tensor, y: Tensor) -> Tensor:
        out = ops.einsum(self._linear, x, self.x_kernel) + ops.einsum(self._linear, y, self.y_kernel)
        out = out + ops.einsum(self._bilinear, self._split(x), self.bilinear_kernel, self._split(y))
        return out + self.bias

    def compute_output_shape(self, x_shape: Shape, y_shape: Shape) -> OutputShape:
        return (*x_shape[:-1], self.output_dim)

    def get_config(self) -> Config:
        config: Config = super().get_config()
        config.update(
            {
                "output_dim": self.output_dim,
                "num_heads": self.num_heads,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bilinear_initializer": keras.initializers.serialize(self.bilinear_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "num_sets": self.num_sets,
            }
        )
        return config
