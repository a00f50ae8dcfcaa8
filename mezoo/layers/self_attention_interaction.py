"""SelfAttentionInteraction: AutoInt's multi-head self-attention over fields, with residual."""

from typing import Any, Optional

import keras
from keras import ops

from mezoo.layers.per_set import check_set_axis, per_set_initializer, set_einsum, set_shape
from mezoo.layers.types import Config, OutputShape, Shape, Tensor


@keras.saving.register_keras_serializable(package="mezoo")
class SelfAttentionInteraction(keras.layers.Layer):
    """Multi-head self-attention across fields (AutoInt's interacting layer).

    For each head h: `Q = E W_Q^h`, `K = E W_K^h`, `V = E W_V^h`,
    `A = softmax(Q K^T [/ sqrt(head_dim)])` over fields, `O^h = A V`; the heads are
    concatenated and, with `use_residual`, `E W_res` is added; then the activation (ReLU in
    AutoInt). With `num_sets=M`, each set has its own projections.

    Args:
        num_heads: number of attention heads.
        head_dim: width of each head (defaults to the input width).
        use_residual: add the projected input `E W_res` (AutoInt: yes).
        use_scale: divide scores by sqrt(head_dim) (AutoInt: no; Transformers: yes).
        activation: applied to the output (AutoInt: ReLU).
        kernel_initializer: initializer of each set's projections.
        kernel_regularizer: regularizer of the projections.
        num_sets: None for one set, or the number of embedding sets M.
        **kwargs: standard `keras.layers.Layer` arguments.

    Input: `(batch, num_fields, dim)` or `(batch, M, num_fields, dim)`.
    Output: the same with the last axis `num_heads * head_dim`.

    Example:
    >>> import numpy as np
    >>> layer = SelfAttentionInteraction(num_heads=2, head_dim=8)
    >>> tuple(layer(np.random.rand(4, 6, 10)).shape)
    (4, 6, 16)
    """

    def __init__(
        self,
        num_heads: int = 2,
        head_dim: Optional[int] = None,
        use_residual: bool = True,
        use_scale: bool = False,
        activation: Any = "relu",
        kernel_initializer: Any = "glorot_uniform",
        kernel_regularizer: Any = None,
        num_sets: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if int(num_heads) < 1:
            raise ValueError(f"num_heads must be >= 1, got {num_heads}")
        self.num_heads = int(num_heads)
        self.head_dim = None if head_dim is None else int(head_dim)
        self.use_residual = bool(use_residual)
        self.use_scale = bool(use_scale)
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.num_sets = None if num_sets is None else int(num_sets)
        self._project = set_einsum("bmfd,mde->bmfe", self.num_sets)
        self._scores = set_einsum("bmfhe,bmghe->bmhfg", self.num_sets)
        self._attend = set_einsum("bmhfg,bmghe->bmfhe", self.num_sets)

    def build(self, input_shape: Shape) -> None:
        check_set_axis("SelfAttentionInteraction", input_shape, self.num_sets, rank=3)
        dim = input_shape[-1]
        self._head_dim = self.head_dim or dim
        width = self.num_heads * self._head_dim

        def kernel(name: str) -> Any:
            return self.add_weight(
                name=name,
                shape=set_shape((dim, width), self.num_sets),
                initializer=per_set_initializer(self.kernel_initializer, self.num_sets, key=name),
                regularizer=self.kernel_regularizer,
            )

        self.query_kernel = kernel("query_kernel")
        self.key_kernel = kernel("key_kernel")
        self.value_kernel = kernel("value_kernel")
        self.residual_kernel = kernel("residual_kernel") if self.use_residual else None

    def _heads(self, x: Tensor) -> Tensor:
        # (..., fields, heads * head_dim) -> (..., fields, heads, head_dim)
        return ops.reshape(x, (*ops.shape(x)[:-1], self.num_heads, self._head_dim))

    def call(self, inputs: Tensor) -> Tensor:
        q = self._heads(ops.einsum(self._project, inputs, self.query_kernel))
        k = self._heads(ops.einsum(self._project, inputs, self.key_kernel))
        v = self._heads(ops.einsum(self._project, inputs, self.value_kernel))
        scores = ops.einsum(self._scores, q, k)
        if self.use_scale:
            scores = scores / ops.sqrt(ops.cast(self._head_dim, scores.dtype))
        out = ops.einsum(self._attend, ops.softmax(scores, axis=-1), v)
        out = ops.reshape(out, (*ops.shape(out)[:-2], self.num_heads * self._head_dim))
        if self.use_residual:
            out = out + ops.einsum(self._project, inputs, self.residual_kernel)
        return self.activation(out)

    def compute_output_shape(self, input_shape: Shape) -> OutputShape:
        return (*input_shape[:-1], self.num_heads * (self.head_dim or input_shape[-1]))

    def get_config(self) -> Config:
        config: Config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "head_dim": self.head_dim,
                "use_residual": self.use_residual,
                "use_scale": self.use_scale,
                "activation": keras.activations.serialize(self.activation),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "num_sets": self.num_sets,
            }
        )
        return config
