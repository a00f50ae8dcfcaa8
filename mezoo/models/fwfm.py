"""FwFM: the shallow field-weighted FM (no MLP), the model BARS benchmarks as FwFM."""

from typing import Sequence

import keras
from keras import ops

from mezoo.fields import field_lengths, field_poolings
from mezoo.layers import InnerProductInteraction, MultiEmbedding
from mezoo.models.ctr_model import CTRModel
from mezoo.models.registry import register


@register("fwfm")
class FwFM(CTRModel):
    """Field-weighted FM (Pan et al., WWW 2018), as FuxiCTR and BARS run it.

    `logit = b + sum_{i<j} r_ij <e_i, e_j> + sum_i <e_i, v_i>`: one learned weight per field
    pair (a linear layer over the pairs' inner products, with the bias), and the field-and-value
    linear vectors `v` ("FeLV": a second table of the embeddings' width, `embedding_dim` wide).
    There is no MLP: the paper's NFwFM (`nfwfm`) is this interaction followed by one. On
    Frappe_x1 (width 10) it has FuxiCTR's parameter count, 107,826.

    With M embedding sets each set has its own pair weights and the plain mean over sets of the
    pair terms is taken; the linear part dots `v` with the mean of the sets' embeddings. Numeric
    fields take part in the pairs only. With `sparse_embedding_l2` the rows of both tables are
    the batch's. Arguments: `CTRModel`'s and

    Args:
        hidden_units: must be empty: the model has no MLP (recipes built over a deep base set `[]`).
        dropout: must be 0: the model has no dropout.

    Example:
    >>> import numpy as np
    >>> model = FwFM([("user", 100), ("item", 50), ("hour", 24)])
    >>> tuple(model({"ids": np.array([[1, 2, 3]])}).shape)
    (1, 1)
    """

    hidden_units: Sequence[int] = ()
    dropout: float = 0.0

    def trunk(self, inputs, embeddings):
        if self.hidden_units or self.dropout:
            raise ValueError(
                f"fwfm has no MLP and no dropout: hidden_units must be [] and dropout 0, got {self.hidden_units}, "
                f"{self.dropout} (the FwFM with an MLP is nfwfm)"
            )
        sets = self.num_embedding_sets
        pairs = InnerProductInteraction(name="pairs")(embeddings)  # (batch, M, P)
        # PyTorch's Linear initialisation (FuxiCTR's): U(+-1/sqrt(fan_in)), fan_in the number of pairs
        bound = 1.0 / float(pairs.shape[-1]) ** 0.5
        weighted = keras.layers.EinsumDense(
            "bmp,mp->bm",
            output_shape=(sets,),
            bias_axes="m",
            kernel_initializer=keras.initializers.RandomUniform(-bound, bound),
            bias_initializer=keras.initializers.RandomUniform(-bound, bound),
            name="pair_weights",
        )(pairs)
        vectors = MultiEmbedding(
            [f[1] for f in self.fields],
            self.embedding_dim,
            1,
            field_lengths=field_lengths(self.fields),
            poolings=field_poolings(self.fields),
            name="linear_vectors",
        )(inputs["ids"])  # a multi-valued field's v: the pooled vectors of its ids
        categorical = ops.mean(embeddings, axis=1)[:, : len(self.fields)]
        linear = ops.sum(categorical * vectors[:, 0], axis=(1, 2))  # sum_i <mean_m e_i^(m), v_i>
        return keras.layers.Add(name="logit")([ops.mean(weighted, axis=1, keepdims=True), linear[:, None]])

    @property
    def row_tables(self) -> list:
        return [self.multi_embedding.embeddings, self.get_layer("linear_vectors").embeddings]
