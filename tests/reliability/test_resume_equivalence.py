"""Kill a run with SIGKILL mid-epoch and start it again: it ends exactly where an uninterrupted run ends."""

import json
import signal

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from tests.reliability.helpers import run, start, wait_for  # noqa: E402
from tests.training.resumable_run import OVERRIDES  # noqa: E402

STEPS_PER_EPOCH = int(12000 * 0.8) // 256


def test_kill_and_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    import keras

    assert not any(o.startswith("model.dropout") for o in OVERRIDES)  # the recipe's dropout (0.2) is on
    whole = run("-m", "tests.training.resumable_run", tmp_path / "whole", timeout=600)
    assert whole.returncode == 0, whole.stdout[-3000:] + whole.stderr[-3000:]
    # stdout is a pipe: one progress line per epoch, no bar redraws
    assert "\r" not in whole.stdout and "\x08" not in whole.stdout and whole.stdout.count("\n") < 12, whole.stdout

    run_dir = tmp_path / "killed"
    state_path = run_dir / "backup" / "state.json"

    def mid_second_epoch():
        try:
            state = json.loads(state_path.read_text())
        except (OSError, ValueError):  # not there yet
            return False
        return state["epoch"] == 1 and state["step_in_epoch"] > 0

    process = start("-m", "tests.training.resumable_run", run_dir)
    wait_for(mid_second_epoch, process, timeout=300, what="a mid-epoch backup in the second epoch")
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (run_dir / "model.keras").exists()
    resumed = run("-m", "tests.training.resumable_run", run_dir, timeout=600)
    assert resumed.returncode == 0 and "resuming" in resumed.stdout, resumed.stdout[-3000:] + resumed.stderr[-3000:]

    want = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    got = json.loads((run_dir / "metrics.json").read_text())
    assert got["steps"] == want["steps"] == 2 * STEPS_PER_EPOCH
    assert [e["val_auc"] for e in got["epochs"]] == [e["val_auc"] for e in want["epochs"]]
    assert [e["val_logloss"] for e in got["epochs"]] == [e["val_logloss"] for e in want["epochs"]]
    assert (got["test_auc"], got["test_logloss"], got["best_epoch"]) == (
        want["test_auc"],
        want["test_logloss"],
        want["best_epoch"],
    )
    # the interrupted epoch's loss is over all its steps (summed in another order: float rounding)
    assert [e["loss"] for e in got["epochs"]] == pytest.approx([e["loss"] for e in want["epochs"]], rel=1e-6)
    a = keras.models.load_model(tmp_path / "whole" / "model.keras")
    b = keras.models.load_model(run_dir / "model.keras")
    for x, y in zip(a.weights, b.weights):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=x.path)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    from tests.reliability.helpers import criteo_input

    folder = tmp_path_factory.mktemp("resume_data")
    raw = criteo_input(folder / "train.txt", 5000, seed=4)
    done = run("-m", "tfrecord_tools.criteo", "--input", raw, "--output", folder / "data", "--min_count", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    return folder / "data"


def digests(path):
    return dict(line.split() for line in path.read_text().splitlines())


@pytest.mark.parametrize("backend,distribution", [("jax", "auto"), ("jax", "data_parallel"), ("tensorflow", "auto")])
def test_a_run_killed_in_its_second_epoch_trains_every_later_step_as_an_uninterrupted_one(
    converted, tmp_path, monkeypatch, backend, distribution
):
    """On TFRecords (a shuffle per epoch): the resumed process replays the interrupted epoch's own order."""
    import keras

    if backend == "jax":
        pytest.importorskip("jax")
    monkeypatch.setenv("KERAS_BACKEND", backend)
    flags = ["--recipe", "dnn_me_criteo", "--data", converted]
    settings = ["model.num_embedding_sets=2", "model.hidden_units=[16]", "data.batch_size=100"]
    settings += ["data.shuffle_buffer=1000", "train.epochs=3", "train.early_stopping_patience=5"]
    settings += ["train.backup_every_steps=7", "train.export=false", f"train.distribution={distribution}"]
    for setting in settings:
        flags += ["--set", setting]

    def command(name):
        return [
            "-m",
            "tests.training.step_digest_run",
            tmp_path / f"{name}.steps",
            *flags,
            "--run_dir",
            tmp_path / name,
        ]

    whole = run(*command("whole"), timeout=600)
    assert whole.returncode == 0, whole.stdout[-3000:] + whole.stderr[-3000:]
    steps_per_epoch = 4000 // 100
    state_path = tmp_path / "killed" / "backup" / "state.json"

    def mid_second_epoch():
        try:
            state = json.loads(state_path.read_text())
        except (OSError, ValueError):
            return False
        return state["epoch"] == 1 and state["step_in_epoch"] > 0

    process = start(*command("killed"))
    wait_for(mid_second_epoch, process, timeout=300, what="a mid-epoch backup in the second epoch")
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed_from = json.loads(state_path.read_text())["step"]
    (tmp_path / "killed.steps").write_text("")  # from here on: the resumed process's steps only
    resumed = run(*command("killed"), timeout=600)
    assert resumed.returncode == 0 and "resuming" in resumed.stdout, resumed.stdout[-3000:] + resumed.stderr[-3000:]

    want, got = digests(tmp_path / "whole.steps"), digests(tmp_path / "killed.steps")
    later = [str(step) for step in range(resumed_from + 1, 3 * steps_per_epoch + 1)]
    assert sorted(got, key=int) == later
    assert [got[s] for s in later] == [want[s] for s in later], "a resumed step trained other batches"
    a = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    b = json.loads((tmp_path / "killed" / "metrics.json").read_text())
    assert [e["val_auc"] for e in a["epochs"]] == [e["val_auc"] for e in b["epochs"]]
    assert (a["test_auc"], a["steps"]) == (b["test_auc"], b["steps"]) == (a["test_auc"], 3 * steps_per_epoch)
    first, second = (keras.models.load_model(tmp_path / n / "model.keras") for n in ("whole", "killed"))
    for x, y in zip(first.weights, second.weights):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=x.path)
