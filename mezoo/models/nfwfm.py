"""NFwFM: field-weighted FM interaction then MLP, single- or multi-embedding."""

import keras
from keras import ops

from mezoo.layers import FwFMInteraction
from mezoo.models.mlp import MLPModel, set_mean_mlp
from mezoo.models.registry import register


@register("nfwfm")
class NFwFM(MLPModel):
    """The paper's NFwFM (docs/method.md §3).

    `h_k = sum_i sum_j r_ij e_ik e_jk` (r learned, N(0, 1) at start) -> BatchNorm -> Dropout
    -> Blk(400) -> Blk(400) -> Dense(1). With M sets, the FwFM, BatchNorm, Dropout and first
    Blk(400) are per set; plain mean over sets; shared Blk(400) -> Dense(1). The paper's base
    width for NFwFM is 50 (pass `embedding_dim=50`). Arguments: `CTRModel`'s and `MLPModel`'s
    (`hidden_units`; `dropout` also after the interaction); no others.

    Example:
    >>> import numpy as np
    >>> model = NFwFM([("user", 100), ("item", 50)], num_embedding_sets=4, embedding_dim=50)
    >>> tuple(model({"ids": np.array([[1, 2]])}).shape)
    (1, 1)
    """

    def trunk(self, inputs, embeddings):
        sets, width = self.num_embedding_sets, self.embedding_dim
        h = FwFMInteraction(num_sets=sets, name="fwfm")(embeddings)  # (batch, M, d)
        # Sets flattened into the feature axis: BatchNorm keeps statistics per set.
        h = ops.reshape(h, (-1, sets * width))
        h = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="fwfm_batch_norm")(h)
        h = keras.layers.Dropout(self.dropout, name="fwfm_dropout")(h)
        h = ops.reshape(h, (-1, sets, width))
        return self._head(set_mean_mlp(h, self.hidden_units, self.dropout, sets))
