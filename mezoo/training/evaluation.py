"""Scoring a model on a whole split: exact AUC and log loss, with read errors that name the shard.

Used by the trainer (validation each epoch, the test split at the end) and by `mezoo.evaluate`.
"""

import contextlib
from typing import Dict, Iterator, Tuple

import numpy as np

from mezoo import metrics
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
