"""Cross and CrossNet against hand-computed vectors, TFRS `Cross` and numpy."""

import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from mezoo.layers import Cross, CrossNet
from tests.layer_testing import assert_per_set_equals_separate

X0 = np.array([[0.1, 0.2, 0.3]], dtype="float32")
X = np.array([[0.4, 0.5, 0.6]], dtype="float32")


def test_cross_hand_vector():
    layer = Cross(kernel_initializer="ones", bias_initializer="zeros")
    # W x = [1.5, 1.5, 1.5]; x0 * 1.5 + x = [0.55, 0.80, 1.05]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(X0, X)), [[0.55, 0.80, 1.05]], rtol=1e-6)


def test_cross_net_one_layer_hand_vector():
    net = CrossNet(num_layers=1, kernel_initializer="ones", bias_initializer="zeros")
    # W x0 = [0.6, 0.6, 0.6]; x0 * 0.6 + x0 = [0.16, 0.32, 0.48]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(net(X0)), [[0.16, 0.32, 0.48]], rtol=1e-6)


def test_cross_defaults_to_x0_when_x_is_missing():
    layer = Cross()
    x0 = np.random.default_rng(1).normal(size=(4, 5)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(x0)), keras.ops.convert_to_numpy(layer(x0, x0)), rtol=1e-6
    )


def numpy_cross(x0, x, weights, projection_dim, diag_scale, use_bias):
    if projection_dim is None:
        prod = x @ weights[0]
    else:
        prod = (x @ weights[0]) @ weights[1]
    if use_bias:
        prod = prod + weights[-1]
    return x0 * (prod + diag_scale * x) + x


TFRS_CASES = [
    {"projection_dim": p, "diag_scale": s, "use_bias": b} for p in (None, 2) for s in (0.0, 0.5) for b in (True, False)
]


@pytest.mark.tensorflow
def test_cross_matches_tfrs_with_copied_weights(tmp_path):
    pytest.importorskip("tensorflow")
    # (not imported here: TFRS refuses to import beside Keras 3; the oracle runs it on Keras 2)
    if importlib.util.find_spec("tensorflow_recommenders") is None or importlib.util.find_spec("tf_keras") is None:
        pytest.skip("tensorflow-recommenders and tf-keras are not installed (the `test` extra)")
    rng = np.random.default_rng(7)
    arrays, specs, ours = {}, [], []
    for i, case in enumerate(TFRS_CASES):
        layer = Cross(**case)
        x0 = rng.normal(size=(16, 6)).astype("float32")
        x = rng.normal(size=(16, 6)).astype("float32")
        layer(x0, x)
        weights = [rng.normal(size=tuple(w.shape)).astype("float32") for w in layer.weights]
        layer.set_weights(weights)
        out = keras.ops.convert_to_numpy(layer(x0, x))
        np.testing.assert_allclose(out, numpy_cross(x0, x, weights, **case), rtol=1e-5, atol=1e-5)
        ours.append(out)
        arrays.update({f"x0_{i}": x0, f"x_{i}": x, **{f"w{i}_{k}": w for k, w in enumerate(weights)}})
        specs.append({**case, "num_weights": len(weights)})
    arrays["specs"] = np.array(json.dumps(specs))
    np.savez(tmp_path / "cases.npz", **arrays)
    oracle = os.path.join(os.path.dirname(__file__), "tfrs_cross_oracle.py")
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, oracle, str(tmp_path / "cases.npz"), str(tmp_path / "out.npz")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    theirs = np.load(tmp_path / "out.npz")
    for i, case in enumerate(TFRS_CASES):
        np.testing.assert_allclose(ours[i], theirs[f"out_{i}"], rtol=1e-5, atol=1e-5, err_msg=str(case))


def test_cross_net_matrix_equals_stacked_numpy():
    rng = np.random.default_rng(3)
    net = CrossNet(num_layers=3, diag_scale=0.3)
    x0 = rng.normal(size=(5, 4)).astype("float32")
    net(x0)
    weights = [rng.normal(size=tuple(w.shape)).astype("float32") for w in net.weights]
    net.set_weights(weights)
    x = x0
    for layer in range(3):
        x = numpy_cross(x0, x, weights[2 * layer : 2 * layer + 2], None, 0.3, True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(net(x0)), x, rtol=1e-5, atol=1e-5)


