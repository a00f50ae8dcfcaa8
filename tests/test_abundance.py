"""Tests of mezoo.abundance: the IA math, embedding_abundance, AbundanceTracker and AbundanceCallback (any backend)."""

import csv
import glob
import importlib.util
import math
import tracemalloc

import keras
import numpy as np
import pytest

from mezoo.abundance import (
    CSV_COLUMNS,
    AbundanceCallback,
    AbundanceTracker,
    MetricCallback,
    abundance_stats,
    effective_rank,
    embedding_abundance,
    information_abundance,
    normalized_information_abundance,
    random_abundance,
    singular_values,
    summarize,
)
from mezoo.layers import MultiEmbedding


def orthonormal(rows, cols, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((rows, cols)))
    return q


def with_spectrum(rows, spectrum, seed=0):
    """A rows x len(spectrum) matrix with exactly these singular values (in float64)."""
    u = orthonormal(rows, len(spectrum), seed)
    v = orthonormal(len(spectrum), len(spectrum), seed + 1)
    return (u * np.asarray(spectrum, dtype=np.float64)) @ v.T


# ---------------------------------------------------------------------------- the math


@pytest.mark.parametrize("shape", [(500, 8), (3000, 40), (6, 30)])
def test_rank_one_matrix_has_ia_one(shape):
    rng = np.random.default_rng(1)
    matrix = np.outer(rng.standard_normal(shape[0]), rng.standard_normal(shape[1]))
    assert information_abundance(matrix, "svd") == pytest.approx(1.0, abs=1e-12)
    # The Gram path squares the condition number: exact zeros come back as ~1e-8 noise each.
    assert information_abundance(matrix, "gram") == pytest.approx(1.0, abs=1e-6)
    assert information_abundance(matrix) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("method", ["svd", "gram", "auto"])
@pytest.mark.parametrize("shape", [(400, 7), (12, 10)])
def test_orthonormal_columns_have_ia_k(method, shape):
    rows, cols = shape
    matrix = orthonormal(rows, cols) * 3.0  # a common scale changes nothing
    stats = abundance_stats(matrix, method)
    assert stats["ia"] == pytest.approx(cols, rel=1e-9)
    assert stats["ia_normalised"] == pytest.approx(1.0, rel=1e-9)
    assert stats["erank"] == pytest.approx(cols, rel=1e-9)
    assert (stats["rows"], stats["width"]) == (rows, cols)


def test_tall_gaussian_matrix_is_nearly_full_abundance():
    matrix = np.random.default_rng(2).standard_normal((100_000, 10)).astype(np.float32)
    ia = information_abundance(matrix)
    assert 9.0 < ia <= 10.0
    assert information_abundance(matrix, "gram") == pytest.approx(ia, rel=1e-12)


@pytest.mark.parametrize(
    "rows, spectrum, dtype",
    [
        (2000, np.linspace(5.0, 0.5, 16), np.float64),
        (5000, np.random.default_rng(3).uniform(0.1, 10.0, 50), np.float32),
        (3000, np.logspace(0, -4, 30), np.float32),  # condition number 1e4
        (4000, np.logspace(2, -6, 40), np.float64),  # condition number 1e8
        (1500, [100.0] + [1e-3] * 11, np.float32),  # one dominant direction
    ],
)
def test_gram_path_matches_svd(rows, spectrum, dtype):
    matrix = (with_spectrum(rows, spectrum, seed=rows) * 7.0).astype(dtype)
    svd = singular_values(matrix, "svd")
    gram = singular_values(matrix, "gram")
    assert gram.shape == svd.shape == (len(spectrum),)
    assert np.all(np.diff(gram) <= 0), "singular values must come largest first"
    np.testing.assert_allclose(gram, svd, rtol=0, atol=1e-6 * svd[0])
    by_svd, by_gram = abundance_stats(matrix, "svd"), abundance_stats(matrix, "gram")
    for key in ("ia", "ia_normalised", "erank"):
        assert by_gram[key] == pytest.approx(by_svd[key], rel=1e-6), key


