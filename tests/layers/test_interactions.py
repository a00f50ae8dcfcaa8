"""Interaction layers against numpy re-implementations written from the formulas."""

import itertools

import keras
import numpy as np
import pytest

from mezoo import layers
from tests.layer_testing import assert_per_set_equals_separate, randomize_weights

rng = np.random.default_rng(11)
E = rng.normal(size=(7, 5, 4)).astype("float32")  # (batch, fields, dim)


def out(layer, *args):
    return keras.ops.convert_to_numpy(layer(*args))


def np_pairwise(e):
    return np.stack([np.sum(e[:, i] * e[:, j], axis=-1) for i, j in itertools.combinations(range(e.shape[1]), 2)], -1)


def test_fm_sum_equals_sum_of_pairwise_inner_products():
    expected = np_pairwise(E).sum(-1, keepdims=True)
    np.testing.assert_allclose(out(layers.FMInteraction(), E), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        out(layers.FMInteraction(), E),
        out(layers.InnerProductInteraction(), E).sum(-1, keepdims=True),
        rtol=1e-5,
        atol=1e-5,
    )


def test_fm_per_dimension():
    n = E.shape[1]
    expected = sum(E[:, i] * E[:, j] for i in range(n) for j in range(i + 1, n))
    np.testing.assert_allclose(out(layers.FMInteraction(reduce_sum=False), E), expected, rtol=1e-5, atol=1e-5)


def test_inner_products_in_row_major_pair_order():
    e = np.arange(12, dtype="float32").reshape(1, 4, 3)
    got = out(layers.InnerProductInteraction(), e)[0]
    pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    np.testing.assert_allclose(got, [e[0, i] @ e[0, j] for i, j in pairs])
    np.testing.assert_allclose(out(layers.InnerProductInteraction(), E), np_pairwise(E), rtol=1e-5, atol=1e-5)


def test_weightless_layers_treat_each_set_separately():
    e = rng.normal(size=(3, 2, 5, 4)).astype("float32")
    for layer in (layers.FMInteraction(), layers.FMInteraction(reduce_sum=False), layers.InnerProductInteraction()):
        got = out(layer, e)
        for m in range(2):
            np.testing.assert_allclose(got[:, m], out(layer, e[:, m]), rtol=1e-6)


def test_fwfm_against_numpy_all_ordered_pairs():
    layer = layers.FwFMInteraction()
    layer(E)
    randomize_weights(layer, 1)
    r = keras.ops.convert_to_numpy(layer.r)
    n = E.shape[1]
    expected = sum(r[i, j] * E[:, i] * E[:, j] for i in range(n) for j in range(n))
    np.testing.assert_allclose(out(layer, E), expected, rtol=1e-4, atol=1e-4)


def test_fwfm_default_r_is_standard_normal():
    layer = layers.FwFMInteraction()
    layer(np.ones((1, 40, 2), "float32"))
    r = keras.ops.convert_to_numpy(layer.r)
    assert abs(r.std() - 1.0) < 0.1 and abs(r.mean()) < 0.1


def np_cin(x0, kernels, biases, split_half):
    h, pooled = x0, []
    for i, (w, b) in enumerate(zip(kernels, biases)):
        # z[c, k] = sum_{i,j} W[c,i,j] x0[i,k] h[j,k] + b[c]
        z = np.einsum("cij,bik,bjk->bck", w, x0, h) + b[None, :, None]
        z = np.maximum(z, 0)
        last = i == len(kernels) - 1
        if split_half and not last:
            half = z.shape[1] // 2
            o, h = z[:, :half], z[:, half:]
        else:
            o = h = z
        pooled.append(o.sum(-1))
    return np.concatenate(pooled, -1)


@pytest.mark.parametrize("split_half", [False, True])
def test_cin_against_numpy(split_half):
    layer = layers.CompressedInteraction(layer_sizes=(4, 6, 3), split_half=split_half)
    layer(E)
    randomize_weights(layer, 2)
    w = [keras.ops.convert_to_numpy(k) for k in layer.kernels]
    b = [keras.ops.convert_to_numpy(k) for k in layer.biases]
    got = out(layer, E)
    assert got.shape[-1] == layer.output_dim == (13 if not split_half else 2 + 3 + 3)
    np.testing.assert_allclose(got, np_cin(E, w, b, split_half), rtol=1e-4, atol=1e-4)


def np_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return np.exp(x) / np.exp(x).sum(-1, keepdims=True)


