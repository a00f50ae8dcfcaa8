"""Exact AUC and log loss against scikit-learn and hand-computed values."""

import numpy as np
import pytest

from mezoo import metrics


def test_auc_hand_computed_with_ties():
    # pairs (pos, neg): (0.8>0.3) (0.8>0.5) (0.5=0.5 -> 1/2) (0.5>0.3) => 3.5 of 4
    assert metrics.auc([1, 0, 1, 0], [0.8, 0.3, 0.5, 0.5]) == pytest.approx(3.5 / 4, abs=1e-15)


def test_auc_and_log_loss_match_sklearn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 5000)
    scores = np.round(rng.random(5000) * 0.5 + 0.3 * labels, 3)  # many ties
    assert metrics.auc(labels, scores) == pytest.approx(sklearn_metrics.roc_auc_score(labels, scores), abs=1e-12)
    assert metrics.log_loss(labels, scores) == pytest.approx(
        sklearn_metrics.log_loss(labels, np.clip(scores, 1e-7, 1 - 1e-7)), abs=1e-12
    )


def test_log_loss_hand_computed_and_one_class_auc_is_refused():
    assert metrics.log_loss([1, 0], [0.5, 0.25]) == pytest.approx(-(np.log(0.5) + np.log(0.75)) / 2)
    with pytest.raises(ValueError, match="both classes"):
        metrics.auc([1, 1], [0.2, 0.3])


def test_auc_matches_pairwise_definition():
    rng = np.random.default_rng(0)
    labels = rng.random(300) < 0.3
    scores = np.round(rng.random(300), 1)  # many ties
    pos, neg = scores[labels], scores[~labels]
    expected = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg))
    assert abs(metrics.auc(labels, scores) - expected) < 1e-12
