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
    assert [row["model"] for row in rows] == [*parity.BARS_FRAPPE_X1, *parity.OTHER_MODELS]
    dcnv2 = next(row for row in rows if row["model"] == "dcnv2")
    assert float(dcnv2["test_auc_mean"]) == pytest.approx(metrics["test_auc"]) and dcnv2["runs"] == "1"
    assert float(dcnv2["gap"]) == pytest.approx(metrics["test_auc"] - parity.BARS_FRAPPE_X1["dcnv2"].mean)
    assert dcnv2["verdict"] == parity.TOO_FEW  # one seed: parity is not called
    assert dcnv2["best_epochs"] == str(metrics["best_epoch"]) and int(dcnv2["epochs"]) == len(metrics["epochs"])
    assert dcnv2["test_auc_sd"] == "" and dcnv2["gap_low"] == ""  # one seed: no spread, no interval
    assert all(row["test_auc_mean"] == "" for row in rows if row["model"] != "dcnv2")
    assert next(row for row in rows if row["model"] == "nfwfm")["like_for_like"] == "False"
    text = (out / "parity.md").read_text()
    for expected in (
        "| DCNv2 | dcnv2 | 0.98382 ± 0.00049 (5 runs) | " + f"{metrics['test_auc']:.5f} (1 seed)",
        "too few seeds (1; parity needs 3)",
        "| DNN | dnn | 0.98405 ± 0.00057 (5 runs) | not run |",
        "- nfwfm (the paper's NFwFM",
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
