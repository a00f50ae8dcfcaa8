"""Reruns, concurrent runs, duplicate inputs, leftovers: a conversion never loses or mixes data."""

import gzip
import os

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from tests.tfrecord_tools.helpers import convert, row, shard_bytes, write_fixture  # noqa: E402
from tfrecord_tools.convert.errors import ConversionError  # noqa: E402
from tfrecord_tools.convert.first_pass import unique_inputs  # noqa: E402
from tfrecord_tools.convert.output import output_lock  # noqa: E402
from tfrecord_tools.formats import criteo_layout  # noqa: E402


def good_file(path, rows=40, offset=0):
    path.write_text("".join(row(str(k % 2), i1=str(k + offset)) + "\n" for k in range(rows)))
    return str(path)


def test_a_second_run_on_a_locked_output_fails_at_once_naming_the_holder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    source = good_file(tmp_path / "a.tsv")
    with output_lock(str(out)):
        with pytest.raises(
            ConversionError, match=rf"{out} is being written by another conversion \(pid {os.getpid()} "
        ):
            convert([source], criteo_layout(), out, min_count=1)
    assert os.listdir(out) == []  # the second run wrote nothing; the lock file went with its holder
    convert([source], criteo_layout(), out, min_count=1)  # free again
    assert (out / "feature_spec.json").exists()


def test_a_failed_rerun_leaves_the_previous_conversion_untouched(tmp_path, monkeypatch):
    files = write_fixture(tmp_path)
    out = tmp_path / "out"
    convert(files, criteo_layout(), out, min_count=1, rows_per_shard=2)
    before = {name: (out / name).read_bytes() for name in ("rejects.tsv", "summary.json", "feature_spec.json")}
    before.update(shard_bytes(out))

    def broken(*args, **kwargs):  # the new conversion fails while writing its shards
        raise RuntimeError("disk full")

    monkeypatch.setattr(
        "tfrecord_tools.convert.example_bytes.serialize_examples", broken
    )  # what the shard writer calls
    with pytest.raises(RuntimeError, match="disk full"):
        convert(files + [good_file(tmp_path / "more.tsv")], criteo_layout(), out, min_count=1, rows_per_shard=5)
    after = {name: (out / name).read_bytes() for name in ("rejects.tsv", "summary.json", "feature_spec.json")}
    after.update(shard_bytes(out))
    assert after == before
    assert sorted(os.listdir(out)) == sorted(
        ["rejects.tsv", "summary.json", "feature_spec.json", "vocab"] + [k for k in before if ".tfrecord" in k]
    )  # no scratch left


def test_leftovers_of_a_killed_run_are_removed_by_the_next(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".convert-abc123").mkdir()  # a killed run's scratch directory
    (out / ".convert-abc123" / "0.idx").write_bytes(b"x")
    for name in ("train-00000-of-00002.tfrecord.gz.tmp", "summary.json"):
        (out / name).write_text("stale")  # a stale summary beside no spec
    (out / "notes.txt").write_text("the user's own file")
    convert([good_file(tmp_path / "a.tsv")], criteo_layout(), out, min_count=1)
    names = sorted(os.listdir(out))
    assert not [n for n in names if n.startswith(".") or n.endswith(".tmp")], names
    assert "notes.txt" in names and (out / "summary.json").read_text() != "stale"


def test_the_same_file_given_twice_is_read_once(tmp_path):
    source = good_file(tmp_path / "a.tsv", rows=30)
    summary = convert([source, str(tmp_path / "." / "a.tsv")], criteo_layout(), tmp_path / "out", min_count=1)
    assert summary["rows_read"] == summary["rows_written"] == 30
    assert [f["path"] for f in summary["inputs"]] == [source]


def test_byte_identical_inputs_are_refused_unless_allowed(tmp_path):
    a = good_file(tmp_path / "a.tsv", rows=30)
    b = tmp_path / "copy.tsv"
    b.write_bytes(open(a, "rb").read())
    with pytest.raises(
        ConversionError, match=r"identical contents \(sha256\).*a.tsv = .*copy.tsv.*--allow_duplicate_inputs"
    ):
        convert([a, str(b)], criteo_layout(), tmp_path / "out", min_count=1)
    assert os.listdir(tmp_path / "out") == []
    summary = convert([a, str(b)], criteo_layout(), tmp_path / "out", min_count=1, allow_duplicate_inputs=True)
    assert summary["rows_written"] == 60


