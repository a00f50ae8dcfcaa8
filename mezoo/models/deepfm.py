"""DeepFM: first-order term + FM term + MLP logit, single- or multi-embedding."""

from typing import Optional, Sequence

import keras
from keras import ops

from mezoo.layers import FMInteraction
from mezoo.models.ctr_model import CTRModel, set_mean_mlp
from mezoo.models.first_order import first_order_logit
from mezoo.models.registry import register


@register("deepfm")
class DeepFM(CTRModel):
    """DeepFM: `logit = sum_i w_i + sum_{i<j} <e_i, e_j> + MLP(flattened embeddings)`.

    SE: a `FirstOrderTerm` (one weight per id and per numeric field; no bias of its own,
    the MLP head has one), the FM term on the embeddings, and flatten -> Blk(400) ->
    Blk(400) -> Dense(1); the three logits are summed. ME with M sets: the FM term per set,
    plain mean over sets (FM has no weights, so this is the whole ME FM part); per set,
    flatten -> Blk(400); mean over sets; shared Blk(400) -> Dense(1). The first-order term
    has no sets: it is linear in its weights, so ME would be degenerate for it.

    Args:
        fields: a FeatureSpec or a list of `(name, vocab_size)` pairs (`(name, vocab_size, max_len,
            pooling)` for a multi-valued field).
        num_embedding_sets: M (1 = single embedding).
        embedding_dim: width of one set.
        hidden_units: MLP widths; the first is per set, the rest shared.
        dropout: dropout of every block.
        l2_regularization: coupled L2 on every weight (see `CTRModel`).
        numeric_fields: names of numeric fields, fed as `"dense"`; default: a FeatureSpec's.
        sparse_embedding_l2: fast mode's L2 on the batch's embedding rows only (see `CTRModel`;
            the 1-wide first-order table still decays in full).

    Example:
    >>> import numpy as np
    >>> model = DeepFM([("user", 100), ("item", 50), ("hour", 24)], num_embedding_sets=4)
    >>> tuple(model({"ids": np.array([[1, 2, 3]])}).shape)
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
        num_fields = emb.shape[2]
        first_order = first_order_logit(inputs, fields, numeric, use_bias=False)
        fm_logit = ops.mean(FMInteraction(name="fm")(emb), axis=1)
        flat = ops.reshape(emb, (-1, sets, num_fields * embedding_dim))
        mlp_logit = self._head(set_mean_mlp(flat, hidden_units, dropout, sets), name="mlp_logit")
        logit = keras.layers.Add(name="logit")([first_order, fm_logit, mlp_logit])
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
