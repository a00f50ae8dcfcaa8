"""DNN: an MLP over the flattened embeddings, single- or multi-embedding."""

from keras import ops

from mezoo.models.mlp import MLPModel, set_mean_mlp
from mezoo.models.registry import register


@register("dnn")
class DNN(MLPModel):
    """The paper's DNN (docs/method.md §3).

    SE: flatten -> Blk(400) -> Blk(400) -> Dense(1). ME with M sets: per set, flatten ->
    Blk(400); plain mean over sets; shared Blk(400) -> Dense(1). With M=1 both are the same.
    Arguments: `CTRModel`'s and `MLPModel`'s (`hidden_units`, `dropout`); no others.

    Example:
    >>> import numpy as np
    >>> model = DNN([("user", 100), ("item", 50)], num_embedding_sets=4)
    >>> tuple(model({"ids": np.array([[1, 2]])}).shape)
    (1, 1)
    """

    def trunk(self, inputs, embeddings):
        sets = self.num_embedding_sets
        flat = ops.reshape(embeddings, (-1, sets, embeddings.shape[2] * self.embedding_dim))
        return self._head(set_mean_mlp(flat, self.hidden_units, self.dropout, sets))
