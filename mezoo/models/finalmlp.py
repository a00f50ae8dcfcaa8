"""FinalMLP: two MLP streams fused bilinearly, single- or multi-embedding."""

from typing import Optional, Sequence

from keras import ops

from mezoo.initializers import FanInUniform
from mezoo.layers import BilinearFusion, FeatureGating
from mezoo.models.ctr_model import torch_dense_initializer
from mezoo.models.mlp import MLPModel, set_mean_mlp
from mezoo.models.registry import register


@register("finalmlp")
class FinalMLP(MLPModel):
    """The paper's FinalMLP (docs/method.md §3).

    SE: two MLP streams on the flattened embeddings, each Blk(400) -> Blk(400), fused to the
    logit by `BilinearFusion`: `w_1 h_1 + w_2 h_2 + sum_heads h_1^T W_12 h_2 + b`, with
    `W_12` starting at zero as in the paper's code (so the model starts as the sum of two
    linear stream logits). FinalMLP's feature gating is off by default
    (`feature_gating=True` puts a `FeatureGating` with a learned context in front of each
    stream).

    ME with M sets: each stream is the paper's ME trunk: per set, Blk(400) (after that
    set's own gate, when gating is on); plain mean over sets; the rest of the stream shared
    (Blk(400)). The fusion is shared and sees the two averaged streams. So per set there is
    one block per stream, and each stream's shared part has one block fewer than in SE,
    the same split the paper uses for every family.

    Arguments: `CTRModel`'s, `MLPModel`'s (`hidden_units` are stream 1's widths) and

    Args:
        stream2_hidden_units: stream 2's widths (None: the same as stream 1's).
        num_heads: heads of the bilinear fusion; must divide both streams' last widths.
        feature_gating: put FinalMLP's feature gate in front of each stream.
        gate_hidden_units: hidden widths of each gate's MLP.

    Example:
    >>> import numpy as np
    >>> model = FinalMLP([("user", 100), ("item", 50), ("hour", 24)], num_embedding_sets=4)
    >>> tuple(model({"ids": np.array([[1, 2, 3]])}).shape)
    (1, 1)
    """

    stream2_hidden_units: Optional[Sequence[int]] = None
    num_heads: int = 1
    feature_gating: bool = False
    gate_hidden_units: Sequence[int] = (64,)

    def trunk(self, inputs, embeddings):
        sets = self.num_embedding_sets
        stream2_units = self.hidden_units if self.stream2_hidden_units is None else self.stream2_hidden_units
        if not self.hidden_units or not stream2_units:
            raise ValueError("FinalMLP needs at least one hidden width in each stream")
        flat = ops.reshape(embeddings, (-1, sets, embeddings.shape[2] * self.embedding_dim))
        streams = []
        for k, units in ((1, self.hidden_units), (2, stream2_units)):
            x = flat
            if self.feature_gating:
                x = FeatureGating(
                    self.gate_hidden_units,
                    context_dim=self.embedding_dim,
                    kernel_initializer=torch_dense_initializer(),
                    num_sets=sets,
                    name=f"gate_{k}",
                )(x)
            streams.append(set_mean_mlp(x, units, self.dropout, sets, prefix=f"stream{k}_"))
        return BilinearFusion(
            output_dim=1,
            num_heads=self.num_heads,
            kernel_initializer=torch_dense_initializer(),
            bilinear_initializer="zeros",
            bias_initializer=FanInUniform(streams[0].shape[-1]),
            name="logit",
        )(*streams)
