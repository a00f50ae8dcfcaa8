"""mezoo.predict off the happy path: nothing it reads is replaced, flags checked, every row accounted for."""

import bz2
import errno
import gzip
import lzma
import os
import subprocess
import sys

import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.serving.scoring import ScoringError, output_lock, score_files  # noqa: E402
from tests.shared_data import shared_data  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def criteo_lines(count):
    return open(shared_data("criteo", "criteo_kaggle_head10k.tsv"), "rb").read().split(b"\n")[:count]


def predict_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "mezoo.predict", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def one_error_line(proc, message):
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_an_output_that_is_an_input_is_refused_and_the_input_kept(exported, tmp_path):
    export = exported("criteo", "se")
    raw = tmp_path / "day.tsv"
    raw.write_bytes(b"\n".join(criteo_lines(20)) + b"\n")
    before = raw.read_bytes()
    proc = predict_cli("--export", export, "--input", raw, "--format", "criteo", "--output", raw)
    one_error_line(proc, "scoring would replace it")
    assert raw.read_bytes() == before
    # the input named through another path, and an input that is the output's rejects file
    link = tmp_path / "link.tsv"
    link.symlink_to(raw)
    with pytest.raises(ScoringError, match="is the input"):
        score_files(export, [str(link)], "criteo", raw, verbose=False)
    rejects = tmp_path / "scores.tsv.rejects.tsv"
    rejects.write_bytes(before)
    with pytest.raises(ScoringError, match="the rejects file .* is the input"):
        score_files(export, [str(rejects)], "criteo", tmp_path / "scores.tsv", verbose=False)
    assert raw.read_bytes() == before == rejects.read_bytes()


def test_an_output_another_run_is_writing_is_refused(exported, tmp_path):
    export = exported("criteo", "se")
    raw = tmp_path / "day.tsv"
    raw.write_bytes(b"\n".join(criteo_lines(20)) + b"\n")
    out = tmp_path / "scores.tsv"
    out.write_text("file\tline\tprobability\nprevious\t1\t0.5\n")
    with output_lock(out):  # another mezoo.predict holds it
        proc = predict_cli("--export", export, "--input", raw, "--format", "criteo", "--output", out)
    one_error_line(proc, f"{tmp_path} is being written by mezoo.predict (--output scores.tsv) in another process")
    assert out.read_text() == "file\tline\tprobability\nprevious\t1\t0.5\n"
    summary = score_files(export, [str(raw)], "criteo", out, verbose=False)  # free again
    assert summary["rows_scored"] == 20 and len(out.read_text().splitlines()) == 21
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".scores.tsv.lock",
        "day.tsv",
        "scores.tsv",
        "scores.tsv.rejects.tsv",
    ]


@pytest.mark.parametrize("batch_size", [-5, 0])
def test_a_batch_size_below_one_is_refused(exported, tmp_path, batch_size):
    export = exported("criteo", "se")
    raw = tmp_path / "day.tsv"
    raw.write_bytes(b"\n".join(criteo_lines(5)) + b"\n")
    proc = predict_cli(
        "--export",
        export,
        "--input",
        raw,
        "--format",
        "criteo",
        "--output",
        tmp_path / "o.tsv",
        "--batch_size",
        batch_size,
    )
    one_error_line(proc, f"--batch_size must be a whole number >= 1, got {batch_size}")
    assert not (tmp_path / "o.tsv").exists()


def test_every_written_row_is_counted_at_a_batch_size_of_one(exported, tmp_path):
    export = exported("criteo", "se")
    raw = tmp_path / "day.tsv"
    raw.write_bytes(b"\n".join(criteo_lines(7)) + b"\n")
    summary = score_files(export, [str(raw)], "criteo", tmp_path / "o.tsv", batch_size=1, verbose=False)
    assert summary["rows_scored"] == 7 == len((tmp_path / "o.tsv").read_text().splitlines()) - 1


@pytest.mark.parametrize("name,compress", [("bzip2", bz2.compress), ("xz", lzma.compress)])
def test_other_compressions_are_named_not_read_as_text(exported, tmp_path, name, compress):
    export = exported("criteo", "se")
    raw = tmp_path / "day.tsv.compressed"
    raw.write_bytes(compress(b"\n".join(criteo_lines(5)) + b"\n"))
    proc = predict_cli("--export", export, "--input", raw, "--format", "criteo", "--output", tmp_path / "o.tsv")
    one_error_line(proc, f"is {name}-compressed, which is not read here (plain text or gzip only)")


def test_zstd_input_is_named(tmp_path):
    from mezoo.data.raw.reader import FileInfo, InputError, read_text_chunks

    raw = tmp_path / "day.tsv.zst"
    raw.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 20)  # a zstd frame's magic number
    with pytest.raises(InputError, match="zstd-compressed"):
        list(read_text_chunks([FileInfo(str(raw))], header=False))


