"""IPNN: pairwise inner products then MLP, single- or multi-embedding."""

from keras import ops

from mezoo.layers import InnerProductInteraction
from mezoo.models.mlp import MLPModel, set_mean_mlp
from mezoo.models.registry import register


@register("ipnn")
class IPNN(MLPModel):
    """The paper's IPNN (docs/method.md §3).

    SE: [flattened embeddings ; all <e_i, e_j>, i < j] -> Blk(400) -> Blk(400) -> Dense(1).
    ME with M >= 2 sets: per set, the inner products only -> Blk(400); plain mean over sets;
    shared Blk(400) -> Dense(1) (the paper's ME code drops the flattened embeddings).
    Arguments: `CTRModel`'s and `MLPModel`'s (`hidden_units`, `dropout`); no others.

    Example:
    >>> import numpy as np
    >>> model = IPNN([("user", 100), ("item", 50), ("hour", 24)], num_embedding_sets=4)
    >>> tuple(model({"ids": np.array([[1, 2, 3]])}).shape)
    (1, 1)
    """

    def trunk(self, inputs, embeddings):
        sets = self.num_embedding_sets
        products = InnerProductInteraction(name="inner_products")(embeddings)  # (batch, M, pairs)
        if sets == 1:
            flat = ops.reshape(embeddings, (-1, 1, embeddings.shape[2] * self.embedding_dim))
            products = ops.concatenate([flat, products], axis=-1)
        return self._head(set_mean_mlp(products, self.hidden_units, self.dropout, sets))
