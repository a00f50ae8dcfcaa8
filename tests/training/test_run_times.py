"""A run records when it really started and ended (kept across resumes) and the CPU model it ran on."""

import datetime
import json
from types import SimpleNamespace

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

import keras  # noqa: E402

from mezoo.training import run_directory  # noqa: E402
from mezoo.training.run_state import Backup, RunState  # noqa: E402

SOURCE = SimpleNamespace(synthetic=False, description="in-memory rows", planted_auc=None)


def utc(text) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(text)
    assert moment.utcoffset() == datetime.timedelta(0), text
    return moment


def tiny_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_a_new_run_state_starts_now_and_is_not_finished():
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    state = RunState()
    assert before <= utc(state.started_at) <= datetime.datetime.now(datetime.timezone.utc)
    assert state.finished_at is None


def test_a_resumed_run_keeps_its_first_start_and_an_older_backup_still_loads(tmp_path):
    model = tiny_model()
    backup = Backup(tmp_path)
    backup.save(model, RunState(started_at="2026-01-02T03:04:05+00:00"))
    assert backup.load(tiny_model()).started_at == "2026-01-02T03:04:05+00:00"
    saved = json.loads(backup.state_path.read_text())
    del saved["started_at"], saved["finished_at"]  # a backup written before the times were recorded
    backup.state_path.write_text(json.dumps(saved))
    older = backup.load(tiny_model())
    assert older.started_at is None and older.finished_at is None


def test_metrics_record_the_start_and_the_end(tmp_path):
    state = RunState(started_at="2026-01-02T03:04:05+00:00")
    running = run_directory.write_metrics(tmp_path / "metrics.json", state, SOURCE, finished=False)
    assert running["started_at"] == "2026-01-02T03:04:05+00:00" and running["finished_at"] is None
    done = run_directory.write_metrics(tmp_path / "metrics.json", state, SOURCE, finished=True)
    assert json.loads((tmp_path / "metrics.json").read_text()) == done
    assert utc(done["finished_at"]) > utc(done["started_at"]) and state.finished_at == done["finished_at"]


def test_run_json_names_the_cpu_model():
    machine = run_directory.run_metadata("dnn_me_criteo", [], None, 0)["machine"]
    assert machine["cpu_model"] == run_directory.cpu_model() and machine["cpu_model"]
