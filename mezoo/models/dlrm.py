"""DLRM: bottom MLP for numeric fields, pairwise dot products, top MLP; single- or multi-embedding."""

from typing import Sequence

from keras import ops

from mezoo.initializers import FanInUniform
from mezoo.layers import InnerProductInteraction, MLPBlock
from mezoo.models.ctr_model import torch_dense_initializer
from mezoo.models.mlp import MLPModel, set_mean_mlp
from mezoo.models.registry import register


@register("dlrm")
class DLRM(MLPModel):
    """DLRM (Naumov et al. 2019) with the paper's ME pattern for its top MLP.

    Numeric fields do not become value x vector embeddings here: all of them together go
    through a bottom MLP (Dense -> ReLU per width in `bottom_units`, then Dense(d) -> ReLU)
    to one embedding-width vector z, which joins the categorical embeddings as one more
    "field". The interaction is every pairwise dot product among [z, e_1 .. e_N] (DLRM's
    `dot` interaction), concatenated with z; then the top MLP: Blk(400) -> Blk(400) ->
    Dense(1). Without numeric fields there is no bottom MLP and the top MLP sees the
    categorical dot products alone.

    ME with M sets: each set has its own bottom MLP (its z lives in that set's embedding
    space) and its own dot products -> Blk(400); plain mean over sets; shared Blk(400) ->
    Dense(1).

    Arguments: `CTRModel`'s, `MLPModel`'s (the top MLP's; the bottom MLP has no dropout, as
    DLRM) and

    Args:
        bottom_units: hidden widths of the bottom MLP before its Dense(d) output.

    Example:
    >>> import numpy as np
    >>> model = DLRM([("user", 100), ("item", 50)], num_embedding_sets=2, numeric_fields=["age"])
    >>> tuple(model({"ids": np.array([[1, 2]]), "dense": np.array([[0.5]])}).shape)
    (1, 1)
    """

    bottom_units: Sequence[int] = (400,)

    def embed(self, inputs):
        """The categorical embeddings only: the numeric fields go through the bottom MLP."""
        return self.categorical_embeddings(inputs)

    def trunk(self, inputs, embeddings):
        sets = self.num_embedding_sets
        if self.numeric_fields:
            z = ops.repeat(ops.expand_dims(inputs["dense"], 1), sets, axis=1)  # (batch, M, num_numeric)
            for i, width in enumerate([*self.bottom_units, self.embedding_dim]):
                z = MLPBlock(
                    width,
                    dropout=0.0,
                    use_batch_norm=False,
                    kernel_initializer=torch_dense_initializer(),
                    bias_initializer=FanInUniform(z.shape[-1]),
                    num_sets=sets,
                    name=f"bottom_mlp_{i}",
                )(z)
            embeddings = ops.concatenate([ops.expand_dims(z, 2), embeddings], axis=2)
        products = InnerProductInteraction(name="dot_products")(embeddings)  # (batch, M, pairs)
        if self.numeric_fields:
            products = ops.concatenate([z, products], axis=-1)
        return self._head(set_mean_mlp(products, self.hidden_units, self.dropout, sets))

    @property
    def num_fields(self) -> int:
        """Categorical fields plus one for the bottom MLP's vector, when there is one."""
        return len(self.fields) + (1 if self.numeric_fields else 0)
