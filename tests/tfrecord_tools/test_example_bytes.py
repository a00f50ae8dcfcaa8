"""`tfrecord_tools.example_bytes` builds exactly the bytes of `mezoo.data.examples.serialize_examples`."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data.examples import serialize_examples as reference  # noqa: E402
from tfrecord_tools.convert.example_bytes import serialize_examples  # noqa: E402


@pytest.mark.parametrize(
    "rows,num_fields,num_dense,high",
    [
        (50, 39, 0, 2000),  # Criteo-like
        (50, 3, 0, 2**62),  # 9-byte varints
        (20, 1, 0, 2),
        (30, 200, 0, 2**40),  # length prefixes of 2 bytes and more
        (30, 5, 3, 100),  # dense values
        (30, 5, 40, 2**31),
        (10, 70, 100, 2**20),
        (0, 3, 0, 5),  # no rows
    ],
)
def test_same_bytes_as_the_tf_serializer(rows, num_fields, num_dense, high):
    rng = np.random.default_rng(rows + num_fields)
    labels = rng.integers(0, 2, rows).astype(np.float32)
    ids = rng.integers(0, high, (rows, num_fields)).astype(np.int64)
    ids[:, 0] = np.minimum(ids[:, 0], rng.integers(0, 4, rows))  # small ids next to big ones
    dense = rng.normal(size=(rows, num_dense)).astype(np.float32) if num_dense else None
    expected = list(reference(labels, ids, dense).numpy())
    flat, lengths = serialize_examples(labels, ids, dense)
    ends = np.cumsum(lengths)
    assert [flat[e - n : e].tobytes() for e, n in zip(ends, lengths)] == expected


def test_int32_ids_give_the_same_bytes_and_negative_ids_are_refused():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 40).astype(np.float32)
    ids = rng.integers(0, 2**31 - 1, (40, 39))
    assert [a.tobytes() for a in serialize_examples(labels, ids.astype(np.int32))] == [
        a.tobytes() for a in serialize_examples(labels, ids)
    ]
    with pytest.raises(ValueError, match="non-negative"):
        serialize_examples(labels, -ids)
