"""FwFM: the shallow field-weighted FM (no MLP), the model BARS benchmarks as FwFM."""

from typing import Optional, Sequence

import keras
from keras import ops

from mezoo.layers import InnerProductInteraction, MultiEmbedding
from mezoo.models.ctr_model import CTRModel, field_lengths, field_poolings
from mezoo.models.registry import register


@register("fwfm")
class FwFM(CTRModel):
    """Field-weighted FM (Pan et al., WWW 2018), as FuxiCTR and BARS run it.

    `logit = b + sum_{i<j} r_ij <e_i, e_j> + sum_i <e_i, v_i>`: one learned weight per field
    pair (a linear layer over the pairs' inner products, with the bias), and the field-and-value
    linear vectors `v` ("FeLV": a second table of the embeddings' width). There is no MLP: the
    paper's NFwFM (`nfwfm`) is this interaction followed by one. On Frappe_x1 (width 10) it has
    FuxiCTR's parameter count, 107,826.

    With M embedding sets each set has its own pair weights and the plain mean over sets of the
    pair terms is taken; the linear part dots `v` with the mean of the sets' embeddings.

    Args:
        fields: a FeatureSpec or a list of `(name, vocab_size)` pairs (`(name, vocab_size, max_len,
            pooling)` for a multi-valued field).
        num_embedding_sets: M (1 = single embedding).
        embedding_dim: width of one set (and of the linear vectors).
        hidden_units: must be empty: the model has no MLP (recipes built over a deep base set `[]`).
        dropout: must be 0: the model has no dropout.
        l2_regularization: coupled L2 on every weight (see `CTRModel`).
        numeric_fields: names of numeric fields, fed as `"dense"` (they take part in the pairs).
        sparse_embedding_l2: fast mode's L2 on the batch's rows only (see `CTRModel`).

    Example:
    >>> import numpy as np
    >>> model = FwFM([("user", 100), ("item", 50), ("hour", 24)])
    >>> tuple(model({"ids": np.array([[1, 2, 3]])}).shape)
    (1, 1)
    """

    def __init__(
        self,
        fields,
        num_embedding_sets: int = 1,
        embedding_dim: int = 10,
        hidden_units: Sequence[int] = (),
        dropout: float = 0.0,
        l2_regularization: float = 5e-7,
        numeric_fields: Optional[Sequence[str]] = None,
        sparse_embedding_l2: bool = False,
        **kwargs,
    ):
        if list(hidden_units) or float(dropout):
            raise ValueError(
                f"fwfm has no MLP and no dropout: hidden_units must be [] and dropout 0, got {list(hidden_units)}, "
                f"{dropout} (the FwFM with an MLP is nfwfm)"
            )
        sets = int(num_embedding_sets)
        fields, numeric, inputs, emb = self._embedded_inputs(fields, numeric_fields, embedding_dim, sets)
        pairs = InnerProductInteraction(name="pairs")(emb)  # (batch, M, P)
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
            [f[1] for f in fields],
            embedding_dim,
            1,
            field_lengths=field_lengths(fields),
            poolings=field_poolings(fields),
            name="linear_vectors",
        )(inputs["ids"])  # a multi-valued field's v: the pooled vectors of its ids
        categorical = ops.mean(emb, axis=1)[:, : len(fields)]  # numeric fields take part in the pairs only
        linear = ops.sum(categorical * vectors[:, 0], axis=(1, 2))  # sum_i <mean_m e_i^(m), v_i>
        logit = keras.layers.Add(name="logit")([ops.mean(weighted, axis=1, keepdims=True), linear[:, None]])
        super().__init__(
            inputs,
            logit,
            fields,
            sets,
            embedding_dim,
            l2_regularization,
            numeric_fields=numeric,
            sparse_embedding_l2=sparse_embedding_l2,
            **kwargs,
        )

    @property
    def row_tables(self) -> list:
        return [self.multi_embedding.embeddings, self.get_layer("linear_vectors").embeddings]

    def get_config(self):
        config = super().get_config()
        config["hidden_units"], config["dropout"] = [], 0.0
        return config
