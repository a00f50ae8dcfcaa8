"""NumericEmbedding: value x learned vector, each set its own vectors."""

import keras
import numpy as np
import pytest

from mezoo.layers import NumericEmbedding


def test_each_value_scales_its_field_vector_per_set():
    layer = NumericEmbedding(num_fields=3, embedding_dim=4, num_sets=2)
    values = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]], "float32")
    out = keras.ops.convert_to_numpy(layer(values))
    vectors = keras.ops.convert_to_numpy(layer.embeddings)  # (sets, fields, dim)
    np.testing.assert_allclose(out, values[:, None, :, None] * vectors[None], rtol=1e-6)
    assert not np.allclose(vectors[0], vectors[1]), "sets must start different"


def test_wrong_number_of_fields_is_named():
    with pytest.raises(ValueError, match="expects 3 numeric fields"):
        NumericEmbedding(num_fields=3, embedding_dim=4)(np.ones((2, 5), "float32"))
