"""Cross: one DCNv2 cross layer, weight-compatible with TFRS `tfrs.layers.dcn.Cross`."""

from typing import Any, Optional

import keras
from keras import ops

from mezoo.layers.per_set import check_set_axis, per_set_initializer, set_einsum, set_shape
from mezoo.layers.types import Config, OutputShape, Shape, Tensor


@keras.saving.register_keras_serializable(package="mezoo")
class Cross(keras.layers.Layer):
    """One DCNv2 cross layer: `x0 * (W x + b + diag_scale * x) + x`.

    With `projection_dim` set, `W = V U` is low rank (U: dim -> projection_dim, V back to
    dim). Argument names and weight order (`[kernel, bias]`, or `[u_kernel, v_kernel, bias]`
    in low rank) are those of TFRS `Cross`, so weights copy across with `set_weights`.
    Kernels are stored `(in, out)` as in `keras.layers.Dense`: `W x` is `x @ kernel`.

    With `num_sets=M`, inputs are `(batch, M, dim)` and every weight has a leading axis of
    size M: M independent cross layers evaluated in one einsum (multi-embedding).

    With `field_blocks=N` (full rank only; the paper's regularised DCNv2), `dim` is N fields
    of width `d = dim / N` and the kernel is used block-wise scaled: the block
    `K_ij = kernel[i*d:(i+1)*d, j*d:(j+1)*d]` (input field i to output field j) is
    multiplied by a learned `block_scale[i, j]` (starting at 1), and
    `orthogonality_penalty()` returns `sum_ij ||I_d - K_ij K_ij^T||_F^2` over the unscaled
    blocks (summed over sets too). Penalising that pushes every effective block
    `block_scale[i, j] * K_ij` toward a scaled orthogonal matrix. The layer does not add the
    penalty to any loss; its owner does (`DCNv2(orthogonal_regularization=...)`).

    Args:
        projection_dim: rank of the low-rank kernel, or None for a full-rank kernel.
        diag_scale: non-negative constant added to the kernel's diagonal.
        use_bias: whether to add the bias `b`.
        kernel_initializer: initializer of each set's kernel(s).
        bias_initializer: initializer of the bias.
        kernel_regularizer: regularizer of the kernel(s).
        bias_regularizer: regularizer of the bias.
        field_blocks: None, or the number of fields N whose d x d kernel blocks get a
            learned scale each (see above).
        num_sets: None for one layer, or the number of embedding sets M.
        **kwargs: standard `keras.layers.Layer` arguments.

    Call args:
        x0: the cross network's input, `(batch, dim)` or `(batch, M, dim)`.
        x: the previous layer's output, same shape; defaults to `x0`.
        set_major: with `num_sets`, inputs are `(M, batch, dim)` instead (what `CrossNet`
            passes between its layers: each layer is then one batched matmul, without the
            two transposes a batch-major einsum costs).

    Example:
    >>> import keras
    >>> import numpy as np
    >>> layer = Cross(kernel_initializer="ones")
    >>> out = layer(np.array([[0.1, 0.2, 0.3]]), np.array([[0.4, 0.5, 0.6]]))
    >>> np.round(keras.ops.convert_to_numpy(out).astype("float64"), 4).tolist()
    [[0.55, 0.8, 1.05]]
    """

    def __init__(
        self,
        projection_dim: Optional[int] = None,
        diag_scale: float = 0.0,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        field_blocks: Optional[int] = None,
        num_sets: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if diag_scale < 0:
            raise ValueError(f"diag_scale must be non-negative, got {diag_scale}")
        if field_blocks is not None and projection_dim is not None:
            raise ValueError("field_blocks needs a full-rank kernel (projection_dim=None)")
        self.field_blocks = None if field_blocks is None else int(field_blocks)
        self.projection_dim = None if projection_dim is None else int(projection_dim)
        self.diag_scale = float(diag_scale)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.num_sets = None if num_sets is None else int(num_sets)
        self._matmul = set_einsum("bmi,mij->bmj", self.num_sets)
        self._block_gram = set_einsum("mapbq,marbq->mabpr", self.num_sets)

    def _kernel(self, name: str, shape: Shape) -> Any:
        return self.add_weight(
            name=name,
            shape=set_shape(shape, self.num_sets),
            initializer=per_set_initializer(self.kernel_initializer, self.num_sets, key=name),
            regularizer=self.kernel_regularizer,
        )

    def build(self, x0_shape: Shape, x_shape: Optional[Shape] = None) -> None:
        check_set_axis("Cross", x0_shape, self.num_sets, rank=2)
        dim = x0_shape[-1]
        if self.projection_dim is None:
            self.kernel = self._kernel("kernel", (dim, dim))
        else:
            self.u_kernel = self._kernel("u_kernel", (dim, self.projection_dim))
            self.v_kernel = self._kernel("v_kernel", (self.projection_dim, dim))
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=set_shape((dim,), self.num_sets),
                initializer=per_set_initializer(self.bias_initializer, self.num_sets, key="bias"),
                regularizer=self.bias_regularizer,
            )
        self.block_scale = None
        if self.field_blocks is not None:
            if dim % self.field_blocks:
                raise ValueError(f"Cross: field_blocks={self.field_blocks} does not divide the width {dim}")
            self.block_scale = self.add_weight(
                name="block_scale",
                shape=set_shape((self.field_blocks, self.field_blocks), self.num_sets),
                initializer="ones",
            )

    def _blocks(self, weight: Tensor) -> Tensor:
        # (..., dim, dim) -> (..., N, d, N, d): axes (input field, its row, output field, its column)
        n = self.field_blocks
        return ops.reshape(weight, (*weight.shape[:-2], n, weight.shape[-2] // n, n, weight.shape[-1] // n))

    def effective_kernel(self) -> Tensor:
        """The kernel the layer applies: `kernel`, block-wise scaled when `field_blocks` is set."""
        if self.block_scale is None:
            return self.kernel
        scale = ops.expand_dims(ops.expand_dims(self.block_scale, -1), -3)  # (..., N, 1, N, 1)
        return ops.reshape(self._blocks(self.kernel) * scale, self.kernel.shape)

    def orthogonality_penalty(self) -> Tensor:
        """`sum ||I_d - K_ij K_ij^T||_F^2` over the unscaled kernel blocks (and sets)."""
        if self.block_scale is None:
            raise ValueError("orthogonality_penalty needs a Cross built with field_blocks")
        blocks = self._blocks(self.kernel)
        gram = ops.einsum(self._block_gram, blocks, blocks)  # (..., N, N, d, d)
        return ops.sum(ops.square(gram - ops.eye(gram.shape[-1], dtype=gram.dtype)))

    def call(self, x0: Tensor, x: Optional[Tensor] = None, set_major: bool = False) -> Tensor:
        if x is None:
            x = x0
        if x.shape[-1] is not None and x0.shape[-1] is not None and x.shape[-1] != x0.shape[-1]:
            raise ValueError(f"Cross: x0 has dim {x0.shape[-1]} but x has dim {x.shape[-1]}")
        set_major = set_major and self.num_sets is not None
        # One set: 2-D matrix products on (batch, dim). On TensorFlow's CPU kernels a batched
        # product with a batch of 1 ran 12% slower at width 1,560 and 34% at 3,900 (forward and
        # backward, batch 2048): the SE 4x and 10x rows of benchmarks/train_step.py.
        one_set = self.num_sets == 1 and not set_major
        width = x0.shape[-1]
        if one_set:
            x0, x = ops.reshape(x0, (-1, width)), ops.reshape(x, (-1, width))

        def matmul(a: Tensor, b: Tensor) -> Tensor:
            if one_set:
                return ops.matmul(a, ops.reshape(b, b.shape[1:]))
            if set_major:  # (M, batch, dim): a plain batched matmul, no transposes (see CrossNet)
                return ops.matmul(a, b)
            return ops.einsum(self._matmul, a, b)

        if self.projection_dim is None:
            prod = matmul(x, self.effective_kernel())
        else:
            prod = matmul(matmul(x, self.u_kernel), self.v_kernel)
        if self.use_bias:
            prod = prod + (ops.expand_dims(self.bias, 1) if set_major else self.bias)
        if self.diag_scale:
            prod = prod + self.diag_scale * x
        out = x0 * prod + x
        return ops.reshape(out, (-1, 1, width)) if one_set else out

    def compute_output_shape(self, x0_shape: Shape, x_shape: Optional[Shape] = None) -> OutputShape:
        return tuple(x0_shape)

    def get_config(self) -> Config:
        config: Config = super().get_config()
        config.update(
            {
                "projection_dim": self.projection_dim,
                "diag_scale": self.diag_scale,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
                "field_blocks": self.field_blocks,
                "num_sets": self.num_sets,
            }
        )
        return config
