"""DeepFM: first-order term + FM term + MLP logit, single- or multi-embedding."""

import keras
from keras import ops

from mezoo.layers import FMInteraction
from mezoo.models.first_order import first_order_logit
from mezoo.models.mlp import MLPModel, set_mean_mlp
from mezoo.models.registry import register


@register("deepfm")
class DeepFM(MLPModel):
    """DeepFM: `logit = sum_i w_i + sum_{i<j} <e_i, e_j> + MLP(flattened embeddings)`.

    SE: a `FirstOrderTerm` (one weight per id and per numeric field; no bias of its own,
    the MLP head has one), the FM term on the embeddings, and flatten -> Blk(400) ->
    Blk(400) -> Dense(1); the three logits are summed. ME with M sets: the FM term per set,
    plain mean over sets (FM has no weights, so this is the whole ME FM part); per set,
    flatten -> Blk(400); mean over sets; shared Blk(400) -> Dense(1). The first-order term
    has no sets: it is linear in its weights, so ME would be degenerate for it.
    Arguments: `CTRModel`'s and `MLPModel`'s (`hidden_units`, `dropout`); no others.

    Example:
    >>> import numpy as np
    >>> model = DeepFM([("user", 100), ("item", 50), ("hour", 24)], num_embedding_sets=4)
    >>> tuple(model({"ids": np.array([[1, 2, 3]])}).shape)
    (1, 1)
    """

    def trunk(self, inputs, embeddings):
        sets = self.num_embedding_sets
        first_order = first_order_logit(inputs, self.fields, self.numeric_fields, use_bias=False)
        fm_logit = ops.mean(FMInteraction(name="fm")(embeddings), axis=1)
        flat = ops.reshape(embeddings, (-1, sets, embeddings.shape[2] * self.embedding_dim))
        mlp_logit = self._head(set_mean_mlp(flat, self.hidden_units, self.dropout, sets), name="mlp_logit")
        return keras.layers.Add(name="logit")([first_order, fm_logit, mlp_logit])
