"""DCN (v1): vector-parameterised cross network then MLP, single- or multi-embedding."""

from typing import Optional, Sequence

from keras import ops

from mezoo.layers import CrossNet
from mezoo.models.ctr_model import CTRModel, set_mean_mlp
from mezoo.models.registry import register


@register("dcn")
class DCN(CTRModel):
    """DCN (v1) in the stacked form mezoo's DCNv2 uses.

    SE: cross layers `x_{l+1} = x0 * (x_l . w_l) + b_l + x_l` (w_l a vector) on the flattened
    embeddings -> Blk(400) -> Blk(400) -> Dense(1). ME with M sets: per set, its own cross
    net -> Blk(400); plain mean over sets; shared Blk(400) -> Dense(1), the paper's ME
    pattern (docs/method.md §2). The original DCN runs the cross net and the MLP in parallel and
    feeds both to the output layer; mezoo stacks them, like its DCNv2, so the two differ only
    in the cross layers' parameterisation. Four cross layers by default, as DCNv2's.

    Args:
        fields: a FeatureSpec or a list of `(name, vocab_size)` pairs (`(name, vocab_size, max_len,
            pooling)` for a multi-valued field).
        num_embedding_sets: M (1 = single embedding).
        embedding_dim: width of one set.
        num_cross_layers: cross layers per set.
        hidden_units: MLP widths; the first is per set, the rest shared.
        dropout: dropout of every block.
        l2_regularization: coupled L2 on every weight (see `CTRModel`).
        numeric_fields: names of numeric fields, fed as `"dense"`; default: a FeatureSpec's.
        sparse_embedding_l2: fast mode's L2 on the batch's embedding rows only (see `CTRModel`).

    Example:
    >>> import numpy as np
    >>> model = DCN([("user", 100), ("item", 50)], num_embedding_sets=4)
    >>> tuple(model({"ids": np.array([[1, 2]])}).shape)
    (1, 1)
    """

    def __init__(
        self,
        fields,
        num_embedding_sets: int = 1,
        embedding_dim: int = 10,
        num_cross_layers: int = 4,
        hidden_units: Sequence[int] = (400, 400),
        dropout: float = 0.2,
        l2_regularization: float = 5e-7,
        numeric_fields: Optional[Sequence[str]] = None,
        sparse_embedding_l2: bool = False,
        **kwargs,
    ):
        sets = num_embedding_sets
        fields, numeric, inputs, emb = self._embedded_inputs(fields, numeric_fields, embedding_dim, sets)
        flat = ops.reshape(emb, (-1, sets, emb.shape[2] * embedding_dim))
        crossed = CrossNet(num_cross_layers, parameterization="vector", num_sets=sets, name="cross_net")(flat)
        shared = set_mean_mlp(crossed, hidden_units, dropout, sets)
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
        self.num_cross_layers = int(num_cross_layers)

    def get_config(self):
        return {**super().get_config(), "num_cross_layers": self.num_cross_layers}
