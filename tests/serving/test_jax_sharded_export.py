"""A run trained on JAX with row-sharded tables loads on TensorFlow, exports, and serves raw rows
as the sharded JAX model scores them."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

pytest.importorskip("jax")
tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from tests.serving.conftest import TRAIN, export_predictions, raw_rows  # noqa: E402
from tests.training.jax_processes import ROOT, jax_env, result_of, run_script  # noqa: E402


def test_a_model_parallel_jax_run_exports_and_serves_raw_rows_as_it_scores(converted, tmp_path):
    run_dir = tmp_path / "run"
    command = [
        sys.executable, "-m", "mezoo.train", "--recipe", "dcnv2_me_criteo", "--data", str(converted("criteo")["train"]),
        "--run_dir", str(run_dir), *[a for s in TRAIN if "jit_compile" not in s for a in ("--set", s)],
        "--set", "model.num_embedding_sets=2", "--set", "train.distribution=model_parallel",
        "--set", "data.batch_size=513",  # split over 3 devices
    ]  # fmt: skip
    # 3 devices: the table's 2,528 rows are no multiple of 3, so the sharded run pads them
    done = subprocess.run(command, cwd=ROOT, env=jax_env(3), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    strategy = json.loads((run_dir / "run.json").read_text())["strategy"]
    assert strategy["used"] == "model_parallel" and strategy["backend"] == "jax" and strategy["devices"] == 3
    assert json.loads((run_dir / "metrics.json").read_text())["finished"]

    # The saved table has the real rows only: the model loads on TensorFlow as any other.
    model = keras.models.load_model(run_dir / "model.keras")
    layer = model.multi_embedding
    assert tuple(layer.embeddings.shape) == (layer.total_rows, 2 * layer.embedding_dim)
    assert layer.total_rows % 3

    # The sharded JAX model (model.keras loaded under model parallelism) on the converted rows...
    all_rows = converted("criteo")["all_rows"]
    jax_scores = tmp_path / "jax_scores.npy"
    tables = result_of(run_script("--score", run_dir, all_rows, jax_scores, devices=3))
    assert tables == {"multi_embedding/embeddings": "P('batch', None)"}
    expected = np.load(jax_scores)
    # ... equals the TensorFlow export on the raw rows.
    served = export_predictions(run_dir / "export" / "1", "criteo")
    assert served.shape == expected.shape == (len(raw_rows("criteo")),)
    assert np.max(np.abs(served - expected)) <= 1e-5
    assert np.std(expected) > 1e-4  # the model tells rows apart
