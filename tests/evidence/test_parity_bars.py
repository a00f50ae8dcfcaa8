"""mezoo.parity against BARS' published runs: Welch intervals, the 0.001 tolerance, >= 3 seeds, each family once."""

import csv
import math

import numpy as np
import pytest

from mezoo.cli import parity as parity_cli
from mezoo.evidence import noise, parity, report
from mezoo.evidence.report_inputs import collect
from mezoo.evidence.table_checks import ReportInputError
from tests.evidence.parity_runs import runs


def test_bars_figures_are_its_published_runs_each_family_once():
    dcnv2 = parity.BARS_FRAPPE_X1["dcnv2"]
    # BARS' DCNv2_frappe_x1 README: "Avg 0.983824, Std ±0.00043485" over 5 runs (its Std is the population sd)
    assert len(dcnv2.runs) == 5 and round(dcnv2.mean, 6) == 0.983824
    assert round(float(np.std(dcnv2.runs)), 8) == 0.00043485
    assert dcnv2.source == "ranking/ctr/DCNv2/DCNv2_frappe_x1/README.md"
    several = {m for m, f in parity.BARS_FRAPPE_X1.items() if len(f.runs) > 1}
    assert several == {"dnn", "deepfm", "dcn", "dcnv2", "xdeepfm"}
    assert parity.BARS_FRAPPE_X1["finalmlp"].runs == (0.986072,)
    assert (
        "nfwfm" not in parity.BARS_FRAPPE_X1 and [f.family for f in parity.BARS_FRAPPE_X1.values()].count("FwFM") == 1
    )
    assert parity.TOLERANCE == 0.001 and parity.MIN_SEEDS == 3


def test_an_interval_from_summary_statistics_is_welchs_and_a_fixed_figure_has_no_spread():
    a, b = [0.9841, 0.9838, 0.9843], [0.9836, 0.9840, 0.9833, 0.9838, 0.9835]
    from_runs = noise.welch_interval(a, b)
    summary = noise.summary_interval((np.mean(a), np.std(a, ddof=1), len(a)), (np.mean(b), np.std(b, ddof=1), len(b)))
    assert summary.estimate == pytest.approx(from_runs.estimate)
    assert (summary.low, summary.high, summary.df) == pytest.approx((from_runs.low, from_runs.high, from_runs.df))
    fixed = noise.summary_interval((np.mean(a), np.std(a, ddof=1), len(a)), (0.9840, 0.0, 1))
    from scipy import stats

    half = stats.t.ppf(0.975, 2) * np.std(a, ddof=1) / math.sqrt(3)  # a one-sample t interval
    assert fixed.df == pytest.approx(2) and fixed.high - fixed.estimate == pytest.approx(half)


def test_each_family_gets_an_interval_and_a_verdict(tmp_path):
    dcnv2 = parity.BARS_FRAPPE_X1["dcnv2"].mean
    dirs = (
        runs(tmp_path, "dcnv2", [dcnv2 - 1e-5, dcnv2, dcnv2 + 1e-5])  # close to BARS' 5-run mean
        + runs(tmp_path, "dnn", [0.9870, 0.9871, 0.9869])  # 3e-3 above BARS
        + runs(tmp_path, "dcn", [0.9834 + 0.0008, 0.9834 + 0.0009, 0.9834 + 0.0010])  # near the bound
        + runs(tmp_path, "ipnn", [0.98410, 0.98415, 0.98412])  # against BARS' single figure, 0.984122
        + runs(tmp_path, "deepfm", [0.9840, 0.9841])  # two seeds
        + runs(tmp_path, "nfwfm", [0.9811, 0.9812, 0.9813])
    )
    rows = {row["model"]: row for row in parity.parity_rows(dirs)}
    assert (
        rows["dcnv2"]["verdict"] == parity.WITHIN
        and -0.001 < rows["dcnv2"]["gap_low"] < rows["dcnv2"]["gap_high"] < 0.001
    )
    expected = noise.welch_interval([dcnv2 - 1e-5, dcnv2, dcnv2 + 1e-5], parity.BARS_FRAPPE_X1["dcnv2"].runs)
    assert (rows["dcnv2"]["gap_low"], rows["dcnv2"]["gap_high"]) == pytest.approx((expected.low, expected.high))
    assert rows["dnn"]["verdict"] == parity.OUTSIDE and rows["dnn"]["gap_low"] > 0.001
    assert rows["dcn"]["verdict"] == parity.NOT_RESOLVED and rows["dcn"]["gap_low"] < 0.001 < rows["dcn"]["gap_high"]
    assert rows["ipnn"]["verdict"] == parity.WITHIN and rows["ipnn"]["bars_runs"] == 1
    assert rows["ipnn"]["bars_test_auc"] == 0.984122 and rows["ipnn"]["bars_test_auc_sd"] is None
    assert rows["deepfm"]["verdict"] == parity.TOO_FEW and rows["deepfm"]["runs"] == 2
    assert rows["nfwfm"]["verdict"] == parity.NOT_LIKE_FOR_LIKE and rows["nfwfm"]["like_for_like"] is False
    assert rows["finalmlp"]["verdict"] == parity.NOT_RUN and rows["finalmlp"].get("runs") in (None, 0)
    assert [row["model"] for row in parity.parity_rows(dirs)] == [*parity.BARS_FRAPPE_X1, "nfwfm"]


