"""Bad input, nothing lost: every line read is written or rejected with its reason and line."""

import glob
import gzip
import json
import os

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data.raw.reader import InputError  # noqa: E402
from tests.tfrecord_tools.helpers import convert, fixture_lines, read_split, row, shard_bytes, write_fixture  # noqa: E402
from tfrecord_tools.convert.errors import ConversionError  # noqa: E402
from tfrecord_tools.formats import criteo_layout  # noqa: E402


def test_every_line_is_written_or_rejected_with_reason_and_line_number(tmp_path):
    files = write_fixture(tmp_path)
    out = tmp_path / "out"
    summary = convert(files, criteo_layout(), out, min_count=1, split=(0.6, 0.2, 0.2))
    lines = fixture_lines()
    expected_a = [(i + 1, r) for i, (_, r) in enumerate(lines) if r]
    assert summary["rows_read"] == len(lines) + 6
    assert summary["rows_rejected"] == len(expected_a) + 1
    assert summary["rows_written"] == summary["rows_read"] - summary["rows_rejected"]
    assert sum(summary["written"].values()) == summary["rows_written"]
    assert summary["rejected"] == {
        "empty_line": 1,
        "wrong_column_count": 2,
        "invalid_utf8": 1,
        "missing_label": 1,
        "bad_label": 3,
        "bad_integer": 3,
        "truncated_last_line": 1,
    }
    assert summary["unterminated_last_line"] == "rejected"
    a, b, c = summary["inputs"]
    assert (a["rows_read"], a["rows_rejected"], a["utf8_bom"], a["final_newline"]) == (16, 11, True, False)
    assert (b["rows_read"], b["empty"]) == (0, True)
    assert (c["rows_read"], c["rows_rejected"], c["crlf"], c["compression"]) == (6, 1, True, "gzip")
    # the rejects file, line by line
    rejects = (out / "rejects.tsv").read_text(encoding="utf-8").splitlines()
    assert rejects[0] == "file\tline\treason\ttext"
    got = [tuple(r.split("\t", 3)) for r in rejects[1:]]
    assert [(f, int(n), reason) for f, n, reason, _ in got] == [(files[0], n, r) for n, r in expected_a] + [
        (files[2], 6, "bad_label")
    ]
    texts = {int(n): t for f, n, _, t in got if f == files[0]}
    assert texts[3] == ""
    assert texts[5].startswith("0\\t5\\t1") and "caf\\xe9" in texts[5]  # tabs and bad bytes escaped
    assert texts[16] == lines[15][0].decode().replace("\t", "\\t")
    # the written rows: the good lines, with their integer tokens
    labels = np.concatenate([read_split(out, s)[0] for s in ("train", "valid", "test")])
    assert len(labels) == summary["rows_written"] == 5 + 5 + 0
    spec = json.load(open(out / "feature_spec.json"))
    assert sum(s["rows"] for s in spec["splits"].values()) == 10


def test_all_rejected_is_a_clear_error_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("x\ty\n\n")
    with pytest.raises(
        ConversionError,
        match=r"no valid rows in .*bad.tsv .*empty_line 1, wrong_column_count 1; "
        r"first: .*bad.tsv line 1: wrong_column_count",
    ):
        convert([str(bad)], criteo_layout(), tmp_path / "out")
    assert os.listdir(tmp_path / "out") == []


def test_missing_input_and_unwritable_output_name_the_path(tmp_path):
    with pytest.raises(InputError, match="input file not found: .*nope.tsv"):
        convert([str(tmp_path / "nope.tsv")], criteo_layout(), tmp_path / "out")
    good = tmp_path / "good.tsv"
    good.write_text(row() + "\n")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(InputError, match="output directory is not writable: .*a-file/out"):
        convert([str(good)], criteo_layout(), blocker / "out")


def test_corrupt_gzip_input_names_the_file(tmp_path):
    data = gzip.compress(("\n".join(row(i1=str(k)) for k in range(2000)) + "\n").encode())
    path = tmp_path / "cut.tsv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.tsv.gz"):
        convert([str(path)], criteo_layout(), tmp_path / "out")


def test_rerun_is_byte_identical_and_replaces_a_previous_conversion(tmp_path):
    files = write_fixture(tmp_path)
    convert(files, criteo_layout(), tmp_path / "one", min_count=1, rows_per_shard=2)
    convert(files, criteo_layout(), tmp_path / "two", min_count=1, rows_per_shard=2)
    one, two = shard_bytes(tmp_path / "one"), shard_bytes(tmp_path / "two")
    assert one == two and len([k for k in one if ".tfrecord" in k]) > 3
    # again into "one" with other shard sizes: no stale shard of the first run survives
    convert(files, criteo_layout(), tmp_path / "one", min_count=1, rows_per_shard=100, seed=1)
    shards = sorted(os.path.basename(p) for p in glob.glob(str(tmp_path / "one" / "*.tfrecord*")))
    assert shards == [
        "test-00000-of-00001.tfrecord.gz",
        "train-00000-of-00001.tfrecord.gz",
        "valid-00000-of-00001.tfrecord.gz",
    ]


def test_a_conversion_killed_while_installing_leaves_no_spec_and_the_next_run_cleans_up(tmp_path, monkeypatch):
    files = write_fixture(tmp_path)
    out = tmp_path / "out"
    convert(files, criteo_layout(), out, min_count=1, rows_per_shard=2)
    from tfrecord_tools.convert import output

    real, calls = os.replace, []

    def dying(src, dst):  # killed after the first new shard was moved in
        if ".tfrecord" in str(dst):
            calls.append(dst)
            if len(calls) == 2:
                raise KeyboardInterrupt("killed while installing")
        return real(src, dst)

    monkeypatch.setattr(output.os, "replace", dying)
    with pytest.raises(KeyboardInterrupt):
        convert(files, criteo_layout(), out, min_count=1, rows_per_shard=3, parallel=1)
    monkeypatch.undo()
    assert len(calls) == 2 and not (out / "feature_spec.json").exists()  # no spec: not a conversion
    assert not [n for n in os.listdir(out) if n.startswith(".")]  # scratch and lock gone
    with pytest.raises(FileNotFoundError):
        from mezoo.data import FeatureSpec

        FeatureSpec.load(str(out))
    convert(files, criteo_layout(), out, min_count=1, rows_per_shard=3, parallel=1)
    fresh = tmp_path / "fresh"
    convert(files, criteo_layout(), fresh, min_count=1, rows_per_shard=3, parallel=1)
    assert shard_bytes(out) == shard_bytes(fresh)


def test_memory_limit_stops_before_writing(tmp_path):
    files = write_fixture(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(ConversionError, match=r"scale 10 need .* over --memory_limit"):
        convert(files, criteo_layout(), out, min_count=1, memory_limit=1000.0)
    assert sorted(os.listdir(out)) == []
