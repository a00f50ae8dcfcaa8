"""Every family on a spec with multi-valued fields: builds, trains a step, ignores padding, saves and loads."""

import json
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from mezoo import models
from mezoo.data import FeatureSpec
from mezoo.fields import field_lengths
from mezoo.models.ctr_model import field_list
from tests.models.family_cases import FIELDS as SINGLE_FIELDS
from tests.models.family_cases import randomize, small

SPEC_FIELDS = [
    {"name": "user", "kind": "categorical", "vocab_size": 10},
    {"name": "genres", "kind": "multi_valued", "vocab_size": 8, "max_len": 3, "pooling": "mean", "separator": "|"},
    {"name": "item", "kind": "categorical", "vocab_size": 20},
    {"name": "history", "kind": "multi_valued", "vocab_size": 20, "max_len": 5, "pooling": "sqrtn", "truncate": "last"},
]
SPEC = SimpleNamespace(fields=SPEC_FIELDS, numeric=[])  # FeatureSpec-like
FIELDS = [("user", 10), ("genres", 8, 3, "mean"), ("item", 20), ("history", 20, 5, "sqrtn")]
LENGTHS = [1, 3, 1, 5]
VOCABS = [f[1] for f in FIELDS]
OFFSETS = np.cumsum([0] + VOCABS)[:-1]
STARTS = np.cumsum([0] + LENGTHS)
MULTI = [f for f, n in enumerate(LENGTHS) if n > 1]


def pooled_batch(rows=64, seed=0, lowest=0):
    """`({"ids": (rows, 10)}, labels)`: row 0 has no value in either multi-valued field, row 1 one in each."""
    rng = np.random.default_rng(seed)
    columns = []
    for v, n in zip(VOCABS, LENGTHS):
        if n == 1:
            columns.append(rng.integers(0, v, (rows, 1)))
            continue
        present = rng.random((rows, n)) < 0.6
        present[0], present[1] = False, np.arange(n) == 0
        columns.append(np.where(present, rng.integers(lowest, v, (rows, n)), -1))
    return {"ids": np.concatenate(columns, axis=1).astype("int32")}, rng.integers(0, 2, (rows, 1)).astype("float32")


def numpy(t):
    return np.asarray(keras.ops.convert_to_numpy(t))


def test_field_list_reads_both_kinds_from_a_spec():
    assert field_list(SPEC) == FIELDS and field_lengths(FIELDS) == LENGTHS
    spec = FeatureSpec(
        {"format_version": 2, "fields": SPEC_FIELDS, "numeric": [{"name": "age"}], "splits": {}},
    )
    assert field_list(spec) == FIELDS
    model = models.get("dnn")(spec, num_embedding_sets=2, **small("dnn"))
    assert model.numeric_fields == ["age"] and tuple(model.input["ids"].shape) == (None, sum(LENGTHS))


def test_field_entries_are_checked():
    assert field_list([("a", 3), ("b", 4, 2)]) == [("a", 3), ("b", 4, 2, "mean")]  # mean by default
    assert field_list([["b", 4, 2, "sum"]]) == [("b", 4, 2, "sum")]  # get_config's lists
    assert field_lengths(field_list([("b", 4, 1, "sum")])) == [1]  # one value: a plain column
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        field_list([("b", 4, 2, "max")])
    with pytest.raises(ValueError, match="max_len must be an integer >= 1"):
        field_list([("b", 4, 0, "mean")])
    with pytest.raises(ValueError, match=r"\(name, vocab_size, max_len, pooling\)"):
        field_list([("b", 4, 2, "mean", "extra")])


