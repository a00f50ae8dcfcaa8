"""The Beam converter (tfrecord_tools.beam, DirectRunner) against the single-machine one.

Same options and seed on the real Criteo and Avazu samples and on a synthetic file with
injected bad rows: identical vocabulary files, identical (label, ids) rows per split (as
multisets, and in fact in the same order: both take the split and the train shuffle from
`plan.assign_splits`), identical per-reason reject counts and rejects.tsv, and the same bytes of
feature_spec.json and summary.json. What may differ: the gzip bytes of a shard (zlib framing)
and the order in which shards are finished. The chunk sizes differ on purpose: the result must
not depend on them.
"""

import gzip
import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("apache_beam", reason="the `beam` extra is not installed (pip install 'mezoo[beam]')")
pytestmark = pytest.mark.tensorflow

from mezoo.data.raw.reader import FileInfo  # noqa: E402
from tests.shared_data import shared_data  # noqa: E402
from tests.tfrecord_tools.helpers import (  # noqa: E402
    convert,
    fixture_lines,
    movielens_csv,
    read_split,
    row,
    schema,
    sorted_rows,
)
from tfrecord_tools.convert.options import Options  # noqa: E402
from tfrecord_tools.formats import avazu_layout, criteo_layout  # noqa: E402

BEAM_ARGS = ["--runner=DirectRunner", "--direct_num_workers=1"]


def beam_convert(paths, layout, output, **options):
    from tfrecord_tools import beam

    options.setdefault("verbose", False)
    opts = Options(output=str(output), dataset=options.pop("dataset", "test"), **options)
    return beam.run([FileInfo(p) for p in paths], layout, opts, BEAM_ARGS)


def assert_equivalent(single_dir, beam_dir, single, beamed, fields):
    # vocabularies: the same files, byte for byte
    for name in fields:
        assert (beam_dir / "vocab" / f"{name}.txt").read_bytes() == (
            single_dir / "vocab" / f"{name}.txt"
        ).read_bytes(), name
    # spec and summary.json: the same bytes (the files hold no timings: those are in the returned summaries only)
    for name in ("feature_spec.json", "summary.json"):
        assert (beam_dir / name).read_bytes() == (single_dir / name).read_bytes(), name
    assert beamed["rejected"] == single["rejected"]
    assert beamed["rows_read"] == beamed["rows_written"] + beamed["rows_rejected"]
    assert {k: v for k, v in (beamed.get("metrics_rejected") or {}).items() if v} == single["rejected"]
    # rejects: the same lines, reasons and texts
    assert (beam_dir / "rejects.tsv").read_text() == (single_dir / "rejects.tsv").read_text()
    # rows per split: the same multiset of (label, ids), and the same order
    for split in single["written"]:
        a_labels, a_ids, a_dense = read_split(single_dir, split)
        b_labels, b_ids, b_dense = read_split(beam_dir, split)
        np.testing.assert_array_equal(sorted_rows(b_labels, b_ids), sorted_rows(a_labels, a_ids))
        np.testing.assert_array_equal(b_ids, a_ids)
        np.testing.assert_array_equal(b_labels, a_labels)
        np.testing.assert_array_equal(b_dense, a_dense)


def test_criteo_sample_same_as_single_machine(tmp_path):
    path = shared_data("criteo", "criteo_kaggle_head10k.tsv")
    options = dict(min_count=10, seed=3, dataset="criteo", rows_per_shard=3000)
    single = convert([path], criteo_layout(), tmp_path / "single", chunk_bytes=1 << 20, **options)
    beamed = beam_convert([path], criteo_layout(), tmp_path / "beam", chunk_bytes=300 << 10, **options)
    assert single["written"] == {"train": 8000, "valid": 1000, "test": 1000}
    assert len(list((tmp_path / "beam").glob("train-*-of-00003.tfrecord.gz"))) == 3
    fields = [f["name"] for f in criteo_layout().fields]
    assert_equivalent(tmp_path / "single", tmp_path / "beam", single, beamed, fields)


def test_avazu_sample_same_as_single_machine(tmp_path):
    path = shared_data("avazu", "avazu_head10k.csv")
    options = dict(min_count=4, seed=0, dataset="avazu", max_vocab_size={"*": 50, "device_ip": 7})
    single = convert([path], avazu_layout(), tmp_path / "single", **options)
    beamed = beam_convert([path], avazu_layout(), tmp_path / "beam", chunk_bytes=256 << 10, **options)
    assert single["vocab_sizes"]["device_ip"] == 7
    fields = [f["name"] for f in avazu_layout().fields]
    assert_equivalent(tmp_path / "single", tmp_path / "beam", single, beamed, fields)


