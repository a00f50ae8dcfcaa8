"""Scoring a model on a whole split: exact AUC and log loss, with read errors that name the shard.

Used by the trainer (validation each epoch, the test split at the end) and by `python -m
mezoo.evaluate` (`evaluate_run`: a finished run on any split of its converted data).
"""

import contextlib
import json
import sys
from pathlib import Path
from typing import Dict, Iterator, Tuple

import numpy as np

from mezoo import metrics
from mezoo import recipe as recipes
from mezoo.data.feature_spec import SPEC_NAME
from mezoo.errors import MissingInput, UsageError
from mezoo.run_layout import RunDirectory
from mezoo.saved_models import load_keras_file
from mezoo.training.data_source import DataSource


def predict_split(model, source, split: str, batch_size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Labels and predicted probabilities over the whole split.

    Args:
        model: a built Keras model taking the source's feature dicts.
        source: a data source (`mezoo.training.data_sources.TFRecordSource` or alike).
        split: `train`, `valid` or `test`.
        batch_size: rows per forward pass.
    """
    from mezoo.training.placement import forward_function

    forward = getattr(model, "_mezoo_forward", None)
    if forward is None:
        forward = model._mezoo_forward = forward_function(model)
    labels, scores = [], []
    for x, y in source.dataset(split, batch_size, training=False):
        scores.append(forward(x).reshape(-1))
        labels.append(np.asarray(y).reshape(-1))
    return np.concatenate(labels), np.concatenate(scores)


@contextlib.contextmanager
def naming_bad_shards(source: DataSource, split: str) -> Iterator[None]:
    """Re-raises a read error of `split` as one that names the damaged shard, where the source can."""
    try:
        yield
    except Exception as error:
        named = source.read_error(split, error)
        if named is error:
            raise
        raise named from error


def split_figures(labels: np.ndarray, scores: np.ndarray) -> Dict[str, float]:
    """`{"auc", "logloss", "rows"}` of predicted probabilities against their labels."""
    return {"auc": metrics.auc(labels, scores), "logloss": metrics.log_loss(labels, scores), "rows": int(len(labels))}


def evaluate_split(model, source: DataSource, split: str, batch_size: int) -> Dict[str, float]:
    """`{"auc", "logloss", "rows"}` of `model` over the whole `split` of `source` (see `predict_split`)."""
    with naming_bad_shards(source, split):
        labels, scores = predict_split(model, source, split, batch_size)
    return split_figures(labels, scores)


def evaluate_run(run_dir, split: str = "test", data=None, source=None) -> dict:
    """`{"auc", "logloss", "rows"}` of a finished run's `model.keras` on `split` of converted data: by
    default the data the run trained on (recorded in its run.json), else `data`, which must be the
    run's (the same fields and vocabularies: `run_directory.check_data_matches_run`)."""
    from mezoo.training.run_directory import check_data_matches_run

    run_dir = Path(run_dir)
    layout = RunDirectory(run_dir)
    model_path = layout.model
    if not model_path.exists():
        raise MissingInput(f"{model_path} does not exist: is {run_dir} a finished mezoo.train run?")
    resolved = recipes.load(layout.recipe)
    model = load_keras_file(model_path)  # a damaged model is reported before the data is looked at
    if source is None:
        from mezoo.training.data_sources import DataNotFoundError, open_source

        recorded = json.loads(layout.run_json.read_text()).get("data") if layout.run_json.exists() else None
        if not data and recorded and not (Path(recorded) / SPEC_NAME).exists():
            where = (
                ""
                if Path(recorded).is_absolute()
                else f" (a path relative to the directory {run_dir} was trained from)"
            )
            raise DataNotFoundError(
                f"{run_dir}/run.json records the data {recorded}{where}, which holds no feature_spec.json "
                f"now (moved or deleted?): pass --data DIR with the converted data to score"
            )
        source = open_source(resolved.data, data or recorded, verbose=0)
    for warning in check_data_matches_run(run_dir, source):
        print(warning, file=sys.stderr, flush=True)
    splits = source.spec.splits if source.spec is not None else None
    if splits is not None and split not in splits:
        raise UsageError(f"--split {split!r}: the data has the splits {', '.join(sorted(splits))}")
    return evaluate_split(model, source, split, resolved.data.batch_size)
