"""Reusable Keras 3 layers for multi-embedding CTR models (keras.ops only: any backend).

Every layer with weights takes `num_sets`: None for one embedding set, or M to hold M
independent copies of its weights (leading axis M) and run them as one batched computation.
"""

from mezoo.layers.bilinear_fusion import BilinearFusion
from mezoo.layers.compressed_interaction import CompressedInteraction
from mezoo.layers.cross import Cross
from mezoo.layers.cross_net import CrossNet
from mezoo.layers.feature_gating import FeatureGating
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
    "FwFMInteraction",
    "InnerProductInteraction",
    "MLPBlock",
    "MultiEmbedding",
    "NumericEmbedding",
    "SelfAttentionInteraction",
]