@pytest.mark.parametrize("use_scale,use_residual", [(False, True), (True, False)])
def test_self_attention_against_numpy(use_scale, use_residual):
    heads, head_dim = 2, 3
    layer = layers.SelfAttentionInteraction(
        num_heads=heads, head_dim=head_dim, use_scale=use_scale, use_residual=use_residual
    )
    layer(E)
    randomize_weights(layer, 3)
    wq, wk, wv = (keras.ops.convert_to_numpy(w) for w in (layer.query_kernel, layer.key_kernel, layer.value_kernel))
    outs = []
    for h in range(heads):
        cols = slice(h * head_dim, (h + 1) * head_dim)
        q, k, v = E @ wq[:, cols], E @ wk[:, cols], E @ wv[:, cols]
        scores = q @ k.transpose(0, 2, 1)
        if use_scale:
            scores = scores / np.sqrt(head_dim)
        outs.append(np_softmax(scores) @ v)
    expected = np.concatenate(outs, -1)
    if use_residual:
        expected = expected + E @ keras.ops.convert_to_numpy(layer.residual_kernel)
    np.testing.assert_allclose(out(layer, E), np.maximum(expected, 0), rtol=1e-4, atol=1e-4)


def test_bilinear_fusion_against_numpy():
    x = rng.normal(size=(5, 6)).astype("float32")
    y = rng.normal(size=(5, 4)).astype("float32")
    layer = layers.BilinearFusion(output_dim=2, num_heads=2)
    layer(x, y)
    randomize_weights(layer, 4)
    wx, wy, wxy, b = layer.get_weights()
    expected = x @ wx + y @ wy + b
    for h in range(2):
        xh, yh = x[:, 3 * h : 3 * h + 3], y[:, 2 * h : 2 * h + 2]
        expected = expected + np.einsum("bi,ijo,bj->bo", xh, wxy[h], yh)
    np.testing.assert_allclose(out(layer, x, y), expected, rtol=1e-4, atol=1e-4)


def test_feature_gating_against_numpy():
    x = rng.normal(size=(5, 6)).astype("float32")
    layer = layers.FeatureGating(hidden_units=(3,), context_dim=4)
    layer(x)
    randomize_weights(layer, 5)
    ctx, k0, b0, k1, b1 = layer.get_weights()
    gate = 2 / (1 + np.exp(-(np.maximum(ctx @ k0 + b0, 0) @ k1 + b1)))
    np.testing.assert_allclose(out(layer, x), x * gate[None], rtol=1e-5, atol=1e-5)
    context = rng.normal(size=(5, 2)).astype("float32")
    with_context = layers.FeatureGating(hidden_units=(3,))
    with_context(x, context)
    randomize_weights(with_context, 6)
    k0, b0, k1, b1 = with_context.get_weights()
    gate = 2 / (1 + np.exp(-(np.maximum(context @ k0 + b0, 0) @ k1 + b1)))
    np.testing.assert_allclose(out(with_context, x, context), x * gate, rtol=1e-5, atol=1e-5)


def test_mlp_block_inference_against_numpy():
    x = rng.normal(size=(5, 6)).astype("float32")
    layer = layers.MLPBlock(4)
    layer(x)
    randomize_weights(layer, 6)
    kernel, bias, gamma, beta, mean, var = layer.get_weights()
    z = x @ kernel + bias
    expected = np.maximum((z - mean) / np.sqrt(var + 1e-5) * gamma + beta, 0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x, training=False)), expected, rtol=1e-4, atol=1e-4)


PER_SET = [
    (layers.FwFMInteraction, {}, (6, 3, 5, 4), {}),
    (layers.CompressedInteraction, {"layer_sizes": (4, 2)}, (6, 3, 5, 4), {}),
    (layers.CompressedInteraction, {"layer_sizes": (4, 2), "split_half": True}, (6, 3, 5, 4), {}),
    (layers.SelfAttentionInteraction, {"num_heads": 2, "head_dim": 3}, (6, 3, 5, 4), {}),
    (layers.MLPBlock, {"units": 4, "dropout": 0.0}, (6, 3, 5), {"training": True}),
    (layers.MLPBlock, {"units": 4, "dropout": 0.0}, (6, 3, 5), {"training": False}),
    (layers.FeatureGating, {"hidden_units": (3,), "context_dim": 2}, (6, 3, 5), {}),
]


@pytest.mark.parametrize("layer_cls,kwargs,shape,call_kwargs", PER_SET, ids=lambda v: getattr(v, "__name__", None))
def test_per_set_layer_equals_separate_layers(layer_cls, kwargs, shape, call_kwargs):
    x = np.random.default_rng(8).normal(size=shape).astype("float32")
    assert_per_set_equals_separate(layer_cls, kwargs, x, num_sets=3, call_kwargs=call_kwargs)


def test_per_set_bilinear_fusion_equals_separate_layers():
    x = rng.normal(size=(6, 3, 4)).astype("float32")
    y = rng.normal(size=(6, 3, 2)).astype("float32")
    assert_per_set_equals_separate(layers.BilinearFusion, {"output_dim": 2, "num_heads": 2}, (x, y), num_sets=3)
