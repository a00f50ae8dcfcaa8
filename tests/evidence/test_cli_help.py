"""Every command's --help: exit 0, its usage line and the flags it takes."""

import importlib

import pytest


@pytest.mark.parametrize(
    "module, words",
    [
        ("mezoo.cli.toy", ["--dim", "--seeds", "--steps", "--out"]),
        ("mezoo.cli.analyze", ["RUN_DIR", "--out"]),
        ("mezoo.cli.parity", ["RUN_DIR", "--out"]),
        ("mezoo.cli.report", ["RESULTS_DIR", "--out"]),
        ("mezoo.cli.compare", ["BASE OTHER", "--out", "--margin", "--data"]),
        (
            "mezoo.cli.scaling",
            ["--recipe", "--scales", "--seeds", "--data", "--out", "--ablations", "--data_fractions"],
        ),
    ],
)
def test_help(module, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(module).main(["--help"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"python -m {module.replace('.cli', '')}")
    for word in words:
        assert word in printed, word
