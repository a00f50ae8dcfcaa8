"""mezoo.models.ensemble: the mean of its members' probabilities, saved and loaded as any model."""

import keras
import numpy as np
import pytest

import mezoo
from mezoo.models import DNN, DCNv2, ensemble


def test_an_ensemble_averages_its_members_and_survives_a_round_trip(tmp_path):
    keras.utils.set_random_seed(3)
    fields = [("user", 40), ("item", 25), ("genres", 12, 3, "mean")]
    members = [DCNv2(fields, hidden_units=[8], num_cross_layers=1), DNN(fields, hidden_units=[8])]
    model = ensemble(members)
    rng = np.random.default_rng(0)
    ids = {"ids": np.stack([rng.integers(0, 40, 64), rng.integers(0, 25, 64)] + [rng.integers(-1, 12, 64)] * 3, 1)}
    want = np.mean([m.predict(ids, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(model.predict(ids, verbose=0), want, rtol=1e-6)
    model.save(tmp_path / "ensemble.keras")
    assert mezoo.__version__
    loaded = keras.models.load_model(tmp_path / "ensemble.keras")
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), want, rtol=1e-6)
    assert loaded.count_params() == sum(m.count_params() for m in members)


def test_members_must_take_the_same_inputs():
    with pytest.raises(ValueError, match="two or more members"):
        ensemble([DNN([("a", 5)], hidden_units=[4])])
    with pytest.raises(ValueError, match="different inputs"):
        ensemble([DNN([("a", 5)], hidden_units=[4]), DNN([("a", 5), ("b", 3)], hidden_units=[4])])
