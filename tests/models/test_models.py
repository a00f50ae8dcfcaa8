"""Every implemented zoo model: builds, trains a step, saves and loads; ME equals a loop."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import mezoo  # noqa: F401  (registers the models)
from mezoo import models
from mezoo.layers import CrossNet, MLPBlock
from tests.models.family_cases import FIELDS, SMALL, batch, randomize, small

CASES = [(key, sets) for key in models.names() for sets in (1, 3)]


@pytest.mark.parametrize("key,sets", CASES)
def test_one_training_step_is_finite(key, sets):
    model = models.get(key)(FIELDS, num_embedding_sets=sets, **small(key))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    x, y = batch()
    before = keras.ops.convert_to_numpy(model.multi_embedding.embeddings).copy()
    history = model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(before, keras.ops.convert_to_numpy(model.multi_embedding.embeddings))
    probs = model.predict(x, verbose=0)
    assert probs.shape == (64, 1) and np.all((probs > 0) & (probs < 1))


def test_save_and_load_in_a_fresh_process(tmp_path):
    x, _ = batch()
    np.save(tmp_path / "ids.npy", x["ids"])
    for key, sets in CASES:
        model = models.get(key)(FIELDS, num_embedding_sets=sets, **small(key))
        model.save(tmp_path / f"{key}_{sets}.keras")
        np.save(tmp_path / f"{key}_{sets}.npy", model.predict(x, verbose=0))
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, keras, mezoo
        ids = np.load(r"{tmp_path}/ids.npy")
        for name in {[f"{k}_{s}" for k, s in CASES]!r}:
            model = keras.models.load_model(rf"{tmp_path}/{{name}}.keras")
            got = model.predict({{"ids": ids}}, verbose=0)
            np.testing.assert_array_equal(got, np.load(rf"{tmp_path}/{{name}}.npy"), err_msg=name)
            assert type(model).__module__.startswith("mezoo.models"), type(model)
        print("loaded", len({CASES!r}))
        """
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"loaded {len(CASES)}" in result.stdout


def test_config_round_trip_rebuilds_the_same_architecture():
    for key, sets in CASES:
        model = models.get(key)(FIELDS, num_embedding_sets=sets, **small(key))
        clone = models.get(key).from_config(model.get_config())
        assert clone.get_config() == model.get_config()
        assert clone.count_params() == model.count_params()


CRITEO_FIELDS = [(f"f{i}", 3) for i in range(39)]


def cross_kernel_count(model):
    return sum(int(np.prod(w.shape)) for w in model.weights if "cross_net" in w.path and "kernel" in w.path)


@pytest.mark.parametrize("scale", [1, 4])
def test_dcnv2_parameter_counts_follow_the_papers_arithmetic(scale):
    d = 10
    se = models.get("dcnv2")(CRITEO_FIELDS, num_embedding_sets=1, embedding_dim=scale * d)
    me = models.get("dcnv2")(CRITEO_FIELDS, num_embedding_sets=scale, embedding_dim=d)
    assert cross_kernel_count(se) == 4 * (39 * scale * d) ** 2
    assert cross_kernel_count(me) == scale * 4 * (39 * d) ** 2
    se_rows = int(np.prod(se.multi_embedding.embeddings.shape))
    me_rows = int(np.prod(me.multi_embedding.embeddings.shape))
    assert se_rows == me_rows == 39 * 3 * scale * d


def test_me_si_shares_one_cross_net():
    me = models.get("dcnv2")(CRITEO_FIELDS, num_embedding_sets=3, embedding_dim=10)
    si = models.get("dcnv2")(CRITEO_FIELDS, num_embedding_sets=3, embedding_dim=10, shared_interaction=True)
    assert cross_kernel_count(me) == 3 * cross_kernel_count(si)


def test_stacked_me_si_is_one_interaction_module_applied_to_every_set():
    """The paper's MultiESingleIDCNv2: cross net and first block shared, mean, shared head."""
    sets, d, hidden = 3, 4, (6, 5)
    si = models.get("dcnv2")(
        FIELDS, num_embedding_sets=sets, embedding_dim=d, hidden_units=hidden, dropout=0.0, shared_interaction=True
    )
    me = models.get("dcnv2")(FIELDS, num_embedding_sets=sets, embedding_dim=d, hidden_units=hidden, dropout=0.0)
    width = len(FIELDS) * d
    first_block = width * hidden[0] + hidden[0] + 4 * hidden[0]  # kernel, bias, BatchNorm's four
    assert me.count_params() - si.count_params() == (sets - 1) * (4 * (width * width + width) + first_block)
    randomize(si, 2)
    x, _ = batch(32)
    got = keras.ops.convert_to_numpy(si(x, training=False))

    ids = x["ids"] + np.cumsum([0] + [v for _, v in FIELDS])[:-1]
    table = keras.ops.convert_to_numpy(si.multi_embedding.embeddings)
    cross, block = si.get_layer("cross_net"), si.get_layer("set_mlp_0")
    assert block.num_sets is None and cross.num_sets is None
    outs = []
    for m in range(sets):
        flat = table[ids][:, :, m * d : (m + 1) * d].reshape(len(ids), -1)
        outs.append(keras.ops.convert_to_numpy(block(cross(flat), training=False)))
    h = keras.ops.convert_to_numpy(si.get_layer("mlp_0")(np.mean(outs, axis=0), training=False))
    logit = keras.ops.convert_to_numpy(si.get_layer("logit")(h))
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-logit)), rtol=1e-4, atol=1e-5)


