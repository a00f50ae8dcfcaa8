"""A placement the backend can't run is bad input: exit 2, one `error:` line, no run directory left behind."""

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from tests.reliability.helpers import criteo_input, run  # noqa: E402


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("placements")
    raw = criteo_input(folder / "train.txt", 2000, seed=8)
    done = run("-m", "tfrecord_tools.criteo", "--input", raw, "--output", folder / "data", "--min_count", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    return folder / "data"


CASES = {
    "model_parallel on TensorFlow": ("tensorflow", 1, ["train.distribution=model_parallel"], "KERAS_BACKEND=jax"),
    "a mesh of other devices": ("jax", 1, ["train.distribution=model_parallel", "train.mesh={batch: 2, model: 2}"],
                                "train.mesh"),
    "a batch the batch axis does not divide": ("jax", 4, ["train.distribution=data_parallel", "data.batch_size=102"],
                                               "102"),
    "fast mode on JAX": ("jax", 1, ["train.mode=fast"], "train.mode=fast needs TensorFlow"),
    "the custom loop on JAX": ("jax", 1, ["train.loop=custom"], "train.loop=custom"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_refused_placement_exits_2_in_one_line_and_writes_nothing(converted, tmp_path, monkeypatch, case):
    backend, devices, settings, message = CASES[case]
    if backend == "jax":
        pytest.importorskip("jax")
    monkeypatch.setenv("KERAS_BACKEND", backend)
    monkeypatch.setenv("XLA_FLAGS", f"--xla_force_host_platform_device_count={devices}")
    run_dir = tmp_path / "run"
    flags = ["--recipe", "dnn_se_criteo", "--data", converted, "--run_dir", run_dir, "--set", "data.batch_size=100"]
    for setting in settings:
        flags += ["--set", setting]
    done = run("-m", "mezoo.train", *flags)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2 and len(errors) == 1, done.stderr[-3000:]
    assert message in errors[0] and "Traceback" not in done.stderr, errors
    assert not run_dir.exists()
