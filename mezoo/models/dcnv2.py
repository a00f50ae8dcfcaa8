"""DCNv2: full-rank cross network then MLP, single- or multi-embedding (and ME-SI)."""

from typing import Optional, Sequence

from keras import ops

from mezoo.layers import CrossNet
from mezoo.models.ctr_model import CTRModel, mlp_blocks, scale_loss_for_distribution, set_mean_mlp
from mezoo.models.registry import register


@register("dcnv2")
class DCNv2(CTRModel):
    """The paper's DCNv2 (docs/method.md §3), stacked form by default.

    SE: 4 cross layers `x_{l+1} = x0 * (W_l x_l + b_l) + x_l` on the flattened embeddings ->
    Blk(400) -> Blk(400) -> Dense(1). ME with M sets: per set, its own cross net -> Blk(400);
    plain mean over sets; shared Blk(400) -> Dense(1). With M=1 both are the same.

    `structure="parallel"` is DCNv2's other form (the one BARS tunes on Frappe_x1): the cross
    net and the MLP both read the embeddings, side by side, and the head reads
    `concat(mean over sets of the cross outputs, MLP)`; the MLP's first block is per set,
    then the plain mean, then the shared rest, as in the stacked ME trunk.

    ME-SI (`shared_interaction=True`, the paper's ablation): one interaction module for all
    sets. Stacked, that is the cross net and the first block (Blk(400)), applied to each set's
    embeddings in turn, then the mean and the shared head, as the paper's code
    (`MultiESingleIDCNv2`). One difference: its BatchNorm normalises every set's rows of a batch
    together (the paper's code normalises each set's pass on its own; the weights are shared in
    both). Parallel, only the cross net is shared: the MLP branch beside it is not part of the
    interaction module and keeps its per-set first block.

    Regularised DCNv2 (the paper's ablation, `orthogonal_regularization=c > 0`, the paper
    uses 1e-5): with N fields of width d, every cross layer's kernel is used as blocks
    `s_ij * W_ij` (W_ij the d x d block from field i to field j, s_ij a learned per-pair
    scale starting at 1, `Cross(field_blocks=N)`), and the training loss gains

        c * sum_{layers, sets, i, j} ||I_d - W_ij W_ij^T||_F^2

    which, written in the effective blocks V_ij = s_ij W_ij, is
    `||I_d - V_ij V_ij^T / s_ij^2||_F^2`: each block is pushed toward a scaled orthogonal
    matrix, at a scale it learns (the paper's code's formulation). With c = 0 (default)
    there are no scales and no penalty. Full-rank kernels only.

    Args:
        fields: a FeatureSpec or a list of `(name, vocab_size)` pairs (`(name, vocab_size, max_len,
            pooling)` for a multi-valued field).
        num_embedding_sets: M (1 = single embedding).
        embedding_dim: width of one set.
        num_cross_layers: cross layers per set.
        projection_dim: low-rank cross kernels (None = full rank, the paper's).
        hidden_units: MLP widths; the first is per set, the rest shared.
        dropout: dropout of every block.
        structure: "stacked" (cross net then MLP, the paper's) or "parallel".
        shared_interaction: the paper's ME-SI ablation: one interaction module shared by all sets.
        orthogonal_regularization: c of the regularised-DCNv2 ablation (0 = plain DCNv2).
        l2_regularization: coupled L2 on every weight (see `CTRModel`).
        numeric_fields: names of numeric fields, fed as `"dense"`; default: a FeatureSpec's.
        sparse_embedding_l2: fast mode's L2 on the batch's embedding rows only (see `CTRModel`).

    Example:
    >>> import numpy as np
    >>> model = DCNv2([("user", 100), ("item", 50)], num_embedding_sets=4)
    >>> tuple(model({"ids": np.array([[1, 2]])}).shape)
    (1, 1)
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
        structure: str = "stacked",
        shared_interaction: bool = False,
        orthogonal_regularization: float = 0.0,
        l2_regularization: float = 5e-7,
        numeric_fields: Optional[Sequence[str]] = None,
        sparse_embedding_l2: bool = False,
        **kwargs,
    ):
        fields, numeric, inputs, emb = self._embedded_inputs(fields, numeric_fields, embedding_dim, num_embedding_sets)
        num_fields = emb.shape[2]
        width = num_fields * embedding_dim
        flat = ops.reshape(emb, (-1, num_embedding_sets, width))
        if structure not in ("stacked", "parallel") or (structure == "parallel" and not hidden_units):
            raise ValueError(f"structure must be 'stacked' or 'parallel' (which needs hidden_units), got {structure!r}")
        if orthogonal_regularization < 0 or (orthogonal_regularization and projection_dim is not None):
            raise ValueError("orthogonal_regularization must be >= 0 and needs full-rank kernels (projection_dim=None)")
        field_blocks = num_fields if orthogonal_regularization else None
        if shared_interaction:
            cross = CrossNet(
                num_cross_layers, projection_dim=projection_dim, field_blocks=field_blocks, name="cross_net"
            )
            crossed = ops.reshape(cross(ops.reshape(flat, (-1, width))), (-1, num_embedding_sets, width))
        else:
            cross = CrossNet(
                num_cross_layers,
                projection_dim=projection_dim,
                field_blocks=field_blocks,
                num_sets=num_embedding_sets,
                name="cross_net",
            )
            crossed = cross(flat)
        if structure == "stacked" and shared_interaction:
            # The paper's ME-SI (`MultiESingleIDCNv2`): the whole per-set interaction module, cross
            # net and first block, is one module applied to every set; then the mean, then the head.
            units = hidden_units[0] if hidden_units else width
            per_set = mlp_blocks(ops.reshape(crossed, (-1, width)), hidden_units[:1], dropout, prefix="set_mlp")
            mean = ops.mean(ops.reshape(per_set, (-1, num_embedding_sets, units)), axis=1)
            shared = mlp_blocks(mean, hidden_units[1:], dropout, prefix="mlp")
        elif structure == "stacked":
            shared = set_mean_mlp(crossed, hidden_units, dropout, num_embedding_sets)
        else:
            deep = set_mean_mlp(flat, hidden_units, dropout, num_embedding_sets, prefix="parallel_")
            shared = ops.concatenate([ops.mean(crossed, axis=1), deep], axis=-1)
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
        self.num_cross_layers = int(num_cross_layers)
        self.structure = structure
        self.projection_dim = projection_dim
        self.shared_interaction = bool(shared_interaction)
        self.orthogonal_regularization = float(orthogonal_regularization)

    def orthogonality_penalty(self):
        """`sum ||I - W_ij W_ij^T||_F^2` over every cross layer's blocks (before the factor c)."""
        layers = self.get_layer("cross_net").cross_layers
        return ops.sum(ops.stack([layer.orthogonality_penalty() for layer in layers]))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        if self.orthogonal_regularization:
            penalty = ops.cast(self.orthogonal_regularization * self.orthogonality_penalty(), loss.dtype)
            loss = loss + scale_loss_for_distribution(penalty)
        return loss

    def get_config(self):
        return {
            **super().get_config(),
            "num_cross_layers": self.num_cross_layers,
            "structure": self.structure,
            "projection_dim": self.projection_dim,
            "shared_interaction": self.shared_interaction,
            "orthogonal_regularization": self.orthogonal_regularization,
        }