def test_the_page_names_the_seeds_the_sources_and_lists_nfwfm_below_the_table(tmp_path, capsys):
    dirs = (
        runs(tmp_path / "runs", "dcnv2", [0.9838, 0.9839, 0.9840])
        + runs(tmp_path / "runs", "ipnn", [0.9840, 0.9841])
        + runs(tmp_path / "runs", "nfwfm", [0.9811, 0.9812, 0.9813])
    )
    out = tmp_path / "parity"
    parity_cli.main([*map(str, dirs), "--out", str(out)])
    text = (out / "parity.md").read_text()
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert not any("nfwfm" in line for line in table), "nfwfm is no parity row"
    for expected in (
        "| DCNv2 | dcnv2 | 0.98382 ± 0.00049 (5 runs) | 0.98390 ± 0.00010 (3 seeds) |",
        "| IPNN | ipnn | 0.98412 (single figure) | 0.98405 ± 0.00007 (2 seeds) |",
        "too few seeds (2; parity needs 3)",
        "| DNN | dnn | 0.98405 ± 0.00057 (5 runs) | not run |",
        "AUC difference under 0.001",
        "reczoo/BARS/issues/17",
        "ranking/ctr/DCNv2/DCNv2_frappe_x1/README.md",
        "ranking/ctr/PNN/IPNN_frappe_x1/README.md",
        "Not like for like",
        "Git commit",
    ):
        assert expected in text, expected
    below = text[text.index("Not like for like") :]
    assert "nfwfm" in below and "0.98120 ± 0.00010 (3 seeds)" in below
    written = {row["model"]: row for row in csv.DictReader(open(out / "parity.csv"))}
    assert written["dcnv2"]["verdict"] == parity.WITHIN and written["ipnn"]["verdict"] == parity.TOO_FEW
    assert written["dcnv2"]["seeds"] == "2024 2025 2026" and written["nfwfm"]["like_for_like"] == "False"
    # the claims page shows the same table from parity.csv, counts parity rows only, and lists nfwfm below
    page = report.write_report(tmp_path, tmp_path / "page.md").read_text()
    section = page[page.index("## The zoo against BARS") :]
    assert "1 of 9 families within ±0.001 of BARS" in section and "1 with too few seeds" in section
    assert "| DCNv2 | dcnv2 | 0.98382 ± 0.00049 (5 runs) | 0.98390 ± 0.00010 (3 seeds) |" in section
    assert "nfwfm" in section[section.index("Not like for like") :]
    assert "BARS parity" in capsys.readouterr().out


@pytest.mark.parametrize(
    "column,value",
    [("gap_low", "x"), ("gap_high", "inf"), ("bars_runs", "0"), ("bars_test_auc_sd", "-1"), ("verdict", "close")],
)
def test_an_impossible_parity_table_is_refused_naming_the_column(tmp_path, column, value):
    dirs = runs(tmp_path / "runs", "dcnv2", [0.9838, 0.9839, 0.9840])
    parity.write_parity(dirs, tmp_path / "parity")
    table = tmp_path / "parity" / "parity.csv"
    rows = list(csv.DictReader(open(table)))
    rows[4][column] = value  # dcnv2's row: line 6
    with open(table, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=parity.COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ReportInputError, match=f"parity.csv, line 6, column {column}: '{value}' is not"):
        collect(tmp_path)
