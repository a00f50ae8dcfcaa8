"""`python -m mezoo.demo`, the example of mezoo as a library, must keep working."""

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.cli import demo  # noqa: E402


def test_demo_runs_and_reports(capsys):
    demo.main(["--rows", "4000", "--epochs", "1", "--sets", "2", "--dim", "4"])
    printed = capsys.readouterr().out
    assert "GENERATED data" in printed
    assert "test AUC" in printed and "planted model's AUC" in printed
