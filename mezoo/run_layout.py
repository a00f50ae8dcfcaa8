"""What a run directory of `mezoo.train` holds, by name: the one place its file names are written.

    runs/<recipe>/                 RunDirectory(path)
      recipe.yaml                  .recipe       the resolved recipe
      run.json                     .run_json     command, data, seed, commit, machine, placement
      feature_spec.json, vocab/    .spec         the data's spec and vocabularies (for the export)
      metrics.json                 .metrics      per-epoch figures, best epoch, test figures
      abundance.csv                .abundance    information abundance per epoch, field and set
      train_row_counts.npz         .row_counts   how often training looks up each row
      tensorboard/                 .tensorboard
      backup/                      .backup       state.json and the weights a resume restores
      best.weights.h5              .best_weights the best epoch's weights
      test_predictions.npz         .predictions  the test split's scores, for paired intervals
      model.keras                  .model        the finished model
      export/<version>/            .export       TF Serving SavedModels
      .train.lock                  .lock         held by the training writing it

Example:
>>> RunDirectory("runs/x").metrics.as_posix()
'runs/x/metrics.json'
"""

import dataclasses
from pathlib import Path
from typing import Union

SPEC = "feature_spec.json"
METRICS = "metrics.json"
RUN_JSON = "run.json"
RECIPE = "recipe.yaml"
MODEL = "model.keras"
ABUNDANCE = "abundance.csv"
ROW_COUNTS = "train_row_counts.npz"
PREDICTIONS = "test_predictions.npz"
BEST_WEIGHTS = "best.weights.h5"
BACKUP = "backup"
TENSORBOARD = "tensorboard"
EXPORT = "export"
LOCK = ".train.lock"


@dataclasses.dataclass(frozen=True)
class RunDirectory:
    """The paths of one run directory (nothing is read or created by making one)."""

    path: Path

    def __init__(self, path: Union[str, "Path"]):
        object.__setattr__(self, "path", Path(path))

    @property
    def recipe(self) -> Path:
        return self.path / RECIPE

    @property
    def run_json(self) -> Path:
        return self.path / RUN_JSON

    @property
    def spec(self) -> Path:
        return self.path / SPEC

    @property
    def metrics(self) -> Path:
        return self.path / METRICS

    @property
    def abundance(self) -> Path:
        return self.path / ABUNDANCE

    @property
    def row_counts(self) -> Path:
        return self.path / ROW_COUNTS

    @property
    def tensorboard(self) -> Path:
        return self.path / TENSORBOARD

    @property
    def backup(self) -> Path:
        return self.path / BACKUP

    @property
    def best_weights(self) -> Path:
        return self.path / BEST_WEIGHTS

    @property
    def predictions(self) -> Path:
        return self.path / PREDICTIONS

    @property
    def model(self) -> Path:
        return self.path / MODEL

    @property
    def export(self) -> Path:
        return self.path / EXPORT

    @property
    def lock(self) -> Path:
        return self.path / LOCK
