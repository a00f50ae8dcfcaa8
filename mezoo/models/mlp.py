"""The MLP of a family: the paper's blocks, its ME trunk, and the base of families that have one."""

from typing import Sequence

from keras import ops

from mezoo.initializers import FanInUniform
from mezoo.layers import MLPBlock
from mezoo.models.ctr_model import CTRModel, torch_dense_initializer


def mlp_blocks(x, units: Sequence[int], dropout: float, num_sets=None, prefix="mlp"):
    """`Blk(n)` for each width: PyTorch-initialised Dense -> BatchNorm -> ReLU -> Dropout."""
    for i, width in enumerate(units):
        x = MLPBlock(
            width,
            dropout=dropout,
            kernel_initializer=torch_dense_initializer(),
            bias_initializer=FanInUniform(x.shape[-1]),
            num_sets=num_sets,
            name=f"{prefix}_{i}",
        )(x)
    return x


def set_mean_mlp(features, hidden_units: Sequence[int], dropout: float, num_sets: int, prefix: str = ""):
    """The paper's ME trunk: first block per set, plain mean over sets, the rest shared.

    Blocks are named `{prefix}set_mlp_0` and `{prefix}mlp_i`. With no hidden units this is the
    plain mean of `features` over sets.
    """
    per_set = mlp_blocks(features, hidden_units[:1], dropout, num_sets=num_sets, prefix=f"{prefix}set_mlp")
    return mlp_blocks(ops.mean(per_set, axis=1), hidden_units[1:], dropout, prefix=f"{prefix}mlp")


class MLPModel(CTRModel):
    """A family whose trunk has an MLP (every family but FM and FwFM).

    It takes `CTRModel`'s arguments and these two, with their defaults:

    Args:
        hidden_units: MLP widths; the first is per set, the rest shared (`set_mean_mlp`).
        dropout: dropout of every MLP block.
    """

    hidden_units: Sequence[int] = (400, 400)
    dropout: float = 0.2
