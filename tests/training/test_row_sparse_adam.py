"""RowSparseAdam and the two training modes: numerics against numpy, semantics on a model."""

import keras
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

import mezoo  # noqa: E402,F401
from mezoo import models  # noqa: E402
from mezoo.optimizers import FusedAdam, RowSparseAdam  # noqa: E402
from mezoo.training import compile_model  # noqa: E402

LR, B1, B2, EPS, L2 = 0.01, 0.9, 0.999, 1e-7, 0.05


def lazy_adam_reference(table, steps):
    """Numpy: per step, sum duplicate row gradients, add 2*l2*w, Adam on those rows only."""
    table = table.astype("float64").copy()
    m, v = np.zeros_like(table), np.zeros_like(table)
    for t, (rows, values) in enumerate(steps, start=1):
        unique = np.unique(rows)
        grad = np.zeros((len(unique), table.shape[1]))
        for r, g in zip(rows, values):
            grad[np.searchsorted(unique, r)] += g
        grad += 2 * L2 * table[unique]
        m[unique] = B1 * m[unique] + (1 - B1) * grad
        v[unique] = B2 * v[unique] + (1 - B2) * grad**2
        alpha = LR * np.sqrt(1 - B2**t) / (1 - B1**t)
        table[unique] -= alpha * m[unique] / (np.sqrt(v[unique]) + EPS)
    return table


def test_sparse_updates_match_numpy_lazy_adam():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(8, 3)).astype("float32")
    steps = [
        (np.array([1, 4, 1, 6]), rng.normal(size=(4, 3)).astype("float32")),  # row 1 twice
        (np.array([0, 4, 4]), rng.normal(size=(3, 3)).astype("float32")),
    ]
    variable = keras.Variable(start)
    optimizer = RowSparseAdam(LR, beta_1=B1, beta_2=B2, epsilon=EPS, sparse_l2=L2)
    for rows, values in steps:
        grad = tf.IndexedSlices(tf.constant(values), tf.constant(rows, "int64"), tf.constant([8, 3], "int64"))
        optimizer.apply_gradients([(grad, variable)])
    got = keras.ops.convert_to_numpy(variable)
    np.testing.assert_allclose(got, lazy_adam_reference(start, steps), rtol=1e-5, atol=1e-6)
    untouched = [2, 3, 5, 7]
    np.testing.assert_array_equal(got[untouched], start[untouched])


def test_dense_gradients_are_plain_adam():
    rng = np.random.default_rng(1)
    start, grads = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(3, 4, 3)).astype("float32")
    results = []
    for optimizer in (RowSparseAdam(LR, sparse_l2=L2), FusedAdam(LR), keras.optimizers.Adam(LR)):
        variable = keras.Variable(start)
        for g in grads:
            optimizer.apply_gradients([(tf.constant(g), variable)])
        results.append(keras.ops.convert_to_numpy(variable))
    np.testing.assert_array_equal(results[0], results[1])  # dense gradients: FusedAdam's kernel
    np.testing.assert_allclose(results[0], results[2], rtol=1e-5, atol=1e-6)  # Keras' formula, to rounding


def test_amsgrad_and_unknown_mode_are_refused():
    with pytest.raises(ValueError, match="amsgrad"):
        RowSparseAdam(amsgrad=True)
    with pytest.raises(ValueError, match="exact, fast"):
        compile_model(models.get("dnn")([("a", 3)]), "fastest")


FIELDS = [("a", 30), ("b", 40), ("c", 20)]


def one_step(mode, x, y):
    keras.utils.set_random_seed(7)
    model = models.get("dcnv2")(FIELDS, num_embedding_sets=2, embedding_dim=4, hidden_units=(8, 8), dropout=0.0)
    start = keras.ops.convert_to_numpy(model.multi_embedding.embeddings).copy()
    compile_model(model, mode)
    model.fit(x, y, batch_size=len(y), epochs=1, verbose=0, shuffle=False)
    return model, start, keras.ops.convert_to_numpy(model.multi_embedding.embeddings)


def test_fast_mode_updates_only_touched_rows_and_matches_exact_there():
    rng = np.random.default_rng(2)
    ids = np.stack([rng.integers(0, v // 2, 16) for _, v in FIELDS], axis=1).astype("int32")  # upper halves unused
    x, y = {"ids": ids}, rng.integers(0, 2, (16, 1)).astype("float32")
    fast_model, start, fast = one_step("fast", x, y)
    _, start_exact, exact = one_step("exact", x, y)
    np.testing.assert_array_equal(start, start_exact)
    touched = np.zeros(len(start), bool)
    touched[np.unique(ids + fast_model.multi_embedding.offsets[:-1])] = True
    assert 0 < touched.sum() < len(start)
    np.testing.assert_array_equal(fast[~touched], start[~touched])
    assert np.all(np.any(exact[~touched] != start[~touched], axis=1)), "exact mode decays every row"
    # First Adam step from zero moments: same gradient on touched rows gives the same update.
    np.testing.assert_allclose(fast[touched], exact[touched], rtol=1e-4, atol=1e-6)
    assert not np.allclose(fast[touched], start[touched])


def test_fast_mode_keeps_the_table_gradient_row_sparse():
    x = {"ids": np.array([[1, 2, 3], [4, 5, 6]], "int32")}
    y = np.array([[1.0], [0.0]], "float32")
    kinds = {}
    for sparse in (False, True):
        model = models.get("dnn")(FIELDS, hidden_units=(8, 8), sparse_embedding_l2=sparse)
        model.compile(loss="binary_crossentropy")
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
        kinds[sparse] = type(tape.gradient(loss, model.multi_embedding.embeddings.value)).__name__
    assert kinds == {False: "EagerTensor", True: "IndexedSlices"}


def test_fast_compiled_model_saves_and_loads_its_optimizer(tmp_path):
    rng = np.random.default_rng(3)
    x = {"ids": np.stack([rng.integers(0, v, 8) for _, v in FIELDS], axis=1).astype("int32")}
    model, _, _ = one_step("fast", x, rng.integers(0, 2, (8, 1)).astype("float32"))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, RowSparseAdam)
    assert loaded.optimizer.sparse_l2 == model.l2_regularization
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_fast_mode_keeps_fm_first_order_weights_row_sparse_too():
    model = models.get("deepfm")(FIELDS, hidden_units=(8,))
    assert len(model.row_tables) == 2
    compile_model(model, "fast")
    x = {"ids": np.array([[1, 2, 3]], "int32")}
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=x, y=np.ones((1, 1), "float32"), y_pred=model(x, training=True))
    grads = tape.gradient(loss, [t.value for t in model.row_tables])
    assert [type(g).__name__ for g in grads] == ["IndexedSlices", "IndexedSlices"]
