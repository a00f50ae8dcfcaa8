"""Multi-valued (padded bag-of-ids) fields in MultiEmbedding and FirstOrderTerm, against numpy.

Backend-agnostic: the gradient checks use the backend's own autodiff in the test only
(TensorFlow's GradientTape or `jax.grad` over `stateless_call`).
"""

import keras
import numpy as np
import pytest

from mezoo.data.multi_valued import PADDING_ID
from mezoo.layers import FirstOrderTerm, MultiEmbedding
from mezoo.layers.field_pooling import clamp_padding, column_offsets, field_layout, pool_fields

VOCABS = [7, 12, 5, 9, 6]
LENGTHS = [1, 4, 1, 3, 2]  # fields 1, 3 and 4 are multi-valued
MULTI = [f for f, n in enumerate(LENGTHS) if n > 1]
OFFSETS = np.cumsum([0] + VOCABS)
STARTS = np.cumsum([0] + LENGTHS)


def numpy(t):
    return np.asarray(keras.ops.convert_to_numpy(t))


def padded_ids(batch=24, seed=0, lowest=0):
    """Ids `(batch, T)` with random padding; real ids of multi-valued fields start at `lowest`.

    Row 0 has every multi-valued field entirely padding, row 1 exactly one value in each,
    row 2 every position filled; the other rows a random count, padding at random positions.
    """
    rng = np.random.default_rng(seed)
    ids = np.full((batch, sum(LENGTHS)), PADDING_ID, "int32")
    for f, (v, n) in enumerate(zip(VOCABS, LENGTHS)):
        cols = slice(STARTS[f], STARTS[f + 1])
        if n == 1:
            ids[:, cols] = rng.integers(0, v, (batch, 1))
            continue
        values = rng.integers(lowest, v, (batch, n))
        present = rng.random((batch, n)) < 0.5
        present[0], present[1], present[2] = False, np.eye(n, dtype=bool)[rng.integers(n)], True
        ids[:, cols] = np.where(present, values, PADDING_ID)
    return ids


def numpy_pooled(table, ids, poolings, lengths=LENGTHS):
    """(batch, F, k): the formula, field by field and row by row."""
    out = np.zeros((len(ids), len(lengths), table.shape[1]), "float64")
    for b in range(len(ids)):
        for f, n in enumerate(lengths):
            values = [i for i in ids[b, STARTS[f] : STARTS[f] + n] if i >= 0]
            if n == 1:
                out[b, f] = table[OFFSETS[f] + ids[b, STARTS[f]]]
                continue
            total = sum((table[OFFSETS[f] + i].astype("float64") for i in values), np.zeros(table.shape[1]))
            count = max(len(values), 1)
            out[b, f] = {"sum": total, "mean": total / count, "sqrtn": total / np.sqrt(count)}[poolings[f]]
    return out


def random_weights(layer, seed):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(size=tuple(w.shape)).astype("float32") for w in layer.weights])


POOLING_CASES = {"mean": "mean", "sum": "sum", "sqrtn": "sqrtn", "mixed": ["sum", "mean", "sum", "sqrtn", "sum"]}


