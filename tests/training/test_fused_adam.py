"""FusedAdam: Keras' Adam in one fused kernel per variable; dense Adam's numbers, to rounding."""

import keras
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

import mezoo  # noqa: E402,F401
from mezoo import models  # noqa: E402
from mezoo.optimizers import FusedAdam, fused_adam  # noqa: E402
from mezoo.training import compile_model, training_mode  # noqa: E402
from mezoo.training.training_mode import XLA_TABLE_BYTES, auto_jit_compile  # noqa: E402


@pytest.fixture(params=["tensorflow kernels", "xla kernel"])
def table_kernel(request, monkeypatch) -> str:
    """Runs a test with tables under the XLA kernel's threshold (TensorFlow's kernels), then over it."""
    if request.param == "xla kernel":
        monkeypatch.setattr(fused_adam, "XLA_TABLE_STEP_BYTES", 0)
    return request.param


def _train(optimizer, jit: bool, sparse: bool, decay: float = 1e-3):
    rng = np.random.default_rng(0)
    table = keras.Variable(rng.normal(size=(20, 3)).astype("float32"))
    dense = keras.Variable(rng.normal(size=(3,)).astype("float32"))

    @tf.function(jit_compile=jit)
    def step(rows, g_dense):
        with tf.GradientTape() as tape:
            looked_up = tf.gather(table.value, rows) if sparse else tf.gather(tf.convert_to_tensor(table.value), rows)
            loss = tf.reduce_sum(tf.square(looked_up * dense))
            if decay:  # the table's gradient then has a dense part, else it is row-sparse (IndexedSlices)
                loss += decay * tf.reduce_sum(tf.square(table.value))
        grads = tape.gradient(loss, [table.value, dense.value])
        if not isinstance(optimizer, FusedAdam):
            # The reference is dense Adam: Keras' Adam given a row-sparse gradient squares each of a
            # batch's repeated rows apart instead of their sum.
            grads[0] = tf.convert_to_tensor(grads[0])
        optimizer.apply([grads[0], grads[1] + g_dense], [table, dense])

    start = [keras.ops.convert_to_numpy(v) for v in (table, dense)]
    for t in range(6):
        step(tf.constant(rng.integers(0, 20, 8)), tf.constant(rng.normal(size=(3,)).astype("float32")))
    return start, [keras.ops.convert_to_numpy(v) for v in (table, dense)], int(optimizer.iterations.numpy())


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("sparse,decay", [(False, 1e-3), (True, 1e-3), (True, 0.0)])
def test_same_numbers_as_keras_adam(jit, sparse, decay, table_kernel):
    start, fused, fused_steps = _train(FusedAdam(0.01, epsilon=1e-8), jit, sparse, decay)
    _, plain, plain_steps = _train(keras.optimizers.Adam(0.01, epsilon=1e-8), jit, sparse, decay)
    for before, a, b in zip(start, fused, plain):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        if decay:  # every row moved (dense semantics, also for a gathered table)
            assert np.abs(a - before).min() > 1e-3
    assert fused_steps == plain_steps == 6


def test_it_is_the_exact_mode_optimizer_and_saves():
    model = models.get("dnn")([("a", 30), ("b", 20)], hidden_units=(8,))
    compile_model(model, "exact")
    assert isinstance(model.optimizer, FusedAdam)
    config = keras.optimizers.serialize(model.optimizer)
    assert isinstance(keras.optimizers.deserialize(config), FusedAdam)


def test_auto_xla_on_a_cpu_only_up_to_tensorflow_2_16(monkeypatch):
    if tf.config.list_logical_devices("GPU"):
        pytest.skip("on a GPU auto always compiles with XLA in exact mode")
    single = models.get("dnn")([("a", 30), ("b", 20)], hidden_units=(8,))
    monkeypatch.setattr(training_mode, "tensorflow_version", lambda: (2, 21))
    assert not auto_jit_compile(single, "exact")
    monkeypatch.setattr(training_mode, "tensorflow_version", lambda: (2, 16))
    assert auto_jit_compile(single, "exact")
    assert training_mode.tensorflow_version() <= (2, 16) or not compile_model(single, "exact").jit_compile