def test_coupled_l2_is_added_to_the_loss():
    model = models.get("dnn")(FIELDS, num_embedding_sets=2, l2_regularization=1e-3, **SMALL)
    model.compile(loss="binary_crossentropy")
    x, y = batch(8)
    pred = model(x, training=False)
    loss = float(keras.ops.convert_to_numpy(model.compute_loss(x, y, pred, training=False)))
    bce = float(keras.ops.convert_to_numpy(keras.losses.binary_crossentropy(y, pred)).mean())
    l2 = sum(float((keras.ops.convert_to_numpy(w) ** 2).sum()) for w in model.trainable_weights)
    assert loss == pytest.approx(bce + 1e-3 * l2, rel=1e-5)


@pytest.mark.parametrize("key", ["dnn", "dcnv2"])
def test_batched_me_equals_a_loop_of_separate_se_trunks(key):
    sets, d, hidden = 3, 4, (6, 5)
    model = models.get(key)(FIELDS, num_embedding_sets=sets, embedding_dim=d, hidden_units=hidden, dropout=0.0)
    randomize(model, 1)
    x, _ = batch(32)
    got = keras.ops.convert_to_numpy(model(x, training=True))

    ids = x["ids"] + np.cumsum([0] + [v for _, v in FIELDS])[:-1]
    table = keras.ops.convert_to_numpy(model.multi_embedding.embeddings)
    set_mlp = model.get_layer("set_mlp_0")
    kernel, bias, gamma, beta, mean, var = [keras.ops.convert_to_numpy(w) for w in set_mlp.weights]
    outs = []
    for m in range(sets):
        flat = table[ids][:, :, m * d : (m + 1) * d].reshape(len(ids), -1)  # set m's own table
        if key == "dcnv2":
            cross = CrossNet(4)
            cross(flat)
            cross.set_weights([keras.ops.convert_to_numpy(w)[m] for w in model.get_layer("cross_net").weights])
            flat = keras.ops.convert_to_numpy(cross(flat))
        block = MLPBlock(hidden[0], dropout=0.0)
        block(flat)
        u = hidden[0]
        block.set_weights([kernel[m], bias[m], *(w[m * u : (m + 1) * u] for w in (gamma, beta, mean, var))])
        outs.append(keras.ops.convert_to_numpy(block(flat, training=True)))
    h = np.mean(outs, axis=0)
    shared = model.get_layer("mlp_0")
    h = keras.ops.convert_to_numpy(shared(h, training=True))
    logit = keras.ops.convert_to_numpy(model.get_layer("logit")(h))
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-logit)), rtol=1e-4, atol=1e-5)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(KeyError, match="dcnv2"):
        models.get("nope")


def test_ipnn_se_sees_embeddings_and_products_me_only_products():
    n, d, pairs = len(FIELDS), 4, len(FIELDS) * (len(FIELDS) - 1) // 2
    se = models.get("ipnn")(FIELDS, num_embedding_sets=1, **SMALL)
    me = models.get("ipnn")(FIELDS, num_embedding_sets=3, **SMALL)
    assert tuple(se.get_layer("set_mlp_0").kernel.shape) == (1, n * d + pairs, 16)
    assert tuple(me.get_layer("set_mlp_0").kernel.shape) == (3, pairs, 16)


def test_nfwfm_has_a_field_pair_matrix_and_batch_norm_per_set():
    model = models.get("nfwfm")(FIELDS, num_embedding_sets=3, **SMALL)
    assert tuple(model.get_layer("fwfm").r.shape) == (3, len(FIELDS), len(FIELDS))
    assert tuple(model.get_layer("fwfm_batch_norm").gamma.shape) == (3 * 4,)
    assert tuple(model.get_layer("set_mlp_0").kernel.shape) == (3, 4, 16)


def test_xdeepfm_sums_a_cin_logit_and_an_mlp_logit():
    model = models.get("xdeepfm")(FIELDS, num_embedding_sets=3, **SMALL)
    assert tuple(model.get_layer("cin_logit").kernel.shape) == (32, 1)  # mean of 32 CIN features
    assert model.get_layer("cin").num_sets == 3
    x, _ = batch(8)
    parts = keras.Model(model.inputs, [model.get_layer("cin_logit").output, model.get_layer("mlp_logit").output])
    cin_logit, mlp_logit = (keras.ops.convert_to_numpy(t) for t in parts(x))
    logit = keras.ops.convert_to_numpy(model.logits_model()(x))
    np.testing.assert_allclose(logit, cin_logit + mlp_logit, rtol=1e-5, atol=1e-6)
