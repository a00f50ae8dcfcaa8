"""AutoInt+: self-attention over fields plus an MLP, logits summed; single- or multi-embedding."""

from typing import Optional

import keras
from keras import ops

from mezoo.layers import SelfAttentionInteraction
from mezoo.models.mlp import MLPModel, set_mean_mlp
from mezoo.models.registry import register


@register("autoint_plus")
class AutoIntPlus(MLPModel):
    """AutoInt+: stacked multi-head self-attention over fields, plus an MLP (AutoInt paper §5).

    SE: `num_attention_layers` interacting layers (ReLU, residual, unscaled scores, as
    AutoInt) -> flatten -> Dense(1), plus flatten -> Blk(400) -> Blk(400) -> Dense(1); the
    logits are summed. ME with M sets: each set has its own attention stack; the flattened
    attention outputs are averaged over sets -> shared Dense(1) (as xDeepFM's CIN features);
    the MLP is per set Blk(400), mean over sets, shared Blk(400) -> Dense(1); logits summed.
    Defaults follow AutoInt: 3 layers of 2 heads of width 32. Arguments: `CTRModel`'s,
    `MLPModel`'s and

    Args:
        num_attention_layers: stacked self-attention layers per set.
        num_heads: heads per attention layer.
        head_dim: width of each head (None: the embedding width).

    Example:
    >>> import numpy as np
    >>> model = AutoIntPlus([("user", 100), ("item", 50), ("hour", 24)], num_embedding_sets=4)
    >>> tuple(model({"ids": np.array([[1, 2, 3]])}).shape)
    (1, 1)
    """

    num_attention_layers: int = 3
    num_heads: int = 2
    head_dim: Optional[int] = 32

    def trunk(self, inputs, embeddings):
        sets, num_fields = self.num_embedding_sets, embeddings.shape[2]
        attended = embeddings
        for i in range(self.num_attention_layers):
            attended = SelfAttentionInteraction(
                self.num_heads, self.head_dim, use_residual=True, use_scale=False, num_sets=sets, name=f"attention_{i}"
            )(attended)
        attended = ops.reshape(attended, (-1, sets, num_fields * attended.shape[-1]))
        attention_logit = self._head(ops.mean(attended, axis=1), name="attention_logit")
        flat = ops.reshape(embeddings, (-1, sets, num_fields * self.embedding_dim))
        mlp_logit = self._head(set_mean_mlp(flat, self.hidden_units, self.dropout, sets), name="mlp_logit")
        return keras.layers.Add(name="logit")([attention_logit, mlp_logit])
