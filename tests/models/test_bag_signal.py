"""A multi-valued field whose signal is spread over all its values: pooling must use them all.

`mezoo.data.planted.planted_bag_log` adds to the planted logit the mean of per-id weights over a
bag of 1..8 ids. A zoo model that pools the bag (mean over its values) must beat the same model
given only the bag's first value by a clear margin on held-out rows; a pooling that read padding,
or only one position, would not.
"""

import keras
import numpy as np

from mezoo import models
from mezoo.data.planted import planted_bag_log
from mezoo.metrics import auc

VOCAB, BAG, MAX_LEN = [6, 8, 7], 40, 8
ROWS, TRAIN = 40_000, 30_000
SMALL = {"embedding_dim": 8, "hidden_units": (32,), "dropout": 0.0}


def held_out_auc(fields, ids, clicks):
    keras.utils.set_random_seed(0)
    model = models.get("dnn")(fields, num_embedding_sets=2, **SMALL)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    model.fit({"ids": ids[:TRAIN]}, clicks[:TRAIN], batch_size=256, epochs=4, verbose=0)
    return auc(clicks[TRAIN:], model.predict({"ids": ids[TRAIN:]}, batch_size=4096, verbose=0))


def test_pooling_the_bag_beats_keeping_its_first_value():
    ids, clicks, prob = planted_bag_log(ROWS, VOCAB, BAG, MAX_LEN, seed=1)
    assert ids.shape == (ROWS, len(VOCAB) + MAX_LEN) and (ids[:, len(VOCAB)] >= 0).all()
    assert (ids[:, -1] == -1).mean() > 0.5  # most rows hold fewer than max_len values
    singles = [(f"f{i}", v) for i, v in enumerate(VOCAB)]
    pooled = held_out_auc(singles + [("bag", BAG, MAX_LEN, "mean")], ids, clicks)
    first = held_out_auc(singles + [("bag", BAG)], ids[:, : len(VOCAB) + 1], clicks)
    ceiling = auc(clicks[TRAIN:], prob[TRAIN:])
    assert pooled > first + 0.03, f"pooled {pooled:.4f}, first value only {first:.4f}, planted {ceiling:.4f}"
    assert pooled > 0.5 + 0.8 * (ceiling - 0.5), f"pooled {pooled:.4f} vs planted {ceiling:.4f}"
    assert np.isfinite(pooled) and pooled < ceiling + 0.01
