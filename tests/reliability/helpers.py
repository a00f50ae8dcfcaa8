"""Running the real commands as a user would, in their own processes."""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def environment():
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.pop("MEZOO_DEBUG", None)
    return env


def start(*args, log=None):
    return subprocess.Popen(
        [sys.executable, *map(str, args)],
        cwd=ROOT,
        env=environment(),
        text=True,
        stdout=log or subprocess.PIPE,
        stderr=subprocess.STDOUT if log else subprocess.PIPE,
    )


def run(*args, timeout=300):
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=timeout
    )


def wait_for(condition, process, timeout=120.0, what="the condition"):
    """Polls `condition()` until true; fails if `process` ends first or the time runs out."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        if process.poll() is not None:
            out = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the process ended (status {process.returncode}) before {what}: {out[-3000:]}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def directory_bytes(directory):
    """Every file under `directory` (hidden ones included) -> its bytes."""
    directory = Path(directory)
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def criteo_input(path, rows, seed):
    from tfrecord_tools.synthetic import generate

    generate("criteo", rows, str(path), seed=seed)
    return path
