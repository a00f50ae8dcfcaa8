"""A zoo model trained on JAX or PyTorch exports for TF Serving by docs/backends.md's steps.

The model is trained in the backend's environment (`tests/serving/other_backend_model.py`: JAX in
this environment's Python where JAX is installed, PyTorch in `.venv-torch`), on the ids of a
converted Criteo slice; here its `.keras` goes into a run directory with the data's
`feature_spec.json` and `vocab/`, `mezoo.export` exports it, and the SavedModel's `predict_ids`
must give the trained model's predictions.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from tests.serving.conftest import load_signature  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TORCH_PYTHON = ROOT / ".venv-torch" / "bin" / "python"


def backend_python(backend):
    if backend == "jax":
        if importlib.util.find_spec("jax") is None:
            pytest.skip("JAX is not installed in this environment")
        return sys.executable
    if not TORCH_PYTHON.exists():
        pytest.skip(f"no PyTorch environment at {TORCH_PYTHON} (make install-torch)")
    return str(TORCH_PYTHON)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_a_model_trained_on_another_backend_exports_with_its_predictions(backend, converted, tmp_path):
    python = backend_python(backend)
    data, trained = Path(converted("criteo")["train"]), tmp_path / "trained"
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": ""}
    command = [python, "-m", "tests.serving.other_backend_model", str(data), str(trained)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(trained / "model.keras", run_dir / "model.keras")
    shutil.copy(data / "feature_spec.json", run_dir)
    shutil.copytree(data / "vocab", run_dir / "vocab")
    from mezoo.serving.export import export_run

    export = export_run(run_dir, verbose=False)
    assert export == run_dir / "export" / "1"
    expected = np.load(trained / "predictions.npz")
    predict_ids = load_signature(export, "predict_ids")
    arguments = {"ids": tf.constant(expected["ids"], tf.int64)}
    if "dense" in expected:
        arguments["dense"] = tf.constant(expected["dense"])
    got = predict_ids(**arguments)["probability"].numpy()
    np.testing.assert_allclose(got.reshape(-1), expected["predictions"].reshape(-1), rtol=0, atol=1e-5)
