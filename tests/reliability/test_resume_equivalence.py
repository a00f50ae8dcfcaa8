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
