"""FinalMLP: two MLP streams fused bilinearly, single- or multi-embedding."""

from typing import Optional, Sequence

from keras import ops

from mezoo.initializers import FanInUniform
from mezoo.layers import BilinearFusion, FeatureGating
from mezoo.models.ctr_model import CTRModel, set_mean_mlp, torch_dense_initializer
from mezoo.models.registry import register


@register("finalmlp")
class FinalMLP(CTRModel):
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

    Args:
        fields: a FeatureSpec or a list of `(name, vocab_size)` pairs (`(name, vocab_size, max_len,
            pooling)` for a multi-valued field).
        num_embedding_sets: M (1 = single embedding).
        embedding_dim: width of one set.
        hidden_units: stream 1's widths; the first is per set, the rest shared.
        stream2_hidden_units: stream 2's widths (None: the same as stream 1's).
        num_heads: heads of the bilinear fusion; must divide both streams' last widths.
        feature_gating: put FinalMLP's feature gate in front of each stream.
        gate_hidden_units: hidden widths of each gate's MLP.
        dropout: dropout of every block.
        l2_regularization: coupled L2 on every weight (see `CTRModel`).
        numeric_fields: names of numeric fields, fed as `"dense"`; default: a FeatureSpec's.
        sparse_embedding_l2: fast mode's L2 on the batch's embedding rows only (see `CTRModel`).

    Example:
    >>> import numpy as np
    >>> model = FinalMLP([("user", 100), ("item", 50), ("hour", 24)], num_embedding_sets=4)
    >>> tuple(model({"ids": np.array([[1, 2, 3]])}).shape)
    (1, 1)
    """

    def __init__(
        self,
        fields,
        num_embedding_sets: int = 1,
        embedding_dim: int = 10,
        hidden_units: Sequence[int] = (400, 400),
        stream2_hidden_units: Optional[Sequence[int]] = None,
        num_heads: int = 1,
        feature_gating: bool = False,
        gate_hidden_units: Sequence[int] = (64,),
        dropout: float = 0.2,
        l2_regularization: float = 5e-7,
        numeric_fields: Optional[Sequence[str]] = None,
        sparse_embedding_l2: bool = False,
        **kwargs,
    ):
        sets = num_embedding_sets
        stream2_units = [int(u) for u in (hidden_units if stream2_hidden_units is None else stream2_hidden_units)]
        if not hidden_units or not stream2_units:
            raise ValueError("FinalMLP needs at least one hidden width in each stream")
        fields, numeric, inputs, emb = self._embedded_inputs(fields, numeric_fields, embedding_dim, sets)
        flat = ops.reshape(emb, (-1, sets, emb.shape[2] * embedding_dim))
        streams = []
        for k, units in ((1, hidden_units), (2, stream2_units)):
            x = flat
            if feature_gating:
                x = FeatureGating(
                    gate_hidden_units,
                    context_dim=embedding_dim,
                    kernel_initializer=torch_dense_initializer(),
                    num_sets=sets,
                    name=f"gate_{k}",
                )(x)
            streams.append(set_mean_mlp(x, units, dropout, sets, prefix=f"stream{k}_"))
        logit = BilinearFusion(
            output_dim=1,
            num_heads=num_heads,
            kernel_initializer=torch_dense_initializer(),
            bilinear_initializer="zeros",
            bias_initializer=FanInUniform(streams[0].shape[-1]),
            name="logit",
        )(*streams)
        super().__init__(
            inputs,
            logit,
            fields,
            sets,
            embedding_dim,
            l2_regularization,
            hidden_units=hidden_units,
            dropout=dropout,
            numeric_fields=numeric,
            sparse_embedding_l2=sparse_embedding_l2,
            **kwargs,
        )
        self.stream2_hidden_units = None if stream2_hidden_units is None else stream2_units
        self.num_heads = int(num_heads)
        self.feature_gating = bool(feature_gating)
        self.gate_hidden_units = [int(u) for u in gate_hidden_units]

    def get_config(self):
        return {
            **super().get_config(),
            "stream2_hidden_units": self.stream2_hidden_units,
            "num_heads": self.num_heads,
            "feature_gating": self.feature_gating,
            "gate_hidden_units": self.gate_hidden_units,
        }
