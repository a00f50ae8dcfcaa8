"""AutoInt+: self-attention over fields plus an MLP, logits summed; single- or multi-embedding."""

from typing import Optional, Sequence

import keras
from keras import ops

from mezoo.layers import SelfAttentionInteraction
from mezoo.models.ctr_model import CTRModel, set_mean_mlp
from mezoo.models.registry import register


@register("autoint_plus")
class AutoIntPlus(CTRModel):
    """AutoInt+: stacked multi-head self-attention over fields, plus an MLP (AutoInt paper §5).

    SE: `num_attention_layers` interacting layers (ReLU, residual, unscaled scores, as
    AutoInt) -> flatten -> Dense(1), plus flatten -> Blk(400) -> Blk(400) -> Dense(1); the
    logits are summed. ME with M sets: each set has its own attention stack; the flattened
    attention outputs are averaged over sets -> shared Dense(1) (as xDeepFM's CIN features);
    the MLP is per set Blk(400), mean over sets, shared Blk(400) -> Dense(1); logits summed.
    Defaults follow AutoInt: 3 layers of 2 heads of width 32.

    Args:
        fields: a FeatureSpec or a list of `(name, vocab_size)` pairs (`(name, vocab_size, max_len,
            pooling)` for a multi-valued field).
        num_embedding_sets: M (1 = single embedding).
        embedding_dim: width of one set.
        num_attention_layers: stacked self-attention layers per set.
        num_heads: heads per attention layer.
        head_dim: width of each head (None: the embedding width).
        hidden_units: MLP widths; the first is per set, the rest shared.
        dropout: dropout of every block.
        l2_regularization: coupled L2 on every weight (see `CTRModel`).
        numeric_fields: names of numeric fields, fed as `"dense"`; default: a FeatureSpec's.
        sparse_embedding_l2: fast mode's L2 on the batch's embedding rows only (see `CTRModel`).

    Example:
    >>> import numpy as np
    >>> model = AutoIntPlus([("user", 100), ("item", 50), ("hour", 24)], num_embedding_sets=4)
    >>> tuple(model({"ids": np.array([[1, 2, 3]])}).shape)
    (1, 1)
    """

    def __init__(
        self,
        fields,
        num_embedding_sets: int = 1,
        embedding_dim: int = 10,
        num_attention_layers: int = 3,
        num_heads: int = 2,
        head_dim: Optional[int] = 32,
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
        attended = emb
        for i in range(num_attention_layers):
            attended = SelfAttentionInteraction(
                num_heads, head_dim, use_residual=True, use_scale=False, num_sets=sets, name=f"attention_{i}"
            )(attended)
        attended = ops.reshape(attended, (-1, sets, num_fields * attended.shape[-1]))
        attention_logit = self._head(ops.mean(attended, axis=1), name="attention_logit")
        flat = ops.reshape(emb, (-1, sets, num_fields * embedding_dim))
        mlp_logit = self._head(set_mean_mlp(flat, hidden_units, dropout, sets), name="mlp_logit")
        logit = keras.layers.Add(name="logit")([attention_logit, mlp_logit])
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
        self.num_attention_layers = int(num_attention_layers)
        self.num_heads = int(num_heads)
        self.head_dim = None if head_dim is None else int(head_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "num_attention_layers": self.num_attention_layers,
            "num_heads": self.num_heads,
            "head_dim": self.head_dim,
        }
