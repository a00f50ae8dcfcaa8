"""DCNv2: full-rank cross network then MLP, single- or multi-embedding (and ME-SI)."""

from typing import Optional

from keras import ops

from mezoo.layers import CrossNet
from mezoo.models.ctr_model import scale_loss_for_distribution
from mezoo.models.mlp import MLPModel, mlp_blocks, set_mean_mlp
from mezoo.models.registry import register


@register("dcnv2")
class DCNv2(MLPModel):
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

    Arguments: `CTRModel`'s, `MLPModel`'s and

    Args:
        num_cross_layers: cross layers per set.
        projection_dim: low-rank cross kernels (None = full rank, the paper's).
        structure: "stacked" (cross net then MLP, the paper's) or "parallel".
        shared_interaction: the paper's ME-SI ablation: one interaction module shared by all sets.
        orthogonal_regularization: c of the regularised-DCNv2 ablation (0 = plain DCNv2).

    Example:
    >>> import numpy as np
    >>> model = DCNv2([("user", 100), ("item", 50)], num_embedding_sets=4)
    >>> tuple(model({"ids": np.array([[1, 2]])}).shape)
    (1, 1)
    """

    num_cross_layers: int = 4
    projection_dim: Optional[int] = None
    structure: str = "stacked"
    shared_interaction: bool = False
    orthogonal_regularization: float = 0.0

    def trunk(self, inputs, embeddings):
        sets, hidden_units, dropout = self.num_embedding_sets, self.hidden_units, self.dropout
        num_fields = embeddings.shape[2]
        width = num_fields * self.embedding_dim
        flat = ops.reshape(embeddings, (-1, sets, width))
        if self.structure not in ("stacked", "parallel") or (self.structure == "parallel" and not hidden_units):
            raise ValueError(
                f"structure must be 'stacked' or 'parallel' (which needs hidden_units), got {self.structure!r}"
            )
        if self.orthogonal_regularization < 0 or (self.orthogonal_regularization and self.projection_dim is not None):
            raise ValueError("orthogonal_regularization must be >= 0 and needs full-rank kernels (projection_dim=None)")
        field_blocks = num_fields if self.orthogonal_regularization else None
        if self.shared_interaction:
            cross = CrossNet(
                self.num_cross_layers, projection_dim=self.projection_dim, field_blocks=field_blocks, name="cross_net"
            )
            crossed = ops.reshape(cross(ops.reshape(flat, (-1, width))), (-1, sets, width))
        else:
            cross = CrossNet(
                self.num_cross_layers,
                projection_dim=self.projection_dim,
                field_blocks=field_blocks,
                num_sets=sets,
                name="cross_net",
            )
            crossed = cross(flat)
        if self.structure == "stacked" and self.shared_interaction:
            # The paper's ME-SI (`MultiESingleIDCNv2`): the whole per-set interaction module, cross
            # net and first block, is one module applied to every set; then the mean, then the head.
            units = hidden_units[0] if hidden_units else width
            per_set = mlp_blocks(ops.reshape(crossed, (-1, width)), hidden_units[:1], dropout, prefix="set_mlp")
            mean = ops.mean(ops.reshape(per_set, (-1, sets, units)), axis=1)
            shared = mlp_blocks(mean, hidden_units[1:], dropout, prefix="mlp")
        elif self.structure == "stacked":
            shared = set_mean_mlp(crossed, hidden_units, dropout, sets)
        else:
            deep = set_mean_mlp(flat, hidden_units, dropout, sets, prefix="parallel_")
            shared = ops.concatenate([ops.mean(crossed, axis=1), deep], axis=-1)
        return self._head(shared)

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
