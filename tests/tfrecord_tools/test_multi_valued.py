"""Multi-valued fields through the converters: the schema key, token vocabularies, truncation, the
stored ids (id + 1, 0 unused), Parquet list columns, Beam, inspect and the input pipeline.

The real sample is MovieLens-1M (`../shared/data/movielens/ml1m_deepctr_sample200.csv`, pipe-separated
genres), with the label "rating >= 4" written into a temporary CSV (the file itself is never copied).
"""

import collections
import csv

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data import FeatureSpec  # noqa: E402
from mezoo.data.multi_valued import cell_tokens, with_defaults  # noqa: E402
from tests.tfrecord_tools.helpers import (  # noqa: E402
    COLUMNS,
    convert_schema,
    movielens_csv,
    read_split,
    schema,
    vocab_file,
)
from tfrecord_tools.convert.errors import ConversionError  # noqa: E402
from tfrecord_tools.schema import build, check_multi_valued  # noqa: E402


def cell_tokens_reference(cell: bytes, field: dict) -> list:
    """The rule of `mezoo.data.multi_valued`, in plain Python: one raw cell -> its kept tokens."""
    field = with_defaults(field)
    tokens = [t for t in cell.split(field["separator"].encode()) if t] or [b""]
    max_len = int(field["max_len"])
    return tokens[:max_len] if field["truncate"] == "first" else tokens[-max_len:]


def test_movielens_genres_round_trip_with_truncation_counted(tmp_path):
    rows = movielens_csv(tmp_path / "ml.csv")
    summary = convert_schema(tmp_path, schema(), [tmp_path / "ml.csv"], tmp_path / "out", min_count=2)
    spec = FeatureSpec.load(str(tmp_path / "out"))
    assert spec.to_dict()["format_version"] == 2
    genres = spec.field("genres")
    assert {k: genres[k] for k in ("kind", "separator", "max_len", "truncate", "pooling")} == {
        "kind": "multi_valued",
        "separator": "|",
        "max_len": 3,
        "truncate": "first",
        "pooling": "mean",
    }
    assert spec.field_lengths == [1, 1, 3, 1, 1, 1] and spec.id_width == 8
    # the vocabulary counts tokens, each of a row's first three genres once
    field = {"max_len": 3}
    counts = collections.Counter(t for r in rows for t in cell_tokens_reference(r["genres"].encode(), field))
    vocab = vocab_file(tmp_path / "out", "genres")
    assert sorted(vocab) == sorted(t.decode() for t, c in counts.items() if c >= 2)
    # summary: the rows with more than three genres and the genres dropped
    lengths = [len(r["genres"].split("|")) for r in rows]
    assert summary["multi_valued"]["genres"] == {
        "rows_truncated": sum(n > 3 for n in lengths),
        "values_dropped": sum(max(n - 3, 0) for n in lengths),
        "most_values": max(lengths),
    }
    assert summary["rows_read"] == 200 == summary["rows_written"]
    # every row of every split: the genres' stored ids are their vocabulary ids + 1, then 0s
    by_movie = {}
    for r in rows:
        by_movie.setdefault(r["movie_id"], r["genres"])
    movie_vocab = vocab_file(tmp_path / "out", "movie_id")
    index = {t: i + 1 for i, t in enumerate(vocab)}
    checked = 0
    for split in ("train", "valid", "test"):
        _, ids, _ = read_split(tmp_path / "out", split)
        assert ids.shape[1] == 8
        for row in ids:
            if row[1] == 0:  # a movie_id seen once is OOV: its genres can't be looked up here
                continue
            tokens = cell_tokens_reference(by_movie[movie_vocab[row[1] - 1]].encode(), field)
            expected = [index.get(t.decode(), 0) + 1 for t in tokens]
            assert list(row[2:5]) == expected + [0] * (3 - len(expected))
            checked += 1
    assert checked > 20


def test_the_tf_rule_is_the_reference_rule():
    cells = [b"a|b|c|d", b"", b"a||b|", b"|", b"x", b"a|a|b"]
    for truncate in ("first", "last"):
        field = {"max_len": 2, "truncate": truncate, "separator": "|"}
        _, kept = cell_tokens(tf.constant(cells), field)
        assert kept.to_list() == [cell_tokens_reference(c, field) for c in cells]
    assert cell_tokens_reference(b"a|b|c|d", {"max_len": 2, "truncate": "last"}) == [b"c", b"d"]
    assert cell_tokens_reference(b"|", {"max_len": 2}) == [b""]  # no token: the missing token


