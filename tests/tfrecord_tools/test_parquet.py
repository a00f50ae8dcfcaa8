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


def parquet_schema(tmp_path, columns, multi=()):
    import json

    spec = {"format": "parquet", "label": "label", "categorical": list(columns)}
    if multi:
        spec["multi_valued"] = {name: {"max_len": 3} for name in multi}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(spec))
    return str(path)


def run_csv_tool(argv, capsys):
    from tfrecord_tools import csv

    with pytest.raises(SystemExit) as exit_:
        csv.main(argv)
    return exit_.value.code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize(
    "column,multi,kind",
    [
        (pa.array([[["a"]], [["b", "c"]]] * 3, pa.list_(pa.list_(pa.string()))), True, "list<element: list"),
        (pa.array([{"x": 1}, {"x": 2}] * 3, pa.struct([("x", pa.int64())])), False, "struct<x: int64>"),
        (pa.array([{"x": 1}, {"x": 2}] * 3, pa.struct([("x", pa.int64())])), True, "struct<x: int64>"),
        (pa.array([[("k", 1)], []] * 3, pa.map_(pa.string(), pa.int64())), False, "map<string, int64"),
        (pa.array([[{"x": 1}], [{"x": 2}]] * 3, pa.list_(pa.struct([("x", pa.int64())]))), True, "struct<x: int64>"),
    ],
)
def test_a_nested_or_struct_column_is_one_line_naming_file_and_column(tmp_path, capsys, column, multi, kind):
    path = tmp_path / "n.parquet"
    pq.write_table(pa.table({"label": pa.array([0, 1] * 3), "odd": column}), path)
    schema = parquet_schema(tmp_path, ["odd"], ["odd"] if multi else ())
    status, err = run_csv_tool(["--schema", schema, "--input", str(path), "--output", str(tmp_path / "out")], capsys)
    assert status == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: Parquet input {path}, column 'odd'") and kind in err[0], err
    assert not (tmp_path / "out" / "feature_spec.json").exists()


def test_invalid_utf8_rejects_its_row_in_plain_string_binary_and_list_columns_alike(tmp_path):
    """One rule for every Parquet column, the text converter's: a row holding bytes that are not
    UTF-8 is rejected as invalid_utf8, with its row number (it was accepted from a plain column, raw
    bytes into the vocabulary, and stopped the conversion with `Invalid UTF8 payload` from a list)."""
    from tfrecord_tools.schema import build

    bad = b"caf\xe9"
    n = 12
    plain = [b"a", b"b"] * (n // 2)
    plain[1] = bad  # row 2: a binary column
    text = pa.Array.from_buffers(  # a string column whose bytes are not UTF-8 (other writers don't check)
        pa.string(),
        n,
        [None, pa.py_buffer(np.arange(n + 1, dtype=np.int32) * 4), pa.py_buffer(b"okok" * 4 + bad + b"okok" * 7)],
    )  # row 5
    tags = [[b"x", b"y"]] * n
    tags = tags[:8] + [[b"x", bad]] + tags[9:]  # row 9: a list element
    table = pa.table(
        {
            "label": pa.array([0, 1] * (n // 2)),
            "plain": pa.array(plain, pa.binary()),
            "text": text,
            "tags": pa.array(tags, pa.list_(pa.binary())),
        }
    )
    pq.write_table(table, tmp_path / "u.parquet", row_group_size=5)
    spec = {
        "format": "parquet",
        "label": "label",
        "categorical": ["plain", "text", "tags"],
        "multi_valued": {"tags": {"max_len": 3}},
    }
    files, layout, kind = build(spec, str(tmp_path), [str(tmp_path / "u.parquet")])
    summary = convert(files, layout, tmp_path / "out", fmt=kind, min_count=1, split=[1.0, 0.0])
    assert summary["rejected"] == {"invalid_utf8": 3} and summary["rows_written"] == n - 3
    rejects = (tmp_path / "out" / "rejects.tsv").read_text().splitlines()[1:]
    assert [line.split("\t")[1:3] for line in rejects] == [
        ["2", "invalid_utf8"],
        ["5", "invalid_utf8"],
        ["9", "invalid_utf8"],
    ]
    assert "caf\\xe9" in rejects[0]  # the row's bytes, escaped as a text line's are
    for name in ("plain", "text", "tags"):
        assert all(token.isascii() for token in vocab_file(tmp_path / "out", name)), name
    # the same bytes in a CSV: the same rows rejected for the same reason
    lines = [b"label,plain,text,tags"]
    for i in range(n):
        cells = [str(i % 2).encode(), plain[i], text.cast(pa.binary())[i].as_py(), b"|".join(tags[i])]
        lines.append(b",".join(cells))
    (tmp_path / "u.csv").write_bytes(b"\n".join(lines) + b"\n")
    files, layout, kind = build(dict(spec, format="csv"), str(tmp_path), [str(tmp_path / "u.csv")])
    from_csv = convert(files, layout, tmp_path / "csv", fmt=kind, min_count=1, split=[1.0, 0.0])
    assert from_csv["rejected"] == summary["rejected"]
    text_rejects = (tmp_path / "csv" / "rejects.tsv").read_text().splitlines()[1:]
    assert [int(line.split("\t")[1]) - 1 for line in text_rejects] == [2, 5, 9]  # (a CSV's line 1 is its header)
