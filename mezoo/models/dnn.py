"""DNN: an MLP over the flattened embeddings, single- or multi-embedding."""

from typing import Optional, Sequence

from keras import ops

from mezoo.models.ctr_model import CTRModel, set_mean_mlp
from mezoo.models.registry import register


@register("dnn")
class DNN(CTRModel):
    """The paper's DNN (docs/method.md §3).

    SE: flatten -> Blk(400) -> Blk(400) -> Dense(1). ME with M sets: per set, flatten ->
    Blk(400); plain mean over sets; shared Blk(400) -> Dense(1). With M=1 both are the same.

    Args:
        fields: a FeatureSpec or a list of `(name, vocab_size)` pairs (`(name, vocab_size, max_len,
            pooling)` for a multi-valued field).
        num_embedding_sets: M (1 = single embedding).
        embedding_dim: width of one set.
        hidden_units: MLP widths; the first is per set, the rest shared.
        dropout: dropout of every block.
        l2_regularization: coupled L2 on every weight (see `CTRModel`).
        numeric_fields: names of numeric fields, fed as `"dense"`; default: a FeatureSpec's.
        sparse_embedding_l2: fast mode's L2 on the batch's embedding rows only (see `CTRModel`).

    Example:
    >>> import numpy as np
    >>> model = DNN([("user", 100), ("item", 50)], num_embedding_sets=4)
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
        fields, numeric, inputs, emb = self._embedded_inputs(fields, numeric_fields, embedding_dim, num_embedding_sets)
        num_fields = emb.shape[2]
        flat = ops.reshape(emb, (-1, num_embedding_sets, num_fields * embedding_dim))
        shared = set_mean_mlp(flat, hidden_units, dropout, num_embedding_sets)
        super().__init__(
            inputs,
            self._head(shared),
            fields,
            num_embedding_sets,
            embedding_dim,
            l2_regularization,
            hidden_units=hidden_units,
            dropout=dropout,
            numeric_fields=numeric,
            sparse_embedding_l2=sparse_embedding_l2,
            **kwargs,
        )
