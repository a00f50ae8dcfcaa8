"""DCNv2: full-rank cross network then MLP, single- or multi-embedding (and ME-SI)."""

from typing import Optional, Sequence

import keras
from keras import ops

from mezoo.layers import CrossNet
from mezoo.models.ctr_model import CTRModel, set_mean_mlp


@keras.saving.register_keras_serializable(package="mezoo")
class DCNv2(CTRModel):
    """The paper's DCNv2 (PAPER.md §2), stacked form.

    SE: 4 cross layers `x_{l+1} = x0 * (W_l x_l + b_l) + x_l` on the flattened embeddings ->
    Blk(400) -> Blk(400) -> Dense(1). ME with M sets: per set, its own cross net -> Blk(400);
    plain mean over sets; shared Blk(400) -> Dense(1). With M=1 both are the same.

    Args:
        fields: a FeatureSpec or a list of `(name, vocab_size)` pairs.
        num_embedding_sets: M (1 = single embedding).
        embedding_dim: width of one set.
        num_cross_layers: cross layers per set.
        projection_dim: low-rank cross kernels (None = full rank, the paper's).
        hidden_units: MLP widths; the first is per set, the rest shared.
        dropout: dropout of every block.
        shared_interaction: the paper's ME-SI ablation: one cross net shared by all sets.
        l2_regularization: coupled L2 on every weight (see `CTRModel`).
        numeric_fields: names of numeric fields, fed as `"dense"`; default: a FeatureSpec's.
        sparse_embedding_l2: fast mode's L2 on the batch's embedding rows only (see `CTRModel`).

    Example:
    >>> model = DCNv2([("user", 100), ("item", 50)], num_embedding_sets=4)
    """

    def __init__(
        self,
        fields,
        num_embedding_sets: int = 1,
        embedding_dim: int = 10,
        num_cross_layers: int = 4,
        projection_dim: Optional[int] = None,
        hidden_units: Sequence[int] = (400, 400),
        dropout: float = 0.2,
        shared_interaction: bool = False,
        l2_regularization: float = 5e-7,
        numeric_fields: Optional[Sequence[str]] = None,
        sparse_embedding_l2: bool = False,
        **kwargs,
    ):
        fields, numeric, inputs, emb = self._embedded_inputs(fields, numeric_fields, embedding_dim, num_embedding_sets)
        num_fields = emb.shape[2]
        width = num_fields * embedding_dim
        flat = ops.reshape(emb, (-1, num_embedding_sets, width))
        if shared_interaction:
            cross = CrossNet(num_cross_layers, projection_dim=projection_dim, name="cross_net")
            crossed = ops.reshape(cross(ops.reshape(flat, (-1, width))), (-1, num_embedding_sets, width))
        else:
            cross = CrossNet(
                num_cross_layers, projection_dim=projection_dim, num_sets=num_embedding_sets, name="cross_net"
            )
            crossed = cross(flat)
        shared = set_mean_mlp(crossed, hidden_units, dropout, num_embedding_sets)
        super().__init__(
            inputs, self._head(shared), fields, num_embedding_sets, embedding_dim, hidden_units, dropout, l2_regularization,
            numeric_fields=numeric, sparse_embedding_l2=sparse_embedding_l2, **kwargs,
        )
        self.num_cross_layers = int(num_cross_layers)
        self.projection_dim = projection_dim
        self.shared_interaction = bool(shared_interaction)

    def get_config(self):
        return {
            **super().get_config(),
            "num_cross_layers": self.num_cross_layers,
            "projection_dim": self.projection_dim,
            "shared_interaction": self.shared_interaction,
        }
