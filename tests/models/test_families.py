"""Structure of the families beyond DNN/IPNN/NFwFM/xDeepFM/DCNv2, checked against numpy."""

import keras
import numpy as np
import pytest

from mezoo import models
from tests.models.family_cases import FIELDS, SMALL, batch, randomize

N, D = len(FIELDS), 4
OFFSETS = np.cumsum([0] + [v for _, v in FIELDS])[:-1]


def numpy(t):
    return keras.ops.convert_to_numpy(t)


def embeddings(model, ids, sets):
    """(batch, M, fields, d) looked up in numpy from the fused table."""
    rows = numpy(model.multi_embedding.embeddings)[ids + OFFSETS]  # (batch, fields, M*d)
    return rows.reshape(len(ids), N, sets, -1).transpose(0, 2, 1, 3)


def numpy_fm(emb):
    """Mean over sets of sum_{i<j} <e_i, e_j>: (batch, 1)."""
    pairs = 0.5 * (emb.sum(axis=2) ** 2 - (emb**2).sum(axis=2)).sum(axis=-1)
    return pairs.mean(axis=1, keepdims=True)


def first_order(model, ids):
    layer = model.get_layer("first_order")
    out = numpy(layer.table)[ids + OFFSETS].sum(axis=1)
    return out + (numpy(layer.bias) if layer.bias is not None else 0.0)


@pytest.mark.parametrize("sets", [1, 3])
def test_fm_output_is_a_numpy_fm_on_its_weights(sets):
    model = models.get("fm")(FIELDS, num_embedding_sets=sets, embedding_dim=D)
    assert model.get_config()["num_embedding_sets"] == sets and "hidden_units" not in model.get_config()
    randomize(model, 3)
    x, _ = batch(16)
    expected = first_order(model, x["ids"]) + numpy_fm(embeddings(model, x["ids"], sets))
    np.testing.assert_allclose(numpy(model.logits_model()(x)), expected, rtol=1e-5, atol=1e-5)


def test_me_fm_is_an_se_fm_on_the_concatenated_tables_scaled():
    # The degeneracy FM's docstring states: mean of M per-set FMs = one FM of width M*d.
    sets = 3
    me = models.get("fm")(FIELDS, num_embedding_sets=sets, embedding_dim=D)
    randomize(me, 4)
    se = models.get("fm")(FIELDS, num_embedding_sets=1, embedding_dim=sets * D)
    se.multi_embedding.embeddings.assign(numpy(me.multi_embedding.embeddings) / np.sqrt(sets))
    for name in ("table", "bias"):
        getattr(se.get_layer("first_order"), name).assign(numpy(getattr(me.get_layer("first_order"), name)))
    x, _ = batch(16)
    np.testing.assert_allclose(numpy(se.logits_model()(x)), numpy(me.logits_model()(x)), rtol=1e-5, atol=1e-5)


def test_deepfm_sums_first_order_fm_and_mlp_logits():
    sets = 3
    model = models.get("deepfm")(FIELDS, num_embedding_sets=sets, **SMALL)
    assert model.get_layer("first_order").bias is None  # the MLP head has the bias
    assert tuple(model.get_layer("set_mlp_0").kernel.shape) == (sets, N * D, 16)
    randomize(model, 5)
    x, _ = batch(16)
    mlp_logit = numpy(keras.Model(model.inputs, model.get_layer("mlp_logit").output)(x))
    expected = first_order(model, x["ids"]) + numpy_fm(embeddings(model, x["ids"], sets)) + mlp_logit
    np.testing.assert_allclose(numpy(model.logits_model()(x)), expected, rtol=1e-5, atol=1e-5)


def test_dcn_has_vector_cross_layers_per_set():
    model = models.get("dcn")(FIELDS, num_embedding_sets=3, **SMALL)
    cross = model.get_layer("cross_net")
    assert cross.parameterization == "vector" and cross.num_layers == 4
    assert [tuple(k.shape) for k in cross.kernels] == [(3, N * D, 1)] * 4
    assert tuple(model.get_layer("set_mlp_0").kernel.shape) == (3, N * D, 16)


def test_autoint_plus_stacks_attention_per_set_and_sums_two_logits():
    model = models.get("autoint_plus")(FIELDS, num_embedding_sets=3, num_heads=2, head_dim=5, **SMALL)
    assert tuple(model.get_layer("attention_0").query_kernel.shape) == (3, D, 10)
    assert tuple(model.get_layer("attention_2").query_kernel.shape) == (3, 10, 10)
    assert tuple(model.get_layer("attention_logit").kernel.shape) == (N * 10, 1)
    x, _ = batch(8)
    parts = keras.Model(model.inputs, [model.get_layer("attention_logit").output, model.get_layer("mlp_logit").output])
    attention_logit, mlp_logit = (numpy(t) for t in parts(x))
    np.testing.assert_allclose(numpy(model.logits_model()(x)), attention_logit + mlp_logit, rtol=1e-5, atol=1e-6)


