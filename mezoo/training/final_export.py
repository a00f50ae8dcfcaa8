"""The end of a training run: its TF Serving export (`train.export`), on any Keras backend."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras

from mezoo.recipe_schema import TrainConfig
from mezoo.run_layout import RunDirectory


def export_finished_run(run_dir: Path, train_cfg: TrainConfig, verbose: int) -> None:
    """`train.export`: the finished run as a TF Serving SavedModel in `<run_dir>/export/<version>`."""
    if not train_cfg.export:
        return
    spec = RunDirectory(run_dir).spec
    if not spec.exists() or any("vocabulary" not in f for f in json.loads(spec.read_text())["fields"]):
        if verbose:  # in-memory data, or a spec of ids only: raw values can't be mapped
            print("not exported: the run's data has no vocabularies to map raw values with")
        return
    if keras.backend.backend() != "tensorflow":
        # A SavedModel is TensorFlow's: the saved model.keras is exported by a TensorFlow process.
        env = dict(os.environ, KERAS_BACKEND="tensorflow")
        command = [sys.executable, "-m", "mezoo.export", "--run_dir", str(run_dir)]
        done = subprocess.run(command, env=env, capture_output=not verbose, text=True)
        if done.returncode:
            raise RuntimeError(f"the export ({' '.join(command)}, on TensorFlow) failed: {done.stderr or ''}")
        return
    from mezoo.serving.export import export_run

    export_run(run_dir, verbose=bool(verbose))
