"""The tf.data pipeline and FeatureSpec on a small converted synthetic data set."""

import json
import os

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data import FeatureSpec, make_dataset  # noqa: E402
from mezoo.data.feature_spec import escape_token, read_vocabulary, unescape_token, write_vocabulary  # noqa: E402
from tests.tfrecord_tools.helpers import convert, read_split  # noqa: E402
from tfrecord_tools.formats import criteo_layout  # noqa: E402


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    from tfrecord_tools.synthetic import generate

    base = tmp_path_factory.mktemp("pipe")
    generate("criteo", 3000, str(base / "train.txt"), seed=3)
    convert([str(base / "train.txt")], criteo_layout(), base / "out", min_count=2, rows_per_shard=300, dataset="criteo")
    return base / "out"


def test_feature_spec_load_save_and_contents(converted, tmp_path):
    spec = FeatureSpec.load(str(converted))
    assert spec.num_fields == 39 and spec.numeric == [] and spec.dataset == "criteo"
    assert spec.field_names[:2] == ["I1", "I2"] and spec.field("C1")["source"] == "string"
    assert set(spec.splits) == {"train", "valid", "test"} and spec.rows("train") == 2400
    assert len(spec.files("train")) == 8 and all(os.path.isabs(p) for p in spec.files("train"))
    assert spec.compression("train") == "GZIP"
    assert len(spec.vocabulary("C1")) == spec.field("C1")["vocab_size"] - 1
    spec.save(str(tmp_path))
    again = FeatureSpec.load(str(tmp_path / "feature_spec.json"))
    assert again.to_dict() == spec.to_dict()
    with pytest.raises(FileNotFoundError, match="no shard matches"):
        again.files("train")  # shards are resolved relative to the spec's own directory
    from mezoo.models.ctr_model import field_list, numeric_list

    assert field_list(spec) == list(zip(spec.field_names, spec.vocab_sizes)) and numeric_list(spec) == []


def test_feature_spec_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        FeatureSpec.load(str(tmp_path / "nothing_here"))
    (tmp_path / "feature_spec.json").write_text(json.dumps({"format_version": 7, "fields": [], "splits": {}}))
    with pytest.raises(ValueError, match="format_version 7"):
        FeatureSpec.load(str(tmp_path))


def test_vocabulary_files_round_trip_any_token(tmp_path):
    tokens = [b"", b"a", b"line\nbreak", b"back\\slash", b"\\n", b"cr\r", b"\xff\xfe", "ünï".encode()]
    write_vocabulary(str(tmp_path / "v.txt"), tokens)
    assert read_vocabulary(str(tmp_path / "v.txt")) == tokens
    assert (tmp_path / "v.txt").read_bytes().count(b"\n") == len(tokens)
    assert all(unescape_token(escape_token(t)) == t for t in tokens)


def test_batches_have_the_model_input_layout(converted):
    ds = make_dataset(str(converted), "train", batch_size=256, seed=0)
    features, labels = next(iter(ds))
    assert set(features) == {"ids"}
    assert features["ids"].dtype == tf.int32 and features["ids"].shape == (256, 39)
    assert labels.dtype == tf.float32 and labels.shape == (256, 1)
    sizes = np.asarray(FeatureSpec.load(str(converted)).vocab_sizes)
    assert (features["ids"].numpy() < sizes).all() and (features["ids"].numpy() >= 0).all()
    assert ds.element_spec[0]["ids"].shape.as_list() == [256, 39]  # drop_remainder: static batch


def test_evaluation_reads_every_row_once_in_order(converted):
    ds = make_dataset(str(converted), "valid", batch_size=128, deterministic=True)
    ids = np.concatenate([f["ids"].numpy() for f, _ in ds])
    labels = np.concatenate([label.numpy()[:, 0] for _, label in ds])
    want_labels, want_ids, _ = read_split(converted, "valid")
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(labels, want_labels)


def test_deterministic_option_repeats_the_same_order(converted):
    def first(n):
        ds = make_dataset(str(converted), "train", batch_size=64, seed=7, deterministic=True, shuffle_buffer=500)
        return np.concatenate([f["ids"].numpy() for f, _ in ds.take(n)])

    a, b = first(10), first(10)
    np.testing.assert_array_equal(a, b)
    c = np.concatenate(
        [
            f["ids"].numpy()
            for f, _ in make_dataset(
                str(converted), "train", batch_size=64, seed=8, deterministic=True, shuffle_buffer=500
            ).take(10)
        ]
    )
    assert not np.array_equal(a, c)


def test_training_repeats_and_shuffles(converted):
    ds = make_dataset(str(converted), "train", batch_size=1000, seed=1, shuffle_buffer=3000)
    batches = [label.numpy() for _, label in ds.take(5)]  # 5000 rows > 2400 in the split: repeated
    assert len(batches) == 5 and all(b.shape == (1000, 1) for b in batches)
    _, ids_in_order, _ = read_split(converted, "train")
    got = next(iter(make_dataset(str(converted), "train", batch_size=50, seed=1, shuffle_buffer=3000)))[0]["ids"]
    assert not np.array_equal(got.numpy(), ids_in_order[:50])


def test_per_worker_file_sharding(converted):
    seen = []
    for worker in range(2):
        ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=worker, num_replicas_in_sync=4)
        ds = make_dataset(str(converted), "train", batch_size=64, input_context=ctx, training=False, deterministic=True)
        f, _ = next(iter(ds))
        assert f["ids"].shape[0] == 16  # the per-replica batch size
        seen.append(np.concatenate([f["ids"].numpy() for f, _ in ds]))
    _, all_ids, _ = read_split(converted, "train")
    both = np.concatenate(seen)
    assert len(both) == len(all_ids) and len(seen[0]) == len(seen[1]) == 1200  # disjoint halves, all rows

    def key(a):
        return sorted(map(tuple, a))

    assert key(both) == key(all_ids)
    with pytest.raises(ValueError, match="shard"):
        ctx = tf.distribute.InputContext(num_input_pipelines=20, input_pipeline_id=0, num_replicas_in_sync=20)
        make_dataset(str(converted), "train", batch_size=64, input_context=ctx)


def test_a_zoo_model_trains_on_the_pipeline(converted):
    import keras

    import mezoo

    spec = FeatureSpec.load(str(converted))
    model = mezoo.models.get("dnn")(spec, num_embedding_sets=2, embedding_dim=4, hidden_units=(16,))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    history = model.fit(make_dataset(spec, "train", batch_size=256, seed=0), steps_per_epoch=3, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
