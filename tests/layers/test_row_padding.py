"""Tables padded for row sharding compute, save and load as unpadded ones (`mezoo.layers.row_padding`)."""

import keras
import numpy as np
import pytest

from mezoo.layers import FirstOrderTerm, MultiEmbedding, first_order_term, multi_embedding
from mezoo.layers.row_padding import load_resized, padded_row_count

VOCABS = [5, 7, 3]  # 15 rows


def build(layer_class, module, monkeypatch, multiple, **kwargs):
    monkeypatch.setattr(module, "shard_row_multiple", lambda: multiple)
    keras.utils.set_random_seed(3)
    layer = layer_class(VOCABS, **kwargs)
    layer.build((None, len(VOCABS)))
    return layer


def test_padded_row_count():
    assert [padded_row_count(r, 4) for r in (1, 4, 15, 16, 17)] == [4, 4, 16, 16, 20]
    assert padded_row_count(15, 1) == 15


def test_a_padded_table_draws_the_same_rows_and_zeros_after_them(monkeypatch):
    plain = build(MultiEmbedding, multi_embedding, monkeypatch, 1, embedding_dim=4, num_sets=2)
    padded = build(MultiEmbedding, multi_embedding, monkeypatch, 4, embedding_dim=4, num_sets=2)
    table = keras.ops.convert_to_numpy(padded.embeddings)
    assert table.shape == (16, 8) and plain.embeddings.shape == (15, 8)
    np.testing.assert_array_equal(table[:15], keras.ops.convert_to_numpy(plain.embeddings))
    assert not np.any(table[15:])
    ids = np.array([[0, 6, 2], [4, 0, 1]])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(padded(ids)), keras.ops.convert_to_numpy(plain(ids)))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(padded.table(1, 1)), keras.ops.convert_to_numpy(plain.table(1, 1))
    )


@pytest.mark.parametrize("layer_class,module,kwargs", [
    (MultiEmbedding, multi_embedding, {"embedding_dim": 4, "num_sets": 2}),
    (FirstOrderTerm, first_order_term, {}),
])  # fmt: skip
def test_weights_saved_padded_load_unpadded_and_back(monkeypatch, tmp_path, layer_class, module, kwargs):
    padded = build(layer_class, module, monkeypatch, 4, **kwargs)
    table = padded.weights[0]
    rng = np.random.default_rng(0)
    values = np.zeros(table.shape, "float32")
    values[:15] = rng.normal(size=(15, *table.shape[1:]))
    table.assign(values)
    inputs = keras.Input((3,), dtype="int32")
    keras.Model(inputs, padded(inputs)).save_weights(tmp_path / "padded.weights.h5")

    plain = build(layer_class, module, monkeypatch, 1, **kwargs)
    inputs = keras.Input((3,), dtype="int32")
    plain_model = keras.Model(inputs, plain(inputs))
    plain_model.load_weights(tmp_path / "padded.weights.h5")  # the file holds the real rows only
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(plain.weights[0]), values[:15])
    plain_model.save_weights(tmp_path / "plain.weights.h5")

    again = build(layer_class, module, monkeypatch, 4, **kwargs)
    inputs = keras.Input((3,), dtype="int32")
    keras.Model(inputs, again(inputs)).load_weights(tmp_path / "plain.weights.h5")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(again.weights[0]), values)


def test_rows_beyond_a_table_that_are_not_zeros_are_refused():
    variable = keras.Variable(np.zeros((3, 2), "float32"), name="m")
    load_resized([variable], {"0": np.zeros((4, 2), "float32")}, "FusedAdam")  # zero padding: cut
    with pytest.raises(ValueError, match="FusedAdam: the saved m has 4 rows, this one 3, and the rows beyond are not"):
        load_resized([variable], {"0": np.ones((4, 2), "float32")}, "FusedAdam")
    with pytest.raises(ValueError, match="expects 1 variables, but the saved file holds 2"):
        load_resized([variable], {"0": np.zeros((3, 2)), "1": np.zeros(1)}, "FusedAdam")
