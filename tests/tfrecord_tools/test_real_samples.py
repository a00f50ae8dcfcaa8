"""Conversions of the real samples in ../shared/data, checked against independent counts."""

import json
import os
import zipfile

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from tests.shared_data import shared_data  # noqa: E402
from tests.tfrecord_tools.helpers import (  # noqa: E402
    convert,
    exact_bucket_token,
    expected_ids,
    independent_vocab,
    read_split,
    sorted_rows,
    vocab_file,
)
from tfrecord_tools.formats import AVAZU_COLUMNS, avazu_layout, criteo_layout  # noqa: E402


def written_rows(directory, splits=("train", "valid", "test")):
    labels, ids = [], []
    for s in splits:
        lab, i, _ = read_split(directory, s)
        labels.append(lab)
        ids.append(i)
    return np.concatenate(labels), np.concatenate(ids)


def test_criteo_head10k_vocabularies_ids_and_split(tmp_path):
    path = shared_data("criteo", "criteo_kaggle_head10k.tsv")
    summary = convert([path], criteo_layout(), tmp_path, min_count=10, seed=0, dataset="criteo")
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    assert len(rows) == 10_000 and all(len(r) == 40 for r in rows)
    tokens = [[exact_bucket_token(v) for v in r[1:14]] + r[14:] for r in rows]
    names = [f"I{i}" for i in range(1, 14)] + [f"C{i}" for i in range(1, 27)]
    vocabs = [independent_vocab([t[f] for t in tokens], 10, integer=f < 13) for f in range(39)]
    spec = json.load(open(tmp_path / "feature_spec.json"))
    for f, name in enumerate(names):
        assert vocab_file(tmp_path, name) == vocabs[f], name
        assert spec["fields"][f]["vocab_size"] == len(vocabs[f]) + 1
        assert spec["fields"][f]["name"] == name
    assert summary["rows_read"] == summary["rows_written"] == 10_000 and summary["rows_rejected"] == 0
    assert {s: spec["splits"][s]["rows"] for s in spec["splits"]} == {"train": 8000, "valid": 1000, "test": 1000}
    labels, ids = written_rows(tmp_path)
    want = expected_ids(tokens, vocabs)
    np.testing.assert_array_equal(sorted_rows(labels, ids), sorted_rows([int(r[0]) for r in rows], want))
    # train rows are shuffled: not in input order
    train_labels, train_ids, _ = read_split(tmp_path, "train")
    index = {tuple(r): i for i, r in enumerate(want)}
    positions = [index.get(tuple(r), -1) for r in train_ids[:200]]
    assert positions != sorted(positions)


def test_avazu_head10k_vocabularies_and_ids(tmp_path):
    path = shared_data("avazu", "avazu_head10k.csv")
    summary = convert([path], avazu_layout(), tmp_path, min_count=4, dataset="avazu")
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert lines[0].split(",") == AVAZU_COLUMNS
    rows = [line.split(",") for line in lines[1:]]
    assert summary["rows_read"] == len(rows) == 9_999 and summary["rows_rejected"] == 0
    tokens = [r[2:] for r in rows]  # id dropped, click is the label
    vocabs = [independent_vocab([t[f] for t in tokens], 4) for f in range(22)]
    for f, name in enumerate(AVAZU_COLUMNS[2:]):
        assert vocab_file(tmp_path, name) == vocabs[f], name
    assert summary["vocab_sizes"]["hour"] == 2  # all rows are from hour 14102100: one value + OOV
    labels, ids = written_rows(tmp_path)
    np.testing.assert_array_equal(
        sorted_rows(labels, ids), sorted_rows([int(r[1]) for r in rows], expected_ids(tokens, vocabs))
    )


def test_frappe_x1_given_split_matches_bars(tmp_path):
    zpath = shared_data("frappe", "Frappe_x1.zip")
    stats = json.load(open(shared_data("stats", "frappe_x1_stats.json")))
    raw = tmp_path / "raw"
    with zipfile.ZipFile(zpath) as z:
        z.extractall(raw)
    (raw / "schema.yaml").write_text(
        "dataset: frappe\nformat: csv\nlabel: label\n"
        "categorical: [user, item, daytime, weekday, isweekend, homework, cost, weather, country, city]\n"
        "splits: {train: train.csv, valid: valid.csv, test: test.csv}\n"
    )
    out = tmp_path / "out"
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "tfrecord_tools.csv", "--schema", str(raw / "schema.yaml"), "--output", str(out)],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    spec = json.load(open(out / "feature_spec.json"))
    assert {s: spec["splits"][s]["rows"] for s in spec["splits"]} == stats["rows"]
    # BARS counts padding + OOV; mezoo has OOV only (min count 1, vocabulary from train)
    assert {f["name"]: f["vocab_size"] + 1 for f in spec["fields"]} == stats["vocab_incl_padding_oov"]
    assert abs(spec["splits"]["train"]["positive_rate"] - stats["positive_rate"]["train"]) < 1e-4
    assert "frappe: read 288,609 rows, wrote 288,609, rejected 0" in proc.stdout
    # valid/test keep their order: the first valid row's ids are those of valid.csv's first line
    first = (raw / "valid.csv").read_text().splitlines()[1].split(",")
    train_tokens = [line.split(",")[1:] for line in (raw / "train.csv").read_text().splitlines()[1:]]
    vocabs = [independent_vocab([t[f] for t in train_tokens], 1) for f in range(10)]
    _, valid_ids, _ = read_split(out, "valid")
    np.testing.assert_array_equal(valid_ids[0], expected_ids([first[1:]], vocabs)[0])
