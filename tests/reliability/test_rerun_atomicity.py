"""A rerun over an existing conversion changes nothing there until it has succeeded."""

import gzip
import os
import signal

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from tests.reliability.helpers import criteo_input, directory_bytes, run, start, wait_for  # noqa: E402


def test_failed_and_killed_reruns_leave_the_previous_conversion_byte_identical(tmp_path):
    good = criteo_input(tmp_path / "good.txt", 5000, seed=3)
    out = tmp_path / "out"
    first = run("-m", "tfrecord_tools.criteo", "--input", good, "--output", out, "--min_count", 2)
    assert first.returncode == 0, first.stderr[-3000:]
    before = directory_bytes(out)
    assert {"feature_spec.json", "summary.json", "rejects.tsv"} <= set(before)

    # a rerun that fails half-way through reading (a truncated gzip after good rows)
    data = gzip.compress(good.read_bytes())
    cut = tmp_path / "cut.txt.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    failed = run("-m", "tfrecord_tools.criteo", "--input", f"{good},{cut}", "--output", out, "--min_count", 2)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert f"error: cannot read input {cut} (corrupted or truncated gzip?)" in failed.stderr
    assert directory_bytes(out) == before

    # a rerun killed while converting: its scratch directory stays, the conversion is untouched
    other = criteo_input(tmp_path / "other.txt", 10000, seed=4)
    killed = start("-m", "tfrecord_tools.criteo", "--input", other, "--output", out, "--min_count", 2)
    wait_for(lambda: any(p.name.startswith(".convert-") for p in out.iterdir()), killed, what="the rerun's scratch")
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert {k: v for k, v in directory_bytes(out).items() if not k.startswith(".")} == before
    # the next run removes what the killed one left and installs its own result
    again = run("-m", "tfrecord_tools.criteo", "--input", other, "--output", out, "--min_count", 2)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "left by a conversion that did not finish" in again.stdout
    after = directory_bytes(out)
    assert not [k for k in after if k.startswith(".")] and after["summary.json"] != before["summary.json"]
    assert b'"rows_read": 10000' in after["summary.json"]


def test_failed_and_killed_beam_reruns_leave_the_previous_conversion_as_it_was(tmp_path):
    pytest.importorskip("apache_beam", reason="the `beam` extra is not installed (pip install 'mezoo[beam]')")
    from mezoo.data.raw.reader import FileInfo
    from tfrecord_tools import beam
    from tfrecord_tools.beam_pipeline.files import STAGING_PREFIX
    from tfrecord_tools.convert.options import Options
    from tfrecord_tools.formats import criteo_layout

    def beam_run(paths, **options):
        opts = Options(output=str(out), dataset="criteo", min_count=2, verbose=False, **options)
        return beam.run([FileInfo(str(p)) for p in paths], criteo_layout(), opts, ["--runner=DirectRunner"])

    good = criteo_input(tmp_path / "good.txt", 3000, seed=3)
    out = tmp_path / "out"
    beam_run([good])
    before = directory_bytes(out)
    assert "feature_spec.json" in before and not [k for k in before if k.startswith(".")]

    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    rejected = tmp_path / "rejected.txt"
    rejected.write_bytes(b"x\ty\n" * 50)  # every line rejected (wrong column count)
    copy = tmp_path / "copy.txt"
    copy.write_bytes(good.read_bytes())
    for inputs in ([empty], [rejected], [good, copy]):
        with pytest.raises(Exception):
            beam_run(inputs)
        assert directory_bytes(out) == before, inputs

    other = criteo_input(tmp_path / "other.txt", 20000, seed=4)
    killed = start("-m", "tfrecord_tools.beam", "criteo", "--input", other, "--output", out, "--min_count", 2)
    wait_for(lambda: any(p.name.startswith(STAGING_PREFIX) for p in out.iterdir()), killed, what="the staging")
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert {k: v for k, v in directory_bytes(out).items() if not k.startswith(".")} == before
    beam_run([other])  # the next run removes what the killed one left and installs its own result
    after = directory_bytes(out)
    assert not [k for k in after if k.startswith(".")] and b'"rows_read": 20000' in after["summary.json"]