def test_dlrm_bottom_mlp_only_with_numeric_fields():
    def pairs(n):
        return n * (n - 1) // 2

    plain = models.get("dlrm")(FIELDS, num_embedding_sets=3, **SMALL)
    assert not any("bottom_mlp" in w.path for w in plain.weights)
    assert tuple(plain.get_layer("set_mlp_0").kernel.shape) == (3, pairs(N), 16)
    model = models.get("dlrm")(FIELDS, num_embedding_sets=3, numeric_fields=["x", "y"], bottom_units=(7,), **SMALL)
    assert tuple(model.get_layer("bottom_mlp_0").kernel.shape) == (3, 2, 7)
    assert tuple(model.get_layer("bottom_mlp_1").kernel.shape) == (3, 7, D)
    # z joins the fields for the dot products and is concatenated to them.
    assert tuple(model.get_layer("set_mlp_0").kernel.shape) == (3, D + pairs(N + 1), 16)
    assert model.num_fields == N + 1
    assert not any("numeric_embedding" in w.path for w in model.weights)


def test_dlrm_dot_products_are_numpy_ones_on_bottom_output_and_embeddings():
    model = models.get("dlrm")(FIELDS, num_embedding_sets=2, numeric_fields=["x"], bottom_units=(), **SMALL)
    randomize(model, 6)
    x, _ = batch(8)
    x["dense"] = np.linspace(-1, 1, 8, dtype="float32")[:, None]
    layer = model.get_layer("bottom_mlp_0")
    z = np.maximum(
        np.einsum("bmi,mio->bmo", np.repeat(x["dense"][:, None], 2, axis=1), numpy(layer.kernel)) + numpy(layer.bias), 0
    )
    emb = np.concatenate([z[:, :, None], embeddings(model, x["ids"], 2)], axis=2)
    rows, cols = np.triu_indices(N + 1, k=1)
    expected = np.concatenate([z, np.einsum("bmfd,bmgd->bmfg", emb, emb)[:, :, rows, cols]], axis=-1)
    got = keras.Model(model.inputs, model.get_layer("set_mlp_0").input)(x)
    np.testing.assert_allclose(numpy(got), expected, rtol=1e-4, atol=1e-5)


def test_finalmlp_streams_per_set_then_shared_and_a_zero_bilinear_start():
    model = models.get("finalmlp")(FIELDS, num_embedding_sets=3, stream2_hidden_units=(12, 6), num_heads=2, **SMALL)
    assert tuple(model.get_layer("stream1_set_mlp_0").kernel.shape) == (3, N * D, 16)
    assert tuple(model.get_layer("stream1_mlp_0").kernel.shape) == (16, 8)
    assert tuple(model.get_layer("stream2_set_mlp_0").kernel.shape) == (3, N * D, 12)
    assert tuple(model.get_layer("stream2_mlp_0").kernel.shape) == (12, 6)
    fusion = model.get_layer("logit")
    assert fusion.num_sets is None and tuple(fusion.bilinear_kernel.shape) == (2, 4, 3, 1)
    np.testing.assert_array_equal(numpy(fusion.bilinear_kernel), 0.0)
    assert not any("gate" in w.path for w in model.weights)
    randomize(model, 7)
    x, _ = batch(8)
    streams = keras.Model(
        model.inputs, [model.get_layer("stream1_mlp_0").output, model.get_layer("stream2_mlp_0").output]
    )
    h1, h2 = (numpy(t) for t in streams(x))
    bilinear = np.einsum("bhi,hijo,bhj->bo", h1.reshape(8, 2, 4), numpy(fusion.bilinear_kernel), h2.reshape(8, 2, 3))
    expected = h1 @ numpy(fusion.x_kernel) + h2 @ numpy(fusion.y_kernel) + bilinear + numpy(fusion.bias)
    np.testing.assert_allclose(numpy(model.logits_model()(x)), expected, rtol=1e-4, atol=1e-5)


def test_finalmlp_feature_gating_is_per_set_and_switchable():
    model = models.get("finalmlp")(FIELDS, num_embedding_sets=3, feature_gating=True, gate_hidden_units=(5,), **SMALL)
    for k in (1, 2):
        gate = model.get_layer(f"gate_{k}")
        assert gate.num_sets == 3 and tuple(gate.learned_context.shape) == (3, D)
        assert tuple(gate.kernels[-1].shape) == (3, 5, N * D)
    clone = models.get("finalmlp").from_config(model.get_config())
    assert clone.feature_gating and clone.count_params() == model.count_params()


def test_fwfm_is_bars_shallow_fwfm_and_matches_a_numpy_oracle():
    frappe = [(f"f{i}", v) for i, v in enumerate([955, 4083, 8, 8, 3, 4, 3, 10, 81, 234])]
    assert models.get("fwfm")(frappe).count_params() == 107826  # FuxiCTR's FwFM with FeLV on Frappe_x1
    model = models.get("fwfm")(FIELDS, embedding_dim=4)
    randomize(model, 3)
    x, _ = batch(16)
    got = keras.ops.convert_to_numpy(model.logits_model()(x)).reshape(-1)
    offsets = np.cumsum([0] + [v for _, v in FIELDS])[:-1]
    e = keras.ops.convert_to_numpy(model.multi_embedding.embeddings)[x["ids"] + offsets]  # (b, F, d)
    v = keras.ops.convert_to_numpy(model.get_layer("linear_vectors").embeddings)[x["ids"] + offsets]
    r, b = (keras.ops.convert_to_numpy(w) for w in model.get_layer("pair_weights").weights)
    pairs = [(i, j) for i in range(len(FIELDS)) for j in range(i + 1, len(FIELDS))]
    expected = b[0] + sum(r[0, k] * np.sum(e[:, i] * e[:, j], axis=1) for k, (i, j) in enumerate(pairs))
    expected = expected + np.sum(e * v, axis=(1, 2))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="fwfm has no MLP"):
        models.get("fwfm")(FIELDS, hidden_units=(8,))
