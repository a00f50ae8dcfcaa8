"""The paper's six families learn a planted click model whose signal is in field pairs.

`mezoo.data.planted.planted_click_log` (the planted model behind the built-in sample)
here has no per-field part (`first_order=0`): its logit sums factor products over 5 of the
10 field pairs. Each family, SE and ME, must reach 90% of the planted model's AUC lift over
0.5 on held-out rows; an additive (per-field) model stays well below that target, so
passing needs the pairwise interactions.
"""

import keras
import numpy as np
import pytest

from mezoo import models
from mezoo.data.planted import planted_click_log
from mezoo.metrics import auc

VOCAB = [6, 8, 7, 5, 6]
ROWS, TRAIN = 60_000, 45_000
PLANTED = {"pairs": 5, "first_order": 0.0, "signal": 1.5}
SMALL = {"embedding_dim": 8, "hidden_units": (64, 32), "dropout": 0.0}
# Smaller interaction modules keep each case to a few seconds on 2 CPU cores.
EXTRA = {"xdeepfm": {"cin_layer_sizes": (8, 8)}, "dcnv2": {"num_cross_layers": 2}}
PAPER_SIX = ["dnn", "ipnn", "nfwfm", "xdeepfm", "dcnv2", "finalmlp"]


@pytest.fixture(scope="module")
def planted():
    ids, clicks, prob = planted_click_log(ROWS, VOCAB, seed=0, **PLANTED)
    planted_auc = auc(clicks[TRAIN:], prob[TRAIN:])
    return ids, clicks, 0.5 + 0.9 * (planted_auc - 0.5)


def additive_auc(ids, clicks):
    """Held-out AUC of summed per-field log-odds (add-one smoothed): no interactions."""
    y = clicks[:TRAIN, 0]
    score = np.zeros(ROWS - TRAIN)
    for f, v in enumerate(VOCAB):
        count = np.bincount(ids[:TRAIN, f], minlength=v) + 2.0
        positive = np.bincount(ids[:TRAIN, f], weights=y, minlength=v) + 1.0
        score += np.log(positive / (count - positive))[ids[TRAIN:, f]]
    return auc(clicks[TRAIN:], score)


def test_the_target_needs_interactions(planted):
    ids, clicks, target = planted
    assert additive_auc(ids, clicks) < target - 0.05


@pytest.mark.parametrize("sets", [1, 2])
@pytest.mark.parametrize("key", PAPER_SIX)
def test_family_learns_the_planted_pairs(planted, key, sets):
    ids, clicks, target = planted
    keras.utils.set_random_seed(0)
    fields = [(f"f{i}", v) for i, v in enumerate(VOCAB)]
    model = models.get(key)(fields, num_embedding_sets=sets, **SMALL, **EXTRA.get(key, {}))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    model.fit({"ids": ids[:TRAIN]}, clicks[:TRAIN], batch_size=256, epochs=5, verbose=0)
    test_auc = auc(clicks[TRAIN:], model.predict({"ids": ids[TRAIN:]}, batch_size=4096, verbose=0))
    assert test_auc >= target, f"{key} M={sets}: test AUC {test_auc:.4f} < target {target:.4f}"
