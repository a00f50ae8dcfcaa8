"""Benchmark scripts refuse arguments that would make them hang or measure nothing, and a second
run on a work directory another run holds."""

from mezoo.directory_lock import directory_lock
from tests.reliability.helpers import run


def test_scale_refuses_an_empty_set_of_own_batches():
    """`--own_batches 0` would time fit over an empty cache repeated: fit waits forever."""
    result = run("benchmarks/scale.py", "--own_batches", "0", timeout=120)
    assert result.returncode == 2
    assert "--own_batches 0: at least 1 batch" in result.stderr


def test_scale_refuses_a_work_directory_another_run_holds(tmp_path):
    """Two runs on one --work would delete each other's run directories mid-epoch."""
    with directory_lock(tmp_path, "a scale benchmark", hint="wait", name=".scale.lock"):
        result = run("benchmarks/scale.py", "--smoke", "--work", tmp_path, timeout=120)
    assert result.returncode == 1
    assert "scale.py:" in result.stderr and "another --work" in result.stderr
    assert not list(tmp_path.glob("criteo_*")), "it wrote before refusing"
