"""FM: the factorization machine (first-order + pairwise term), single- or multi-embedding."""

from typing import Optional, Sequence

import keras
from keras import ops

from mezoo.layers import FMInteraction
from mezoo.models.ctr_model import CTRModel
from mezoo.models.first_order import first_order_logit
from mezoo.models.registry import register


@register("fm")
class FM(CTRModel):
    """Factorization machine: `logit = b + sum_i w_i + sum_{i<j} <e_i, e_j>`.

    The first-order part is a `FirstOrderTerm` (one weight per id and per numeric field, and
    a bias); the second-order part is `FMInteraction` on the embeddings. There is no MLP
    (`hidden_units` is empty and not a hyperparameter).

    Multi-embedding is degenerate for FM (docs/method.md §2: FM is linear, hence degenerate). With
    M sets the model uses the plain mean of the per-set FM terms,
    `(1/M) sum_m sum_{i<j} <e_i^(m), e_j^(m)>`, which is exactly one FM on the concatenated
    embeddings `[e_i^(1) .. e_i^(M)] / sqrt(M)`: the same function class as a single
    embedding of width M*d, so ME gains nothing here. `num_embedding_sets` is accepted so FM
    runs in the same grids as the other families.

    Args:
        fields: a FeatureSpec or a list of `(name, vocab_size)` pairs (`(name, vocab_size, max_len,
            pooling)` for a multi-valued field).
        num_embedding_sets: M (1 = single embedding).
        embedding_dim: width of one set.
        l2_regularization: coupled L2 on every weight (see `CTRModel`).
        numeric_fields: names of numeric fields, fed as `"dense"`; default: a FeatureSpec's.
        sparse_embedding_l2: fast mode's L2 on the batch's embedding rows only (see `CTRModel`;
            the 1-wide first-order table still decays in full).

    Example:
    >>> import numpy as np
    >>> model = FM([("user", 100), ("item", 50)], num_embedding_sets=2)
    >>> tuple(model({"ids": np.array([[1, 2]])}).shape)
    (1, 1)
    """

    def __init__(
        self,
        fields,
        num_embedding_sets: int = 1,
        embedding_dim: int = 10,
        l2_regularization: float = 5e-7,
        numeric_fields: Optional[Sequence[str]] = None,
        sparse_embedding_l2: bool = False,
        **kwargs,
    ):
        fields, numeric, inputs, emb = self._embedded_inputs(fields, numeric_fields, embedding_dim, num_embedding_sets)
        second_order = ops.mean(FMInteraction(name="fm")(emb), axis=1)  # (batch, M, 1) -> (batch, 1)
        first_order = first_order_logit(inputs, fields, numeric)
        logit = keras.layers.Add(name="logit")([first_order, second_order])
        super().__init__(
            inputs,
            logit,
            fields,
            num_embedding_sets,
            embedding_dim,
            l2_regularization,
            numeric_fields=numeric,
            sparse_embedding_l2=sparse_embedding_l2,
            **kwargs,
        )