def test_a_last_line_cut_inside_its_last_field_is_rejected_unless_accepted(tmp_path):
    lines = [row(str(k % 2), i1=str(k)) for k in range(20)]
    cut = lines[-1][:-1]  # "...0000019" -> "...000001": still 40 columns, a mangled value
    path = tmp_path / "cut.tsv"
    path.write_text("\n".join(lines[:-1] + [cut]))
    summary = convert([str(path)], criteo_layout(), tmp_path / "out", min_count=1)
    assert summary["rejected"] == {"truncated_last_line": 1} and summary["rows_written"] == 19
    assert summary["unterminated_last_line"] == "rejected"
    rejects = (tmp_path / "out" / "rejects.tsv").read_text().splitlines()
    assert rejects[1].split("\t", 3)[1:3] == ["20", "truncated_last_line"]
    accepted = convert([str(path)], criteo_layout(), tmp_path / "out2", min_count=1, accept_unterminated_last_line=True)
    assert accepted["rows_written"] == 20 and accepted["unterminated_last_line"] == "accepted"
    gz = tmp_path / "cut.tsv.gz"  # the same inside gzip
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert convert([str(gz)], criteo_layout(), tmp_path / "out3", min_count=1)["rejected"] == {"truncated_last_line": 1}


def test_rejects_keep_a_long_line_whole(tmp_path):
    long_line = row(label="2", c1="x" * 5000)  # rejected (bad_label), 5,000+ characters
    path = tmp_path / "long.tsv"
    path.write_text(row() + "\n" + long_line + "\n")
    convert([str(path)], criteo_layout(), tmp_path / "out", min_count=1)
    text = (tmp_path / "out" / "rejects.tsv").read_text().splitlines()[1].split("\t", 3)[3]
    assert text == long_line.replace("\t", "\\t") and len(text) > 5000


def test_one_file_in_two_given_splits_is_refused(tmp_path):
    from mezoo.data.raw.reader import FileInfo

    source = good_file(tmp_path / "a.tsv")
    with pytest.raises(ConversionError, match=r"given for split 'test' and as .*a.tsv for split 'train': one file"):
        unique_inputs([FileInfo(source, split="train"), FileInfo(str(tmp_path / "." / "a.tsv"), split="test")], print)


@pytest.mark.parametrize("where", ["first pass", "shards"])
def test_a_full_disk_is_one_line_naming_the_output_and_the_previous_conversion_stays(
    tmp_path, monkeypatch, capsys, where
):
    """`OSError: [Errno 28] No space left on device` named no path; TF's shard writer says it as a
    ResourceExhaustedError. Both: exit 2, one line naming the output, the previous conversion as it was."""
    import errno

    import tensorflow as tf

    from mezoo.errors import DiskFull
    from tfrecord_tools import criteo

    source = good_file(tmp_path / "a.tsv", rows=60)
    out = tmp_path / "out"
    convert([source], criteo_layout(), out, min_count=1, rows_per_shard=20)
    before = {name: (out / name).read_bytes() for name in ("rejects.tsv", "summary.json", "feature_spec.json")}
    before.update(shard_bytes(out))

    def full(*args, **kwargs):
        if where == "first pass":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        raise tf.errors.ResourceExhaustedError(None, None, f"{args[0]}; No space left on device")

    target = "keep_chunk" if where == "first pass" else "write_records"
    module = "first_pass" if where == "first pass" else "records"
    monkeypatch.setattr(f"tfrecord_tools.convert.{module}.{target}", full)
    with pytest.raises(DiskFull, match=f"no space left .*{out}"):
        convert([source, good_file(tmp_path / "b.tsv", offset=100)], criteo_layout(), out, min_count=1)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        criteo.main(["--input", source, "--output", str(out), "--min_count", "1"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no space left") and str(out) in err[0], err
    after = {name: (out / name).read_bytes() for name in ("rejects.tsv", "summary.json", "feature_spec.json")}
    after.update(shard_bytes(out))
    assert after == before
    assert not [name for name in os.listdir(out) if name.startswith(".")]  # no scratch, no lock left


def test_a_short_write_of_the_scratch_files_says_the_disk_is_full(tmp_path):
    """numpy's `tofile` on a full disk said "N requested and M written" (no errno, no words to
    recognise); the scratch files are written so that it is OSError(ENOSPC). /dev/full stands in."""
    import errno

    import numpy as np

    from mezoo.disk_full import is_disk_full
    from tfrecord_tools.convert.scratch import keep_chunk

    base = tmp_path / "0"
    (tmp_path / "0.idx").symlink_to("/dev/full")
    index = np.zeros((100_000, 3), np.int32)
    values = (np.zeros(0, np.int32), np.zeros(3, np.int32), b"")
    with pytest.raises(OSError) as raised:
        keep_chunk(str(base), np.zeros(100_000), np.zeros((100_000, 0)), index, values, numeric=False)
    assert raised.value.errno == errno.ENOSPC and is_disk_full(raised.value)
