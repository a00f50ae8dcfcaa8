"""mezoo.predict: raw files scored through the export, bad lines reported, nothing skipped silently."""

import gzip
import os
import subprocess
import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data import FeatureSpec  # noqa: E402
from mezoo.serving.raw_examples import serialize_rows  # noqa: E402
from mezoo.serving.scoring import ScoringError, score_files  # noqa: E402
from tests.serving.conftest import load_signature, raw_rows  # noqa: E402
from tests.shared_data import shared_data  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read_scores(path):
    lines = path.read_text().splitlines()
    assert lines[0] == "file\tline\tprobability"
    return [(f, int(n), float(p)) for f, n, p in (line.split("\t") for line in lines[1:])]


def test_criteo_file_with_bad_lines_through_the_cli(exported, tmp_path):
    export = exported("criteo", "se")
    lines = open(shared_data("criteo", "criteo_kaggle_head10k.tsv"), "rb").read().split(b"\n")[:300]
    lines[10] = b"\t".join(lines[10].split(b"\t")[:-1])  # 39 columns: wrong_column_count
    lines[20] = b"\t".join([b""] + lines[20].split(b"\t")[1:])  # an empty label: scored (the label is not read)
    cells = lines[30].split(b"\t")
    lines[30] = b"\t".join(cells[:1] + [b"3.5"] + cells[2:])  # I1 = "3.5": bad_integer
    lines[40] = b""  # empty_line
    raw = tmp_path / "day.tsv.gz"
    raw.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    out = tmp_path / "scores.tsv"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mezoo.predict",
            "--export",
            str(export),
            "--input",
            str(raw),
            "--format",
            "criteo",
            "--output",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (
        "read 300 rows: scored 297, rejected 3 [rows_read 300 == rows_scored 297 + rows_rejected 3: OK]" in proc.stdout
    )
    scores = read_scores(out)
    assert [n for _, n, _ in scores] == [n for n in range(1, 301) if n not in (11, 31, 41)]
    rejects = (tmp_path / "scores.tsv.rejects.tsv").read_text().splitlines()[1:]
    assert [(r.split("\t")[1], r.split("\t")[2]) for r in rejects] == [
        ("11", "wrong_column_count"),
        ("31", "bad_integer"),
        ("41", "empty_line"),
    ]
    # the same probabilities as serving_default on the same rows
    spec = FeatureSpec.load(str(export / "assets.extra"))
    rows = [{k: (v or None) for k, v in r.items() if k != "label"} for r in raw_rows("criteo")[:300]]
    keep = [n - 1 for _, n, _ in scores]
    served = load_signature(export)(examples=tf.constant(serialize_rows([rows[i] for i in keep], spec)))
    np.testing.assert_allclose([p for _, _, p in scores], served["probability"].numpy().reshape(-1), atol=1e-6)


def test_unlabelled_avazu_rows_and_missing_columns(exported, tmp_path):
    export = exported("avazu", "se")
    text = open(shared_data("avazu", "avazu_head10k.csv"), encoding="utf-8").read().splitlines()[:101]
    header = text[0].split(",")
    drop = header.index("click")  # Avazu's test.csv has no click column
    unlabelled = "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != drop) for line in text) + "\n"
    path = tmp_path / "test.csv"
    path.write_text(unlabelled)
    summary = score_files(export, [str(path)], "avazu", tmp_path / "out.tsv", verbose=False)
    assert summary["rows_read"] == summary["rows_scored"] == 100 and summary["rows_rejected"] == 0
    assert [n for _, n, _ in read_scores(tmp_path / "out.tsv")] == list(range(2, 102))  # line numbers: header is 1
    no_hour = tmp_path / "no_hour.csv"
    no_hour.write_text("id,click,C1\n1,0,1005\n")
    with pytest.raises(
        ScoringError, match=r"no_hour.csv: the model's columns \['hour'.* its header has 3 column\(s\): id, click, C1"
    ):
        score_files(export, [str(no_hour)], "avazu", tmp_path / "x.tsv", verbose=False)
    assert not (tmp_path / "x.tsv").exists()


def test_cli_errors_are_one_line(tmp_path):
    raw = tmp_path / "x.tsv"
    raw.write_text("0\t1\n")
    for args, message in (
        (
            [
                "mezoo.predict",
                "--export",
                str(tmp_path / "nope"),
                "--input",
                str(raw),
                "--format",
                "criteo",
                "--output",
                str(tmp_path / "o.tsv"),
            ],
            "a mezoo.export version directory",
        ),
        (["mezoo.export", "--run_dir", str(tmp_path)], "a mezoo.train run directory"),
    ):
        proc = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert proc.stderr.strip().splitlines()[-1].startswith("error: ") and message in proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_last_line_without_newline_is_rejected_unless_accepted(exported, tmp_path):
    export = exported("criteo", "se")
    lines = open(shared_data("criteo", "criteo_kaggle_head10k.tsv"), "rb").read().split(b"\n")[:5]
    raw = tmp_path / "cut.tsv"
    raw.write_bytes(b"\n".join(lines))  # no final newline
    summary = score_files(export, [str(raw)], "criteo", tmp_path / "a.tsv", verbose=False)
    assert summary["rows_scored"] == 4 and summary["rejected"] == {"truncated_last_line": 1}
    summary = score_files(
        export, [str(raw)], "criteo", tmp_path / "b.tsv", accept_unterminated_last_line=True, verbose=False
    )
    assert summary["rows_scored"] == 5 and summary["rows_rejected"] == 0
