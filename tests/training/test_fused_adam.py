"""FusedAdam: Keras' Adam computed by TensorFlow's fused kernel; the same numbers, to rounding."""

import keras
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import mezoo  # noqa: E402,F401
from mezoo import models  # noqa: E402
from mezoo.training import FusedAdam, compile_model  # noqa: E402
from mezoo.training import training_mode  # noqa: E402
from mezoo.training.training_mode import XLA_TABLE_BYTES, auto_jit_compile  # noqa: E402


def _train(optimizer, jit: bool, sparse: bool):
    rng = np.random.default_rng(0)
    table = keras.Variable(rng.normal(size=(20, 3)).astype("float32"))
    dense = keras.Variable(rng.normal(size=(3,)).astype("float32"))

    @tf.function(jit_compile=jit)
    def step(rows, g_dense):
        with tf.GradientTape() as tape:
            looked_up = tf.gather(table.value, rows) if sparse else tf.gather(tf.convert_to_tensor(table.value), rows)
            loss = tf.reduce_sum(tf.square(looked_up * dense)) + 1e-3 * tf.reduce_sum(tf.square(table.value))
        grads = tape.gradient(loss, [table.value, dense.value])
        optimizer.apply([grads[0], grads[1] + g_dense], [table, dense])

    start = [keras.ops.convert_to_numpy(v) for v in (table, dense)]
    for t in range(6):
        step(tf.constant(rng.integers(0, 20, 8)), tf.constant(rng.normal(size=(3,)).astype("float32")))
    return start, [keras.ops.convert_to_numpy(v) for v in (table, dense)], int(optimizer.iterations.numpy())


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_same_numbers_as_keras_adam(jit, sparse):
    start, fused, fused_steps = _train(FusedAdam(0.01, epsilon=1e-8), jit, sparse)
    _, plain, plain_steps = _train(keras.optimizers.Adam(0.01, epsilon=1e-8), jit, sparse)
    for before, a, b in zip(start, fused, plain):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        assert np.abs(a - before).min() > 1e-3  # every row moved (dense semantics, also for a gathered table)
    assert fused_steps == plain_steps == 6


def test_it_is_the_exact_mode_optimizer_and_saves():
    model = models.get("dnn")([("a", 30), ("b", 20)], hidden_units=(8,))
    compile_model(model, "exact")
    assert isinstance(model.optimizer, FusedAdam)
    config = keras.optimizers.serialize(model.optimizer)
    assert isinstance(keras.optimizers.deserialize(config), FusedAdam)


def test_auto_xla_follows_table_size(monkeypatch):
    if tf.config.list_logical_devices("GPU"):
        pytest.skip("on a GPU auto always compiles with XLA in exact mode")
    model = models.get("dnn")([("a", 30), ("b", 20)], hidden_units=(8,))  # a 50 x 10 float32 table: 2,000 bytes
    assert XLA_TABLE_BYTES > 2000 and not auto_jit_compile(model, "exact")
    monkeypatch.setattr(training_mode, "XLA_TABLE_BYTES", 2000)
    assert auto_jit_compile(model, "exact")
    assert not auto_jit_compile(model, "fast")
    assert compile_model(model, "exact").jit_compile