def test_cross_net_vector_equals_numpy():
    rng = np.random.default_rng(4)
    net = CrossNet(num_layers=2, parameterization="vector")
    x0 = rng.normal(size=(5, 4)).astype("float32")
    net(x0)
    weights = [rng.normal(size=tuple(w.shape)).astype("float32") for w in net.weights]
    net.set_weights(weights)  # kernel_0, bias_0, kernel_1, bias_1
    x = x0
    for layer in range(2):
        w, b = weights[2 * layer][:, 0], weights[2 * layer + 1]
        x = x0 * (x @ w)[:, None] + b + x
    np.testing.assert_allclose(keras.ops.convert_to_numpy(net(x0)), x, rtol=1e-5, atol=1e-5)


def test_cross_net_layers_start_different():
    net = CrossNet(num_layers=3)
    net(np.ones((1, 8), "float32"))
    kernels = [keras.ops.convert_to_numpy(layer.kernel) for layer in net.cross_layers]
    assert not np.allclose(kernels[0], kernels[1]) and not np.allclose(kernels[1], kernels[2])


def test_per_set_initialisation_uses_each_sets_fans():
    # Glorot-uniform on a (dim, dim) kernel: limit sqrt(6 / (2 dim)); over an (M, dim, dim)
    # shape Keras would use fans M*dim and shrink it. Sets must also differ from each other.
    dim, sets = 64, 8
    layer = Cross(num_sets=sets)
    layer(np.ones((1, sets, dim), "float32"))
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    limit = np.sqrt(6.0 / (2 * dim))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    assert not np.allclose(kernel[0], kernel[1])


@pytest.mark.parametrize(
    "layer_cls,kwargs",
    [
        (Cross, {}),
        (Cross, {"projection_dim": 2, "diag_scale": 0.5}),
        (CrossNet, {"num_layers": 3}),
        (CrossNet, {"num_layers": 2, "parameterization": "vector"}),
    ],
)
def test_per_set_cross_equals_separate_layers(layer_cls, kwargs):
    x = np.random.default_rng(5).normal(size=(6, 3, 5)).astype("float32")
    assert_per_set_equals_separate(layer_cls, kwargs, x, num_sets=3)


def test_cross_rejects_wrong_set_axis():
    with pytest.raises(ValueError, match="num_sets=3"):
        Cross(num_sets=3)(np.ones((2, 4, 5), "float32"))
    with pytest.raises(ValueError, match="rank 2"):
        Cross()(np.ones((2, 4, 5), "float32"))


def numpy_block_penalty(kernel, n):
    d = kernel.shape[-1] // n
    total = 0.0
    for i in range(n):
        for j in range(n):
            block = kernel[i * d : (i + 1) * d, j * d : (j + 1) * d]
            total += np.sum((np.eye(d) - block @ block.T) ** 2)
    return total


def test_cross_field_blocks_scale_each_kernel_block_and_penalise_their_orthogonality():
    n, d = 3, 2
    rng = np.random.default_rng(7)
    x0, x = (rng.normal(size=(5, n * d)).astype("float32") for _ in range(2))
    layer = Cross(field_blocks=n)
    layer(x0, x)
    assert [w.name for w in layer.weights] == ["kernel", "bias", "block_scale"]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.block_scale), np.ones((n, n)))
    kernel, bias, scale = (rng.normal(size=tuple(w.shape)).astype("float32") for w in layer.weights)
    layer.set_weights([kernel, bias, scale])
    effective = kernel * np.kron(scale, np.ones((d, d)))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(x0, x)), numpy_cross(x0, x, [effective, bias], None, 0.0, True), rtol=1e-5
    )
    np.testing.assert_allclose(
        float(keras.ops.convert_to_numpy(layer.orthogonality_penalty())), numpy_block_penalty(kernel, n), rtol=1e-5
    )


def test_per_set_cross_with_field_blocks_equals_separate_layers():
    x = np.random.default_rng(8).normal(size=(6, 3, 6)).astype("float32")
    assert_per_set_equals_separate(Cross, {"field_blocks": 3}, x, num_sets=3)
    assert_per_set_equals_separate(CrossNet, {"num_layers": 2, "field_blocks": 2}, x, num_sets=3)


def test_field_blocks_need_a_full_rank_kernel_that_they_divide():
    with pytest.raises(ValueError, match="full-rank"):
        Cross(projection_dim=2, field_blocks=2)
    with pytest.raises(ValueError, match="does not divide"):
        Cross(field_blocks=4)(np.ones((1, 6), "float32"))
    with pytest.raises(ValueError, match="matrix"):
        CrossNet(2, parameterization="vector", field_blocks=2)
