"""`make train` runs the demo until the trainer exists: it must keep working."""

import pytest

pytest.importorskip("tensorflow")

from mezoo import demo  # noqa: E402


def test_demo_runs_and_reports(capsys):
    demo.main(["--rows", "4000", "--epochs", "1", "--sets", "2", "--dim", "4"])
    printed = capsys.readouterr().out
    assert "GENERATED data" in printed
    assert "test AUC" in printed and "planted model's AUC" in printed


def test_auc_matches_pairwise_definition():
    import numpy as np

    rng = np.random.default_rng(0)
    labels = rng.random(300) < 0.3
    scores = np.round(rng.random(300), 1)  # many ties
    pos, neg = scores[labels], scores[~labels]
    expected = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg))
    assert abs(demo.auc(labels, scores) - expected) < 1e-12