def test_a_history_keeps_its_last_values_and_another_separator(tmp_path):
    lines = ["label,user,items"] + [f"{i % 2},u{i % 5},{';'.join(f'i{j}' for j in range(i % 9))}" for i in range(60)]
    (tmp_path / "h.csv").write_text("\n".join(lines) + "\n")
    spec = {
        "label": "label",
        "categorical": ["user", "items"],
        "multi_valued": {"items": {"separator": ";", "max_len": 4, "truncate": "last", "pooling": "sum"}},
    }
    summary = convert_schema(tmp_path, spec, [tmp_path / "h.csv"], tmp_path / "out", split=[1.0, 0.0, 0.0])
    vocab = vocab_file(tmp_path / "out", "items")
    _, ids, _ = read_split(tmp_path / "out", "train")
    users = vocab_file(tmp_path / "out", "user")
    got = collections.Counter()
    for row in ids:
        got[(users[row[0] - 1], tuple(vocab[v - 2] if v > 1 else None for v in row[1:] if v))] += 1
    expected = collections.Counter()
    for i in range(60):
        items = [f"i{j}" for j in range(i % 9)][-4:] or [""]
        expected[(f"u{i % 5}", tuple(items))] += 1
    assert got == expected
    assert summary["multi_valued"]["items"]["rows_truncated"] == sum(i % 9 > 4 for i in range(60))


def test_parquet_list_column_equals_the_separated_csv(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = movielens_csv(tmp_path / "ml.csv")
    lists = [r["genres"].split("|") for r in rows]
    lists[3], lists[4] = [], None  # empty and null lists: the missing token
    with open(tmp_path / "ml.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for r, g in zip(rows, lists):
            w.writerow([int(int(r["rating"]) >= 4), r["user_id"], r["movie_id"], "|".join(g or [])] + [
                r[c] for c in ("gender", "age", "occupation")
            ])  # fmt: skip
    table = pa.table(
        {
            "label": pa.array([int(int(r["rating"]) >= 4) for r in rows], pa.int64()),
            "user_id": pa.array([int(r["user_id"]) for r in rows], pa.int64()),
            "movie_id": pa.array([int(r["movie_id"]) for r in rows], pa.int64()),
            "genres": pa.array(lists, pa.list_(pa.string())),
            "gender": pa.array([r["gender"] for r in rows]),
            "age": pa.array([int(r["age"]) for r in rows], pa.int64()),
            "occupation": pa.array([int(r["occupation"]) for r in rows], pa.int64()),
        }
    )
    pq.write_table(table, tmp_path / "ml.parquet", row_group_size=64)
    convert_schema(tmp_path, schema(), [tmp_path / "ml.csv"], tmp_path / "csv")
    convert_schema(tmp_path, dict(schema(), format="parquet"), [tmp_path / "ml.parquet"], tmp_path / "pq")
    assert vocab_file(tmp_path / "pq", "genres") == vocab_file(tmp_path / "csv", "genres")
    for split in ("train", "valid", "test"):
        for a, b in zip(read_split(tmp_path / "pq", split), read_split(tmp_path / "csv", split)):
            np.testing.assert_array_equal(a, b)


def test_parquet_element_holding_the_separator_is_named(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"label": pa.array([0, 1]), "tags": pa.array([["a"], ["b|c"]], pa.list_(pa.string()))})
    pq.write_table(table, tmp_path / "t.parquet")
    spec = {"format": "parquet", "label": "label", "categorical": ["tags"], "multi_valued": {"tags": {"max_len": 2}}}
    with pytest.raises(Exception, match=r"row 2, column 'tags'.*'b\|c'.*separator"):
        convert_schema(tmp_path, spec, [tmp_path / "t.parquet"], tmp_path / "out")


def test_bad_rows_are_rejected_and_counted_as_before(tmp_path):
    lines = ["label,user,tags", "1,a,x|y", "2,b,x", "0,c", "0,d,", "1,e,y|y|z"]
    (tmp_path / "b.csv").write_text("\n".join(lines) + "\n")
    spec = {"label": "label", "categorical": ["user", "tags"], "multi_valued": {"tags": {"max_len": 2}}}
    summary = convert_schema(tmp_path, spec, [tmp_path / "b.csv"], tmp_path / "out", split=[1.0, 0.0, 0.0])
    assert summary["rows_written"] == 3 and summary["rejected"] == {"bad_label": 1, "wrong_column_count": 1}
    assert (tmp_path / "out" / "rejects.tsv").read_text().count("\n") == 3
    assert summary["multi_valued"]["tags"] == {"rows_truncated": 1, "values_dropped": 1, "most_values": 3}


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"max_len": 0}, "max_len, an integer >= 1"),
        ({"separator": "|"}, "max_len"),
        ({"max_len": 3, "pooling": "max"}, "pooling 'max' is not one of mean, sum, sqrtn"),
        ({"max_len": 3, "truncate": "middle"}, "truncate 'middle'"),
        ({"max_len": 3, "combiner": "mean"}, "unknown key"),
    ],
)
def test_bad_multi_valued_settings_name_the_field(settings, message):
    spec = {"label": "y", "categorical": ["tags"], "multi_valued": {"tags": settings}}
    with pytest.raises(ConversionError, match=message):
        check_multi_valued(spec, "s.yaml")


