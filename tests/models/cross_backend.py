"""One backend's half of the cross-backend weight test (tests/models/test_cross_backend_weights.py).

One process has one Keras backend, so the test runs this module in each environment's Python:

    KERAS_BACKEND=torch python -m tests.models.cross_backend save DIR
    KERAS_BACKEND=jax python -m tests.models.cross_backend load DIR

`save` builds every case of `CASES` with random weights and writes `DIR/<backend>/<case>.keras` and
`DIR/<backend>/predictions.npz` (each case's predictions on `family_cases.inputs(case)`); `load`
loads every other backend's `.keras` files found under `DIR` and writes their predictions on the
same inputs to `DIR/<source>_on_<backend>.npz`. All cases in one process: a process start costs
more than a case.
"""

import sys
from pathlib import Path

import keras
import numpy as np

from mezoo import models
from tests.models import family_cases

BACKENDS = ("tensorflow", "jax", "torch")
# Every family single- and multi-embedding, and multi-valued fields (pooled lookups) in two families.
CASES = [f"{key}_{sets}" for key in models.names() for sets in (1, 3)] + ["deepfm_multi_valued", "fwfm_multi_valued"]


def save(directory: Path) -> None:
    backend = keras.backend.backend()
    (directory / backend).mkdir(parents=True, exist_ok=True)
    predictions = {}
    for seed, name in enumerate(CASES):
        model = family_cases.build(name, seed)
        family_cases.randomize(model, seed)
        model.save(directory / backend / f"{name}.keras")
        predictions[name] = model.predict(family_cases.inputs(name), verbose=0)
    np.savez(directory / backend / "predictions.npz", **predictions)


def load(directory: Path) -> None:
    backend = keras.backend.backend()
    for source in BACKENDS:
        if source == backend or not (directory / source / "predictions.npz").exists():
            continue
        predictions = {}
        for name in CASES:
            model = keras.models.load_model(directory / source / f"{name}.keras")
            predictions[name] = model.predict(family_cases.inputs(name), verbose=0)
        np.savez(directory / f"{source}_on_{backend}.npz", **predictions)


if __name__ == "__main__":
    {"save": save, "load": load}[sys.argv[1]](Path(sys.argv[2]))
