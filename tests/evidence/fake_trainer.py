"""A stand-in for mezoo.training.trainer.train in the studies' tests: no training, a finished cell left behind."""

import json
import threading
import time

from mezoo.evidence.scaling_cells import RECORD_VERSION


class FakeTrainer:
    """Stands in for mezoo.training.trainer.train: records each call and leaves a finished cell behind."""

    def __init__(self, seconds=0.0):
        self.calls, self.seconds, self.lock = [], seconds, threading.Lock()

    def __call__(self, recipe, overrides, data=None, run_dir=None, source=None, verbose=0):
        with self.lock:
            self.calls.append((run_dir.name, threading.get_ident()))
        time.sleep(self.seconds)
        values = dict(o.split("=", 1) for o in overrides)
        sets, dim = int(values["model.num_embedding_sets"]), int(values["model.embedding_dim"])
        run_dir.mkdir(parents=True, exist_ok=True)
        variant, scale, seed = run_dir.name.split("_")[:3]
        (run_dir / "cell.json").write_text(
            json.dumps(
                {
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
            )
        )
        (run_dir / "metrics.json").write_text(json.dumps({"finished": True}))
