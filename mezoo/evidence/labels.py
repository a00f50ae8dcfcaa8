"""The test labels a study's kept predictions were scored against, found again where the data lives.

Predictions are committed (model outputs only); labels are not (the data's licences forbid
it). To recompute an interval, the labels are read back from the licensed data where this
machine has it, and each candidate is checked against the digest stored with the predictions
(`mezoo.training.predictions.labels_digest`), so rows can never be misaligned:

- the real Frappe_x1 test split, `frappe/Frappe_x1.zip` under $MEZOO_SHARED_DATA, else
  `../shared/data` beside the repository or the working directory (its converted test split
  keeps the file's row order);
- the test split of any converted data directory given (a study's `study.json` names its data).
"""

import csv
import functools
import io
import os
import zipfile
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from mezoo.training.predictions import labels_digest


def shared_data_dirs() -> List[Path]:
    """Where ../shared/data may be: $MEZOO_SHARED_DATA, beside the repository, beside the working directory."""
    here = Path(__file__).resolve().parents[2]
    candidates = [
        os.environ.get("MEZOO_SHARED_DATA"),
        here.parent / "shared" / "data",
        Path.cwd().parent / "shared" / "data",
    ]
    return [Path(c) for c in candidates if c and Path(c).is_dir()]


def frappe_x1_test_labels(root: Path) -> Optional[np.ndarray]:
    """The `label` column of Frappe_x1's test.csv inside `root/frappe/Frappe_x1.zip`, in file order."""
    archive = root / "frappe" / "Frappe_x1.zip"
    if not archive.exists():
        return None
    with zipfile.ZipFile(archive) as zipped:
        name = next((n for n in zipped.namelist() if n.endswith("test.csv")), None)
        if name is None:
            return None
        text = zipped.read(name).decode("utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return np.asarray([float(row["label"]) for row in rows], dtype=np.float32)


def converted_test_labels(directory: Path) -> Optional[np.ndarray]:
    """The test split's labels of a converted directory (feature_spec.json + shards), in shard order."""
    if not (Path(directory) / "feature_spec.json").exists():
        return None
    from mezoo.data import FeatureSpec, make_dataset

    spec = FeatureSpec.load(str(directory))
    labels = [np.asarray(y).reshape(-1) for _, y in make_dataset(spec, "test", 8192, training=False)]
    return np.concatenate(labels) if labels else None


class LabelFinder:
    """Finds (and caches) the labels whose digest a set of predictions names."""

    def __init__(self, data_dirs: Sequence = ()):
        self.sources: List[Callable[[], Optional[np.ndarray]]] = []
        for root in shared_data_dirs():
            self.sources.append(functools.partial(frappe_x1_test_labels, root))
        for directory in data_dirs:
            self.sources.append(functools.partial(converted_test_labels, Path(directory)))
        self._loaded: Dict[int, Optional[np.ndarray]] = {}

    def find(self, digest: str, rows: int) -> Optional[np.ndarray]:
        """The labels with this digest and row count, or None where no source on this machine has them."""
        for number, source in enumerate(self.sources):
            if number not in self._loaded:
                try:
                    self._loaded[number] = source()
                except Exception:  # an unreadable or absent source: try the next
                    self._loaded[number] = None
            labels = self._loaded[number]
            if labels is not None and len(labels) == rows and labels_digest(labels) == digest:
                return labels
        return None
