"""mezoo.report: verdicts that follow the numbers, "holds" only where intervals show it, never on null cases."""

import numpy as np
import pytest

from mezoo.cli import report as report_cli
from mezoo.evidence import report, rules
from mezoo.evidence.report_inputs import collect
from mezoo.training.predictions import save_predictions
from tests.cli_testing import fails_with
from tests.evidence.result_tables import (
    GOOD_RATIO,
    GOOD_SIGNAL,
    LABELS,
    ROWS,
    Finder,
    claims_of,
    copy_line,
    grid,
    set_value,
    verdicts,
    write_parity,
    write_study,
    write_toy,
)


def test_every_claim_holds_when_the_numbers_show_it(tmp_path):
    write_toy(tmp_path, [20.0, 21.0, 20.5], [27.0, 26.5, 27.5])
    write_study(tmp_path, "frappe", GOOD_SIGNAL, GOOD_RATIO)
    assert verdicts(tmp_path) == {n: rules.HOLDS for n in range(1, 6)}


def test_untrained_tables_and_equal_models_show_nothing(tmp_path):
    """Gaussian (untrained) tables: IA / random IA is 1 at every width, for SE and ME alike."""
    flat = grid({"SE": {1: 1.0, 4: 1.0, 10: 1.0}, "ME": {4: 1.0, 10: 1.0}, "ME-SI": {4: 1.0, 10: 1.0}})
    write_toy(tmp_path, [25.0, 26.0, 25.5], [25.2, 25.8, 25.6])
    write_study(tmp_path, "random", flat, flat)
    found = verdicts(tmp_path)
    assert found == {n: rules.NOT_SHOWN for n in range(1, 6)}


def test_se_and_me_rising_alike_does_not_hold_for_claim_4(tmp_path):
    alike = grid({"SE": {1: 1.0, 4: 1.3, 10: 1.5}, "ME": {4: 1.3, 10: 1.5}, "ME-SI": {4: 1.3, 10: 1.5}})
    write_study(tmp_path, "alike", alike, GOOD_RATIO)
    claim = claims_of(tmp_path)[4]
    text = "\n".join(claim.lines)
    assert claim.verdict == rules.FAILS, text
    assert "(b) ME at 10x - the 1x model +" in text and "(c) SE at 10x - the 1x model +" in text


def test_broken_rules_each_turn_their_verdict(tmp_path):
    worse = {**GOOD_SIGNAL, ("ME", 10): 0.8, ("ME", 4): 0.8}  # ME below SE
    rising = {**GOOD_RATIO, ("SE", 10): 0.9}  # SE's tables get more abundant as they widen
    write_study(tmp_path, "broken", worse, rising)
    write_toy(tmp_path, [30.0, 31.0, 30.5], [22.0, 21.0, 22.5])  # the toy's ordering reversed
    found = verdicts(tmp_path)
    assert found[1] == found[2] == found[4] == rules.FAILS
    assert found[5] == rules.FAILS  # ME-SI ahead of ME at 10x


def test_synthetic_studies_never_enter_a_verdict_and_parallel_me_si_is_not_the_papers(tmp_path):
    write_study(tmp_path, "builtin", GOOD_SIGNAL, GOOD_RATIO, synthetic=True)
    assert verdicts(tmp_path) == {n: rules.UNTESTED for n in range(1, 6)}
    write_study(tmp_path, "parallel", GOOD_SIGNAL, GOOD_RATIO, structure="parallel")
    claim = claims_of(tmp_path)[5]
    assert claim.verdict == rules.UNTESTED and "not tested as in the paper" in "\n".join(claim.lines)


def test_one_seed_per_cell_shows_nothing(tmp_path):
    write_study(tmp_path, "one_seed", GOOD_SIGNAL, GOOD_RATIO, seeds=1)
    found = verdicts(tmp_path)
    assert found[3] == found[4] == found[5] == rules.NOT_SHOWN and found[1] == rules.NOT_SHOWN
    assert "no interval: n = 1 seed" in "\n".join(claims_of(tmp_path)[4].lines)


def test_the_page_has_the_intervals_the_paper_the_sections_and_the_provenance(tmp_path, capsys):
    write_toy(tmp_path, [20.0, 21.0, 20.5], [27.0, 26.5, 27.5])
    write_study(tmp_path, "frappe", GOOD_SIGNAL, GOOD_RATIO)
    write_study(tmp_path, "builtin", GOOD_SIGNAL, GOOD_RATIO, synthetic=True)
    write_study(tmp_path, "old", GOOD_SIGNAL, GOOD_RATIO, predictions=False)
    page = report.write_report(tmp_path, finder=Finder()).read_text()
    for text in (
        "| 4. ME's AUC rises with the number of sets while SE's stays flat or falls | Holds | frappe: holds |",
        "## Side by side with the paper",
        "The paper has no Frappe numbers",
        "| paper, Criteo, DCNv2 | +0.00007 | +0.00043 | +0.00018 | +0.00046 |",
        "## Smoke tests on synthetic data (no verdict)",
        "no interval: the runs' weights and test predictions were not kept",
        "at epoch 12, which every one of these cells reached",
        "Written by `python -m mezoo.report`",
        "abc1234",
    ):
        assert text in page, text
    assert "ME - SE [" not in page and " [+0.0" in page  # intervals printed as [low, high]


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda p: p.write_text(p.read_text()[: len(p.read_text()) // 2]), "truncated or damaged|the file was cut"),
        (lambda p: p.write_bytes(b"\xff\xfe" + p.read_bytes()), "not UTF-8"),
    ],
)
def test_a_damaged_table_is_an_error_naming_it(tmp_path, damage, message, capsys):
    write_study(tmp_path, "frappe", GOOD_SIGNAL, GOOD_RATIO)
    damage(tmp_path / "frappe" / "scaling.csv")
    with pytest.raises(report.ReportInputError, match=f"scaling.csv.*({message})"):
        collect(tmp_path)
    fails_with(report_cli.main, [tmp_path], capsys, "scaling.csv")


