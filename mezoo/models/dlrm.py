"""DLRM: bottom MLP for numeric fields, pairwise dot products, top MLP; single- or multi-embedding."""

from typing import Optional, Sequence

from keras import ops

from mezoo.initializers import FanInUniform
from mezoo.layers import InnerProductInteraction, MLPBlock
from mezoo.models.ctr_model import CTRModel, field_list, numeric_list, set_mean_mlp, torch_dense_initializer
from mezoo.models.registry import register


@register("dlrm")
class DLRM(CTRModel):
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

    Args:
        fields: a FeatureSpec or a list of `(name, vocab_size)` pairs (`(name, vocab_size, max_len,
            pooling)` for a multi-valued field).
        num_embedding_sets: M (1 = single embedding).
        embedding_dim: width of one set.
        bottom_units: hidden widths of the bottom MLP before its Dense(d) output.
        hidden_units: top MLP widths; the first is per set, the rest shared.
        dropout: dropout of every top block (the bottom MLP has none, as DLRM).
        l2_regularization: coupled L2 on every weight (see `CTRModel`).
        numeric_fields: names of numeric fields, fed as `"dense"`; default: a FeatureSpec's.
        sparse_embedding_l2: fast mode's L2 on the batch's embedding rows only (see `CTRModel`).

    Example:
    >>> import numpy as np
    >>> model = DLRM([("user", 100), ("item", 50)], num_embedding_sets=2, numeric_fields=["age"])
    >>> tuple(model({"ids": np.array([[1, 2]]), "dense": np.array([[0.5]])}).shape)
    (1, 1)
    """

    def __init__(
        self,
        fields,
        num_embedding_sets: int = 1,
        embedding_dim: int = 10,
        bottom_units: Sequence[int] = (400,),
        hidden_units: Sequence[int] = (400, 400),
        dropout: float = 0.2,
        l2_regularization: float = 5e-7,
        numeric_fields: Optional[Sequence[str]] = None,
        sparse_embedding_l2: bool = False,
        **kwargs,
    ):
        sets = num_embedding_sets
        numeric = numeric_list(fields, numeric_fields)
        fields = field_list(fields)
        inputs = self._inputs(fields, numeric)
        emb = self._embed(inputs, fields, embedding_dim, sets)  # categorical only
        if numeric:
            z = ops.repeat(ops.expand_dims(inputs["dense"], 1), sets, axis=1)  # (batch, M, num_numeric)
            for i, width in enumerate([*bottom_units, embedding_dim]):
                z = MLPBlock(
                    width,
                    dropout=0.0,
                    use_batch_norm=False,
                    kernel_initializer=torch_dense_initializer(),
                    bias_initializer=FanInUniform(z.shape[-1]),
                    num_sets=sets,
                    name=f"bottom_mlp_{i}",
                )(z)
            emb = ops.concatenate([ops.expand_dims(z, 2), emb], axis=2)
        products = InnerProductInteraction(name="dot_products")(emb)  # (batch, M, pairs)
        if numeric:
            products = ops.concatenate([z, products], axis=-1)
        shared = set_mean_mlp(products, hidden_units, dropout, sets)
        super().__init__(
            inputs,
            self._head(shared),
            fields,
            sets,
            embedding_dim,
            l2_regularization,
            hidden_units=hidden_units,
            dropout=dropout,
            numeric_fields=numeric,
            sparse_embedding_l2=sparse_embedding_l2,
            **kwargs,
        )
        self.bottom_units = [int(u) for u in bottom_units]

    @property
    def num_fields(self) -> int:
        """Categorical fields plus one for the bottom MLP's vector, when there is one."""
        return len(self.fields) + (1 if self.numeric_fields else 0)

    def get_config(self):
        return {**super().get_config(), "bottom_units": self.bottom_units}