@pytest.mark.parametrize("poolings", sorted(POOLING_CASES))
@pytest.mark.parametrize("sets", [1, 3])
def test_pooled_fields_match_a_numpy_oracle(poolings, sets):
    dim = 4
    layer = MultiEmbedding(VOCABS, dim, sets, field_lengths=LENGTHS, poolings=POOLING_CASES[poolings])
    ids = padded_ids()
    layer(ids)
    random_weights(layer, 1)
    table = numpy(layer.embeddings)
    assert table.shape == (sum(VOCABS), sets * dim)  # the fused table whatever the lengths
    got = numpy(layer(ids))
    assert got.shape == (len(ids), sets, len(VOCABS), dim)
    _, names = field_layout(len(VOCABS), None, POOLING_CASES[poolings])
    expected = numpy_pooled(table, ids, names).reshape(len(ids), len(VOCABS), sets, dim).transpose(0, 2, 1, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    for f in MULTI:  # a field with no value embeds to zeros, whatever its pooling
        np.testing.assert_array_equal(got[0, :, f], 0.0)
    # One value: mean, sum and sqrtn all give that id's row.
    for f in MULTI:
        (i,) = [i for i in ids[1, STARTS[f] : STARTS[f + 1]] if i >= 0]
        np.testing.assert_array_equal(got[1, :, f].reshape(-1), table[OFFSETS[f] + i])


def test_sets_pool_like_separate_single_set_layers_with_distinct_weights():
    sets, dim, poolings = 3, 5, POOLING_CASES["mixed"]
    ids = padded_ids(seed=2)
    separate = []
    for m in range(sets):
        layer = MultiEmbedding(VOCABS, dim, 1, field_lengths=LENGTHS, poolings=poolings)
        layer(ids)
        random_weights(layer, 10 + m)
        separate.append(layer)
    assert not np.allclose(numpy(separate[0].embeddings), numpy(separate[1].embeddings))
    batched = MultiEmbedding(VOCABS, dim, sets, field_lengths=LENGTHS, poolings=poolings)
    batched(ids)
    batched.set_weights([np.concatenate([numpy(s.embeddings) for s in separate], axis=1)])
    got = numpy(batched(ids))
    for m, layer in enumerate(separate):
        np.testing.assert_allclose(got[:, m], numpy(layer(ids))[:, 0], rtol=1e-6, atol=1e-7)
        for f in range(len(VOCABS)):
            np.testing.assert_array_equal(numpy(batched.table(f, m)), numpy(layer.table(f, 0)))


def clamp_rows(lengths=LENGTHS):
    """The fused rows padding reads: row 0 of each multi-valued field."""
    return [int(OFFSETS[f]) for f, n in enumerate(lengths) if n > 1]


@pytest.mark.parametrize("pooling", ["mean", "sum", "sqrtn"])
def test_the_rows_padding_reads_never_reach_the_output(pooling):
    layer = MultiEmbedding(VOCABS, 3, 2, field_lengths=LENGTHS, poolings=pooling)
    ids = padded_ids(seed=3, lowest=1)  # real ids of multi-valued fields never read row 0
    before = numpy(layer(ids))
    table = numpy(layer.embeddings).copy()
    for value in (1e6, np.inf, np.nan):
        changed = table.copy()
        changed[clamp_rows()] = value
        layer.embeddings.assign(changed)
        after = numpy(layer(ids))
        np.testing.assert_array_equal(after, before, err_msg=str(value))
        for f in MULTI:
            np.testing.assert_array_equal(after[0, :, f], 0.0)  # entirely padding: zeros


def table_gradient(layer, variable, ids, upstream):
    """d sum(layer(ids) * upstream) / d variable, by the backend's own autodiff, as a dense array."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(ids) * upstream)
        return np.asarray(tf.convert_to_tensor(tape.gradient(loss, variable.value)))
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        index = [id(w) for w in layer.trainable_variables].index(id(variable))

        def loss(value):
            values = [w.value for w in layer.trainable_variables]
            values[index] = value
            out, _ = layer.stateless_call(values, [w.value for w in layer.non_trainable_variables], ids)
            return jnp.sum(out * upstream)

        return np.asarray(jax.grad(loss)(variable.value))
    if backend == "torch":
        import torch

        loss = keras.ops.sum(layer(ids) * keras.ops.convert_to_tensor(upstream))
        (gradient,) = torch.autograd.grad(loss, variable.value)
        return gradient.detach().cpu().numpy()
    pytest.skip(f"no gradient helper for the {backend} backend")


def numpy_table_gradient(shape, ids, upstream, poolings, lengths=LENGTHS):
    """The same gradient from the formula: each real id's row gets its field's upstream / denominator."""
    grad = np.zeros(shape, "float64")
    for b in range(len(ids)):
        for f, n in enumerate(lengths):
            values = [i for i in ids[b, STARTS[f] : STARTS[f] + n] if i >= 0]
            scale = 1.0 if n == 1 or poolings[f] == "sum" else max(len(values), 1)
            scale = np.sqrt(scale) if n > 1 and poolings[f] == "sqrtn" else scale
            for i in values:
                grad[OFFSETS[f] + i] += upstream[b, f] / scale
    return grad


@pytest.mark.parametrize("poolings", ["mean", "mixed"])
def test_gradient_matches_numpy_and_is_zero_on_rows_only_padding_read(poolings):
    sets, dim = 2, 3
    names = field_layout(len(VOCABS), None, POOLING_CASES[poolings])[1]
    layer = MultiEmbedding(VOCABS, dim, sets, field_lengths=LENGTHS, poolings=names)
    ids = padded_ids(seed=4, lowest=1)
    layer(ids)
    upstream = np.random.default_rng(5).normal(size=(len(ids), sets, len(VOCABS), dim)).astype("float32")
    grad = table_gradient(layer, layer.embeddings, ids, upstream)
    per_field = upstream.transpose(0, 2, 1, 3).reshape(len(ids), len(VOCABS), sets * dim)
    np.testing.assert_allclose(grad, numpy_table_gradient(grad.shape, ids, per_field, names), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(grad[clamp_rows()], 0.0)
    assert np.all(np.abs(grad[[OFFSETS[f] + 1 for f in MULTI]]).sum(axis=1) > 0)  # real ids do get gradient


def test_first_order_term_pools_each_multi_valued_fields_weights():
    poolings = POOLING_CASES["mixed"]
    term = FirstOrderTerm(VOCABS, num_numeric=2, field_lengths=LENGTHS, poolings=poolings)
    ids = padded_ids(seed=6)
    dense = np.random.default_rng(7).normal(size=(len(ids), 2)).astype("float32")
    term(ids, dense)
    random_weights(term, 8)
    table, kernel, bias = (numpy(w) for w in (term.table, term.numeric_kernel, term.bias))
    expected = numpy_pooled(table, ids, poolings).sum(axis=1) + dense @ kernel + bias
    np.testing.assert_allclose(numpy(term(ids, dense)), expected, rtol=1e-5, atol=1e-5)
    # Padding adds nothing and gets no gradient.
    real = padded_ids(seed=6, lowest=1)
    before = numpy(term(real, dense))
    changed = table.copy()
    changed[clamp_rows()] = 1e6
    term.table.assign(changed)
    np.testing.assert_array_equal(numpy(term(real, dense)), before)
    upstream = np.ones((len(ids), 1), "float32")
    only_ids = FirstOrderTerm(VOCABS, field_lengths=LENGTHS, poolings=poolings)
    only_ids(real)
    grad = table_gradient(only_ids, only_ids.table, real, upstream)
    np.testing.assert_allclose(
        grad, numpy_table_gradient(grad.shape, real, np.ones((len(ids), len(VOCABS), 1)), poolings), rtol=1e-5
    )
    np.testing.assert_array_equal(grad[clamp_rows()], 0.0)


def test_all_lengths_one_is_exactly_the_plain_layer():
    vocabs = [7, 12, 5]
    seeded = keras.initializers.GlorotUniform(seed=4)
    plain = MultiEmbedding(vocabs, 4, 2, embeddings_initializer=seeded, name="e")
    ones = MultiEmbedding(
        vocabs, 4, 2, embeddings_initializer=seeded, field_lengths=[1, 1, 1], poolings="sum", name="e"
    )
    assert not ones.pooled and ones.get_config() == plain.get_config()  # no new keys
    ids = np.array([[0, 11, 4], [6, 0, 1]], "int32")
    np.testing.assert_array_equal(numpy(ones(ids)), numpy(plain(ids)))
    # Pooled fields change neither the table's shape nor its initialisation.
    pooled = MultiEmbedding(vocabs, 4, 2, embeddings_initializer=seeded, field_lengths=[1, 3, 2])
    pooled(np.zeros((1, 6), "int32"))
    np.testing.assert_array_equal(numpy(pooled.embeddings), numpy(plain.embeddings))
    term = FirstOrderTerm(vocabs, field_lengths=[1, 1, 1], name="t")
    assert term.get_config() == FirstOrderTerm(vocabs, name="t").get_config()


def test_config_round_trip_and_old_configs():
    layer = MultiEmbedding(VOCABS, 4, 2, field_lengths=LENGTHS, poolings="sqrtn", field_names=list("abcde"))
    config = layer.get_config()
    assert config["field_lengths"] == LENGTHS and config["poolings"] == ["sqrtn"] * 5
    revived = MultiEmbedding.from_config(config)
    assert revived.get_config() == config and revived.field_lengths == LENGTHS
    # A config written before multi-valued fields (no field_lengths, no poolings) still loads.
    old = {
        "name": "multi_embedding",
        "trainable": True,
        "dtype": "float32",
        "vocab_sizes": [10, 20],
        "embedding_dim": 3,
        "num_sets": 2,
        "embeddings_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {}},
        "embeddings_regularizer": None,
        "field_names": ["a", "b"],
    }
    loaded = MultiEmbedding.from_config(old)
    assert loaded.field_lengths == [1, 1] and not loaded.pooled
    assert tuple(loaded(np.array([[1, 2]], "int32")).shape) == (1, 2, 2, 3)
    assert "field_lengths" not in loaded.get_config()
    term = FirstOrderTerm(VOCABS, field_lengths=LENGTHS, poolings="sum")
    assert FirstOrderTerm.from_config(term.get_config()).get_config() == term.get_config()
    old_term = FirstOrderTerm.from_config({"vocab_sizes": [3, 4], "num_numeric": 0, "use_bias": True})
    assert old_term.field_lengths == [1, 1] and "field_lengths" not in old_term.get_config()


def test_symbolic_input_width_is_the_sum_of_the_lengths():
    layer = MultiEmbedding(VOCABS, 4, 3, field_lengths=LENGTHS)
    out = layer(keras.Input(shape=(sum(LENGTHS),), dtype="int32"))
    assert tuple(out.shape) == (None, 3, len(VOCABS), 4) and layer.num_columns == sum(LENGTHS)


def test_bad_layouts_and_widths_are_named():
    with pytest.raises(ValueError, match=r"expects ids of shape \(batch, 11\).*field_lengths.*got \(2, 5\)"):
        MultiEmbedding(VOCABS, 4, field_lengths=LENGTHS)(np.zeros((2, 5), "int32"))
    layer = MultiEmbedding(VOCABS, 4, field_lengths=LENGTHS)
    layer(np.zeros((2, 11), "int32"))
    with pytest.raises(ValueError, match=r"\(batch, 11\)"):  # after build too
        layer(np.zeros((2, 12), "int32"))
    with pytest.raises(ValueError, match=r"\(batch, 11\)"):
        FirstOrderTerm(VOCABS, field_lengths=LENGTHS)(np.zeros((2, 5), "int32"))
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        MultiEmbedding(VOCABS, 4, field_lengths=LENGTHS, poolings="max")
    with pytest.raises(ValueError, match="unknown pooling"):
        FirstOrderTerm(VOCABS, field_lengths=LENGTHS, poolings=["mean", "sum", "mean", "avg", "sum"])
    with pytest.raises(ValueError, match="field_lengths"):
        MultiEmbedding(VOCABS, 4, field_lengths=[1, 0, 1, 1, 1])
    with pytest.raises(ValueError, match="field_lengths"):
        MultiEmbedding(VOCABS, 4, field_lengths=[1, 2])
    with pytest.raises(ValueError, match="poolings has 2 entries for 5 fields"):
        MultiEmbedding(VOCABS, 4, field_lengths=LENGTHS, poolings=["mean", "sum"])


def test_pool_fields_keeps_single_valued_rows_as_they_are():
    rows = np.random.default_rng(9).normal(size=(3, sum(LENGTHS), 2)).astype("float32")
    ids = padded_ids(batch=3)
    out = numpy(pool_fields(rows, ids, LENGTHS, ["mean"] * 5))
    for f, n in enumerate(LENGTHS):
        if n == 1:
            np.testing.assert_array_equal(out[:, f], rows[:, STARTS[f]])
    with pytest.raises(ValueError, match="need 11"):
        pool_fields(rows[:, :4], ids[:, :4], LENGTHS, ["mean"] * 5)


def test_padding_reads_its_fields_row_0():
    ids = np.array([[3, -1, 2, -1, -1]], "int32")
    np.testing.assert_array_equal(numpy(clamp_padding(ids)), [[3, 0, 2, 0, 0]])
    np.testing.assert_array_equal(column_offsets([0, 7, 19, 24], [1, 4]), [0, 7, 7, 7, 7])
