"""Embedding-only L2 (every family, BARS' regulariser) and DCNv2's parallel structure."""

import keras
import numpy as np
import pytest

from mezoo import models
from mezoo.training import compile_model
from tests.models.family_cases import FIELDS, SMALL, batch, randomize, small


def numpy(t):
    return keras.ops.convert_to_numpy(t)


@pytest.mark.parametrize("key", ["dnn", "fm", "dcnv2"])
def test_embedding_penalty_is_the_coefficient_times_the_tables_squared_sum(key):
    model = models.get(key)(
        FIELDS, num_embedding_sets=2, l2_regularization=0.0, embedding_l2_regularization=0.03, **small(key)
    )
    randomize(model, 1)
    tables = sum(np.sum(numpy(t) ** 2) for t in model.row_tables)
    assert len(model.row_tables) == (2 if key == "fm" else 1)  # FM's first-order table counts too
    assert float(numpy(model.regularization_penalty())) == pytest.approx(0.03 * tables, rel=1e-5)


def test_both_penalties_add_up_and_the_loss_carries_them():
    model = models.get("dnn")(FIELDS, l2_regularization=1e-3, embedding_l2_regularization=0.02, **SMALL)
    model.compile(loss="binary_crossentropy")
    randomize(model, 2)
    weights = sum(np.sum(numpy(w) ** 2) for w in model.trainable_weights)
    tables = np.sum(numpy(model.multi_embedding.embeddings) ** 2)
    expected = 1e-3 * weights + 0.02 * tables
    assert float(numpy(model.regularization_penalty())) == pytest.approx(expected, rel=1e-5)
    x, y = batch(8)
    pred = model(x, training=False)
    bce = float(numpy(keras.losses.binary_crossentropy(y, pred)).mean())
    loss = float(numpy(model.compute_loss(x, y, pred, training=False)))
    assert loss == pytest.approx(bce + expected, rel=1e-5)


def test_without_either_coefficient_there_is_no_penalty():
    model = models.get("dnn")(FIELDS, l2_regularization=0.0, **SMALL)
    assert model.regularization_penalty() is None


@pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="fast mode is TensorFlow's")
def test_fast_mode_is_refused_where_gradients_of_a_gather_are_dense():
    model = models.get("dnn")(FIELDS, **SMALL)
    with pytest.raises(ValueError, match="train.mode=fast needs TensorFlow: its row-sparse update rests on"):
        compile_model(model, "fast")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="fast mode needs TensorFlow")
def test_fast_mode_moves_the_embedding_l2_into_the_optimizer():
    model = models.get("dnn")(FIELDS, l2_regularization=1e-6, embedding_l2_regularization=0.025, **SMALL)
    compile_model(model, "fast")
    assert model.optimizer.sparse_l2 == pytest.approx(0.025 + 1e-6)
    randomize(model, 3)
    weights = sum(np.sum(numpy(w) ** 2) for w in model.trainable_weights if w is not model.multi_embedding.embeddings)
    assert float(numpy(model.regularization_penalty())) == pytest.approx(1e-6 * weights, rel=1e-5)


def test_negative_coefficients_are_refused():
    with pytest.raises(ValueError, match="embedding_l2_regularization"):
        models.get("dnn")(FIELDS, embedding_l2_regularization=-1.0, **SMALL)


def test_embedding_l2_survives_config_and_keras_file(tmp_path):
    model = models.get("ipnn")(FIELDS, num_embedding_sets=2, embedding_l2_regularization=0.05, **SMALL)
    assert model.get_config()["embedding_l2_regularization"] == 0.05
    path = tmp_path / "m.keras"
    model.save(path)
    assert keras.models.load_model(path).embedding_l2_regularization == 0.05


@pytest.mark.parametrize("sets", [1, 3])
def test_parallel_dcnv2_concatenates_the_mean_cross_output_and_the_mlp(sets, tmp_path):
    kwargs = dict(num_embedding_sets=sets, num_cross_layers=2, structure="parallel", **SMALL)
    model = models.get("dcnv2")(FIELDS, **kwargs)
    width = len(FIELDS) * SMALL["embedding_dim"]
    assert model.get_layer("logit").kernel.shape == (width + SMALL["hidden_units"][-1], 1)
    assert model.get_layer("parallel_set_mlp_0") is not None
    # the MLP reads the embeddings, not the cross net: its first kernel is (sets, width, units)
    first = model.get_layer("parallel_set_mlp_0").weights[0]
    assert first.shape[-2:] == (width, SMALL["hidden_units"][0])
    randomize(model, 4)
    x, _ = batch(16)
    stacked = models.get("dcnv2")(FIELDS, num_embedding_sets=sets, num_cross_layers=2, **SMALL)
    assert stacked.count_params() != model.count_params()
    path = tmp_path / "p.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.structure == "parallel"
    np.testing.assert_allclose(numpy(loaded(x, training=False)), numpy(model(x, training=False)), rtol=1e-5, atol=1e-6)


def test_parallel_dcnv2_trains_a_step():
    model = models.get("dcnv2")(FIELDS, num_embedding_sets=2, structure="parallel", **SMALL)
    compile_model(model, "exact", jit_compile=False)
    x, y = batch(64)
    before = [numpy(w).copy() for w in model.trainable_weights]
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert all(np.isfinite(numpy(w)).all() for w in model.trainable_weights)
    assert any(not np.allclose(a, numpy(b)) for a, b in zip(before, model.trainable_weights))


def test_unknown_structure_is_refused():
    with pytest.raises(ValueError, match="structure"):
        models.get("dcnv2")(FIELDS, structure="sideways", **SMALL)