def test_gram_path_of_a_wide_matrix_matches_svd():
    matrix = np.random.default_rng(4).standard_normal((9, 200))
    np.testing.assert_allclose(singular_values(matrix, "gram"), singular_values(matrix, "svd"), rtol=1e-9)
    assert singular_values(matrix).shape == (9,)


def test_auto_uses_svd_for_small_tables_and_gram_for_tall_ones():
    rng = np.random.default_rng(7)
    near_square = rng.standard_normal((30, 10))
    tall = rng.standard_normal((2000, 10))
    np.testing.assert_array_equal(singular_values(near_square), singular_values(near_square, "svd"))
    np.testing.assert_array_equal(singular_values(tall), singular_values(tall, "gram"))
    np.testing.assert_array_equal(singular_values(tall.T), singular_values(tall.T, "gram"))


def test_gram_path_never_copies_a_whole_float32_table_to_float64():
    matrix = np.random.default_rng(8).standard_normal((200_000, 20)).astype(np.float32)  # 16 MB
    tracemalloc.start()
    try:
        information_abundance(matrix, "gram")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8e6, f"peak {peak / 1e6:.1f} MB: a float64 copy of the table would take 32 MB"


@pytest.mark.parametrize("method", ["svd", "gram", "auto"])
def test_known_diagonal_spectrum(method):
    matrix = np.zeros((20, 4), dtype=np.float32)
    matrix[[3, 7, 11, 19], [2, 0, 3, 1]] = [4.0, -2.0, 1.0, 1.0]  # singular values 4, 2, 1, 1
    np.testing.assert_allclose(singular_values(matrix, method), [4.0, 2.0, 1.0, 1.0], atol=1e-12)
    # p = (1/2, 1/4, 1/8, 1/8): H = (1/2 + 2/4 + 2*3/8) ln 2 = 1.75 ln 2, so erank = 2^1.75.
    expected_erank = 2.0**1.75
    assert information_abundance(matrix, method) == pytest.approx(8.0 / 4.0, rel=1e-12)
    assert normalized_information_abundance(matrix, method) == pytest.approx(2.0 / 4.0, rel=1e-12)
    assert effective_rank(matrix, method) == pytest.approx(expected_erank, rel=1e-12)
    assert abundance_stats(matrix, method) == pytest.approx(
        {"rows": 20, "width": 4, "ia": 2.0, "ia_normalised": 0.5, "erank": expected_erank}, rel=1e-12
    )


def test_normalised_ia_divides_by_the_short_side():
    tall = with_spectrum(50, [3.0, 1.0, 1.0])  # IA 5/3, bound 3
    assert normalized_information_abundance(tall) == pytest.approx(5.0 / 9.0, rel=1e-9)
    wide = tall.T[:, :30]  # 3 x 30, still rank 3 but with another spectrum: compare with its own IA
    assert normalized_information_abundance(wide) == pytest.approx(information_abundance(wide) / 3, rel=1e-12)
    rank_one_wide = np.outer([1.0, 2.0], np.arange(1.0, 11.0))  # 2 x 10: IA 1, bound 2
    assert normalized_information_abundance(rank_one_wide) == pytest.approx(0.5, abs=1e-9)


def test_inputs_of_other_types_and_dtypes():
    assert information_abundance([[1, 0], [0, 1], [0, 0]]) == pytest.approx(2.0)
    assert information_abundance(np.eye(3, dtype=np.int64)) == pytest.approx(3.0)
    assert information_abundance(keras.ops.convert_to_tensor(np.eye(3, dtype="float32"))) == pytest.approx(3.0)
    assert information_abundance(keras.Variable(np.eye(3, dtype="float32"))) == pytest.approx(3.0)


@pytest.mark.parametrize("method", ["svd", "gram", "auto"])
def test_all_zero_matrix_is_defined_as_zero(method):
    zeros = np.zeros((30, 5), dtype=np.float32)
    assert information_abundance(zeros, method) == 0.0
    assert normalized_information_abundance(zeros, method) == 0.0
    assert effective_rank(zeros, method) == 0.0


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.ones(5), "2-D"),
        (np.ones((2, 3, 4)), "2-D"),
        (np.ones(()), "2-D"),
        (np.ones((0, 4)), "non-empty"),
        (np.ones((4, 0)), "non-empty"),
        (np.ones((3, 2), dtype=complex), "real"),
    ],
)
def test_bad_shapes_are_rejected(bad, message):
    for function in (singular_values, information_abundance, abundance_stats, effective_rank):
        with pytest.raises(ValueError, match=message):
            function(bad)