def test_a_multi_valued_column_must_be_categorical_and_not_split_on_the_delimiter(tmp_path):
    with pytest.raises(ConversionError, match="not listed under categorical"):
        check_multi_valued({"label": "y", "categorical": ["a"], "multi_valued": {"tags": {"max_len": 2}}}, "s.yaml")
    (tmp_path / "d.csv").write_text("label,tags\n1,a\n")
    spec = {"label": "label", "categorical": ["tags"], "multi_valued": {"tags": {"max_len": 2, "separator": ","}}}
    with pytest.raises(ConversionError, match="column delimiter"):
        build(spec, str(tmp_path), [str(tmp_path / "d.csv")])


def test_inspect_and_the_pipeline_read_padded_ids(tmp_path):
    from mezoo.data.pipeline import make_dataset
    from tfrecord_tools.inspect import inspect_directory

    movielens_csv(tmp_path / "ml.csv")
    convert_schema(tmp_path, schema(), [tmp_path / "ml.csv"], tmp_path / "out")
    assert inspect_directory(str(tmp_path / "out"), out=lambda *_: None) == []
    spec = FeatureSpec.load(str(tmp_path / "out"))
    _, stored, _ = read_split(tmp_path / "out", "test")
    batches = list(make_dataset(spec, "test", 8, deterministic=True))
    ids = np.concatenate([x["ids"].numpy() for x, _ in batches])
    assert batches[0][0]["ids"].shape[1] == 8 and ids.dtype == np.int32
    np.testing.assert_array_equal(ids, stored - np.asarray([0, 0, 1, 1, 1, 0, 0, 0]))
    assert (ids[:, 2:5] == -1).any() and (ids[:, 2] >= 0).all()
    # a shard whose genres hold a value after a gap is named
    from mezoo.data.examples import serialize_examples

    [path] = spec.files("test")
    bad = np.asarray([[1, 1, 0, 3, 0, 1, 1, 1]] * 3)
    with tf.io.TFRecordWriter(path, spec.compression("test") or "") as w:
        for record in serialize_examples(np.zeros(3), bad).numpy():
            w.write(record)
    problems = inspect_directory(str(tmp_path / "out"), out=lambda *_: None)
    assert any("multi-valued field genres holds [0, 3, 0]: values must come first" in p for p in problems), problems


def test_version_1_specs_still_load_and_a_multi_valued_field_needs_version_2():
    from mezoo.data.feature_spec import SpecError

    one = {"format_version": 1, "fields": [{"name": "a", "vocab_size": 3}], "splits": {}}
    assert FeatureSpec(one).field_lengths == [1]
    multi = {"name": "t", "kind": "multi_valued", "vocab_size": 4, "max_len": 5}
    with pytest.raises(SpecError, match="needs format_version 2"):
        FeatureSpec(dict(one, fields=[multi]))
    spec = FeatureSpec(dict(one, format_version=2, fields=[{"name": "a", "vocab_size": 3}, multi]))
    assert spec.field_lengths == [1, 5] and spec.id_width == 6 and spec.field("t")["pooling"] == "mean"
    with pytest.raises(SpecError, match="pooling"):
        FeatureSpec(dict(one, format_version=2, fields=[dict(multi, pooling="max")]))


