"""MultiEmbedding equals M separate Keras Embedding tables, one per set and field."""

import keras
import numpy as np
import pytest

from mezoo.layers import MultiEmbedding

VOCABS = [7, 1, 30, 4]


def ids_with_every_last_id(batch=16, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.stack([rng.integers(0, v, size=batch) for v in VOCABS], axis=1)
    ids[0] = [v - 1 for v in VOCABS]  # each field's last id
    ids[1] = 0
    return ids.astype("int32")


def test_equals_separate_embedding_tables_with_distinct_weights():
    sets, dim = 3, 5
    layer = MultiEmbedding(VOCABS, dim, sets)
    ids = ids_with_every_last_id()
    layer(ids)
    rng = np.random.default_rng(1)
    # tables[m][f]: a separate keras Embedding per set and field, each with distinct weights
    tables = [[keras.layers.Embedding(v, dim) for v in VOCABS] for _ in range(sets)]
    fused = np.zeros((sum(VOCABS), sets * dim), "float32")
    offsets = np.cumsum([0] + VOCABS)
    for m in range(sets):
        for f, v in enumerate(VOCABS):
            w = rng.normal(size=(v, dim)).astype("float32")
            tables[m][f].build((None,))
            tables[m][f].set_weights([w])
            fused[offsets[f] : offsets[f + 1], m * dim : (m + 1) * dim] = w
    layer.set_weights([fused])
    got = keras.ops.convert_to_numpy(layer(ids))
    assert got.shape == (len(ids), sets, len(VOCABS), dim)
    for m in range(sets):
        for f in range(len(VOCABS)):
            expected = keras.ops.convert_to_numpy(tables[m][f](ids[:, f]))
            np.testing.assert_array_equal(got[:, m, f], expected)
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.table(f, m)), tables[m][f].get_weights()[0])


def test_table_of_all_sets_is_their_concatenation():
    layer = MultiEmbedding(VOCABS, 4, num_sets=2)
    layer(ids_with_every_last_id())
    for f in range(len(VOCABS)):
        both = keras.ops.convert_to_numpy(layer.table(f))
        parts = [keras.ops.convert_to_numpy(layer.table(f, m)) for m in range(2)]
        np.testing.assert_array_equal(both, np.concatenate(parts, axis=1))
        assert both.shape == (VOCABS[f], 8)


def test_sets_are_initialised_independently_with_per_set_glorot():
    vocabs, dim, sets = [500, 300], 10, 4
    layer = MultiEmbedding(vocabs, dim, sets)
    layer(np.zeros((1, 2), "int32"))
    table = keras.ops.convert_to_numpy(layer.embeddings)
    # Xavier over each set's whole table; the bound in float32, as the initializer draws it (a draw
    # at the bound rounds to float32(limit), which can lie just above the float64 value).
    limit = np.float32(np.sqrt(6.0 / (sum(vocabs) + dim)))
    assert np.abs(table).max() <= limit and np.abs(table).max() > 0.95 * limit
    blocks = [table[:, m * dim : (m + 1) * dim] for m in range(sets)]
    for a in range(sets):
        for b in range(a + 1, sets):
            assert abs(np.corrcoef(blocks[a].ravel(), blocks[b].ravel())[0, 1]) < 0.05


def test_seeded_initializer_is_repeatable():
    def make():
        layer = MultiEmbedding(VOCABS, 3, 2, embeddings_initializer=keras.initializers.GlorotUniform(seed=3))
        layer(np.zeros((1, 4), "int32"))
        return keras.ops.convert_to_numpy(layer.embeddings)

    first, second = make(), make()
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first[:, :3], first[:, 3:])


def test_one_set_is_a_single_embedding():
    layer = MultiEmbedding(VOCABS, 6)
    assert layer(ids_with_every_last_id()).shape == (16, 1, 4, 6)


def test_bad_arguments_and_inputs_are_named():
    with pytest.raises(ValueError, match="vocab_sizes"):
        MultiEmbedding([3, 0], 4)
    with pytest.raises(ValueError, match="field_names"):
        MultiEmbedding([3, 4], 4, field_names=["a"])
    with pytest.raises(ValueError, match=r"\(batch, 4\)"):
        MultiEmbedding(VOCABS, 4)(np.zeros((2, 3), "int32"))
    layer = MultiEmbedding(VOCABS, 4, 2)
    layer(np.zeros((1, 4), "int32"))
    with pytest.raises(IndexError):
        layer.table(4)
    with pytest.raises(IndexError):
        layer.table(0, 2)
