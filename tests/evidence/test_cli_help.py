"""The evidence commands' --help: exit 0 and describe their arguments."""

import importlib

import pytest


@pytest.mark.parametrize(
    "module, words",
    [
        ("mezoo.toy", ["--dim", "--seeds", "--steps", "--out"]),
        ("mezoo.analyze", ["RUN_DIR", "--out"]),
        ("mezoo.parity", ["RUN_DIR", "--out"]),
        ("mezoo.report", ["RESULTS_DIR", "--out"]),
        ("mezoo.scaling", ["--recipe", "--scales", "--seeds", "--data", "--out", "--ablations", "--data_fractions"]),
    ],
)
def test_help(module, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(module).parse_args(["--help"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"usage: python -m {module}")
    for word in words:
        assert word in printed, word
