"""A damaged shard read through the pipeline or the trainer is named, with its good-record count."""

import shutil

import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data import FeatureSpec, make_dataset  # noqa: E402
from mezoo.data.shard_errors import READ_ERRORS, ShardReadError, shard_read_error, unreadable_shards  # noqa: E402
from mezoo.training.data_sources import TFRecordSource  # noqa: E402
from mezoo.training.trainer import train  # noqa: E402
from tests.tfrecord_tools.helpers import convert  # noqa: E402
from tfrecord_tools.formats import criteo_layout  # noqa: E402


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    from tfrecord_tools.synthetic import generate

    base = tmp_path_factory.mktemp("damaged")
    generate("criteo", 3000, str(base / "train.txt"), seed=5)
    convert([str(base / "train.txt")], criteo_layout(), base / "out", min_count=2, rows_per_shard=300, dataset="criteo")
    spec = FeatureSpec.load(str(base / "out"))
    shard = spec.files("train")[1]
    data = open(shard, "rb").read()
    open(shard, "wb").write(data[: len(data) // 2])  # truncated mid-stream
    return spec, shard


def test_a_healthy_split_has_no_unreadable_shards(damaged):
    spec, _ = damaged
    assert unreadable_shards(spec, "valid") == []


def test_the_truncated_shard_is_found_with_its_good_records(damaged):
    spec, shard = damaged
    bad = unreadable_shards(spec, "train")
    assert [path for path, _, _ in bad] == [shard]
    assert 0 < bad[0][1] < 300


def test_a_pipeline_read_error_becomes_one_naming_the_shard(damaged):
    spec, shard = damaged
    with pytest.raises(READ_ERRORS) as caught:
        for _ in make_dataset(spec, "train", 256, training=False):
            pass
    assert shard not in str(caught.value)  # tf.data's own message doesn't say which file
    named = shard_read_error(spec, "train", caught.value)
    assert isinstance(named, ShardReadError) and shard in str(named) and "good records" in str(named)


def test_the_trainer_names_the_damaged_shard(damaged, tmp_path):
    spec, shard = damaged
    directory = tmp_path / "data"
    shutil.copytree(spec.directory, directory)
    copied = str(directory / shard[len(str(spec.directory)) + 1 :])
    overrides = [
        "model.num_embedding_sets=2",
        "model.embedding_dim=4",
        "model.hidden_units=[8]",
        "data.batch_size=256",
        "train.epochs=1",
        "train.jit_compile=false",
    ]
    with pytest.raises(ShardReadError, match=copied.replace("/", ".")):
        train("dnn_me_criteo", overrides, run_dir=tmp_path / "run", source=TFRecordSource(directory), verbose=0)


def test_inspect_counts_the_good_records_of_a_damaged_shard_as_the_trainer_reads_them(damaged):
    from tfrecord_tools.inspect import check_shard

    spec, shard = damaged
    result = check_shard(shard, spec, spec.compression("train"), batch_size=8192)
    trainer_count = unreadable_shards(spec, "train")[0][1]
    assert trainer_count > 0
    assert f"corrupted or truncated shard {shard} (after {trainer_count} good records)" in result["errors"][0]


def test_inspect_says_a_directory_without_a_spec_is_no_conversion(tmp_path):
    from tfrecord_tools.inspect import inspect_directory

    (tmp_path / "summary.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"no feature_spec.json: not a finished conversion \(summary.json"):
        inspect_directory(str(tmp_path))


def test_a_record_of_another_width_is_named_with_its_shard_and_number(tmp_path):
    """A readable shard whose record holds one id too many: parse fails deep in tf.data, naming no file."""
    from tfrecord_tools.synthetic import generate

    generate("criteo", 2000, str(tmp_path / "train.txt"), seed=6)
    directory = tmp_path / "data"
    convert([str(tmp_path / "train.txt")], criteo_layout(), directory, min_count=2, dataset="criteo")
    copied = FeatureSpec.load(str(directory))
    shard = copied.files("valid")[0]
    compression = copied.compression("valid") or ""
    records = [r.numpy() for r in tf.data.TFRecordDataset(shard, compression_type=compression)]
    example = tf.train.Example()
    example.ParseFromString(records[6])
    example.features.feature["ids"].int64_list.value.append(1)
    records[6] = example.SerializeToString()
    with tf.io.TFRecordWriter(shard, options=compression or None) as writer:
        for record in records:
            writer.write(record)
    bad = unreadable_shards(copied, "valid")
    assert [(path, index) for path, index, _ in bad] == [(shard, 6)]
    assert f"record 7 does not match the feature spec: `ids` must hold {copied.id_width} ids" in bad[0][2]
    overrides = ["model.embedding_dim=4", "model.hidden_units=[8]", "data.batch_size=256", "train.epochs=1"]
    with pytest.raises(ShardReadError, match=f"{shard}: record 7 does not match the feature spec"):
        train("dnn_se_criteo", overrides, run_dir=tmp_path / "run", source=TFRecordSource(directory), verbose=0)
