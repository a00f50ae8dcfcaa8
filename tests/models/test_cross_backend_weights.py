"""One set of weights everywhere: a zoo `.keras` saved on any backend predicts the same on the other two.

Each of the 12 families, single- and multi-embedding, and two with multi-valued fields
(`cross_backend.CASES`), is built with random weights and saved on TensorFlow, JAX and PyTorch,
then loaded on the other two backends; the predictions on the same ids must agree within 1e-5.
One process has one backend, so each backend's half runs in its environment's Python
(`.venv`, `.venv-jax`, `.venv-torch`, which `make test` installs). It runs once per `make test`,
in the torch suite (`make test-torch`, the last, when all three exist); elsewhere it skips:

    KERAS_BACKEND=torch .venv-torch/bin/python -m pytest tests/models/test_cross_backend_weights.py
"""

import os
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest

from tests.models.cross_backend import BACKENDS, CASES

ROOT = Path(__file__).resolve().parents[2]
PYTHONS = {
    "tensorflow": ROOT / ".venv/bin/python",
    "jax": ROOT / ".venv-jax/bin/python",
    "torch": ROOT / ".venv-torch/bin/python",
}


def run_everywhere(step: str, directory: Path) -> None:
    """`cross_backend <step> directory` in every backend's environment at once; fails with the first error."""
    processes = {}
    for backend in BACKENDS:
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
        command = [str(PYTHONS[backend]), "-m", "tests.models.cross_backend", step, str(directory)]
        processes[backend] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    for backend, process in processes.items():
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, f"{step} on {backend} failed:\n{output[-4000:]}"


def test_every_family_saved_on_one_backend_predicts_the_same_on_the_other_two(tmp_path):
    if keras.backend.backend() != "torch":
        pytest.skip(
            "runs once, in the torch suite (make test-torch), after make test has installed all three environments"
        )
    missing = [f"{backend} ({python.parent.parent.name})" for backend, python in PYTHONS.items() if not python.exists()]
    if missing:
        pytest.skip(f"no environment for {', '.join(missing)}: make install install-jax install-torch")
    run_everywhere("save", tmp_path)
    run_everywhere("load", tmp_path)
    compared = 0
    for source in BACKENDS:
        saved = np.load(tmp_path / source / "predictions.npz")
        for target in BACKENDS:
            if target == source:
                continue
            loaded = np.load(tmp_path / f"{source}_on_{target}.npz")
            for name in CASES:
                np.testing.assert_allclose(
                    loaded[name],
                    saved[name],
                    rtol=0,
                    atol=1e-5,
                    err_msg=f"{name} saved on {source}, loaded on {target}",
                )
                compared += 1
    assert compared == 6 * len(CASES) == 6 * 26
