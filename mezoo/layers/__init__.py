"""Reusable Keras 3 layers for multi-embedding CTR models (keras.ops only: any backend).

The embedding layers (`MultiEmbedding`, `NumericEmbedding`) take `num_sets` M >= 1 (1 is a
single embedding) and always output a set axis: `(batch, M, num_fields, embedding_dim)`.
The interaction and MLP layers with weights take `num_sets`: None for inputs without a set
axis, or M to hold M independent copies of their weights (leading axis M) and run them as
one batched computation on inputs with the set axis at position 1; the weightless ones
(`FMInteraction`, `InnerProductInteraction`) accept either. `FirstOrderTerm` has no sets:
it is linear, so per-set copies averaged would be one table again.

Both layers that read ids (`MultiEmbedding`, `FirstOrderTerm`) take multi-valued fields:
`field_lengths` gives each field's columns of the `(batch, sum(field_lengths))` ids, padded
with -1, and `poolings` how each is pooled to one row (`field_pooling.py`).
"""

from mezoo.layers.bilinear_fusion import BilinearFusion
from mezoo.layers.compressed_interaction import CompressedInteraction
from mezoo.layers.cross import Cross
from mezoo.layers.cross_net import CrossNet
from mezoo.layers.feature_gating import FeatureGating
from mezoo.layers.first_order_term import FirstOrderTerm
from mezoo.layers.fm_interaction import FMInteraction
from mezoo.layers.fwfm_interaction import FwFMInteraction
from mezoo.layers.inner_product_interaction import InnerProductInteraction
from mezoo.layers.mlp_block import MLPBlock
from mezoo.layers.multi_embedding import MultiEmbedding
from mezoo.layers.numeric_embedding import NumericEmbedding
from mezoo.layers.self_attention_interaction import SelfAttentionInteraction

__all__ = [
    "BilinearFusion",
    "CompressedInteraction",
    "Cross",
    "CrossNet",
    "FMInteraction",
    "FeatureGating",
    "FirstOrderTerm",
    "FwFMInteraction",
    "InnerProductInteraction",
    "MLPBlock",
    "MultiEmbedding",
    "NumericEmbedding",
    "SelfAttentionInteraction",
]