@pytest.mark.parametrize("method", ["svd", "gram", "auto"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected(method, value):
    matrix = np.ones((40, 3), dtype=np.float32)
    matrix[17, 1] = value
    with pytest.raises(ValueError, match="NaN or infinite"):
        information_abundance(matrix, method)


def test_unknown_method_is_rejected():
    for function in (singular_values, information_abundance, abundance_stats, normalized_information_abundance):
        with pytest.raises(ValueError, match="method"):
            function(np.eye(3), "qr")


# ---------------------------------------------------------------------------- embeddings

VOCAB = [30, 7, 50]
DIM, SETS = 3, 2


def known_table():
    """A fused (87, 6) table whose per-field, per-set spectra are known or independently computable.

    Field 0: set 0 = 2 * three orthonormal columns (IA 3), set 1 = rank one with singular value 5
    in a direction orthogonal to set 0, so the concatenation has singular values (5, 2, 2, 2).
    Field 1: random. Field 2: set 0 all zero, set 1 random.
    """
    rng = np.random.default_rng(5)
    table = rng.standard_normal((sum(VOCAB), SETS * DIM))
    q = orthonormal(VOCAB[0], DIM + 1, seed=6)
    table[:30, :DIM] = 2.0 * q[:, :DIM]
    w = np.array([1.0, 2.0, 2.0]) / 3.0
    table[:30, DIM:] = 5.0 * np.outer(q[:, DIM], w)
    table[37:87, :DIM] = 0.0
    return table.astype(np.float32)


def built_layer(table, **kwargs):
    layer = MultiEmbedding(VOCAB, embedding_dim=DIM, num_sets=SETS, **kwargs)
    layer.build((None, len(VOCAB)))
    layer.embeddings.assign(table)
    return layer


def test_embedding_abundance_per_set_and_concat():
    table = known_table()
    rows = embedding_abundance(built_layer(table, field_names=["f0", "f1", "f2"]))

    assert [(r["field"], r["set"]) for r in rows] == [(f, s) for f in ("f0", "f1", "f2") for s in (0, 1, "concat")]
    assert all(set(r) == set(CSV_COLUMNS) - {"epoch"} for r in rows)
    assert [(r["rows"], r["width"]) for r in rows] == [(v, w) for v in VOCAB for w in (DIM, DIM, SETS * DIM)]
    by_key = {(r["field"], r["set"]): r for r in rows}

    # Field 0: hand-computed spectra.
    assert by_key["f0", 0]["ia"] == pytest.approx(3.0, rel=1e-5)
    assert by_key["f0", 1]["ia"] == pytest.approx(1.0, abs=1e-5)
    assert by_key["f0", 1]["ia_normalised"] == pytest.approx(1.0 / 3.0, abs=1e-5)
    concat = by_key["f0", "concat"]
    assert concat["ia"] == pytest.approx(11.0 / 5.0, rel=1e-5)
    assert concat["ia_normalised"] == pytest.approx(11.0 / 5.0 / (SETS * DIM), rel=1e-5)
    p = np.array([5.0, 2.0, 2.0, 2.0]) / 11.0
    assert concat["erank"] == pytest.approx(math.exp(-np.sum(p * np.log(p))), rel=1e-4)

    # Fields 1 and 2: each slice against the SVD of the same rows cut from the table here.
    offsets = [0, 30, 37, 87]
    for f in (1, 2):
        block = table[offsets[f] : offsets[f + 1]].astype(np.float64)
        for s, columns in ((0, block[:, :DIM]), (1, block[:, DIM:]), ("concat", block)):
            expected = abundance_stats(columns, "svd")
            for key in ("ia", "ia_normalised", "erank"):
                assert by_key[f"f{f}", s][key] == pytest.approx(expected[key], rel=1e-6), (f, s, key)
    assert by_key["f2", 0]["ia"] == 0.0

    assert summarize(rows) == pytest.approx(
        {
            "ia_mean_set_0": np.mean([by_key[f, 0]["ia"] for f in ("f0", "f1", "f2")]),
            "ia_mean_set_1": np.mean([by_key[f, 1]["ia"] for f in ("f0", "f1", "f2")]),
            "ia_mean_concat": np.mean([by_key[f, "concat"]["ia"] for f in ("f0", "f1", "f2")]),
            "ia_vs_random_mean_concat": np.mean([by_key[f, "concat"]["ia_vs_random"] for f in ("f0", "f1", "f2")]),
        },
        rel=1e-12,
    )
    assert list(summarize(rows)) == ["ia_mean_set_0", "ia_mean_set_1", "ia_mean_concat", "ia_vs_random_mean_concat"]
    for row in rows:
        assert row["rows_total"] == row["rows"]  # no counts: every row is measured
        assert row["ia_random"] == pytest.approx(random_abundance(row["rows"], row["width"]))
        assert row["ia_vs_random"] == pytest.approx(row["ia"] / row["ia_random"])
    assert all(type(v) is float for v in summarize(rows).values())


@pytest.mark.parametrize("shape", [(10, 10), (80, 10), (80, 100), (3, 10), (4082, 10), (500, 40)])
def test_random_abundance_is_the_mean_ia_of_gaussian_matrices(shape):
    rng = np.random.default_rng(7)
    draws = [information_abundance(rng.standard_normal(shape)) for _ in range(200)]
    spread = np.std(draws, ddof=1) / math.sqrt(len(draws))
    assert random_abundance(*shape) == pytest.approx(np.mean(draws), abs=5 * spread + 0.02 * np.std(draws) + 1e-3)
    assert random_abundance(*shape) == random_abundance(*shape[::-1])  # a matrix and its transpose
    assert 1.0 <= random_abundance(*shape) <= min(shape)


def test_random_abundance_of_a_huge_table_is_cheap_and_close_to_its_width():
    assert random_abundance(40_000_000, 100) == pytest.approx(100, rel=0.01)
    with pytest.raises(ValueError, match="rows >= 1"):
        random_abundance(0, 10)


def test_untrained_tables_are_as_abundant_as_random_ones():
    keras.utils.set_random_seed(0)
    layer = MultiEmbedding([4000, 500, 200], embedding_dim=8, num_sets=3, embeddings_initializer="random_normal")
    layer.build((None, 3))
    ratios = [r["ia_vs_random"] for r in embedding_abundance(layer)]
    # one draw against the mean over draws: within the draws' spread (a few percent at these shapes)
    assert np.allclose(ratios, 1.0, atol=0.06), ratios


def test_rows_training_never_looked_up_are_left_out():
    """A field's OOV row that was never looked up and decayed to zero costs a 3-row field one rank."""
    rng = np.random.default_rng(3)
    layer = MultiEmbedding([3, 50], embedding_dim=10, num_sets=2)
    layer.build((None, 2))
    table = rng.standard_normal((53, 20)).astype("float32")
    table[0] = 0.0  # field 0's OOV row, never looked up
    table[3] = 0.0  # field 1's
    layer.embeddings.assign(table)
    counts = [np.array([0, 5, 2]), np.r_[0, np.ones(49, int)]]
    every_row = {(r["field"], r["set"]): r for r in embedding_abundance(layer)}
    live = {(r["field"], r["set"]): r for r in embedding_abundance(layer, row_counts=counts)}
    assert every_row["0", "concat"]["ia"] <= 2.0 + 1e-9  # the dead row caps a 3-row table at rank 2
    assert live["0", "concat"]["rows"] == 2 and live["0", "concat"]["rows_total"] == 3
    expected = abundance_stats(table[1:3].astype(np.float64), "svd")
    assert live["0", "concat"]["ia"] == pytest.approx(expected["ia"], rel=1e-6)
    assert live["0", "concat"]["ia_random"] == pytest.approx(random_abundance(2, 20))
    assert live["1", 1]["rows"] == 49
    assert live["1", 1]["ia"] == pytest.approx(abundance_stats(table[4:53, 10:20].astype(np.float64))["ia"], rel=1e-6)
    with pytest.raises(ValueError, match="row_counts of field 1"):
        embedding_abundance(layer, row_counts=[counts[0], np.ones(7)])
    with pytest.raises(ValueError, match="row_counts has 1 fields"):
        embedding_abundance(layer, row_counts=counts[:1])
    nothing = embedding_abundance(layer, row_counts=[np.zeros(3), counts[1]])
    assert nothing[2]["rows"] == 0 and nothing[2]["ia"] == 0.0 and math.isnan(nothing[2]["ia_vs_random"])
    assert not math.isnan(summarize(nothing)["ia_vs_random_mean_concat"])  # the field without rows is left out


def test_embedding_abundance_field_names():
    table = known_table()
    assert [r["field"] for r in embedding_abundance(built_layer(table))][::3] == ["0", "1", "2"]
    named = built_layer(table, field_names=["a", "b", "c"])
    assert [r["field"] for r in embedding_abundance(named)][::3] == ["a", "b", "c"]
    assert [r["field"] for r in embedding_abundance(named, ["x", "y", "z"])][::3] == ["x", "y", "z"]
    with pytest.raises(ValueError, match="field_names"):
        embedding_abundance(named, ["x", "y"])


def test_embedding_abundance_single_set_concat_equals_set_zero():
    layer = MultiEmbedding([40, 9], embedding_dim=4, num_sets=1)
    layer.build((None, 2))
    rows = embedding_abundance(layer)
    assert [r["set"] for r in rows] == [0, "concat", 0, "concat"]
    for set_row, concat_row in (rows[0:2], rows[2:4]):
        assert {k: v for k, v in set_row.items() if k != "set"} == {k: v for k, v in concat_row.items() if k != "set"}


def test_embedding_abundance_needs_a_built_layer():
    with pytest.raises(ValueError, match="build"):
        embedding_abundance(MultiEmbedding([3, 4], embedding_dim=2))


# ---------------------------------------------------------------------------- callback


def test_callback_measures_only_the_rows_training_looked_up(tmp_path):
    model = tiny_model()
    x, y = tiny_data()
    x[:, 1] = np.where(x[:, 1] < 3, 3, x[:, 1])  # field 1 never looks up rows 0-2
    counts = [np.bincount(x[:, f], minlength=v) for f, v in enumerate((11, 23, 5))]
    callback = AbundanceCallback(csv_path=tmp_path / "abundance.csv", row_counts=counts)
    model.fit(x, y, epochs=1, batch_size=16, callbacks=[callback], verbose=0)
    _, rows = read_csv(tmp_path / "abundance.csv")
    field1 = [r for r in rows if r["field"] == "1"]
    assert {(int(r["rows"]), int(r["rows_total"])) for r in field1} == {(int((counts[1] > 0).sum()), 23)}
    assert int((counts[1] > 0).sum()) <= 20


def tiny_model(vocab=(11, 23, 5), dim=4, sets=2, seed=0):
    keras.utils.set_random_seed(seed)
    ids = keras.Input((len(vocab),), dtype="int32", name="ids")
    emb = MultiEmbedding(list(vocab), embedding_dim=dim, num_sets=sets, name="emb")(ids)
    out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(emb))
    model = keras.Model(ids, out)
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy")
    return model


def tiny_data(vocab=(11, 23, 5), n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = np.stack([rng.integers(0, v, n) for v in vocab], axis=1).astype("int32")
    y = rng.integers(0, 2, (n, 1)).astype("float32")
    return x, y


def read_csv(path):
    with open(path, newline="") as f:
        lines = f.read().splitlines()
    return lines[0], list(csv.DictReader(lines))


def assert_rows_match(csv_rows, expected_rows, epoch):
    assert len(csv_rows) == len(expected_rows)
    for got, want in zip(csv_rows, expected_rows):
        assert int(got["epoch"]) == epoch
        assert (got["field"], got["set"]) == (want["field"], str(want["set"]))
        assert (int(got["rows"]), int(got["width"])) == (want["rows"], want["width"])
        for key in ("ia", "ia_normalised", "erank"):
            assert float(got[key]) == pytest.approx(want[key], rel=1e-12, abs=1e-12)


def test_callback_writes_csv_and_logs_every_epoch(tmp_path):
    model = tiny_model()
    x, y = tiny_data()
    path = tmp_path / "abundance.csv"
    callback = AbundanceCallback(csv_path=path)
    csv_logger = keras.callbacks.CSVLogger(str(tmp_path / "epochs.csv"))
    history = model.fit(x, y, epochs=2, batch_size=16, callbacks=[callback, csv_logger], verbose=0)

    header, rows = read_csv(path)
    assert header == "epoch,field,set,rows,rows_total,width,ia,ia_normalised,erank,ia_random,ia_vs_random"
    fields, sets = 3, 2
    assert len(rows) == 2 * fields * (sets + 1)
    assert [int(r["epoch"]) for r in rows] == [1] * 9 + [2] * 9  # epochs trained: from 1

    layer = model.get_layer("emb")
    final = embedding_abundance(layer)
    assert_rows_match(rows[9:], final, epoch=2)
    assert callback.latest_epoch == 2
    assert [{k: v for k, v in r.items() if k != "epoch"} for r in callback.latest_rows] == final

    # The first epoch's weights differ from the final ones (training moved them).
    assert [float(r["ia"]) for r in rows[:9]] != [float(r["ia"]) for r in rows[9:]]

    summary = summarize(final)
    assert len(history.history["ia_mean_concat"]) == 2
    assert history.history["ia_mean_concat"][-1] == pytest.approx(summary["ia_mean_concat"], rel=1e-12)
    assert history.history["ia_mean_set_1"][-1] == pytest.approx(summary["ia_mean_set_1"], rel=1e-12)
    assert history.history["ia_mean_concat"][0] == pytest.approx(
        np.mean([float(r["ia"]) for r in rows[:9] if r["set"] == "concat"]), rel=1e-12
    )
    # Callbacks placed after it see the figures in the epoch logs.
    epoch_header, epoch_rows = read_csv(tmp_path / "epochs.csv")
    assert "ia_mean_concat" in epoch_header.split(",") and len(epoch_rows) == 2


@pytest.mark.parametrize(
    "epochs, at_train_end, measured, in_history",
    [(5, True, [1, 3, 5], 3), (4, True, [1, 3, 4], 2), (4, False, [1, 3], 2)],
)
def test_callback_every_n_epochs(tmp_path, epochs, at_train_end, measured, in_history):
    model = tiny_model()
    x, y = tiny_data()
    path = tmp_path / "abundance.csv"
    callback = AbundanceCallback(every_n_epochs=2, csv_path=path, at_train_end=at_train_end)
    history = model.fit(x, y, epochs=epochs, batch_size=32, callbacks=[callback], verbose=0)

    _, rows = read_csv(path)
    assert sorted({int(r["epoch"]) for r in rows}) == measured
    assert len(rows) == len(measured) * 3 * 3
    assert len(history.history["ia_mean_concat"]) == in_history
    assert len(history.history["loss"]) == epochs
    last = [r for r in rows if int(r["epoch"]) == measured[-1]]
    if measured[-1] == epochs:
        assert_rows_match(last, embedding_abundance(model.get_layer("emb")), epoch=epochs)


def test_callback_appends_to_an_existing_csv_with_one_header(tmp_path):
    path = tmp_path / "abundance.csv"
    model = tiny_model(vocab=(6, 9), sets=1)
    x, y = tiny_data(vocab=(6, 9))
    callback = AbundanceCallback(csv_path=path)
    model.fit(x, y, epochs=1, callbacks=[callback], verbose=0)
    model.fit(x, y, epochs=2, initial_epoch=1, callbacks=[callback], verbose=0)
    header, rows = read_csv(path)
    assert header == ",".join(CSV_COLUMNS)
    assert [int(r["epoch"]) for r in rows] == [1] * 4 + [2] * 4
    assert [r["set"] for r in rows[:4]] == ["0", "concat", "0", "concat"]

    other = tmp_path / "other.csv"
    other.write_text("something,else\n")
    with pytest.raises(ValueError, match="header"):
        model.fit(x, y, epochs=1, callbacks=[AbundanceCallback(csv_path=other)], verbose=0)


def test_callback_finds_nested_layers_and_prefixes_each(tmp_path):
    keras.utils.set_random_seed(1)
    ids = keras.Input((2,), dtype="int32")
    inner_ids = keras.Input((2,), dtype="int32")
    inner = keras.Model(
        inner_ids,
        keras.layers.Flatten()(MultiEmbedding([5, 8], 3, num_sets=2, name="inner_emb")(inner_ids)),
        name="tower",
    )
    outer_emb = MultiEmbedding([5, 8], 2, name="outer_emb", field_names=["u", "v"])
    features = keras.layers.Concatenate()([inner(ids), keras.layers.Flatten()(outer_emb(ids))])
    model = keras.Model(ids, keras.layers.Dense(1, activation="sigmoid")(features))
    model.compile("adam", "binary_crossentropy")
    x, y = tiny_data(vocab=(5, 8), n=16)

    callback = AbundanceCallback(csv_path=tmp_path / "a.csv")
    history = model.fit(x, y, epochs=1, callbacks=[callback], verbose=0)
    assert {"inner_emb/ia_mean_set_1", "inner_emb/ia_mean_concat", "outer_emb/ia_mean_concat"} <= set(history.history)
    assert "ia_mean_concat" not in history.history
    _, rows = read_csv(tmp_path / "a.csv")
    assert {r["field"] for r in rows} == {"inner_emb/0", "inner_emb/1", "outer_emb/u", "outer_emb/v"}
    assert len(rows) == 2 * 3 + 2 * 2

    only_outer = AbundanceCallback(layer=outer_emb, field_names=["p", "q"])
    history = model.fit(x, y, epochs=1, callbacks=[only_outer], verbose=0)
    assert "ia_mean_concat" in history.history and "ia_mean_set_1" not in history.history
    assert [r["field"] for r in only_outer.latest_rows] == ["p", "p", "q", "q"]

    with pytest.raises(ValueError, match="single embedding layer"):
        model.fit(x, y, epochs=1, callbacks=[AbundanceCallback(field_names=["p", "q"])], verbose=0)


def test_callback_without_multi_embedding_fails_clearly():
    ids = keras.Input((2,))
    model = keras.Model(ids, keras.layers.Dense(1)(ids))
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="no MultiEmbedding"):
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)), callbacks=[AbundanceCallback()], verbose=0)


