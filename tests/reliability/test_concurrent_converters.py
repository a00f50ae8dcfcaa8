"""Two converters on one --output: the second stops at once, naming the first; nothing is mixed."""

import os
import signal

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from tests.reliability.helpers import criteo_input, directory_bytes, run, start, wait_for  # noqa: E402


def test_a_second_converter_on_the_same_output_fails_at_once_and_the_first_is_intact(tmp_path):
    first_input = criteo_input(tmp_path / "first.txt", 10000, seed=1)
    second_input = criteo_input(tmp_path / "second.txt", 3000, seed=2)
    out = tmp_path / "out"
    first = start("-m", "tfrecord_tools.criteo", "--input", first_input, "--output", out, "--min_count", 2)
    # the first holds the lock from before it imports TensorFlow until it has installed its result;
    # it is paused while the second runs, so that on a loaded machine it can't finish first
    wait_for(lambda: f"pid {first.pid} on" in lock_text(out), first, what="the first converter's lock")
    os.kill(first.pid, signal.SIGSTOP)
    try:
        second = run("-m", "tfrecord_tools.criteo", "--input", second_input, "--output", out, "--min_count", 2)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    first_out, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err[-3000:]
    assert second.returncode == 2 and "Traceback" not in second.stderr, second.stderr[-3000:]
    assert f"error: output directory {out} is being written by another conversion (pid {first.pid} on " in second.stderr
    assert "rows_read 10000 == rows_written" in first_out
    # the output is exactly what the first converter alone writes
    alone = tmp_path / "alone"
    assert (
        run("-m", "tfrecord_tools.criteo", "--input", first_input, "--output", alone, "--min_count", 2).returncode == 0
    )
    assert directory_bytes(out) == directory_bytes(alone)
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "scratch or lock files left behind"


def lock_text(out):
    try:
        return (out / ".convert.lock").read_text()
    except OSError:
        return ""
