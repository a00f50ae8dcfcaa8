"""docs/backends.md's training loop runs: its first Python block on every backend, the PyTorch loop on torch."""

import os
import re
from pathlib import Path

import keras
import numpy as np

PAGE = Path(__file__).resolve().parents[1] / "docs" / "backends.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_page_has_the_keras_block_and_the_torch_loop():
    blocks = python_blocks()
    assert len(blocks) == 2 and "model.fit" in blocks[0] and "loss.backward()" in blocks[1]


def test_the_training_loop_runs_and_the_torch_loop_moves_the_weights_on_torch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    keras.utils.set_random_seed(0)
    fit, torch_loop = python_blocks()
    scope: dict = {}
    exec(compile(fit, f"{PAGE}:fit", "exec"), scope)
    assert os.path.exists("dcn_me.keras")
    loaded = keras.models.load_model("dcn_me.keras")
    x = scope["x"][:64]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), scope["model"].predict(x, verbose=0), atol=1e-6)
    if keras.backend.backend() != "torch":
        return
    before = [keras.ops.convert_to_numpy(w).copy() for w in scope["model"].trainable_weights]
    exec(compile(torch_loop, f"{PAGE}:torch_loop", "exec"), scope)
    after = [keras.ops.convert_to_numpy(w) for w in scope["model"].trainable_weights]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))
