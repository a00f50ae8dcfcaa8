"""FM: the factorization machine (first-order + pairwise term), single- or multi-embedding."""

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
    a bias); the second-order part is `FMInteraction` on the embeddings. There is no MLP, so
    FM takes `CTRModel`'s arguments only (no `hidden_units` or `dropout`).

    Multi-embedding is degenerate for FM (docs/method.md §2: FM is linear, hence degenerate). With
    M sets the model uses the plain mean of the per-set FM terms,
    `(1/M) sum_m sum_{i<j} <e_i^(m), e_j^(m)>`, which is exactly one FM on the concatenated
    embeddings `[e_i^(1) .. e_i^(M)] / sqrt(M)`: the same function class as a single
    embedding of width M*d, so ME gains nothing here. `num_embedding_sets` is accepted so FM
    runs in the same grids as the other families.

    Example:
    >>> import numpy as np
    >>> model = FM([("user", 100), ("item", 50)], num_embedding_sets=2)
    >>> tuple(model({"ids": np.array([[1, 2]])}).shape)
    (1, 1)
    """

    def trunk(self, inputs, embeddings):
        second_order = ops.mean(FMInteraction(name="fm")(embeddings), axis=1)  # (batch, M, 1) -> (batch, 1)
        first_order = first_order_logit(inputs, self.fields, self.numeric_fields)
        return keras.layers.Add(name="logit")([first_order, second_order])
