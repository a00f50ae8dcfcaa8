"""A feature spec's sizes are checked before anything is built: vocab_size against the vocabulary, tables
against memory."""

import json
import shutil

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.cli.train import main as train_main  # noqa: E402
from mezoo.training.table_memory import TableMemoryError, check_table_memory, table_bytes  # noqa: E402
from tests.cli_testing import fails_with  # noqa: E402
from tests.reliability.helpers import criteo_input, run  # noqa: E402


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spec_sizes")
    raw = criteo_input(folder / "train.txt", 2000, seed=5)
    done = run("-m", "tfrecord_tools.criteo", "--input", raw, "--output", folder / "data", "--min_count", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    return folder / "data"


def edited_copy(converted, tmp_path, edit):
    data = tmp_path / "data"
    shutil.copytree(converted, data)
    spec = json.loads((data / "feature_spec.json").read_text())
    edit(spec["fields"][14])  # C2
    (data / "feature_spec.json").write_text(json.dumps(spec))
    return data


@pytest.mark.parametrize("size", [10, 100000])
def test_a_vocab_size_other_than_the_vocabularys_is_refused_before_training(converted, tmp_path, capsys, size):
    real = json.loads((converted / "feature_spec.json").read_text())["fields"][14]["vocab_size"]
    assert real > 10

    def edit(field):
        field["vocab_size"] = size

    data = edited_copy(converted, tmp_path, edit)
    run_dir = tmp_path / "run"
    fails_with(
        train_main,
        ["--recipe", "dnn_se_criteo", "--data", data, "--run_dir", run_dir],
        capsys,
        f"field 'C2' has vocab_size {size}, but its vocabulary vocab/C2.txt lists {real - 1} values",
    )
    assert not run_dir.exists() or not any(run_dir.iterdir())


def test_tables_larger_than_the_machines_memory_are_refused_before_they_are_built(converted, tmp_path, capsys):
    def edit(field):  # a spec of ids only (no vocabulary to check against), with a huge table
        field["vocab_size"] = 500_000_000
        del field["vocabulary"]

    data = edited_copy(converted, tmp_path, edit)
    message = fails_with(
        train_main,
        ["--recipe", "dnn_se_criteo", "--data", data, "--run_dir", tmp_path / "run", "--set", "train.export=false"],
        capsys,
        "the embedding tables need at least",
    )
    assert "C2 (500,000,000 ids)" in message and "vocab_size" in message


def test_the_memory_rule():
    fields = [("a", 1000), ("b", 10)]
    assert table_bytes([1000, 10], 2, 8, "exact") == 1010 * 2 * 8 * 4 * 4
    assert table_bytes([1000, 10], 2, 8, "fast") == 1010 * 2 * 8 * 4 * 3
    check_table_memory(fields, 2, 8, "exact", available=None)  # unknown: not checked
    check_table_memory(fields, 2, 8, "exact", available=1010 * 2 * 8 * 16)  # exactly fits
    with pytest.raises(TableMemoryError, match=r"a \(1,000 ids\), b \(10 ids\)"):
        check_table_memory(fields, 2, 8, "exact", available=1010 * 2 * 8 * 16 - 1)
