"""One training per run directory: a second process on it stops before writing anything; dead writers' scratch goes."""

import csv
import json
import signal

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.directory_lock import directory_lock  # noqa: E402
from mezoo.training.trainer import LOCK_NAME  # noqa: E402
from tests.reliability.helpers import run, start, wait_for  # noqa: E402


def test_a_training_on_a_run_directory_another_process_trains_is_refused_before_writing(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with directory_lock(run_dir, "a training", "wait", name=LOCK_NAME):
        second = run("-m", "tests.training.resumable_run", run_dir, timeout=300)
    assert second.returncode == 2, second.stdout[-2000:] + second.stderr[-2000:]
    errors = [line for line in second.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "being written by a training in another process" in errors[0], second.stderr
    assert "--run_dir" in errors[0]
    assert sorted(p.name for p in run_dir.iterdir()) == [LOCK_NAME], "nothing written"


def test_two_trainings_at_once_train_once(tmp_path):
    run_dir = tmp_path / "run"
    long_run = ("train.epochs=200", "train.early_stopping_patience=200")  # still training when the second comes
    first = start("-m", "tests.training.resumable_run", run_dir, *long_run)
    wait_for(lambda: (run_dir / "backup" / "state.json").exists(), first, timeout=300, what="the first backup")
    second = run("-m", "tests.training.resumable_run", run_dir, *long_run, timeout=300)
    assert first.poll() is None, "the first training ended before the second was started"
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert second.returncode == 2 and "being written by a training" in second.stderr, second.stderr[-2000:]
    with open(run_dir / "abundance.csv") as f:
        rows = [(row["epoch"], row["field"], row["set"]) for row in csv.DictReader(f)]
    assert rows and len(rows) == len(set(rows)), "an epoch's abundance written twice"


def test_scratch_files_of_a_writer_that_died_are_removed(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "backup").mkdir(parents=True)
    leftovers = [
        run_dir / "backup" / ".weights-4242.weights.h5",
        run_dir / ".best-4242.weights.h5",
        run_dir / ".metrics.json.4242.1.partial",
        run_dir / "backup" / ".state.json.4242.7.partial",
    ]
    for path in leftovers:
        path.write_bytes(b"x" * 1000)
    done = run("-m", "tests.training.resumable_run", run_dir, "train.epochs=1", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not [p for p in leftovers if p.exists()]
    assert json.loads((run_dir / "metrics.json").read_text())["finished"]
