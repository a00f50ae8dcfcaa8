"""Subprocesses on JAX with virtual CPU devices: the environment that sets their number before JAX
starts, and `sharded_jax_run.py` started and read back."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def jax_env(devices: int) -> dict:
    """This environment on JAX with `devices` virtual CPU devices, this repository importable."""
    return {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }


def run_script(*args, devices=4, timeout=900):
    """`sharded_jax_run.py ARGS` started on `devices` virtual devices (read it with `result_of`)."""
    command = [sys.executable, "-m", "tests.training.sharded_jax_run", *map(str, args)]
    return subprocess.Popen(
        command, cwd=ROOT, env=jax_env(devices), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def result_of(process, timeout=900) -> dict:
    """The JSON of the last stdout line of `process`, once it has ended with status 0."""
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-4000:]
    return json.loads(out.strip().splitlines()[-1])
