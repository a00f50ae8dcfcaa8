"""xDeepFM: a CIN logit plus an MLP logit, single- or multi-embedding."""

from typing import Optional, Sequence

import keras
from keras import ops

from mezoo.layers import CompressedInteraction
from mezoo.models.ctr_model import CTRModel, set_mean_mlp, torch_dense_initializer
from mezoo.models.registry import register


@register("xdeepfm")
class XDeepFM(CTRModel):
    """The paper's xDeepFM (docs/method.md §3).

    SE: Dense(1)(CIN(16, 16)) + MLP(400, 400, 1)(flattened embeddings), logits summed.
    ME with M sets: per-set CIN, plain mean of the 32 CIN features over sets -> shared
    Dense(1); per-set Blk(400), mean over sets, shared Blk(400) -> Dense(1); logits summed.
    With M=1 both are the same.

    Args:
        fields: a FeatureSpec or a list of `(name, vocab_size)` pairs (`(name, vocab_size, max_len,
            pooling)` for a multi-valued field).
        num_embedding_sets: M (1 = single embedding).
        embedding_dim: width of one set.
        cin_layer_sizes: feature maps of each CIN layer (pooled features: their sum).
        hidden_units: MLP widths; the first is per set, the rest shared.
        dropout: dropout of every block.
        l2_regularization: coupled L2 on every weight (see `CTRModel`).
        numeric_fields: names of numeric fields, fed as `"dense"`; default: a FeatureSpec's.
        sparse_embedding_l2: fast mode's L2 on the batch's embedding rows only (see `CTRModel`).

    Example:
    >>> import numpy as np
    >>> model = XDeepFM([("user", 100), ("item", 50), ("hour", 24)], num_embedding_sets=4)
    >>> tuple(model({"ids": np.array([[1, 2, 3]])}).shape)
    (1, 1)
    """

    def __init__(
        self,
        fields,
        num_embedding_sets: int = 1,
        embedding_dim: int = 10,
        cin_layer_sizes: Sequence[int] = (16, 16),
        hidden_units: Sequence[int] = (400, 400),
        dropout: float = 0.2,
        l2_regularization: float = 5e-7,
        numeric_fields: Optional[Sequence[str]] = None,
        sparse_embedding_l2: bool = False,
        **kwargs,
    ):
        sets = num_embedding_sets
        fields, numeric, inputs, emb = self._embedded_inputs(fields, numeric_fields, embedding_dim, sets)
        num_fields = emb.shape[2]
        cin = CompressedInteraction(
            cin_layer_sizes, kernel_initializer=torch_dense_initializer(), num_sets=sets, name="cin"
        )(emb)
        cin_logit = self._head(ops.mean(cin, axis=1), name="cin_logit")
        flat = ops.reshape(emb, (-1, sets, num_fields * embedding_dim))
        shared = set_mean_mlp(flat, hidden_units, dropout, sets)
        mlp_logit = self._head(shared, name="mlp_logit")
        logit = keras.layers.Add(name="logit")([cin_logit, mlp_logit])
        super().__init__(
            inputs,
            logit,
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
        self.cin_layer_sizes = [int(s) for s in cin_layer_sizes]

    def get_config(self):
        return {
            **super().get_config(),
            "cin_layer_sizes": self.cin_layer_sizes,
        }
