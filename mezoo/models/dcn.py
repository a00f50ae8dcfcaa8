"""DCN (v1): vector-parameterised cross network then MLP, single- or multi-embedding."""

from keras import ops

from mezoo.layers import CrossNet
from mezoo.models.mlp import MLPModel, set_mean_mlp
from mezoo.models.registry import register


@register("dcn")
class DCN(MLPModel):
    """DCN (v1) in the stacked form mezoo's DCNv2 uses.

    SE: cross layers `x_{l+1} = x0 * (x_l . w_l) + b_l + x_l` (w_l a vector) on the flattened
    embeddings -> Blk(400) -> Blk(400) -> Dense(1). ME with M sets: per set, its own cross
    net -> Blk(400); plain mean over sets; shared Blk(400) -> Dense(1), the paper's ME
    pattern (docs/method.md §2). The original DCN runs the cross net and the MLP in parallel and
    feeds both to the output layer; mezoo stacks them, like its DCNv2, so the two differ only
    in the cross layers' parameterisation. Four cross layers by default, as DCNv2's.
    Arguments: `CTRModel`'s, `MLPModel`'s and

    Args:
        num_cross_layers: cross layers per set.

    Example:
    >>> import numpy as np
    >>> model = DCN([("user", 100), ("item", 50)], num_embedding_sets=4)
    >>> tuple(model({"ids": np.array([[1, 2]])}).shape)
    (1, 1)
    """

    num_cross_layers: int = 4

    def trunk(self, inputs, embeddings):
        sets = self.num_embedding_sets
        flat = ops.reshape(embeddings, (-1, sets, embeddings.shape[2] * self.embedding_dim))
        cross = CrossNet(self.num_cross_layers, parameterization="vector", num_sets=sets, name="cross_net")
        return self._head(set_mean_mlp(cross(flat), self.hidden_units, self.dropout, sets))
