"""The raw -> id transform: exact log-square thresholds, bucketing in TF vs references, lookups."""

import decimal
import math

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data.transform import (  # noqa: E402
    MISSING_INT,
    RawToIds,
    log_square_bucket,
    log_square_bucket_reference,
    log_square_thresholds,
)


def exact_bucket(v: int) -> int:
    """floor(ln(v)^2) with 50-digit decimals, independent of the thresholds."""
    ctx = decimal.Context(prec=50)
    return int(ctx.power(ctx.ln(decimal.Decimal(int(v))), 2).to_integral_value(rounding=decimal.ROUND_FLOOR))


def test_thresholds_are_the_first_integer_of_each_bucket():
    t = log_square_thresholds(10**9)
    assert t[0] == 3 and len(t) == math.floor(math.log(10**9) ** 2)
    assert np.all(np.diff(t) > 0)
    for k, v in enumerate(t, start=1):
        assert exact_bucket(v) >= k
        if v - 1 > 2:
            assert exact_bucket(v - 1) < k


def test_tf_bucket_matches_references_at_and_around_every_threshold_up_to_1e9():
    t = log_square_thresholds(10**9)
    v = np.unique(np.concatenate([t - 2, t - 1, t, t + 1, t + 2, [10**9, 10**9 - 1, 10**9 + 1]]))
    v = v[v > 2]
    got = log_square_bucket(tf.constant(v)).numpy()
    exact = np.asarray([exact_bucket(int(x)) for x in v])
    np.testing.assert_array_equal(got, exact)
    # float64 reference: agrees with the exact buckets wherever float64 itself is right
    f64 = np.floor(np.log(v.astype(np.float64)) ** 2).astype(np.int64)
    wrong64 = f64 != exact
    assert wrong64.sum() <= 2, v[wrong64]
    np.testing.assert_array_equal(got[~wrong64], f64[~wrong64])
    np.testing.assert_array_equal(log_square_bucket_reference(v), got)


def test_tf_bucket_matches_float64_on_a_dense_range_and_float32_would_not():
    v = np.arange(3, 5_000_000, dtype=np.int64)
    got = log_square_bucket(tf.constant(v)).numpy()
    f64 = np.floor(np.log(v.astype(np.float64)) ** 2).astype(np.int64)
    np.testing.assert_array_equal(got, f64)
    f32 = np.floor(np.log(v.astype(np.float32)) ** 2).astype(np.int64)
    assert (f32 != f64).sum() > 0  # why the thresholds exist (docs/formats.md: 44 such values)


def test_small_and_negative_values_and_missing():
    v = np.array([2, 1, 0, -1, -2, -3, -1000, 3, 4, 7, 8])
    expected = np.array([0, -1, -2, -3, -4, -5, -1002, 1, 1, 3, 4])
    np.testing.assert_array_equal(log_square_bucket(tf.constant(v)).numpy(), expected)
    np.testing.assert_array_equal(log_square_bucket_reference(v), expected)
    # through a table: tokens are decimal strings, b"" is the missing token
    field = {"name": "I1", "source": "integer", "transform": "log_square_bucket", "vocab_size": 5}
    vocab = [b"", b"-4", b"1", b"0"]
    t = RawToIds.from_vocabularies([field], [vocab])
    raw = tf.constant([[""], ["-2"], ["3"], ["4"], ["2"], ["5"], ["abc"], ["1.5"], ["-1"]])
    np.testing.assert_array_equal(t(raw).numpy()[:, 0], [1, 2, 3, 3, 4, 0, 0, 0, 0])


def test_string_lookup_oov_and_dict_input():
    fields = [{"name": "a", "source": "string", "vocab_size": 3}, {"name": "b", "source": "string", "vocab_size": 2}]
    t = RawToIds.from_vocabularies(fields, [[b"x", b""], [b"y"]])
    ids = t({"a": tf.constant(["x", "", "z"]), "b": tf.constant(["y", "q", ""])})
    np.testing.assert_array_equal(ids.numpy(), [[1, 1], [2, 0], [0, 0]])
    assert ids.dtype == tf.int64
    with pytest.raises(ValueError, match="vocab_size"):
        RawToIds.from_vocabularies([dict(fields[0], vocab_size=9)], [[b"x"]])


