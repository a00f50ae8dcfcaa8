"""Every model with numeric fields: `{"ids", "dense"}` in, one training step, save and load."""

import keras
import numpy as np
import pytest

from mezoo import models
from tests.models.family_cases import FIELDS, batch, small


@pytest.mark.parametrize("key", models.names())
def test_numeric_fields_train_save_and_load(key, tmp_path):
    model = models.get(key)(FIELDS, num_embedding_sets=2, numeric_fields=["x", "y"], **small(key))
    assert model.numeric_fields == ["x", "y"] and "dense" in model.input
    x, y = batch(64)
    x["dense"] = np.random.default_rng(1).normal(size=(64, 2)).astype("float32")
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    numeric_weights = [w for w in model.trainable_weights if "numeric" in w.path or "bottom_mlp" in w.path]
    assert numeric_weights, "the numeric fields feed no weight"
    before = [keras.ops.convert_to_numpy(w).copy() for w in numeric_weights]
    history = model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.allclose(b, keras.ops.convert_to_numpy(w)) for b, w in zip(before, numeric_weights))
    # The dense values must reach the output.
    shifted = {**x, "dense": x["dense"] + 1.0}
    assert not np.allclose(model.predict(x, verbose=0), model.predict(shifted, verbose=0))
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert type(loaded) is type(model) and loaded.numeric_fields == ["x", "y"]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