def run_tool(main, argv, capsys):
    """A converter's `main` in-process: (exit status, stderr lines)."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    return exit_.value.code, capsys.readouterr().err.strip().splitlines()


def tsv_with_genres(path):
    rows = movielens_csv(path.with_suffix(".csv"))
    path.write_text(
        "label\tuser_id\tgenres\n"
        + "".join(f"{int(int(r['rating']) >= 4)}\t{r['user_id']}\t{r['genres']}\n" for r in rows)
    )
    return rows


def test_a_separator_holding_the_delimiter_is_refused_naming_schema_field_and_both(tmp_path, capsys):
    """`"|\\t"` in a TSV can never match (no cell holds a tab): each whole cell would be one token."""
    from tfrecord_tools import beam, csv

    tsv_with_genres(tmp_path / "ml.tsv")
    schema_path = tmp_path / "s.yaml"
    schema_path.write_text(
        "format: tsv\nlabel: label\ncategorical: [user_id, genres]\n"
        'multi_valued:\n  genres: {separator: "|\\t", max_len: 3}\n'
    )
    argv = ["--schema", str(schema_path), "--input", str(tmp_path / "ml.tsv"), "--output", str(tmp_path / "out")]
    for main, args in ((csv.main, argv), (beam.main, ["csv", *argv])):
        status, err = run_tool(main, args, capsys)
        assert status == 2 and len(err) == 1, err
        assert str(schema_path) in err[0] and "'genres'" in err[0], err
        assert "'|\\t'" in err[0] and "delimiter '\\t'" in err[0], err
        assert not (tmp_path / "out" / "feature_spec.json").exists()
    # the same from a schema given as a dict (no file), and a `text` format's own delimiter
    spec = {"format": "text", "delimiter": ";", "label": "label", "categorical": ["tags"]}
    spec["multi_valued"] = {"tags": {"separator": ";;", "max_len": 2}}
    (tmp_path / "d.txt").write_text("label;tags\n1;a\n")
    with pytest.raises(ConversionError, match=r"'tags'.*separator ';;' contains the file's column delimiter ';'"):
        build(spec, str(tmp_path), [str(tmp_path / "d.txt")])
    with pytest.raises(ConversionError, match=r"s.yaml: multi_valued 'tags'.*';;'.*';'"):
        check_multi_valued(spec, "s.yaml")


def test_max_len_has_a_bound_named_with_the_field_in_every_converter_and_the_spec(tmp_path, capsys):
    """200 rows with max_len 10,000,000 made the converter allocate about 16 GB and die naming no field."""
    from mezoo.data import multi_valued
    from mezoo.data.feature_spec import SpecError
    from tfrecord_tools import beam, csv

    limit = multi_valued.MAX_LEN_LIMIT
    # the schema check first: without it the commands below would try to allocate those 16 GB
    huge = dict(schema(), multi_valued={"genres": {"max_len": 10_000_000}})
    with pytest.raises(ConversionError, match=f"p.yaml: multi-valued field 'genres': max_len 10,000,000 .*{limit:,}"):
        check_multi_valued(dict(huge, format="parquet"), "p.yaml")
    field = {"name": "genres", "kind": "multi_valued", "vocab_size": 4, "max_len": limit + 1}
    with pytest.raises(SpecError, match=f"'genres': max_len {limit + 1:,}"):
        FeatureSpec({"format_version": 2, "fields": [field], "splits": {}})  # a hand-edited spec
    check_multi_valued(dict(huge, multi_valued={"genres": {"max_len": limit}}), "p.yaml")  # the limit itself is fine
    tsv_with_genres(tmp_path / "ml.tsv")
    schema_path = tmp_path / "s.yaml"
    schema_path.write_text(
        "format: tsv\nlabel: label\ncategorical: [user_id, genres]\nmulti_valued:\n  genres: {max_len: 10000000}\n"
    )
    argv = ["--schema", str(schema_path), "--input", str(tmp_path / "ml.tsv"), "--output", str(tmp_path / "out")]
    for main, args in ((csv.main, argv + ["--memory_limit", "1GB"]), (csv.main, argv), (beam.main, ["csv", *argv])):
        status, err = run_tool(main, args, capsys)
        assert status == 2 and len(err) == 1, err
        assert str(schema_path) in err[0] and "'genres'" in err[0], err
        assert "max_len 10,000,000" in err[0] and f"{limit:,}" in err[0], err
        assert not (tmp_path / "out" / "feature_spec.json").exists()


def test_memory_limit_covers_the_converters_id_rows_before_the_transform(tmp_path):
    """Under the bound, --memory_limit still stops a max_len whose rows would not fit, naming the field."""
    tsv_with_genres(tmp_path / "ml.tsv")
    spec = {
        "format": "tsv",
        "label": "label",
        "categorical": ["user_id", "genres"],
        "multi_valued": {"genres": {"max_len": 10_000}},
    }
    with pytest.raises(
        ConversionError, match=r"stopping before writing anything: .*'genres'.*max_len 10,000.*--memory_limit"
    ):
        convert_schema(tmp_path, spec, [tmp_path / "ml.tsv"], tmp_path / "out", memory_limit=2e6)
    assert not (tmp_path / "out" / "feature_spec.json").exists()
    summary = convert_schema(tmp_path, spec, [tmp_path / "ml.tsv"], tmp_path / "out", memory_limit=1e9)
    assert summary["rows_written"] == 200
