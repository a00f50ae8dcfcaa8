"""Exact evaluation metrics over a whole split (Keras' AUC bins scores into 200 thresholds)."""

import numpy as np


def auc(labels, scores) -> float:
    """Exact ROC AUC by ranks, ties averaged (equals scikit-learn's `roc_auc_score`)."""
    labels = np.asarray(labels).ravel().astype(bool)
    scores = np.asarray(scores, dtype="float64").ravel()
    positives = labels.sum()
    if positives == 0 or positives == len(labels):
        raise ValueError(f"AUC needs both classes; got {positives} positives in {len(labels)} labels")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(order))
    _, first, counts = np.unique(scores[order], return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * (len(labels) - positives)))


def log_loss(labels, probabilities, eps: float = 1e-7) -> float:
    """Mean binary cross-entropy, probabilities clipped to [eps, 1 - eps] as Keras does."""
    labels = np.asarray(labels, dtype="float64").ravel()
    p = np.clip(np.asarray(probabilities, dtype="float64").ravel(), eps, 1 - eps)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))
