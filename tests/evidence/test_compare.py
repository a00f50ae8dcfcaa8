"""mezoo.compare: two studies of the same cells, OTHER - BASE with intervals, and an equivalence verdict."""

import json

import numpy as np
import pytest

from mezoo.cli import compare as compare_cli
from mezoo.evidence import compare
from mezoo.evidence.noise import PairedAUC
from mezoo.training.predictions import load_predictions, save_predictions
from tests.cli_testing import fails_with
from tests.evidence.result_tables import GOOD_RATIO, GOOD_SIGNAL, LABELS, ROWS, Finder, grid, write_study


@pytest.fixture(autouse=True)
def labels_here(monkeypatch):
    monkeypatch.setattr(compare, "LabelFinder", lambda data_dirs: Finder())


def set_precision(study, policy):
    meta = json.loads((study / "study.json").read_text())
    meta["resolved_recipe"]["train"]["mixed_precision"] = policy
    (study / "study.json").write_text(json.dumps(meta))


def kept(study, cell):
    return load_predictions(study / "predictions" / f"{cell}.npz")["probability"]


def test_a_study_against_itself_is_equivalent_with_zero_difference(tmp_path, capsys):
    write_study(tmp_path, "base", GOOD_SIGNAL, GOOD_RATIO)
    compare_cli.main([str(tmp_path / "base"), str(tmp_path / "base"), "--out", str(tmp_path / "out")])
    page = (tmp_path / "out" / "comparison.md").read_text()
    assert "none (the same recipe)" in page
    rows = compare.read_study(tmp_path / "base").rows
    found = list(compare.compare_rows(*[compare.read_study(tmp_path / "base")] * 2, Finder()))
    assert len(found) == len({(r["variant"], r["scale"]) for r in rows})
    for row in found:
        assert row["auc_difference"] == 0.0 and row["verdict"] == compare.EQUIVALENT
    assert (tmp_path / "out" / "comparison.csv").read_text().count("\n") == len(found) + 1


def test_the_difference_is_the_mean_auc_difference_over_seeds_and_a_real_gap_differs(tmp_path):
    write_study(tmp_path, "base", GOOD_SIGNAL, GOOD_RATIO)
    weaker = {key: value * 0.5 for key, value in GOOD_SIGNAL.items()}
    write_study(tmp_path, "other", weaker, GOOD_RATIO)
    set_precision(tmp_path / "other", "mixed_bfloat16")
    base, other = compare.read_study(tmp_path / "base"), compare.read_study(tmp_path / "other")
    assert compare.differing_settings(base, other) == [("train.mixed_precision", None, "mixed_bfloat16")]
    other.meta["train_labels"] = "permuted"  # a permuted-label null is not a recipe setting, but differs
    assert ("study.train_labels", None, "permuted") in compare.differing_settings(base, other)
    boot = PairedAUC(LABELS, replicates=2)
    for row in compare.compare_rows(base, other, Finder()):
        seeds = [int(s) for s in row["seeds"].split()]
        key = f"{row['variant'].lower().replace('-', '')}_x{row['scale']}_seed"
        mean = [
            np.mean(
                [boot.auc(load_predictions(s.path / "predictions" / f"{key}{n}.npz")["probability"]) for n in seeds]
            )
            for s in (other, base)
        ]
        assert row["auc_difference"] == pytest.approx(mean[0] - mean[1], abs=1e-12)
        assert row["auc_high"] < 0 and row["verdict"] == compare.DIFFERS


def test_the_paired_interval_is_a_t_interval_over_seeds_plus_the_rows_variance():
    from scipy import stats

    d = [0.001, 0.0025, 0.0016]
    interval = compare.paired_interval(d, extra_variance=0.0)
    half = stats.t.ppf(0.975, 2) * np.std(d, ddof=1) / np.sqrt(3)
    assert interval.low == pytest.approx(np.mean(d) - half) and interval.high == pytest.approx(np.mean(d) + half)
    assert compare.paired_interval(d, extra_variance=1e-6).se == pytest.approx(np.sqrt(np.var(d, ddof=1) / 3 + 1e-6))
    assert compare.paired_interval([0.001]).low is None


def test_a_tiny_difference_with_wide_noise_is_undecided_not_equivalent():
    wide = compare.Interval(0.0002, -0.003, 0.0034, (3, 3))
    narrow = compare.Interval(0.0002, -0.0006, 0.001, (3, 3))
    assert compare.verdict(wide, 0.001) == compare.UNDECIDED
    assert compare.verdict(narrow, 0.001) == compare.EQUIVALENT
    assert compare.verdict(compare.Interval(0.002, 0.001, 0.003, (3, 3)), 0.001) == compare.DIFFERS


def test_cells_only_one_study_has_are_left_out_and_none_in_common_is_an_error(tmp_path, capsys):
    write_study(tmp_path, "base", GOOD_SIGNAL, GOOD_RATIO)
    write_study(tmp_path, "other", {("SE", 1): 1.0}, {("SE", 1): 0.7})
    found = compare.compare_rows(
        compare.read_study(tmp_path / "base"), compare.read_study(tmp_path / "other"), Finder()
    )
    assert [(r["variant"], r["scale"]) for r in found] == [("SE", 1)]
    write_study(tmp_path, "alone", {("ME", 10): 1.0}, {("ME", 10): 0.7})
    args = [str(tmp_path / "other"), str(tmp_path / "alone"), "--out", str(tmp_path / "out")]
    fails_with(compare_cli.main, args, capsys, "have no (variant, scale, fraction) in common")


def test_predictions_on_other_rows_are_refused_naming_the_file(tmp_path, capsys):
    write_study(tmp_path, "base", GOOD_SIGNAL, GOOD_RATIO)
    write_study(tmp_path, "other", GOOD_SIGNAL, GOOD_RATIO)
    save_predictions(tmp_path / "other" / "predictions" / "me_x4_seed1.npz", 1 - LABELS, np.full(ROWS, 0.5))
    args = [str(tmp_path / "base"), str(tmp_path / "other"), "--out", str(tmp_path / "out")]
    fails_with(compare_cli.main, args, capsys, "me_x4_seed1.npz: scored on other test rows")


def test_labels_not_on_this_machine_are_an_error_saying_where_to_look(tmp_path, capsys, monkeypatch):
    write_study(tmp_path, "base", grid({"SE": {1: 1.0}}), grid({"SE": {1: 0.7}}))

    class Nowhere:
        def find(self, digest, rows):
            return None

    monkeypatch.setattr(compare, "LabelFinder", lambda data_dirs: Nowhere())
    args = [str(tmp_path / "base"), str(tmp_path / "base"), "--out", str(tmp_path / "out")]
    fails_with(compare_cli.main, args, capsys, "are not on this machine: give the converted data with --data")


def test_usage_errors(tmp_path, capsys):
    fails_with(compare_cli.main, [str(tmp_path), "--out", str(tmp_path / "o")], capsys, "give BASE and OTHER")
    fails_with(
        compare_cli.main,
        [str(tmp_path), str(tmp_path), "--out", str(tmp_path / "o"), "--margin", "-1"],
        capsys,
        "--margin",
    )
