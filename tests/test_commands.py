"""Every command: importable side by side with no side effect, and its --help answers."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [
    "mezoo.cli.train",
    "mezoo.cli.evaluate",
    "mezoo.cli.export",
    "mezoo.cli.predict",
    "mezoo.cli.analyze",
    "mezoo.cli.scaling",
    "mezoo.cli.toy",
    "mezoo.cli.report",
    "mezoo.cli.parity",
    "mezoo.cli.compare",
    "mezoo.cli.demo",
    "tfrecord_tools.criteo",
    "tfrecord_tools.avazu",
    "tfrecord_tools.csv",
    "tfrecord_tools.inspect",
    "tfrecord_tools.synthetic",
    "tfrecord_tools.beam",
]
SHIMS = ["mezoo.train", "mezoo.evaluate", "mezoo.export", "mezoo.predict", "mezoo.analyze", "mezoo.scaling"]
SHIMS += ["mezoo.toy", "mezoo.report", "mezoo.parity", "mezoo.compare", "mezoo.demo"]

IMPORT_ALL = """
import importlib, json, os, sys
from absl import flags, logging
import mezoo  # TensorFlow and Keras set variables of their own at import: the baseline is after them
try:
    import apache_beam
except ImportError:
    pass
before_env, before_flags = dict(os.environ), sorted(flags.FLAGS)
modules = [importlib.import_module(name) for name in sys.argv[1:]]
print(json.dumps({
    "env_changed": sorted(k for k in set(os.environ) | set(before_env) if os.environ.get(k) != before_env.get(k)),
    "new_flags": sorted(set(flags.FLAGS) - set(before_flags)),
    "without_main": [m.__name__ for m in modules if not callable(getattr(m, "main", None))],
}))
"""


def test_every_command_module_imports_in_one_process_and_changes_nothing():
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, *COMMANDS, *SHIMS], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"env_changed": [], "new_flags": [], "without_main": SHIMS}, result


@pytest.mark.parametrize("module", COMMANDS)
def test_help_in_process_twice(module, capsys):
    import importlib

    main = importlib.import_module(module).main
    for _ in range(2):  # flags live in each call's own FlagValues: a second call defines them again
        with pytest.raises(SystemExit) as exit_info:
            main(["--help"])
        assert exit_info.value.code == 0
    assert "flags:" in capsys.readouterr().out
