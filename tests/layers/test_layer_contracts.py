"""Every public layer passes the shared contract check, with and without a set axis."""

from typing import Any, NamedTuple

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
VOCAB = [10, 20, 5]
# The same fields, the second multi-valued (3 columns, padding -1): rows with 2, 0, 3 and 1 values.
POOLED = {"field_lengths": [1, 3, 1], "poolings": ["mean", "sqrtn", "mean"]}
POOLED_IDS = np.array([[0, 9, 11, -1, 3], [1, -1, -1, -1, 4], [9, 0, 19, 2, 0], [5, -1, 7, -1, 2]], dtype="int32")


class Case(NamedTuple):
    layer_cls: type
    kwargs: dict
    data: Any
    shape: tuple
    trainable: int  # number of trainable weights once built
    non_trainable: int = 0


CASES = {
    "multi_embedding": Case(
        layers.MultiEmbedding, {"vocab_sizes": VOCAB, "embedding_dim": 4, "num_sets": 3}, IDS, (B, 3, 3, 4), 1
    ),
    "multi_embedding_se": Case(layers.MultiEmbedding, {"vocab_sizes": VOCAB, "embedding_dim": 4}, IDS, (B, 1, 3, 4), 1),
    "multi_embedding_pooled": Case(
        layers.MultiEmbedding,
        {"vocab_sizes": VOCAB, "embedding_dim": 4, "num_sets": 3, **POOLED},
        POOLED_IDS,
        (B, 3, 3, 4),
        1,
    ),
    "numeric_embedding": Case(
        layers.NumericEmbedding, {"num_fields": 8, "embedding_dim": 4, "num_sets": M}, VEC, (B, M, 8, 4), 1
    ),
    "numeric_embedding_se": Case(layers.NumericEmbedding, {"num_fields": 8, "embedding_dim": 4}, VEC, (B, 1, 8, 4), 1),
    "first_order_term": Case(layers.FirstOrderTerm, {"vocab_sizes": VOCAB}, IDS, (B, 1), 2),  # table, bias
    "first_order_term_numeric_no_bias": Case(
        layers.FirstOrderTerm, {"vocab_sizes": VOCAB, "num_numeric": 8, "use_bias": False}, (IDS, VEC), (B, 1), 2
    ),  # table, numeric_kernel
    "first_order_term_pooled": Case(
        layers.FirstOrderTerm, {"vocab_sizes": VOCAB, "num_numeric": 8, **POOLED}, (POOLED_IDS, VEC), (B, 1), 3
    ),  # table, numeric_kernel, bias
    "cross": Case(layers.Cross, {}, (VEC, VEC), (B, 8), 2),  # kernel, bias
    "cross_low_rank_sets": Case(
        layers.Cross, {"projection_dim": 3, "diag_scale": 0.5, "num_sets": M}, (VEC_SETS,), (B, M, 8), 3
    ),  # u_kernel, v_kernel, bias
    "cross_field_blocks_sets": Case(
        layers.Cross, {"field_blocks": 2, "num_sets": M}, (VEC_SETS,), (B, M, 8), 3
    ),  # kernel, bias, block_scale
    "cross_net_matrix": Case(layers.CrossNet, {"num_layers": 2}, VEC, (B, 8), 4),
    "cross_net_vector_sets": Case(
        layers.CrossNet, {"num_layers": 2, "parameterization": "vector", "num_sets": M}, VEC_SETS, (B, M, 8), 4
    ),
    "fm_sum": Case(layers.FMInteraction, {}, EMB, (B, 1), 0),
    "fm_vector_sets": Case(layers.FMInteraction, {"reduce_sum": False}, EMB_SETS, (B, M, D), 0),
    "fwfm": Case(layers.FwFMInteraction, {}, EMB, (B, D), 1),
    "fwfm_sets": Case(layers.FwFMInteraction, {"num_sets": M}, EMB_SETS, (B, M, D), 1),
    "inner_product": Case(layers.InnerProductInteraction, {}, EMB, (B, F * (F - 1) // 2), 0),
    "inner_product_sets": Case(layers.InnerProductInteraction, {}, EMB_SETS, (B, M, F * (F - 1) // 2), 0),
    "cin": Case(layers.CompressedInteraction, {"layer_sizes": (4, 4)}, EMB, (B, 8), 4),
    "cin_split_sets": Case(
        layers.CompressedInteraction, {"layer_sizes": (4, 6), "split_half": True, "num_sets": M}, EMB_SETS, (B, M, 8), 4
    ),
    "attention": Case(layers.SelfAttentionInteraction, {"num_heads": 2, "head_dim": 3}, EMB, (B, F, 6), 4),
    "attention_sets": Case(
        layers.SelfAttentionInteraction,
        {"num_heads": 2, "use_scale": True, "num_sets": M},
        EMB_SETS,
        (B, M, F, 2 * D),
        4,
    ),  # query, key, value and residual kernels
    "mlp_block": Case(layers.MLPBlock, {"units": 5}, VEC, (B, 5), 4, 2),  # + BatchNorm's moving mean and variance
    "mlp_block_sets": Case(layers.MLPBlock, {"units": 5, "dropout": 0.0, "num_sets": M}, VEC_SETS, (B, M, 5), 4, 2),
    "bilinear_fusion": Case(layers.BilinearFusion, {"output_dim": 1, "num_heads": 2}, (VEC, VEC2), (B, 1), 4),
    "bilinear_fusion_sets": Case(
        layers.BilinearFusion, {"output_dim": 2, "num_sets": M}, (VEC_SETS, VEC_SETS), (B, M, 2), 4
    ),
    "feature_gating": Case(
        layers.FeatureGating, {"hidden_units": (4,), "context_dim": 3}, VEC, (B, 8), 5
    ),  # + the learned context
    "feature_gating_context_sets": Case(
        layers.FeatureGating, {"hidden_units": (4,), "num_sets": M}, (VEC_SETS, VEC_SETS), (B, M, 8), 4
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_contract(case, tmp_path):
    c = CASES[case]
    run_layer_test(
        c.layer_cls,
        c.kwargs,
        c.data,
        c.shape,
        tmp_path,
        expected_num_trainable_weights=c.trainable,
        expected_num_non_trainable_weights=c.non_trainable,
    )


def test_every_public_layer_is_covered():
    covered = {case.layer_cls.__name__ for case in CASES.values()}
    assert covered == set(layers.__all__)
