"""A model compiled by `compile_model` and saved before any training step loads without a warning,
and the loaded model's first step is the original's."""

import warnings

import keras
import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

import mezoo  # noqa: E402,F401
from mezoo import models  # noqa: E402
from mezoo.training import compile_model  # noqa: E402
from mezoo.training.training_mode import MODES  # noqa: E402

FIELDS = [("a", 30), ("b", 40), ("c", 20)]


def warnings_as_errors():
    """Every warning a user would see becomes an error. DeprecationWarnings stay hidden, as Python
    hides them outside `__main__`: every Keras save raises numpy 2's about a variable's `__array__`."""
    warnings.simplefilter("error")
    warnings.simplefilter("ignore", DeprecationWarning)


def batch(seed: int):
    rng = np.random.default_rng(seed)
    ids = np.stack([rng.integers(0, v, 16) for _, v in FIELDS], axis=1).astype("int32")
    return {"ids": ids}, rng.integers(0, 2, (16, 1)).astype("float32")


@pytest.mark.parametrize("mode", MODES)
def test_a_compiled_untrained_model_loads_without_a_warning_and_trains_as_the_original(mode, tmp_path):
    keras.utils.set_random_seed(5)
    model = models.get("dcnv2")(FIELDS, num_embedding_sets=2, embedding_dim=4, hidden_units=(8,), dropout=0.0)
    compile_model(model, mode, learning_rate=0.01, jit_compile=False)
    with warnings.catch_warnings():
        warnings_as_errors()
        model.save(tmp_path / "m.keras")
        loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is type(model.optimizer)
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.01)
    for seed in (1, 2):  # the second step uses the moments the first left
        x, y = batch(seed)
        assert loaded.train_on_batch(x, y) == pytest.approx(model.train_on_batch(x, y), rel=1e-6)
        for a, b in zip(model.weights, loaded.weights):
            np.testing.assert_allclose(keras.ops.convert_to_numpy(b), keras.ops.convert_to_numpy(a), rtol=1e-6)
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(b), keras.ops.convert_to_numpy(a), rtol=1e-6)
    assert int(loaded.optimizer.iterations) == 2


def test_a_trained_model_still_loads_every_optimizer_variable(tmp_path):
    model = models.get("dnn")(FIELDS, hidden_units=(8,), dropout=0.0)
    compile_model(model, "exact", jit_compile=False)
    model.train_on_batch(*batch(1))
    model.save(tmp_path / "m.keras")
    with warnings.catch_warnings():
        warnings_as_errors()
        loaded = keras.models.load_model(tmp_path / "m.keras")
    assert int(loaded.optimizer.iterations) == 1 and len(loaded.optimizer.variables) == len(model.optimizer.variables)
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(b), keras.ops.convert_to_numpy(a))
