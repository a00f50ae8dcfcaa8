"""NFwFM: field-weighted FM interaction then MLP, single- or multi-embedding."""

from typing import Optional, Sequence

import keras
from keras import ops

from mezoo.layers import FwFMInteraction
from mezoo.models.ctr_model import CTRModel, set_mean_mlp
from mezoo.models.registry import register


@register("nfwfm")
class NFwFM(CTRModel):
    """The paper's NFwFM (docs/method.md §3).

    `h_k = sum_i sum_j r_ij e_ik e_jk` (r learned, N(0, 1) at start) -> BatchNorm -> Dropout
    -> Blk(400) -> Blk(400) -> Dense(1). With M sets, the FwFM, BatchNorm, Dropout and first
    Blk(400) are per set; plain mean over sets; shared Blk(400) -> Dense(1). The paper's base
    width for NFwFM is 50 (pass `embedding_dim=50`).

    Args:
        fields: a FeatureSpec or a list of `(name, vocab_size)` pairs (`(name, vocab_size, max_len,
            pooling)` for a multi-valued field).
        num_embedding_sets: M (1 = single embedding).
        embedding_dim: width of one set.
        hidden_units: MLP widths; the first is per set, the rest shared.
        dropout: dropout after the interaction and in every block.
        l2_regularization: coupled L2 on every weight (see `CTRModel`).
        numeric_fields: names of numeric fields, fed as `"dense"`; default: a FeatureSpec's.
        sparse_embedding_l2: fast mode's L2 on the batch's embedding rows only (see `CTRModel`).

    Example:
    >>> import numpy as np
    >>> model = NFwFM([("user", 100), ("item", 50)], num_embedding_sets=4, embedding_dim=50)
    >>> tuple(model({"ids": np.array([[1, 2]])}).shape)
    (1, 1)
    """

    def __init__(
        self,
        fields,
        num_embedding_sets: int = 1,
        embedding_dim: int = 10,
        hidden_units: Sequence[int] = (400, 400),
        dropout: float = 0.2,
        l2_regularization: float = 5e-7,
        numeric_fields: Optional[Sequence[str]] = None,
        sparse_embedding_l2: bool = False,
        **kwargs,
    ):
        sets = num_embedding_sets
        fields, numeric, inputs, emb = self._embedded_inputs(fields, numeric_fields, embedding_dim, sets)
        h = FwFMInteraction(num_sets=sets, name="fwfm")(emb)  # (batch, M, d)
        # Sets flattened into the feature axis: BatchNorm keeps statistics per set.
        h = ops.reshape(h, (-1, sets * embedding_dim))
        h = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="fwfm_batch_norm")(h)
        h = keras.layers.Dropout(dropout, name="fwfm_dropout")(h)
        h = ops.reshape(h, (-1, sets, embedding_dim))
        shared = set_mean_mlp(h, hidden_units, dropout, sets)
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