def test_auto_xla_follows_sets_and_table_size(monkeypatch):
    if tf.config.list_logical_devices("GPU"):
        pytest.skip("on a GPU auto always compiles with XLA in exact mode")
    monkeypatch.setattr(training_mode, "tensorflow_version", lambda: (2, 16))
    single = models.get("dnn")([("a", 30), ("b", 20)], hidden_units=(8,))
    assert auto_jit_compile(single, "exact") and not auto_jit_compile(single, "fast")
    model = models.get("dnn")(
        [("a", 30), ("b", 20)], num_embedding_sets=2, hidden_units=(8,)
    )  # 50 x 20 floats: 4,000 bytes
    assert XLA_TABLE_BYTES > 4000 and not auto_jit_compile(model, "exact")
    assert not compile_model(model, "exact").jit_compile
    monkeypatch.setattr(training_mode, "XLA_TABLE_BYTES", 4000)
    assert auto_jit_compile(model, "exact")
    assert not auto_jit_compile(model, "fast")
    assert compile_model(model, "exact").jit_compile


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("family", ["dnn", "dcnv2", "deepfm"])
def test_exact_mode_trains_as_l2_through_the_loss(family, jit, table_kernel):
    """Exact mode (tables' L2 in FusedAdam) against the plain formulation: L2 in the loss, Keras' Adam."""
    fields = [("a", 30), ("b", 40), ("c", 20)]
    rng = np.random.default_rng(3)
    x = {"ids": rng.integers(0, 20, (64, 3)).astype("int32")}
    y = rng.integers(0, 2, (64, 1)).astype("float32")
    weights = []
    for exact in (True, False):
        keras.utils.set_random_seed(0)
        model = models.get(family)(fields, hidden_units=(8,), dropout=0.0, l2_regularization=0.05)
        if exact:
            compile_model(model, "exact", learning_rate=0.01, jit_compile=jit)
            assert model.sparse_embedding_l2 and model.optimizer.table_l2 == 0.05
        else:  # every weight's L2 through the loss, dense Adam
            model.compile(optimizer=keras.optimizers.Adam(0.01, epsilon=1e-8), loss="binary_crossentropy")
        start = [w.numpy() for w in model.row_tables]
        for _ in range(4):
            model.train_on_batch(x, y)
        weights.append([w.numpy() for w in model.weights])
        unseen = model.row_tables[0].numpy()[25:30]  # rows of field "a" that no batch looked up: they decay too
        assert np.all(unseen != start[0][25:30])
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def _table_ops(model, x) -> tuple:
    """(the gather op types, the casts of a whole table) in a traced forward and backward pass."""

    @tf.function
    def step(ids):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.cast(model({"ids": ids}, training=True), tf.float32))
        return tape.gradient(loss, model.trainable_variables)

    graph = step.get_concrete_function(tf.TensorSpec(x["ids"].shape, tf.int32)).graph
    table_shapes = {tuple(table.shape) for table in model.row_tables}
    operations = graph.get_operations()
    casts = [op.name for op in operations if op.type == "Cast" and tuple(op.inputs[0].shape) in table_shapes]
    return {op.type for op in operations if "Gather" in op.type}, casts


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("family", ["dcnv2", "deepfm", "fwfm"])
def test_exact_mode_reads_tables_densely_and_fast_mode_sparsely(family, precision):
    """A sparse read (ResourceGather) puts a table in TensorFlow's copy-on-read mode for good, where
    exact mode's dense read of it (FusedAdam's coupled L2) copies the whole table every step; fast
    mode's row-sparse updates put it there anyway and need the sparse reads. Every layer that
    gathers from a table is switched by compile_model. Under a mixed policy no table is cast
    whole (Keras' autocast would, every step, and gather from the cast copy)."""
    fields = [("a", 30), ("b", 40), ("c", 20)]
    rng = np.random.default_rng(0)
    x = {"ids": rng.integers(0, 20, (64, 3)).astype("int32")}
    y = rng.integers(0, 2, (64, 1)).astype("float32")
    keras.mixed_precision.set_global_policy(precision)
    try:
        for mode in ("exact", "fast"):
            mlp = {} if family == "fwfm" else {"hidden_units": (8,)}
            model = models.get(family)(fields, l2_regularization=0.05, **mlp)
            compile_model(model, mode, jit_compile=False)
            readers = [layer for layer in model.layers if hasattr(layer, "sparse_reads")]
            assert len(readers) == {"dcnv2": 1, "deepfm": 2, "fwfm": 2}[family]
            assert all(layer.sparse_reads == (mode == "fast") for layer in readers)
            model.train_on_batch(x, y)
            gathers, casts = _table_ops(model, x)
            assert ("ResourceGather" in gathers) == (mode == "fast"), gathers
            assert mode == "fast" or "GatherV2" in gathers, gathers
            assert not casts
            assert model(x).dtype == "float32"
            assert all(str(layer.compute_dtype) == precision.replace("mixed_", "") for layer in readers)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_set_sparse_reads_reaches_nested_models():
    inner = models.get("dnn")([("a", 5), ("b", 7)], hidden_units=[4])
    outer = keras.Sequential([keras.Input((2,), dtype="int32"), keras.layers.Lambda(lambda ids: {"ids": ids}), inner])
    training_mode.set_sparse_reads(outer, True)
    assert inner.multi_embedding.sparse_reads
    training_mode.set_sparse_reads(outer, False)
    assert not inner.multi_embedding.sparse_reads


