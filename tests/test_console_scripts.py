"""The installed console scripts behave as the `python -m` commands they stand for.

One wheel, built from this tree, is installed into a fresh virtual environment that sees this
environment's packages (TensorFlow, Keras, ...) through a `.pth` file but not the editable mezoo:
each script's `--help`, and a failing call, against the `python -m` forms, byte for byte, and
`--help` without TensorFlow or Keras imported.
"""

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow
tomllib = pytest.importorskip("tomllib")  # Python 3.11+

from mezoo import startup  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


# `python -m` forms whose module (run as `__main__`, before any command code) imports Keras at
# module level, so that their --help would load TensorFlow: none (every `mezoo/<command>.py` is
# only an entry point into `mezoo.cli`).
LOAD_KERAS_AT_IMPORT: set = set()


def documented_module(target: str) -> str:
    """`python -m mezoo.train` for `mezoo.cli.train:main` (README), the module itself for tfrecord_tools."""
    module = target.split(":")[0]
    return "mezoo." + module.rsplit(".", 1)[1] if module.startswith("mezoo.cli.") else module


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    work = tmp_path_factory.mktemp("console_scripts")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(work), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(work.glob("mezoo-*.whl"))
    env_dir = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    # This environment's site-packages as a plain path: its packages are seen, its .pth files
    # (the editable mezoo among them) are not.
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)}))
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "_outer_environment.pth").write_text("".join(f"{path}\n" for path in sorted(ours)))
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python")]
        + ["install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    where = run([str(env_dir / "bin" / "python"), "-c", "import mezoo; print(mezoo.__file__)"], work)
    assert where.stdout.decode().startswith(str(env_dir)), where  # the wheel's mezoo, not this checkout's
    return env_dir


def run(command, cwd, **env_extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MEZOO_DEBUG", "TF_CPP_MIN_LOG_LEVEL")}
    return subprocess.run(command, capture_output=True, cwd=cwd, env={**env, **env_extra}, timeout=300)


def forms(venv, name):
    """The console script, the documented `python -m` form and, where it differs, the target module."""
    python, target = str(venv / "bin" / "python"), SCRIPTS[name].split(":")[0]
    modules = dict.fromkeys([documented_module(SCRIPTS[name]), target])
    return [[str(venv / "bin" / name)]] + [[python, "-m", module] for module in modules]


def imported_top_level(importtime_stderr: bytes) -> set:
    """The top-level packages named in `-X importtime` (PYTHONPROFILEIMPORTTIME) lines."""
    names = re.findall(rb"^import time:.*\|\s*([\w.]+)\s*$", importtime_stderr, flags=re.MULTILINE)
    return {name.strip().split(b".")[0].decode() for name in names}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_help_is_the_same_in_every_form_and_loads_no_tensorflow(venv, name, tmp_path):
    results = [run(command + ["--help"], tmp_path) for command in forms(venv, name)]
    for command, result in zip(forms(venv, name), results):
        assert result.returncode == 0, (command, result.stderr[-2000:])
        assert result.stderr == b"", (command, result.stderr[-2000:])
        assert result.stdout == results[0].stdout and b"flags:" in result.stdout, command

    for command in forms(venv, name):
        modules = imported_top_level(run(command + ["--help"], tmp_path, PYTHONPROFILEIMPORTTIME="1").stderr)
        assert "mezoo" in modules, (command, sorted(modules))
        loads = bool({"tensorflow", "keras"} & modules)
        assert loads == (command[-1] in LOAD_KERAS_AT_IMPORT), (command, sorted(modules))


@pytest.mark.parametrize("name", ["mezoo-train", "tfrecord-csv"])
def test_a_failing_call_prints_the_same_one_line_in_every_form(venv, name, tmp_path):
    """A call that loads TensorFlow: its start-up lines are filtered for the script as for `-m`."""
    results = [run(command + ["--no_such_flag"], tmp_path) for command in forms(venv, name)[:2]]
    expected = b"error: Unknown command line flag 'no_such_flag' (--help lists the flags)\n"
    for result in results:
        assert (result.returncode, result.stderr) == (2, expected), result.stderr.decode()[-3000:]


def test_startup_knows_every_console_script():
    assert startup.CONSOLE_SCRIPTS == {name: target.split(":")[0] for name, target in SCRIPTS.items()}


@pytest.mark.parametrize(
    "orig_argv, module",
    [
        (["/env/bin/python", "/env/bin/mezoo-train", "--help"], "mezoo.cli.train"),
        (["/env/bin/python3", "-X", "importtime", "/env/bin/tfrecord-csv"], "tfrecord_tools.csv"),
        (["python.exe", r"C:\env\Scripts\mezoo-export.exe", "--run_dir", "r"], "mezoo.cli.export"),
        (["python", "-Wd", "-m", "mezoo.train", "--help"], "mezoo.train"),
        (["python", "-Bm", "tfrecord_tools.criteo"], "tfrecord_tools.criteo"),
        (["python", "/home/me/mezoo-train.py"], None),
        (["python", "/env/bin/pytest", "-m", "mezoo.train"], None),
        (["python", "-c", "import mezoo", "-m", "mezoo.train"], None),
        (["python"], None),
    ],
)
def test_startup_recognises_console_scripts_and_module_runs(orig_argv, module):
    assert startup.command_module(orig_argv) == module
    assert startup.help_only(orig_argv + ["--help"]) == (module is not None)
