"""xDeepFM: a CIN logit plus an MLP logit, single- or multi-embedding."""

from typing import Sequence

import keras
from keras import ops

from mezoo.layers import CompressedInteraction
from mezoo.models.ctr_model import torch_dense_initializer
from mezoo.models.mlp import MLPModel, set_mean_mlp
from mezoo.models.registry import register


@register("xdeepfm")
class XDeepFM(MLPModel):
    """The paper's xDeepFM (docs/method.md §3).

    SE: Dense(1)(CIN(16, 16)) + MLP(400, 400, 1)(flattened embeddings), logits summed.
    ME with M sets: per-set CIN, plain mean of the 32 CIN features over sets -> shared
    Dense(1); per-set Blk(400), mean over sets, shared Blk(400) -> Dense(1); logits summed.
    With M=1 both are the same. Arguments: `CTRModel`'s, `MLPModel`'s and

    Args:
        cin_layer_sizes: feature maps of each CIN layer (pooled features: their sum).

    Example:
    >>> import numpy as np
    >>> model = XDeepFM([("user", 100), ("item", 50), ("hour", 24)], num_embedding_sets=4)
    >>> tuple(model({"ids": np.array([[1, 2, 3]])}).shape)
    (1, 1)
    """

    cin_layer_sizes: Sequence[int] = (16, 16)

    def trunk(self, inputs, embeddings):
        sets = self.num_embedding_sets
        cin = CompressedInteraction(
            self.cin_layer_sizes, kernel_initializer=torch_dense_initializer(), num_sets=sets, name="cin"
        )(embeddings)
        cin_logit = self._head(ops.mean(cin, axis=1), name="cin_logit")
        flat = ops.reshape(embeddings, (-1, sets, embeddings.shape[2] * self.embedding_dim))
        mlp_logit = self._head(set_mean_mlp(flat, self.hidden_units, self.dropout, sets), name="mlp_logit")
        return keras.layers.Add(name="logit")([cin_logit, mlp_logit])