def test_a_damaged_study_json_is_an_error_naming_it(tmp_path, capsys):
    write_study(tmp_path, "frappe", GOOD_SIGNAL, GOOD_RATIO)
    (tmp_path / "frappe" / "study.json").write_text('{"recipe": ')
    fails_with(report_cli.main, [tmp_path], capsys, "study.json: not valid JSON")


def test_a_directory_without_results_is_an_error_naming_it(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    fails_with(report_cli.main, [tmp_path], capsys, "no results")


@pytest.mark.parametrize(
    "table,damage,message",
    [
        ("frappe/scaling.csv", lambda p: copy_line(p, 2), "scaling.csv, line 23: the cell (fraction 1.0, variant SE"),
        ("frappe/scaling.csv", lambda p: set_value(p, 2, "test_auc", "nan"), "line 2, column test_auc: 'nan' is not"),
        ("frappe/scaling.csv", lambda p: set_value(p, 3, "test_auc", "7.5"), "line 3, column test_auc: '7.5' is not"),
        ("frappe/scaling.csv", lambda p: set_value(p, 4, "test_auc", "0.9x"), "line 4, column test_auc: '0.9x'"),
        ("frappe/scaling.csv", lambda p: set_value(p, 2, "test_logloss", "-0.2"), "column test_logloss: '-0.2'"),
        ("frappe/scaling.csv", lambda p: set_value(p, 2, "ia_min", "0.5"), "column ia_min: '0.5' is not"),
        ("frappe/scaling.csv", lambda p: set_value(p, 2, "scale", "four"), "column scale: 'four'"),
        ("frappe/abundance_by_epoch.csv", lambda p: copy_line(p, 5), "abundance_by_epoch.csv, line 170:"),
        ("frappe/abundance_by_epoch.csv", lambda p: set_value(p, 3, "ia", "0.5"), "line 3, column ia: '0.5' is not"),
        ("frappe/abundance_by_epoch.csv", lambda p: set_value(p, 3, "ia_vs_random", "inf"), "column ia_vs_random:"),
        ("toy/toy.csv", lambda p: copy_line(p, 3), "toy.csv, line 14: the run's step"),
        ("toy/toy.csv", lambda p: set_value(p, 3, "ia", "nan"), "toy.csv, line 3, column ia: 'nan' is not"),
        ("toy/toy.csv", lambda p: set_value(p, 3, "loss", "-1"), "toy.csv, line 3, column loss: '-1' is not"),
        ("toy/toy.csv", lambda p: set_value(p, 3, "step", "x"), "toy.csv, line 3, column step: 'x'"),
        ("parity/parity.csv", lambda p: copy_line(p, 2), "parity.csv, line 4: the model (family DNN, model dnn)"),
        ("parity/parity.csv", lambda p: set_value(p, 2, "test_auc_mean", "1.5"), "column test_auc_mean: '1.5'"),
    ],
)
def test_an_impossible_table_is_refused_naming_file_line_and_value(tmp_path, capsys, table, damage, message):
    write_toy(tmp_path, [20.0, 21.0, 20.5], [27.0, 26.5, 27.5])
    write_study(tmp_path, "frappe", GOOD_SIGNAL, GOOD_RATIO)
    write_parity(tmp_path)
    report_cli.main([str(tmp_path), "--out", str(tmp_path / "page.md")])  # the tables as written are accepted
    capsys.readouterr()
    damage(tmp_path / table)
    last = fails_with(report_cli.main, [tmp_path], capsys, message)
    assert str(tmp_path / table) in last
    assert not (tmp_path / "README.md").exists()


def test_a_truncated_predictions_file_is_an_error_naming_it(tmp_path, capsys, monkeypatch):
    write_study(tmp_path, "frappe", GOOD_SIGNAL, GOOD_RATIO)
    monkeypatch.setattr(report, "LabelFinder", lambda data_dirs: Finder())  # the labels found, as on a real machine
    kept = tmp_path / "frappe" / "predictions" / "me_x4_seed1.npz"
    kept.write_bytes(kept.read_bytes()[:200])
    last = fails_with(report_cli.main, [tmp_path], capsys, "me_x4_seed1.npz")
    assert "not a predictions file" in last
    assert not (tmp_path / "README.md").exists()


def test_predictions_scored_on_other_test_rows_than_the_table_says_are_refused(tmp_path, capsys, monkeypatch):
    write_study(tmp_path, "frappe", GOOD_SIGNAL, GOOD_RATIO)
    monkeypatch.setattr(report, "LabelFinder", lambda data_dirs: Finder())
    save_predictions(tmp_path / "frappe" / "predictions" / "me_x4_seed1.npz", 1 - LABELS, np.full(ROWS, 0.5))
    fails_with(report_cli.main, [tmp_path], capsys, "me_x4_seed1.npz: scored on other test rows")
