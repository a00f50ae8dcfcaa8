"""A stand-in for mezoo.training.trainer.train in the studies' tests: no training, a finished cell left behind."""

import json
import threading
import time
import zlib

import numpy as np

from mezoo.evidence.scaling_cells import RECORD_VERSION
from mezoo.run_layout import PREDICTIONS
from mezoo.training.predictions import labels_digest, save_predictions


def planted_scores(labels, name: str) -> np.ndarray:
    """Scores that follow `labels` with noise drawn from the cell's name (the same cell, the same scores)."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    labels = np.asarray(labels, dtype=np.float64)
    return 1 / (1 + np.exp(-(4 * (labels - 0.5) + rng.normal(size=len(labels)))))


class FakeTrainer:
    """Stands in for mezoo.training.trainer.train: records each call and leaves a finished cell behind.

    `labels`: the test labels; with them each cell keeps test predictions (`planted_scores`), as a
    real run does, and its epochs are its seed + 1.
    """

    def __init__(self, seconds=0.0, labels=None):
        self.calls, self.seconds, self.lock = [], seconds, threading.Lock()
        self.labels = labels

    def __call__(self, recipe, overrides, data=None, run_dir=None, source=None, verbose=0):
        with self.lock:
            self.calls.append((run_dir.name, threading.get_ident()))
        time.sleep(self.seconds)
        values = dict(o.split("=", 1) for o in overrides)
        sets, dim = int(values["model.num_embedding_sets"]), int(values["model.embedding_dim"])
        run_dir.mkdir(parents=True, exist_ok=True)
        variant, scale, seed = run_dir.name.split("_")[:3]
        record = {
            "version": RECORD_VERSION,
            "fraction": 1.0,
            "variant": {"se": "SE", "me": "ME", "mesi": "ME-SI"}[variant],
            "scale": int(scale[1:]),
            "seed": int(seed[4:]),
            "num_sets": sets,
            "embedding_dim": dim,
            "width": sets * dim,
            "test_auc": 0.7,
            "params": 100,
            "examples_per_sec": 1.0,
            "epochs": 1,
            "ia_mean": 2.0,
            "ia_min": 1.0,
            "ia_max": 3.0,
            "ia_normalised_mean": 0.5,
            "erank_mean": 2.0,
        }
        if self.labels is not None:
            save_predictions(run_dir / PREDICTIONS, self.labels, planted_scores(self.labels, run_dir.name))
            record.update(
                predictions=f"predictions/{run_dir.name}.npz",
                test_rows=len(self.labels),
                labels_sha256=labels_digest(self.labels),
                epochs=int(seed[4:]) + 1,
            )
        (run_dir / "cell.json").write_text(json.dumps(record))
        (run_dir / "metrics.json").write_text(json.dumps({"finished": True}))
