"""mezoo.evaluate scores a run only on data whose ids mean what they meant in training."""

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from tests.reliability import helpers  # noqa: E402
from tests.shared_data import shared_data  # noqa: E402
from tests.tfrecord_tools.helpers import convert  # noqa: E402
from tfrecord_tools.formats import avazu_layout, criteo_layout  # noqa: E402


@pytest.fixture(scope="module")
def criteo_run(tmp_path_factory):
    from mezoo.training.trainer import train

    root = tmp_path_factory.mktemp("evaluate")
    raw = root / "criteo3k.txt"
    raw.write_bytes(b"".join(open(shared_data("criteo", "criteo_kaggle_head10k.tsv"), "rb").readlines()[:3000]))
    convert([str(raw)], criteo_layout(), root / "data", min_count=10, dataset="criteo")
    overrides = ["train.epochs=1", "train.steps_per_epoch=2", "data.batch_size=256", "train.export=false"]
    train("dnn_se_criteo", overrides, data=str(root / "data"), run_dir=str(root / "run"), verbose=0)
    return root, raw


def evaluate(run_dir, *args):
    return helpers.run("-m", "mezoo.evaluate", "--run_dir", run_dir, *args)


def one_error_line(proc, message):
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_a_reconversion_with_other_vocabularies_is_refused(criteo_run):
    root, raw = criteo_run
    convert([str(raw)], criteo_layout(), root / "min2", min_count=2, dataset="criteo")
    one_error_line(evaluate(root / "run", "--data", root / "min2"), "was converted with other vocabularies than")
    assert evaluate(root / "run", "--data", root / "data").returncode == 0


def test_another_data_sets_spec_is_named_as_such(criteo_run):
    root, _ = criteo_run
    convert([shared_data("avazu", "avazu_head10k.csv")], avazu_layout(), root / "avazu", min_count=4, dataset="avazu")
    one_error_line(evaluate(root / "run", "--data", root / "avazu"), "the data's spec does not match the run's")


def test_another_split_seed_is_warned_about_and_a_bogus_split_refused(criteo_run):
    root, raw = criteo_run
    convert([str(raw)], criteo_layout(), root / "seed7", min_count=10, dataset="criteo", seed=7)
    proc = evaluate(root / "run", "--data", root / "seed7")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "was split with seed 7" in proc.stderr and "may hold rows the run trained on" in proc.stderr
    one_error_line(evaluate(root / "run", "--split", "bogus"), "--split=bogus: value should be one of")