def test_a_file_of_another_format_is_an_error_not_an_empty_output(exported, tmp_path):
    export = exported("criteo", "se")
    avazu = shared_data("avazu", "avazu_head10k.csv")
    out = tmp_path / "o.tsv"
    proc = predict_cli("--export", export, "--input", avazu, "--format", "criteo", "--output", out)
    one_error_line(proc, "could be scored (wrong_column_count 10,000")
    assert "does --format criteo match the files and the export" in proc.stderr
    assert not out.exists() and not (tmp_path / "o.tsv.rejects.tsv").exists()


def test_the_same_file_given_twice_is_scored_once(exported, tmp_path):
    export = exported("criteo", "se")
    raw = tmp_path / "day.tsv.gz"
    raw.write_bytes(gzip.compress(b"\n".join(criteo_lines(10)) + b"\n"))
    summary = score_files(export, [str(raw), str(tmp_path / "." / "day.tsv.gz")], "criteo", tmp_path / "o.tsv")
    assert summary["rows_read"] == summary["rows_scored"] == 10


def test_header_errors_name_the_columns_not_the_whole_line(exported, tmp_path):
    export = exported("avazu", "se")
    text = open(shared_data("avazu", "avazu_head10k.csv"), encoding="utf-8").read().splitlines()[:4]
    tabs = tmp_path / "tabs.csv"
    tabs.write_text("\n".join(line.replace(",", "\t") for line in text) + "\n")
    with pytest.raises(ScoringError) as error:
        score_files(export, [str(tabs)], "avazu", tmp_path / "o.tsv", verbose=False)
    message = str(error.value)
    assert "its header has 1 column(s)" in message and "one column holding tabs" in message
    assert len(message) < 600, message
    twice = tmp_path / "twice.csv"
    header = text[0].split(",")
    twice.write_text(",".join(header + ["hour"]) + "\n" + text[1] + ",14102100\n")
    with pytest.raises(ScoringError, match=r"the header names 'hour' in columns 3, 25"):
        score_files(export, [str(twice)], "avazu", tmp_path / "o.tsv", verbose=False)


def test_an_output_in_a_missing_folder_or_a_directory_is_refused(exported, tmp_path):
    export = exported("criteo", "se")
    raw = tmp_path / "day.tsv"
    raw.write_bytes(b"\n".join(criteo_lines(5)) + b"\n")
    with pytest.raises(ScoringError, match="the folder .*nowhere does not exist"):
        score_files(export, [str(raw)], "criteo", tmp_path / "nowhere" / "o.tsv", verbose=False)
    with pytest.raises(ScoringError, match="is a directory: give the path of the TSV file"):
        score_files(export, [str(raw)], "criteo", tmp_path, verbose=False)


def test_a_dead_runs_partial_files_of_this_output_go_and_no_others(exported, tmp_path):
    """Scratch files a killed (or disk-full) mezoo.predict left: the next run on the same --output,
    holding its lock, removes that output's; other outputs' may belong to live runs."""
    export = exported("criteo", "se")
    raw = tmp_path / "day.tsv"
    raw.write_bytes(b"\n".join(criteo_lines(20)) + b"\n")
    dead = [".scores.tsv.4194301.139872.partial", ".scores.tsv.rejects.tsv.4194301.139872.partial"]
    others = [".scores.tsv.7.4194301.139872.partial", ".scores.tsv.x.4194301.1.partial", ".other.tsv.5.6.partial"]
    for name in dead + others:
        (tmp_path / name).write_bytes(b"0.5\n" * 10_000)
    summary = score_files(export, [str(raw)], "criteo", tmp_path / "scores.tsv", verbose=False)
    assert summary["rows_scored"] == 20 and len((tmp_path / "scores.tsv").read_text().splitlines()) == 21
    hidden = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".partial"))
    assert hidden == sorted(others)


def test_a_full_disk_is_one_line_naming_the_folder_and_nothing_is_left(exported, tmp_path, monkeypatch, capsys):
    import builtins

    from mezoo.cli.predict import main
    from mezoo.serving import scoring

    class FillingFile:
        """A file opened for writing whose disk fills after its first write."""

        def __init__(self, handle):
            self.handle, self.writes = handle, 0

        def write(self, text):
            self.writes += 1
            if self.writes > 1:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.handle.write(text)

        def writelines(self, lines):
            for line in lines:
                self.write(line)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    def filling_open(file, mode="r", *args, **kwargs):
        handle = builtins.open(file, mode, *args, **kwargs)
        return FillingFile(handle) if "w" in mode else handle

    export = exported("criteo", "se")
    raw = tmp_path / "day.tsv"
    raw.write_bytes(b"\n".join(criteo_lines(20)) + b"\n")
    out = tmp_path / "scores.tsv"
    out.write_text("file\tline\tprobability\nprevious\t1\t0.5\n")
    monkeypatch.setattr(scoring, "open", filling_open, raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["--export", str(export), "--input", str(raw), "--format", "criteo", "--output", str(out)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no space left") and f"{tmp_path}" in err[0], err
    assert out.read_text() == "file\tline\tprobability\nprevious\t1\t0.5\n"
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob(".*.partial"))