def _optimizer_step_ops(model, x, y, strategy=None) -> list:
    """`_library_ops` of a traced training step of `model` (inside `strategy.run` if given)."""

    def replica(ids, labels):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.binary_crossentropy(labels, model({"ids": ids}, training=True)))
        model.optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)

    @tf.function
    def step(ids, labels):
        if strategy is None:
            replica(ids, labels)
        else:
            strategy.run(replica, (ids, labels))

    return _library_ops(step.get_concrete_function(tf.constant(x), tf.constant(y)))


def _library_ops(concrete) -> list:
    """(op type, whether XLA must compile it) of every node in a traced function and its library."""
    graph_def = concrete.graph.as_graph_def()
    nodes = list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]
    return [(n.op, "_XlaMustCompile" in n.attr and n.attr["_XlaMustCompile"].b) for n in nodes]


@pytest.mark.parametrize("family", ["dcnv2", "deepfm"])
def test_tables_from_the_threshold_take_one_xla_kernel_and_the_rest_resource_apply_adam(family, table_kernel):
    """Without a tf.distribute strategy a table of XLA_TABLE_STEP_BYTES or more takes its exact step
    (its coupled L2, both moments, the weights) in one XLA-compiled call, also in a step that is not
    compiled by XLA; smaller tables (their rows added into the decay in place) and every other weight
    take TensorFlow's fused ResourceApplyAdam."""
    fields = [("a", 30), ("b", 40), ("c", 20)]
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, 20, (16, 3)).astype("int32"), rng.integers(0, 2, (16, 1)).astype("float32")
    model = models.get(family)(fields, hidden_units=(8,), l2_regularization=0.05)
    compile_model(model, "exact", jit_compile=False)
    model.train_on_batch({"ids": x}, y)
    ops = _optimizer_step_ops(model, x, y)
    tables = {"dcnv2": 1, "deepfm": 2}[family] if table_kernel == "xla kernel" else 0
    assert sum(xla for _, xla in ops) == tables
    applies = [op for op, _ in ops if op == "ResourceApplyAdam"]
    assert len(applies) == len(model.trainable_variables) - tables
    assert ("InplaceAdd" in {op for op, _ in ops}) == (tables == 0)


@pytest.mark.parametrize("family", ["dcnv2", "deepfm"])
def test_in_place_table_l2_under_a_strategy_gives_the_scatters_numbers_and_leaves_the_table_alone(family):
    """Under a tf.distribute strategy Keras' Adam updates the tables, and compile_model adds the
    batch's rows into the decay term in place (InplaceAdd) when the step has no XLA; the table
    itself must not be written through the alias, and duplicate rows add up: the same weights as
    the scatter after a few steps, to rounding."""
    fields = [("a", 30), ("b", 40), ("c", 20)]
    rng = np.random.default_rng(5)
    x = {"ids": rng.integers(0, 6, (64, 3)).astype("int32")}  # many duplicate rows per batch
    y = rng.integers(0, 2, (64, 1)).astype("float32")
    weights = []
    for in_place in (True, False):
        keras.utils.set_random_seed(0)
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
        with strategy.scope():
            model = models.get(family)(fields, hidden_units=(8,), dropout=0.0, l2_regularization=0.05)
            compile_model(model, "exact", learning_rate=0.01, jit_compile=False)
        assert not model.optimizer.step_uses_xla()
        if not in_place:
            model.optimizer.step_uses_xla = lambda: True
        for _ in range(3):
            model.train_on_batch(x, y)
        weights.append([w.numpy() for w in model.weights])
        ops = _optimizer_step_ops(model, x["ids"], y, strategy)
        assert not any(xla for _, xla in ops)  # Keras' Adam, not the tables' XLA kernel
        assert ("InplaceAdd" in {op for op, _ in ops}) == in_place
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("strategy", [False, True])
def test_exact_steps_train_under_xla_even_when_recompiled_with_it(strategy, table_kernel):
    """A step compiled by XLA (from compile_model, or a later model.compile with jit_compile=True
    and the same optimizer) trains: the tables' XLA kernel is inlined, and under a strategy XLA,
    which has no InplaceAdd, gets the scatter."""
    import contextlib

    rng = np.random.default_rng(0)
    x, y = {"ids": rng.integers(0, 5, (8, 2)).astype("int32")}, np.ones((8, 1), "float32")
    for recompiled in (False, True):
        scope = tf.distribute.OneDeviceStrategy("/cpu:0").scope() if strategy else contextlib.nullcontext()
        with scope:
            model = models.get("dnn")([("a", 5), ("b", 7)], hidden_units=[4], l2_regularization=0.05)
            compile_model(model, "exact", jit_compile=not recompiled)
            if recompiled:
                model.compile(optimizer=model.optimizer, loss="binary_crossentropy", jit_compile=True)
        assert model.optimizer.step_uses_xla()
        before = model.row_tables[0].numpy()
        model.train_on_batch(x, y)
        assert np.all(model.row_tables[0].numpy() != before)