def test_the_tracker_records_what_the_callback_records_without_keras_calling_it(tmp_path):
    model = tiny_model()
    x, y = tiny_data()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    tracker = AbundanceTracker(model.get_layer("emb"), csv_path=tmp_path / "a.csv")
    summary = tracker.measure(epoch=1)
    callback = AbundanceCallback(layer=model.get_layer("emb"), csv_path=tmp_path / "b.csv")
    callback.set_model(model)
    assert callback.compute(1) == summary and tracker.latest_epoch == callback.latest_epoch == 1
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    assert MetricCallback is AbundanceCallback  # the old name still works


def test_callback_argument_checks():
    with pytest.raises(ValueError, match="every_n_epochs"):
        AbundanceCallback(every_n_epochs=0)
    with pytest.raises(ValueError, match="method"):
        AbundanceCallback(method="qr")


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is not None, reason="TensorFlow is installed")
def test_tensorboard_without_tensorflow_raises_import_error(tmp_path):
    with pytest.raises(ImportError, match="TensorFlow"):
        AbundanceCallback(log_dir=tmp_path)


@pytest.mark.tensorflow
def test_tensorboard_summaries(tmp_path):
    tf = pytest.importorskip("tensorflow")
    model = tiny_model()
    x, y = tiny_data()
    log_dir = tmp_path / "tb"
    history = model.fit(x, y, epochs=2, batch_size=32, callbacks=[AbundanceCallback(log_dir=log_dir)], verbose=0)

    files = glob.glob(str(log_dir / "events.out.tfevents.*"))
    assert files
    scalars = {}
    for path in files:
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                scalars[value.tag, event.step] = float(tf.make_ndarray(value.tensor))
    for step in (1, 2):  # epochs trained
        for key in ("ia_mean_set_0", "ia_mean_set_1", "ia_mean_concat"):
            assert scalars[f"abundance/{key}", step] == pytest.approx(history.history[key][step - 1], rel=1e-6)
