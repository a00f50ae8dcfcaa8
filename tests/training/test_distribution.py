"""MirroredStrategy over 2 logical CPU devices equals one device with the same global batch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_mirrored_matches_one_device(mode, tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    # Few steps: float32 sums differ in order across replicas, and that drift compounds.
    result = subprocess.run(
        [sys.executable, "-m", "tests.training.mirrored_vs_one_device", str(tmp_path), mode, "train.steps_per_epoch=4"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    runs = json.loads(result.stdout.strip().splitlines()[-1])
    one, mirrored = runs["one_device"], runs["mirrored"]
    assert one["steps"] == mirrored["steps"] > 0
    assert mirrored["loss"] == pytest.approx(one["loss"], rel=1e-5)
    # AUC ranks near-tied scores, so float32 drift moves it more than the loss.
    assert mirrored["val_auc"] == pytest.approx(one["val_auc"], rel=1e-3)
    assert mirrored["test_auc"] == pytest.approx(one["test_auc"], rel=1e-3)
