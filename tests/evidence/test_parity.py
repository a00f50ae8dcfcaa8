"""mezoo.parity on tiny trained runs: one row per BARS family, the run's numbers, the errors."""

import csv
import json

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.cli import parity as parity_cli  # noqa: E402
from mezoo.evidence import parity  # noqa: E402
from tests.cli_testing import fails_with  # noqa: E402
from tests.evidence import tiny_runs  # noqa: E402


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory):
    return tiny_runs.train_pair(tmp_path_factory.mktemp("runs"))


def test_table_has_every_bars_family_and_the_runs_numbers(run_dirs, tmp_path, capsys):
    out = tmp_path / "parity"
    parity_cli.main([str(run_dirs["se"]), "--out", str(out)])
    metrics = json.loads((run_dirs["se"] / "metrics.json").read_text())
    rows = list(csv.DictReader(open(out / "parity.csv")))
    assert [row["model"] for row in rows] == list(parity.BARS_FRAPPE_X1)
    dcnv2 = next(row for row in rows if row["model"] == "dcnv2")
    assert float(dcnv2["test_auc_mean"]) == pytest.approx(metrics["test_auc"]) and dcnv2["runs"] == "1"
    assert float(dcnv2["gap"]) == pytest.approx(metrics["test_auc"] - 0.9845)
    assert dcnv2["within_tolerance"] == str(abs(metrics["test_auc"] - 0.9845) <= parity.TOLERANCE)  # two-sided
    assert dcnv2["best_epochs"] == str(metrics["best_epoch"]) and int(dcnv2["epochs"]) == len(metrics["epochs"])
    assert dcnv2["test_auc_sd"] == "" and dcnv2["gap_in_sd"] == ""  # one seed: no spread
    assert all(row["test_auc_mean"] == "" for row in rows if row["model"] != "dcnv2")
    assert next(row for row in rows if row["model"] == "nfwfm")["like_for_like"] == "False"
    text = (out / "parity.md").read_text()
    for expected in (
        "| DCNv2 | dcnv2 | 0.9845 | " + f"{metrics['test_auc']:.5f} (n = 1)",
        "| DNN | dnn | 0.9833 | not run |",
        "| FwFM | nfwfm (not like for like) | 0.9776 | not run |",
        "python -m mezoo.parity",
        "Git commit",
        "Machine",
    ):
        assert expected in text, expected
    assert "BARS parity" in capsys.readouterr().out


def test_errors_name_the_run(run_dirs, tmp_path, capsys):
    message = "parity is for single-embedding runs, this one has 2 sets"
    fails_with(parity_cli.main, [run_dirs["me"], "--out", tmp_path], capsys, message)
    fails_with(parity_cli.main, [run_dirs["se"], run_dirs["se"], "--out", tmp_path], capsys, "given twice")
    fails_with(parity_cli.main, [tmp_path, "--out", tmp_path / "x"], capsys, "no recipe.yaml")
