"""A full disk mid-training: one `error:` line naming the run directory, no temporaries, and a clean resume."""

from pathlib import Path

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

import keras  # noqa: E402

from mezoo.command import run_cli  # noqa: E402
from mezoo.training.trainer import train  # noqa: E402
from tests.training.resumable_run import OVERRIDES, source  # noqa: E402

H5PY_FULL = "file write failed: errno = 28, error message = 'No space left on device', total write size = 5216"


def test_a_full_disk_mid_training_is_one_line_and_the_run_resumes(tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    save_weights, calls = keras.Model.save_weights, []

    def fills_the_disk_on_the_third_save(model, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:  # as h5py fails: part of the file written, a RuntimeError naming errno 28
            Path(path).write_bytes(b"\x89HDF partial")
            raise RuntimeError(H5PY_FULL)
        return save_weights(model, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", fills_the_disk_on_the_third_save)
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda: train("dnn_me_criteo", OVERRIDES, run_dir=run_dir, source=source(), verbose=0))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: no space left on the disk of {run_dir}"), err
    assert "Traceback" not in err[0] and "resume" in err[0]
    assert not [p.name for p in run_dir.rglob(".*") if p.name != ".train.lock"], "a temporary file left behind"
    monkeypatch.undo()
    metrics = train("dnn_me_criteo", OVERRIDES, run_dir=run_dir, source=source(), verbose=0)
    assert metrics["finished"] and metrics["steps"] == 2 * (int(12000 * 0.8) // 256)


def test_no_weights_file_is_started_on_a_disk_without_room_for_it(tmp_path, monkeypatch, capsys):
    """h5py can't finish a file on a full disk, and the HDF5 library then crashes the process at exit."""
    import collections
    import shutil

    usage, real = collections.namedtuple("usage", "total used free"), shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(*real(path)[:2], 4096))
    started = []
    monkeypatch.setattr(keras.Model, "save_weights", lambda model, path, *a, **k: started.append(path))
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda: train("dnn_me_criteo", OVERRIDES, run_dir=tmp_path / "run", source=source(), verbose=0))
    assert exit_info.value.code == 2 and not started
    assert capsys.readouterr().err.startswith(f"error: no space left on the disk of {tmp_path / 'run'}:")
