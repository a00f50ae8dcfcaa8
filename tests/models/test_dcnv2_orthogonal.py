"""The regularised DCNv2 ablation: block scales in the cross layers, orthogonality penalty in the loss."""

import keras
import numpy as np
import pytest

from mezoo import models
from tests.models.family_cases import FIELDS, SMALL, batch, randomize

N, D, SETS = len(FIELDS), 4, 3


def numpy(t):
    return keras.ops.convert_to_numpy(t)


def regularised(sets=SETS, coefficient=1e-5, **kwargs):
    return models.get("dcnv2")(
        FIELDS,
        num_embedding_sets=sets,
        orthogonal_regularization=coefficient,
        num_cross_layers=2,
        **{**SMALL, **kwargs},
    )


def numpy_penalty(model):
    total = 0.0
    for layer in model.get_layer("cross_net").cross_layers:
        kernel = numpy(layer.kernel).reshape(-1, N * D, N * D)
        for k in kernel:  # each set
            for i in range(N):
                for j in range(N):
                    w = k[i * D : (i + 1) * D, j * D : (j + 1) * D]
                    total += np.sum((np.eye(D) - w @ w.T) ** 2)
    return total


@pytest.mark.parametrize("sets,shared", [(1, False), (SETS, False), (SETS, True)])
def test_penalty_is_the_numpy_sum_over_layers_sets_and_blocks(sets, shared):
    model = regularised(sets, shared_interaction=shared)
    layers = model.get_layer("cross_net").cross_layers
    lead = () if shared else (sets,)
    assert [tuple(layer.block_scale.shape) for layer in layers] == [(*lead, N, N)] * 2
    randomize(model, 2)
    np.testing.assert_allclose(float(numpy(model.orthogonality_penalty())), numpy_penalty(model), rtol=1e-5)


def test_loss_gains_the_coefficient_times_the_penalty():
    model = regularised(coefficient=1e-2, l2_regularization=0.0)
    model.compile(loss="binary_crossentropy")
    randomize(model, 3)
    x, y = batch(8)
    pred = model(x, training=False)
    loss = float(numpy(model.compute_loss(x, y, pred, training=False)))
    bce = float(numpy(keras.losses.binary_crossentropy(y, pred)).mean())
    assert loss == pytest.approx(bce + 1e-2 * numpy_penalty(model), rel=1e-5)


def random_orthogonal(rng, d):
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def test_zero_penalty_when_every_block_is_scaled_orthogonal_with_its_scale():
    rng = np.random.default_rng(4)
    model = regularised()
    x, _ = batch(8)
    for layer in model.get_layer("cross_net").cross_layers:
        kernel = np.zeros((SETS, N * D, N * D), "float32")
        scales = rng.uniform(0.2, 2.0, size=(SETS, N, N)).astype("float32")
        for m in range(SETS):
            for i in range(N):
                for j in range(N):
                    kernel[m, i * D : (i + 1) * D, j * D : (j + 1) * D] = random_orthogonal(rng, D)
        layer.kernel.assign(kernel)
        layer.block_scale.assign(scales)
        # The layer applies the scaled blocks s_ij * Q_ij.
        effective = numpy(layer.effective_kernel())
        for m, i, j in [(0, 0, 1), (2, 3, 2)]:
            block = effective[m, i * D : (i + 1) * D, j * D : (j + 1) * D]
            np.testing.assert_allclose(block @ block.T, scales[m, i, j] ** 2 * np.eye(D), atol=1e-5)
    assert float(numpy(model.orthogonality_penalty())) == pytest.approx(0.0, abs=1e-6)
    assert np.isfinite(numpy(model(x))).all()


def test_training_lowers_the_penalty_and_moves_the_scales():
    keras.utils.set_random_seed(0)
    model = regularised(coefficient=1.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    layers = model.get_layer("cross_net").cross_layers
    before = float(numpy(model.orthogonality_penalty()))
    x, y = batch(64)
    model.fit(x, y, batch_size=64, epochs=5, verbose=0)
    assert float(numpy(model.orthogonality_penalty())) < 0.9 * before
    assert not np.allclose(numpy(layers[0].block_scale), 1.0)


def test_regularised_model_saves_and_loads_its_scales(tmp_path):
    model = regularised()
    randomize(model, 5)
    x, _ = batch(16)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert loaded.orthogonal_regularization == 1e-5
    scale = loaded.get_layer("cross_net").cross_layers[1].block_scale
    np.testing.assert_array_equal(numpy(scale), numpy(model.get_layer("cross_net").cross_layers[1].block_scale))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_plain_dcnv2_has_no_scales_and_low_rank_refuses_the_penalty():
    plain = models.get("dcnv2")(FIELDS, **SMALL)
    assert not any("block_scale" in w.path for w in plain.weights)
    with pytest.raises(ValueError, match="full-rank"):
        regularised(projection_dim=2)
