"""A run's test-split predictions, kept so that AUC differences between runs can be bootstrapped later.

`test_predictions.npz` in the run directory holds `probability` (float32, one per test row in
the split's file order) and a digest of the labels they were scored against, so a reader that
takes the labels from elsewhere (the raw test file) can check that the rows line up. The file
holds model outputs only, never the data.
"""

import hashlib
from pathlib import Path
from typing import Dict

import numpy as np

from mezoo.atomic import atomic_open
from mezoo.run_layout import PREDICTIONS

PREDICTIONS_FILE = PREDICTIONS


def labels_digest(labels) -> str:
    """sha256 of the labels as one byte per row (0 or 1), in row order."""
    values = np.rint(np.asarray(labels, dtype=np.float64).reshape(-1)).astype(np.uint8)
    return hashlib.sha256(values.tobytes()).hexdigest()


def save_predictions(path, labels, probabilities) -> None:
    """Writes `probability` and the labels' digest and row count to `path` (atomically)."""
    probabilities = np.asarray(probabilities, dtype=np.float32).reshape(-1)
    if len(probabilities) != len(np.asarray(labels).reshape(-1)):
        raise ValueError(f"{len(probabilities)} predictions for {len(np.asarray(labels).reshape(-1))} labels")
    with atomic_open(path, "wb") as handle:
        np.savez_compressed(
            handle, probability=probabilities, labels_sha256=np.array(labels_digest(labels)), rows=len(probabilities)
        )


def load_predictions(path) -> Dict:
    """`{"probability": float32 array, "labels_sha256": str, "rows": int}` from a predictions file."""
    path = Path(path)
    try:
        with np.load(path) as stored:
            result = {
                "probability": stored["probability"],
                "labels_sha256": str(stored["labels_sha256"]),
                "rows": int(stored["rows"]),
            }
    except (OSError, KeyError, ValueError) as error:
        raise ValueError(f"{path}: not a predictions file ({error})") from None
    if len(result["probability"]) != result["rows"]:
        raise ValueError(f"{path}: {len(result['probability'])} predictions but {result['rows']} rows recorded")
    return result