def test_missing_sentinel_is_outside_every_real_bucket():
    assert MISSING_INT < log_square_bucket_reference([-(10**18)])[0]


def test_tokens_with_tab_newline_cr_and_backslash_are_kept(tmp_path):
    # such tokens can't stand as they are in a `key<TAB>id` table line: they are escaped on both sides
    vocab = [b"a\tb", b"line\nbreak", b"cr\r", b"back\\slash", b"back\\tnot-a-tab", b"", b"plain"]
    field = {"name": "s", "source": "string", "vocab_size": len(vocab) + 1}
    t = RawToIds.from_vocabularies([field], [vocab], str(tmp_path))
    assert t.escaped == [True]
    raw = [v.decode() for v in vocab] + ["a\\tb", "line\\nbreak", "unseen", "a\tb\t"]
    ids = t(tf.constant([[r] for r in raw])).numpy()[:, 0]
    np.testing.assert_array_equal(ids, list(range(1, len(vocab) + 1)) + [0, 0, 0, 0])


def test_plain_vocabularies_are_not_escaped_and_raw_specials_are_oov(tmp_path):
    t = RawToIds.from_vocabularies([{"name": "s", "source": "string", "vocab_size": 3}], [[b"x", b""]], str(tmp_path))
    assert t.escaped == [False]
    ids = t(tf.constant([["x"], [""], ["x\t"], ["\\"]])).numpy()[:, 0]
    np.testing.assert_array_equal(ids, [1, 2, 0, 0])


def test_empty_vocabulary_maps_everything_to_oov(tmp_path):
    fields = [
        {"name": "s", "source": "string", "vocab_size": 1},
        {"name": "i", "source": "integer", "transform": "log_square_bucket", "vocab_size": 1},
    ]
    t = RawToIds.from_vocabularies(fields, [[], []], str(tmp_path))
    ids = t(tf.constant([["<empty vocabulary>", ""], ["x", "5"]])).numpy()
    np.testing.assert_array_equal(ids, [[0, 0], [0, 0]])


def test_tables_are_assets_of_a_saved_model_and_load_without_their_source(tmp_path):
    fields = [
        {"name": "s", "source": "string", "vocab_size": 3},
        {"name": "i", "source": "integer", "transform": "log_square_bucket", "vocab_size": 3},
    ]
    tables = tmp_path / "tables"
    module = RawToIds.from_vocabularies(fields, [[b"x", b"y\tz"], [b"", b"3"]], str(tables))
    module.serve = tf.function(lambda raw: module(raw), input_signature=[tf.TensorSpec([None, 2], tf.string)])
    tf.saved_model.save(module, str(tmp_path / "saved"))
    assets = sorted(p.name for p in (tmp_path / "saved" / "assets").iterdir())
    assert assets == ["0000_s.tsv", "0001_i.tsv"]
    import shutil

    shutil.rmtree(tables)
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    ids = loaded.serve(tf.constant([["x", ""], ["y\tz", "7"], ["q", "20"], ["", "abc"]])).numpy()
    np.testing.assert_array_equal(ids, [[1, 1], [2, 2], [0, 0], [0, 0]])  # 7 -> bucket 3; 20 -> 8, not kept


def test_from_spec_matches_the_vocabulary_files(tmp_path):
    from mezoo.data.feature_spec import FeatureSpec, write_vocabulary

    (tmp_path / "vocab").mkdir()
    write_vocabulary(str(tmp_path / "vocab" / "a.txt"), [b"new\nline", b"", b"k"])
    spec = FeatureSpec(
        {"fields": [{"name": "a", "source": "string", "vocab_size": 4, "vocabulary": "vocab/a.txt"}], "splits": {}},
        str(tmp_path),
    )
    t = RawToIds.from_spec(spec)
    np.testing.assert_array_equal(t(tf.constant([["new\nline"], [""], ["k"], ["new"]])).numpy()[:, 0], [1, 2, 3, 0])
