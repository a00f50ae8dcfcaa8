"""What a command shows on the console (no native start-up noise) and what `--strategy mirrored` trains on one CPU."""

import json
import subprocess
import sys

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from tests.reliability import helpers  # noqa: E402
from tests.shared_data import shared_data  # noqa: E402
from tests.tfrecord_tools.helpers import convert  # noqa: E402
from tfrecord_tools.formats import criteo_layout  # noqa: E402


def test_xla_start_up_lines_stay_off_the_console(tmp_path):
    raw = tmp_path / "criteo.txt"
    raw.write_bytes(b"".join(open(shared_data("criteo", "criteo_kaggle_head10k.tsv"), "rb").readlines()[:2000]))
    convert([str(raw)], criteo_layout(), tmp_path / "data", min_count=10, dataset="criteo")
    args = ["-m", "mezoo.train", "--recipe", "dcnv2_se_criteo", "--data", tmp_path / "data"]
    args += ["--set", "train.epochs=1", "--set", "data.batch_size=256", "--set", "train.export=false"]
    args += ["--set", "train.jit_compile=true"]  # XLA's start-up lines are the ones to hide
    env = {k: v for k, v in helpers.environment().items() if k != "TF_CPP_MIN_LOG_LEVEL"}

    def train(run_dir, **extra):
        return subprocess.run(
            [sys.executable, *map(str, args), "--run_dir", str(run_dir)],
            cwd=helpers.ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )

    debug = train(tmp_path / "debug", MEZOO_DEBUG="1")  # the lines are there to hide: XLA compiled the step
    assert debug.returncode == 0 and "XLA service" in debug.stderr, debug.stderr[-2000:]
    quiet = train(tmp_path / "quiet")
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "XLA" not in quiet.stderr and "absl::InitializeLog" not in quiet.stderr, quiet.stderr
    assert quiet.stderr.strip() == "", quiet.stderr
    assert "test_auc" in quiet.stdout


def test_mirrored_on_one_cpu_trains_the_default_strategys_model_and_says_so(tmp_path):
    from mezoo.training.trainer import train
    from tests.training import resumable_run

    overrides = resumable_run.OVERRIDES + ["train.epochs=1", "train.export=false"]
    runs = {}
    for strategy in ("auto", "mirrored"):
        run_dir = tmp_path / strategy
        runs[strategy] = train(
            "dnn_me_criteo", overrides, run_dir=run_dir, strategy=strategy, source=resumable_run.source(), verbose=0
        )
        runs[strategy]["run.json"] = json.loads((run_dir / "run.json").read_text())["strategy"]
    assert runs["mirrored"]["test_auc"] == runs["auto"]["test_auc"]
    assert runs["mirrored"]["epochs"][0]["loss"] == runs["auto"]["epochs"][0]["loss"]
    assert (
        runs["mirrored"]["run.json"]["used"] == "one_device"
        and "nothing to mirror" in runs["mirrored"]["run.json"]["why"]
    )
