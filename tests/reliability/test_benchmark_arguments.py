"""Benchmark scripts refuse arguments that would make them hang or measure nothing."""

from tests.reliability.helpers import run


def test_scale_refuses_an_empty_set_of_own_batches():
    """`--own_batches 0` would time fit over an empty cache repeated: fit waits forever."""
    result = run("benchmarks/scale.py", "--own_batches", "0", timeout=120)
    assert result.returncode == 2
    assert "--own_batches 0: at least 1 batch" in result.stderr
