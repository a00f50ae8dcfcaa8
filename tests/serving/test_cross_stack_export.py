"""An export made on the other tested stack (TensorFlow 2.16) serves here (the newest) with the same scores.

SavedModels are forward compatible: a model trained and exported where a user's older TF lives
must serve on a newer one. `make test` sets `MEZOO_OTHER_STACK_PYTHON` to the TF 2.16
environment's python, which converts a slice of the Criteo sample, trains and exports there and
scores the raw lines; this process scores the same lines through the same export.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from tests.shared_data import shared_data  # noqa: E402

OTHER = os.environ.get("MEZOO_OTHER_STACK_PYTHON", "")
TRAIN = [
    "train.epochs=1",
    "train.steps_per_epoch=3",
    "data.batch_size=256",
    "model.num_embedding_sets=2",
    "train.jit_compile=false",
]


def run(python, *args, cwd):
    result = subprocess.run([python, *args], capture_output=True, text=True, cwd=cwd)
    assert result.returncode == 0, f"{python} {' '.join(args)}:\n{result.stderr[-3000:]}"
    return result.stdout


def scores(path):
    with open(path) as f:
        next(f)
        return np.array([float(line.rstrip("\n").split("\t")[2]) for line in f])


@pytest.mark.skipif(not OTHER, reason="MEZOO_OTHER_STACK_PYTHON is not set (make test sets it to .venv-tf216)")
def test_an_export_from_the_older_stack_serves_here_with_the_same_scores(tmp_path):
    version = "import tensorflow as tf; print(tf.__version__)"
    other_version = run(OTHER, "-c", version, cwd=tmp_path).strip().splitlines()[-1]
    assert other_version != tf.__version__, f"both environments have TensorFlow {tf.__version__}"
    sample = tmp_path / "criteo.tsv"
    with open(shared_data("criteo", "criteo_kaggle_head10k.tsv"), encoding="utf-8") as f:
        sample.write_text("".join(line for _, line in zip(range(3000), f)))

    data, run_dir = tmp_path / "data", tmp_path / "run"
    run(OTHER, "-m", "tfrecord_tools.criteo", "--input", str(sample), "--output", str(data), cwd=tmp_path)
    overrides = [a for o in TRAIN for a in ("--set", o)]
    run(OTHER, "-m", "mezoo.train", "--recipe", "dcnv2_me_criteo", "--data", str(data), "--run_dir", str(run_dir),
        *overrides, cwd=tmp_path)  # fmt: skip
    export = run_dir / "export" / "1"
    predict = ["-m", "mezoo.predict", "--export", str(export), "--input", str(sample), "--format", "criteo"]
    run(OTHER, *predict, "--output", str(tmp_path / "there.tsv"), cwd=tmp_path)
    run(sys.executable, *predict, "--output", str(tmp_path / "here.tsv"), cwd=tmp_path)

    there, here = scores(tmp_path / "there.tsv"), scores(tmp_path / "here.tsv")
    assert len(here) == len(there) > 2500  # (the sample's rejected lines are rejected on both)
    assert np.max(np.abs(here - there)) <= 1e-6, f"TF {other_version} -> {tf.__version__}"
