"""Parquet input (pyarrow) gives the same shards as the same rows in CSV; nulls are missing."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pa = pytest.importorskip("pyarrow")
pytestmark = pytest.mark.tensorflow

import pyarrow.parquet as pq  # noqa: E402

from tests.tfrecord_tools.helpers import convert, read_split, shard_bytes, vocab_file  # noqa: E402


def test_parquet_equals_csv_and_nulls_are_missing(tmp_path):
    from tfrecord_tools.schema import build

    rng = np.random.default_rng(0)
    n = 500
    label = rng.integers(0, 2, n)
    user = rng.integers(0, 30, n).astype(object)
    user[::7] = None  # nulls
    count = rng.integers(-3, 5000, n)
    price = np.round(rng.random(n) * 10, 3)
    table = pa.table(
        {
            "label": pa.array(label, pa.int64()),
            "user": pa.array(user, pa.int64()),
            "count": pa.array(count, pa.int64()),
            "price": pa.array(price, pa.float64()),
        }
    )
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=128)
    csv_lines = ["label,user,count,price"] + [
        f"{y},{'' if u is None else u},{c},{float(p)!r}" for y, u, c, p in zip(label, user, count, price)
    ]
    (tmp_path / "d.csv").write_text("\n".join(csv_lines) + "\n")
    schema = {"label": "label", "categorical": ["user"], "integer": ["count"], "numeric": ["price"]}
    outs = {}
    for fmt, name in (("parquet", "d.parquet"), ("csv", "d.csv")):
        files, layout, kind = build(dict(schema, format=fmt), str(tmp_path), [str(tmp_path / name)])
        s = convert(files, layout, tmp_path / fmt, fmt=kind, min_count=1)
        assert s["rows_read"] == s["rows_written"] == n
        outs[fmt] = tmp_path / fmt
    assert vocab_file(outs["parquet"], "user")[:3] == vocab_file(outs["csv"], "user")[:3]
    assert "" in vocab_file(outs["parquet"], "user")  # the null is the missing token
    for split in ("train", "valid", "test"):
        a, b = read_split(outs["parquet"], split), read_split(outs["csv"], split)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    labels, ids, dense = read_split(outs["csv"], "valid")
    assert dense.shape == (50, 1) and ids.shape == (50, 2)
    pa_bytes = {k: v for k, v in shard_bytes(outs["parquet"]).items() if ".tfrecord" in k}
    assert pa_bytes == {k: v for k, v in shard_bytes(outs["csv"]).items() if ".tfrecord" in k}
