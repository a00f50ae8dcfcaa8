"""Synthetic data, inspect, and the command lines (--help, exit codes, error messages)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.errors import UsageError  # noqa: E402
from tests.shared_data import shared_data  # noqa: E402
from tests.tfrecord_tools.helpers import convert  # noqa: E402
from tfrecord_tools import synthetic  # noqa: E402
from tfrecord_tools.formats import avazu_layout, criteo_layout  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*args):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT)


def test_synthetic_is_deterministic_and_plants_a_learnable_signal(tmp_path):
    a = synthetic.generate("criteo", 5000, str(tmp_path / "a.txt"), seed=5)
    b = synthetic.generate("criteo", 5000, str(tmp_path / "b.txt"), seed=5)
    c = synthetic.generate("criteo", 5000, str(tmp_path / "c.txt"), seed=6)
    assert c["planted_auc_heldout"] != a["planted_auc_heldout"]
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()
    assert (tmp_path / "a.txt").read_bytes() != (tmp_path / "c.txt").read_bytes()
    assert a == b
    stored = json.loads((tmp_path / "a.txt.planted.json").read_text())
    assert stored["planted_auc_heldout"] == a["planted_auc_heldout"] and 0.7 < stored["planted_auc_heldout"] < 0.95
    assert abs(stored["positive_rate"] - 0.256) < 0.03
    assert all(len(p) == 2 for p in stored["interaction_pairs"]) and len(stored["interaction_pairs"]) >= 3


def test_synthetic_first_order_weight_and_pair_count(tmp_path):
    """--first_order moves signal from the pairs to the per-field part; --pairs sets |P|."""
    import math

    import numpy as np

    from mezoo.metrics import auc

    def additive_share(first_order):
        gen = synthetic.Generator("criteo", 20000, 3, max_cardinality=10, first_order=first_order)
        _, _, ids = gen.draw(20000)
        z = gen.logits(ids)
        y = gen.labels(z)
        additive = sum(first_order * gen.first[f][ids[f]] / math.sqrt(len(gen.fields)) for f in gen.fields)
        return (auc(y, additive) - 0.5) / (auc(y, z) - 0.5)

    low, high = additive_share(0.3), additive_share(1.5)
    assert low < 0.35 < 0.5 < high < 0.8, (low, high)  # pairs still carry a third of the lift at 1.5
    info = synthetic.generate("criteo", 2000, str(tmp_path / "p.txt"), seed=1, first_order=1.5, pairs=4)
    assert info["first_order"] == 1.5 and len(info["interaction_pairs"]) == 4
    assert np.isfinite(info["planted_auc_heldout"])


def test_synthetic_criteo_missingness_and_format(tmp_path):
    synthetic.generate("criteo", 20000, str(tmp_path / "t.txt"), seed=0)
    rows = [line.split("\t") for line in (tmp_path / "t.txt").read_text().splitlines()]
    assert all(len(r) == 40 for r in rows)
    cols = list(zip(*rows))

    def missing(j):
        return np.mean([v == "" for v in cols[j]])

    assert abs(missing(1) - 0.45) < 0.03 and [v == "" for v in cols[1]] == [v == "" for v in cols[10]]  # I1, I10
    assert abs(missing(14 + 21) - 0.82) < 0.03  # C22
    assert missing(14) == 0  # C1 never missing
    top = max(np.unique(cols[14 + 8], return_counts=True)[1]) / len(rows)  # C9 top-1 share 0.89
    assert abs(top - 0.89) < 0.02
    assert all(len(v) == 8 for v in cols[14] if v)


def test_synthetic_statistics_agree_with_shared_stats():
    criteo = json.load(open(shared_data("stats", "criteo_kaggle_stats.json")))
    avazu = json.load(open(shared_data("stats", "avazu_stats.json")))
    frappe = json.load(open(shared_data("stats", "frappe_x1_stats.json")))
    assert synthetic.STATS["criteo"]["categorical"] == criteo["categorical_distinct_raw_full_train"]
    assert synthetic.STATS["criteo"]["positive_rate"] == criteo["positive_rate"]
    d = criteo["head100k_integer_describe_mean_std_min_p25_p50_p75_max"]
    assert synthetic.STATS["criteo"]["integer"] == {k: (v[4], v[5], v[2], v[6]) for k, v in d.items()}
    assert {k: v for k, v in avazu["distinct_raw_full_train"].items() if k != "id"} == synthetic.STATS["avazu"][
        "categorical"
    ]
    assert {k: v[1] for k, v in avazu["head10k_sample_top1_share"].items()} == synthetic.STATS["avazu"]["top1_share"]
    assert {k: v - 2 for k, v in frappe["vocab_incl_padding_oov"].items()} == synthetic.STATS["frappe"]["categorical"]


def test_synthetic_avazu_and_frappe_convert_without_rejects(tmp_path):
    synthetic.generate("avazu", 3000, str(tmp_path / "avazu.csv"), seed=1)
    s = convert([str(tmp_path / "avazu.csv")], avazu_layout(), tmp_path / "a", min_count=2)
    assert s["rows_rejected"] == 0 and s["rows_written"] == 3000
    synthetic.generate("frappe", 3000, str(tmp_path / "frappe"), seed=1)
    proc = run(
        "tfrecord_tools.csv", "--schema", str(tmp_path / "frappe" / "schema.yaml"), "--output", str(tmp_path / "f")
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    spec = json.loads((tmp_path / "f" / "feature_spec.json").read_text())
    assert sum(v["rows"] for v in spec["splits"].values()) == 3000 and spec["splits"]["train"]["rows"] == 2100


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    base = tmp_path_factory.mktemp("insp")
    synthetic.generate("criteo", 2000, str(base / "train.txt"), seed=2)
    convert([str(base / "train.txt")], criteo_layout(), base / "out", min_count=2, rows_per_shard=500)
    return base


def test_inspect_accepts_a_good_directory_and_names_a_truncated_shard(small, tmp_path):
    from tfrecord_tools.inspect import inspect_directory

    lines = []
    assert inspect_directory(str(small / "out"), out=lines.append) == []
    assert any(line.strip().startswith("train") and "1,600 rows" in line for line in lines)
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(small / "out", bad)
    shard = sorted(bad.glob("train-00001-*"))[0]
    shard.write_bytes(shard.read_bytes()[:-300])
    proc = run("tfrecord_tools.inspect", str(bad))
    assert proc.returncode == 1
    assert f"corrupted or truncated shard {shard}" in proc.stdout
    # an id outside the vocabulary is caught too
    spec = json.loads((bad / "feature_spec.json").read_text())
    spec["fields"][0]["vocab_size"] = 1
    (bad / "feature_spec.json").write_text(json.dumps(spec))
    problems = inspect_directory(str(bad), out=lambda *_: None)
    assert any("field I1 id" in p and "outside 0..0" in p for p in problems)


def test_cli_help_explains_every_flag():
    for tool, own in [
        ("criteo", ["min_count", "split", "seed", "max_vocab_size", "memory_limit", "input"]),
        ("avazu", ["min_count"]),
        ("csv", ["schema"]),
        ("synthetic", ["dataset", "rows"]),
        ("inspect", ["max_rows"]),
    ]:
        proc = run(f"tfrecord_tools.{tool}", "--help")
        assert proc.returncode == 0 and "\nflags:\n" in proc.stdout, proc.stderr[-2000:]
        text = proc.stdout
        for flag in own + (["output"] if tool != "inspect" else []):
            assert f"--{flag}" in text, (tool, flag)
        # every flag of the module has a help text
        blocks = [b for b in text.split("\n  --")[1:]]
        assert blocks and all(len(b.split(":", 1)[1].strip()) > 10 for b in blocks), (tool, blocks)


def test_cli_criteo_end_to_end_and_errors(small, tmp_path):
    proc = run(
        "tfrecord_tools.criteo",
        "--input",
        str(small / "train.txt"),
        "--output",
        str(tmp_path / "o"),
        "--min_count",
        "3",
        "--split",
        "0.5,0.5",
        "--max_vocab_size",
        "50,C1=5",
        "--seed",
        "4",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "criteo: read 2,000 rows, wrote 2,000, rejected 0" in proc.stdout and "scale  10:" in proc.stdout
    spec = json.loads((tmp_path / "o" / "feature_spec.json").read_text())
    assert set(spec["splits"]) == {"train", "valid"} and spec["splits"]["valid"]["rows"] == 1000
    sizes = {f["name"]: f["vocab_size"] for f in spec["fields"]}
    assert sizes["C1"] == 5 and max(sizes.values()) <= 50
    proc = run("tfrecord_tools.criteo", "--input", str(tmp_path / "missing.txt"), "--output", str(tmp_path / "p"))
    assert proc.returncode == 2 and "input file not found" in proc.stderr and "missing.txt" in proc.stderr
    proc = run(
        "tfrecord_tools.criteo",
        "--input",
        str(small / "train.txt"),
        "--output",
        str(tmp_path / "q"),
        "--memory_limit",
        "10KB",
    )
    assert (
        proc.returncode == 2 and "--memory_limit" in proc.stderr and not (tmp_path / "q" / "feature_spec.json").exists()
    )
    proc = run("tfrecord_tools.avazu", "--input", str(small / "train.txt"), "--output", str(tmp_path / "r"))
    assert proc.returncode == 2 and "header is not Avazu" in proc.stderr


def test_criteo_rows_written_in_chunks_are_as_many_and_repeatable(tmp_path):
    from tfrecord_tools.synthetic import generate

    first = generate("criteo", 2500, str(tmp_path / "a.txt"), seed=3, chunk_rows=1000)
    generate("criteo", 2500, str(tmp_path / "b.txt"), seed=3, chunk_rows=1000)
    lines = (tmp_path / "a.txt").read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) - 1 == 2500 and {line.count(b"\t") for line in lines[:-1]} == {39}
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()
    assert 0.6 < first["planted_auc_written_rows"] <= 1 and 0.1 < first["positive_rate"] < 0.5
    with pytest.raises(UsageError, match="Criteo only"):
        generate("avazu", 100, str(tmp_path / "c.csv"), chunk_rows=10)
