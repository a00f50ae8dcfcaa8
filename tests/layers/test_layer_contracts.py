"""Every public layer passes the shared contract check, with and without a set axis."""

import numpy as np
import pytest

from mezoo import layers
from tests.layer_testing import run_layer_test

rng = np.random.default_rng(0)
B, M, F, D = 4, 3, 5, 6
EMB = rng.normal(size=(B, F, D)).astype("float32")
EMB_SETS = rng.normal(size=(B, M, F, D)).astype("float32")
VEC = rng.normal(size=(B, 8)).astype("float32")
VEC_SETS = rng.normal(size=(B, M, 8)).astype("float32")
VEC2 = rng.normal(size=(B, 6)).astype("float32")
IDS = np.array([[0, 9, 3], [1, 19, 4], [9, 0, 0], [5, 7, 2]], dtype="int32")

CASES = {
    "multi_embedding": (layers.MultiEmbedding, {"vocab_sizes": [10, 20, 5], "embedding_dim": 4, "num_sets": 3}, IDS, (B, 3, 3, 4)),
    "multi_embedding_se": (layers.MultiEmbedding, {"vocab_sizes": [10, 20, 5], "embedding_dim": 4}, IDS, (B, 1, 3, 4)),
    "numeric_embedding": (layers.NumericEmbedding, {"num_fields": 8, "embedding_dim": 4, "num_sets": M}, VEC, (B, M, 8, 4)),
    "numeric_embedding_se": (layers.NumericEmbedding, {"num_fields": 8, "embedding_dim": 4}, VEC, (B, 1, 8, 4)),
    "cross": (layers.Cross, {}, (VEC, VEC), (B, 8)),
    "cross_low_rank_sets": (layers.Cross, {"projection_dim": 3, "diag_scale": 0.5, "num_sets": M}, (VEC_SETS,), (B, M, 8)),
    "cross_field_blocks_sets": (layers.Cross, {"field_blocks": 2, "num_sets": M}, (VEC_SETS,), (B, M, 8)),
    "cross_net_matrix": (layers.CrossNet, {"num_layers": 2}, VEC, (B, 8)),
    "cross_net_vector_sets": (layers.CrossNet, {"num_layers": 2, "parameterization": "vector", "num_sets": M}, VEC_SETS, (B, M, 8)),
    "fm_sum": (layers.FMInteraction, {}, EMB, (B, 1)),
    "fm_vector_sets": (layers.FMInteraction, {"reduce_sum": False}, EMB_SETS, (B, M, D)),
    "fwfm": (layers.FwFMInteraction, {}, EMB, (B, D)),
    "fwfm_sets": (layers.FwFMInteraction, {"num_sets": M}, EMB_SETS, (B, M, D)),
    "inner_product": (layers.InnerProductInteraction, {}, EMB, (B, F * (F - 1) // 2)),
    "inner_product_sets": (layers.InnerProductInteraction, {}, EMB_SETS, (B, M, F * (F - 1) // 2)),
    "cin": (layers.CompressedInteraction, {"layer_sizes": (4, 4)}, EMB, (B, 8)),
    "cin_split_sets": (layers.CompressedInteraction, {"layer_sizes": (4, 6), "split_half": True, "num_sets": M}, EMB_SETS, (B, M, 8)),
    "attention": (layers.SelfAttentionInteraction, {"num_heads": 2, "head_dim": 3}, EMB, (B, F, 6)),
    "attention_sets": (layers.SelfAttentionInteraction, {"num_heads": 2, "use_scale": True, "num_sets": M}, EMB_SETS, (B, M, F, 2 * D)),
    "mlp_block": (layers.MLPBlock, {"units": 5}, VEC, (B, 5)),
    "mlp_block_sets": (layers.MLPBlock, {"units": 5, "dropout": 0.0, "num_sets": M}, VEC_SETS, (B, M, 5)),
    "bilinear_fusion": (layers.BilinearFusion, {"output_dim": 1, "num_heads": 2}, (VEC, VEC2), (B, 1)),
    "bilinear_fusion_sets": (layers.BilinearFusion, {"output_dim": 2, "num_sets": M}, (VEC_SETS, VEC_SETS), (B, M, 2)),
    "feature_gating": (layers.FeatureGating, {"hidden_units": (4,), "context_dim": 3}, VEC, (B, 8)),
    "feature_gating_context_sets": (layers.FeatureGating, {"hidden_units": (4,), "num_sets": M}, (VEC_SETS, VEC_SETS), (B, M, 8)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_contract(case, tmp_path):
    layer_cls, kwargs, data, shape = CASES[case]
    run_layer_test(layer_cls, kwargs, data, shape, tmp_path)


def test_every_public_layer_is_covered():
    covered = {cls.__name__ for cls, *_ in CASES.values()}
    assert covered == set(layers.__all__)