@pytest.mark.parametrize("key", models.names())
def test_family_trains_ignores_padding_saves_and_loads(key, tmp_path):
    sets = 2
    model = models.get(key)(SPEC, num_embedding_sets=sets, **small(key))
    assert tuple(model.input["ids"].shape) == (None, sum(LENGTHS))
    assert model.num_fields == len(FIELDS)  # fields, not id columns
    assert model.multi_embedding.field_lengths == LENGTHS
    assert model.get_config()["fields"] == [list(f) for f in FIELDS]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    x, y = pooled_batch()
    before = numpy(model.multi_embedding.embeddings).copy()
    history = model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(before, numpy(model.multi_embedding.embeddings))
    # The rows padding reads (row 0 of each multi-valued field, in every gathered table) never
    # reach the output when no real id is 0.
    real, _ = pooled_batch(seed=1, lowest=1)
    probs, reads_row_0 = model.predict(real, verbose=0), model.predict(x, verbose=0)
    assert probs.shape == (64, 1) and np.all((probs > 0) & (probs < 1))
    for table in model.row_tables:
        values = numpy(table).copy()
        values[OFFSETS[MULTI]] += 0.5
        table.assign(values)
    np.testing.assert_array_equal(model.predict(real, verbose=0), probs)
    assert not np.allclose(model.predict(x, verbose=0), reads_row_0)  # where a real id 0 reads them, they do

    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert type(loaded) is type(model) and loaded.get_config() == model.get_config()
    assert loaded.multi_embedding.field_lengths == LENGTHS
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def numpy_pooled_rows(table, ids):
    """(batch, fields, width) pooled as FIELDS say, from the formula."""
    out = np.zeros((len(ids), len(FIELDS), table.shape[1]))
    for b in range(len(ids)):
        for f, field in enumerate(FIELDS):
            values = [i for i in ids[b, STARTS[f] : STARTS[f + 1]] if i >= 0]
            total = sum((table[OFFSETS[f] + i] for i in values), np.zeros(table.shape[1]))
            count = max(len(values), 1)
            out[b, f] = total / {"mean": count, "sqrtn": np.sqrt(count)}.get(field[3] if len(field) > 2 else "", 1)
    return out


def test_fm_pools_its_embeddings_and_first_order_weights():
    sets, d = 2, 4
    model = models.get("fm")(SPEC, num_embedding_sets=sets, embedding_dim=d)
    randomize(model, 3)
    x, _ = pooled_batch(16)
    emb = numpy_pooled_rows(numpy(model.multi_embedding.embeddings), x["ids"])
    emb = emb.reshape(16, len(FIELDS), sets, d).transpose(0, 2, 1, 3)
    pairs = 0.5 * (emb.sum(axis=2) ** 2 - (emb**2).sum(axis=2)).sum(axis=-1).mean(axis=1, keepdims=True)
    first = model.get_layer("first_order")
    linear = numpy_pooled_rows(numpy(first.table), x["ids"]).sum(axis=1) + numpy(first.bias)
    np.testing.assert_allclose(numpy(model.logits_model()(x)), linear + pairs, rtol=1e-4, atol=1e-5)


def test_fwfm_linear_vectors_are_pooled_like_the_embeddings():
    model = models.get("fwfm")(SPEC, embedding_dim=4)
    randomize(model, 4)
    x, _ = pooled_batch(16)
    e = numpy_pooled_rows(numpy(model.multi_embedding.embeddings), x["ids"])
    v = numpy_pooled_rows(numpy(model.get_layer("linear_vectors").embeddings), x["ids"])
    r, b = (numpy(w) for w in model.get_layer("pair_weights").weights)
    pairs = [(i, j) for i in range(len(FIELDS)) for j in range(i + 1, len(FIELDS))]
    expected = b[0] + sum(r[0, k] * np.sum(e[:, i] * e[:, j], axis=1) for k, (i, j) in enumerate(pairs))
    expected = expected + np.sum(e * v, axis=(1, 2))
    np.testing.assert_allclose(numpy(model.logits_model()(x)).reshape(-1), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("key", models.names())
def test_two_element_fields_keep_the_config_they_had(key):
    model = models.get(key)(SINGLE_FIELDS, num_embedding_sets=2, **small(key))
    assert model.get_config()["fields"] == [list(f) for f in SINGLE_FIELDS]
    assert tuple(model.input["ids"].shape) == (None, len(SINGLE_FIELDS))
    serialized = json.dumps(keras.saving.serialize_keras_object(model))
    assert "field_lengths" not in serialized and "poolings" not in serialized