def test_synthetic_with_bad_rows_same_as_single_machine(tmp_path):
    """Generated Criteo rows with bad lines injected (every reason), over a plain file, an
    empty one and a gzip CRLF one; min count 2, a cap with ties at the cut."""
    from tfrecord_tools.synthetic import generate

    gen = tmp_path / "gen.txt"
    generate("criteo", 3000, str(gen), seed=5)
    good = gen.read_bytes().rstrip(b"\n").split(b"\n")
    bad = [line for line, reason in fixture_lines() if reason and reason != "truncated_last_line"]
    lines = []
    for k, line in enumerate(good[:2000]):
        lines.append(line)
        if k % 97 == 0:
            lines.append(bad[(k // 97) % len(bad)])
    a = tmp_path / "a.tsv"
    a.write_bytes(b"\n".join(lines) + b"\n" + good[2000][:50])  # ends with a truncated line
    empty = tmp_path / "empty.tsv"
    empty.write_bytes(b"")
    c = tmp_path / "c.tsv.gz"
    with gzip.open(c, "wb") as f:
        f.write(b"\r\n".join(good[2000:] + [row(label="x").encode()]) + b"\r\n")
    paths = [str(a), str(empty), str(c)]
    options = dict(
        min_count=2,
        seed=11,
        split=(0.7, 0.2, 0.1),
        max_vocab_size={"C3": 20, "I5": 9},
        rows_per_shard=700,
        max_rejects_logged=25,
    )
    single = convert(paths, criteo_layout(), tmp_path / "single", chunk_bytes=64 << 10, **options)
    beamed = beam_convert(paths, criteo_layout(), tmp_path / "beam", chunk_bytes=40 << 10, **options)
    assert set(single["rejected"]) == {
        "empty_line",
        "wrong_column_count",
        "invalid_utf8",
        "missing_label",
        "bad_label",
        "bad_integer",
        "truncated_last_line",
    }
    fields = [f["name"] for f in criteo_layout().fields]
    assert_equivalent(tmp_path / "single", tmp_path / "beam", single, beamed, fields)


def test_beam_cli_on_a_sample(tmp_path):
    """`python -m tfrecord_tools.beam criteo ... --runner DirectRunner`: the check line, and a
    directory mezoo.data reads."""
    import subprocess
    import sys

    from tests.shared_data import ROOT

    path = shared_data("criteo", "criteo_kaggle_head10k.tsv")
    raw = tmp_path / "raw.tsv"  # 199 real rows and one bad line (2 columns)
    with open(path, "rb") as f:
        head = [next(f) for _ in range(199)]
    raw.write_bytes(b"".join(head[:50]) + b"2\tbad label\n" + b"".join(head[50:]))
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfrecord_tools.beam",
            "criteo",
            "--input",
            str(raw),
            "--output",
            str(out),
            "--min_count",
            "1",
            "--runner",
            "DirectRunner",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rows_read 200 == rows_written 199 + rows_rejected 1: OK" in proc.stdout
    assert "Beam counters (mezoo.rejects): wrong_column_count 1" in proc.stdout
    from mezoo.data import FeatureSpec

    spec = FeatureSpec.load(str(out))
    summary = json.loads((out / "summary.json").read_text())
    assert sum(spec.rows(s) for s in spec.splits) == summary["rows_written"]
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfrecord_tools.beam",
            "criteo",
            "--input",
            str(tmp_path / "missing.tsv"),
            "--output",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert bad.returncode == 2 and "input file not found" in bad.stderr and "missing.tsv" in bad.stderr


def test_multi_valued_fields_same_as_single_machine(tmp_path):
    from tfrecord_tools.schema import build

    movielens_csv(tmp_path / "ml.csv")
    spec = schema(truncate="last")
    files, layout, _ = build(spec, str(tmp_path), [str(tmp_path / "ml.csv")])
    options = dict(min_count=2, seed=5, dataset="movielens")
    single = convert(files, layout, tmp_path / "single", **options)
    beamed = beam_convert([str(tmp_path / "ml.csv")], layout, tmp_path / "beam", chunk_bytes=2 << 10, **options)
    assert single["multi_valued"]["genres"]["rows_truncated"] > 0
    assert_equivalent(tmp_path / "single", tmp_path / "beam", single, beamed, [f["name"] for f in layout.fields])


def test_a_full_disk_names_the_output_and_leaves_the_previous_conversion(tmp_path, monkeypatch):
    import errno
    import os

    from mezoo.errors import DiskFull
    from tests.tfrecord_tools.helpers import shard_bytes

    path = shared_data("criteo", "criteo_kaggle_head10k.tsv")
    raw = tmp_path / "raw.tsv"
    with open(path, "rb") as f:
        raw.write_bytes(b"".join(next(f) for _ in range(300)))
    out = tmp_path / "out"
    beam_convert([str(raw)], criteo_layout(), out, min_count=1)
    before = shard_bytes(out)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(
        "tfrecord_tools.beam_pipeline.transforms.fs_copy_file", full
    )  # the shards' copy into the output
    with pytest.raises(DiskFull, match=f"no space left on the device of the output directory {out}"):
        beam_convert([str(raw)], criteo_layout(), out, min_count=2)
    assert shard_bytes(out) == before
    assert not [name for name in os.listdir(out) if name.startswith(".")]  # the staging directory went


def test_memory_limit_on_wide_rows_stops_beam_as_it_stops_the_local_converter(tmp_path):
    from tfrecord_tools.convert.errors import ConversionError
    from tfrecord_tools.schema import build

    movielens_csv(tmp_path / "ml.csv")
    files, layout, _ = build(
        dict(schema(), multi_valued={"genres": {"max_len": 10_000}}), str(tmp_path), [str(tmp_path / "ml.csv")]
    )
    message = r"stopping before writing anything: .*'genres': max_len 10,000.*over --memory_limit"
    options = dict(min_count=1, memory_limit=2e6, parallel=1)
    with pytest.raises(ConversionError, match=message):
        convert(files, layout, tmp_path / "single", **options)
    with pytest.raises(ConversionError, match=message):
        beam_convert([str(tmp_path / "ml.csv")], layout, tmp_path / "beam", **options)
    assert not (tmp_path / "beam" / "feature_spec.json").exists()


def test_vocabulary_from_same_as_single_machine(tmp_path):
    """--vocabulary_from: day 2 of the Criteo sample grown from day 1, a cap on the appended values."""
    from tests.tfrecord_tools.helpers import criteo_days

    day1, day2 = criteo_days(tmp_path)
    convert([day1], criteo_layout(), tmp_path / "day1", min_count=10, dataset="criteo")
    options = dict(
        min_count=10,
        seed=2,
        dataset="criteo",
        max_vocab_size={"C3": 60},
        vocabulary_from=str(tmp_path / "day1"),
    )
    single = convert([day2], criteo_layout(), tmp_path / "single", chunk_bytes=256 << 10, **options)
    beamed = beam_convert([day2], criteo_layout(), tmp_path / "beam", chunk_bytes=100 << 10, **options)
    assert single["unseen"] == beamed["unseen"] and sum(single["appended"].values()) > 0
    assert json.loads((tmp_path / "beam" / "feature_spec.json").read_text())["generation"] == 2
    fields = [f["name"] for f in criteo_layout().fields]
    assert_equivalent(tmp_path / "single", tmp_path / "beam", single, beamed, fields)


def test_vocabulary_from_multi_valued_same_as_single_machine(tmp_path):
    """MovieLens by timestamp, genres multi-valued; and a parent that is no conversion is refused alike."""
    from mezoo.errors import BadInput
    from tests.tfrecord_tools.helpers import movielens_days
    from tfrecord_tools.schema import build

    day1, day2 = movielens_days(tmp_path)
    files1, layout, _ = build(schema(), str(tmp_path), [day1])
    convert(files1, layout, tmp_path / "day1", min_count=1)
    files2, layout, _ = build(schema(), str(tmp_path), [day2])
    options = dict(min_count=1, seed=4, vocabulary_from=str(tmp_path / "day1"))
    single = convert(files2, layout, tmp_path / "single", **options)
    beamed = beam_convert([day2], layout, tmp_path / "beam", chunk_bytes=2 << 10, **options)
    assert single["unseen"]["genres"] == beamed["unseen"]["genres"]
    assert_equivalent(tmp_path / "single", tmp_path / "beam", single, beamed, [f["name"] for f in layout.fields])
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput, match="--vocabulary_from .*no feature_spec.json"):
        beam_convert([day2], layout, tmp_path / "beam2", min_count=1, vocabulary_from=str(tmp_path / "empty"))
