"""compile_model's exact mode on every backend: mixed precision, and PyTorch's uncompiled step.

On torch, `jit_compile="auto"` is off: `torch.compile` of Keras' step measured slower there
(docs/backends.md) and recompiles it over and over, warning each time.
"""

import csv
import logging

import keras
import numpy as np
import pytest

from mezoo import models
from mezoo.abundance import AbundanceCallback
from mezoo.training import compile_model
from tests.models.family_cases import FIELDS, batch, small

on_torch = pytest.mark.skipif(keras.backend.backend() != "torch", reason="the torch backend's jit_compile")


class Recorded(logging.Handler):
    """The messages of the log records it is handed (torch's own handlers write past pytest's capture)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def float32_afterwards():
    yield
    keras.mixed_precision.set_global_policy("float32")


@on_torch
def test_exact_mode_on_torch_is_uncompiled_unless_asked():
    assert (
        compile_model(models.get("dcnv2")(FIELDS, num_embedding_sets=2, **small("dcnv2")), "exact").jit_compile is False
    )
    asked = compile_model(models.get("dcnv2")(FIELDS, **small("dcnv2")), "exact", jit_compile=True)
    assert asked.jit_compile is True


@on_torch
def test_exact_mode_with_abundance_trains_on_torch_without_recompiling(tmp_path):
    keras.utils.set_random_seed(0)
    model = compile_model(models.get("dcnv2")(FIELDS, num_embedding_sets=3, **small("dcnv2")), "exact")
    x, y = batch(rows=256)
    callback = AbundanceCallback(csv_path=str(tmp_path / "abundance.csv"))
    dynamo, warnings = logging.getLogger("torch._dynamo"), Recorded()
    dynamo.addHandler(warnings)
    try:
        model.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[callback])
    finally:
        dynamo.removeHandler(warnings)
    assert not [m for m in warnings.messages if "recompil" in m]
    with open(tmp_path / "abundance.csv") as f:
        assert len(list(csv.DictReader(f))) > 0


@pytest.mark.parametrize("key", ["dcnv2", "nfwfm"])
def test_exact_mode_fits_in_mixed_bfloat16(key, float32_afterwards):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    keras.utils.set_random_seed(0)
    model = compile_model(models.get(key)(FIELDS, num_embedding_sets=2, **small(key)), "exact")
    x, y = batch(rows=128)
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    history = model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert all(w.dtype == "float32" for w in model.trainable_weights)
    moved = [not np.array_equal(b, keras.ops.convert_to_numpy(w)) for b, w in zip(before, model.trainable_weights)]
    assert all(moved)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(model.predict(x, verbose=0)).astype("float32")))
