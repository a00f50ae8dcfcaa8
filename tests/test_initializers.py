"""FanInUniform and the zoo's PyTorch-style Dense initialisation."""

import keras
import numpy as np

import mezoo  # noqa: F401  (registers the zoo's classes)
from mezoo import models
from mezoo.initializers import FanInUniform


def test_fan_in_uniform_range_spread_and_config():
    init = FanInUniform(fan_in=400, seed=3)
    values = keras.ops.convert_to_numpy(init((20000,)))
    assert np.abs(values).max() <= 0.05
    assert np.abs(values).max() > 0.049 and abs(values.mean()) < 2e-3  # fills the range, centred
    clone = FanInUniform.from_config(init.get_config())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(clone((20000,))), values)
    assert keras.initializers.get(keras.initializers.serialize(init)).fan_in == 400


def test_zoo_dense_kernels_and_biases_are_pytorch_uniform():
    model = models.get("dnn")([("a", 10), ("b", 20)], num_embedding_sets=3, embedding_dim=4, hidden_units=(64, 32))
    checked = 0
    for layer_name, fan_in in (("set_mlp_0", 8), ("mlp_0", 64), ("logit", 32)):
        layer = model.get_layer(layer_name)
        kernel = keras.ops.convert_to_numpy(layer.kernel)
        bias = keras.ops.convert_to_numpy(layer.bias)
        bound = 1 / np.sqrt(fan_in)
        for weight in (kernel, bias):
            assert np.abs(weight).max() <= bound + 1e-7, layer_name
            assert np.all(weight != 0), layer_name
            if weight.size >= 32:
                assert np.abs(weight).max() > 0.6 * bound, layer_name  # fills the range
            checked += 1
    assert checked == 6
    per_set_bias = keras.ops.convert_to_numpy(model.get_layer("set_mlp_0").bias)
    assert not np.allclose(per_set_bias[0], per_set_bias[1]), "each set draws its own bias"
