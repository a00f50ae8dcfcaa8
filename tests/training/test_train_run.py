"""The trainer end to end on in-memory data: run directory, metrics, stopping rules, resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.training.trainer import train  # noqa: E402
from tests.training import resumable_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
STEPS_PER_EPOCH = int(12000 * 0.8) // 256


def test_a_run_fills_its_directory_and_metrics(tmp_path):
    result = train("dnn_me_criteo", resumable_run.OVERRIDES, run_dir=tmp_path, source=resumable_run.source(), verbose=0)
    for name in ("recipe.yaml", "run.json", "metrics.json", "abundance.csv", "model.keras", "best.weights.h5"):
        assert (tmp_path / name).exists(), name
    assert any((tmp_path / "tensorboard").rglob("events.out.tfevents*"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(result))
    assert metrics["finished"] and metrics["synthetic"] and metrics["steps"] == 2 * STEPS_PER_EPOCH
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]  # 1-based, as on the console
    for record in metrics["epochs"]:
        assert 0.5 < record["val_auc"] <= 1 and record["val_logloss"] > 0 and record["examples_per_sec"] > 0
        assert record["abundance"]["ia_mean_concat"] > 1
    assert metrics["best_val_auc"] == max(e["val_auc"] for e in metrics["epochs"])
    assert metrics["epochs"][metrics["best_epoch"] - 1]["val_auc"] == metrics["best_val_auc"]
    assert {line.split(",")[0] for line in (tmp_path / "abundance.csv").read_text().splitlines()[1:]} == {"1", "2"}
    assert 0.5 < metrics["test_auc"] <= 1 and metrics["test_logloss"] > 0
    assert "num_embedding_sets: 2" in (tmp_path / "recipe.yaml").read_text()
    # the same call again finds the finished run instead of training
    again = train("dnn_me_criteo", resumable_run.OVERRIDES, run_dir=tmp_path, source=resumable_run.source(), verbose=0)
    assert again == metrics


def test_early_stopping_and_plateau_follow_validation_auc(tmp_path):
    overrides = resumable_run.OVERRIDES + [
        "train.epochs=30",
        "train.learning_rate=0.05",
        "train.early_stopping_patience=2",
        "train.reduce_lr_factor=0.1",
        "train.reduce_lr_patience=1",
        "train.min_learning_rate=0.004",
    ]
    metrics = train("dnn_me_criteo", overrides, run_dir=tmp_path, source=resumable_run.source(), verbose=0)
    aucs = [e["val_auc"] for e in metrics["epochs"]]
    best = max(range(len(aucs)), key=aucs.__getitem__)
    assert len(aucs) < 30, "a high learning rate should plateau long before 30 epochs"
    assert len(aucs) == best + 1 + 2, "stops after `patience` epochs without improvement"
    assert metrics["best_epoch"] == best + 1  # 1-based, as the console's "best epoch N"
    assert metrics["steps"] == len(aucs) * STEPS_PER_EPOCH, "steps trained, not the best epoch's step"
    rates = [e["learning_rate"] for e in metrics["epochs"]]
    for e in range(len(aucs) - 1):  # patience 1: every epoch without a new best cuts the rate by 10
        improved = e == 0 or aucs[e] > max(aucs[:e])
        assert rates[e + 1] == pytest.approx(max(rates[e] * (1 if improved else 0.1), 0.004)), (e, aucs, rates)
    assert min(rates) < 0.05
    # the two epochs that stopped the run cut the rate twice: 0.05 -> 0.005 -> floor 0.004
    assert json.loads((tmp_path / "backup" / "state.json").read_text())["learning_rate"] == pytest.approx(0.004)


def test_a_killed_run_resumes_mid_epoch_and_runs_the_same_steps(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    run_dir = tmp_path / "run"
    state_path = run_dir / "backup" / "state.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.training.resumable_run", str(run_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    killed_at = None
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if state_path.exists():
            state = json.loads(state_path.read_text())
            if 0 < state["step_in_epoch"]:
                proc.send_signal(signal.SIGKILL)
                killed_at = state["step"]
                break
        time.sleep(0.05)
    proc.wait()
    assert killed_at, "the run ended or timed out before its first mid-epoch backup"
    assert not (run_dir / "model.keras").exists()
    resumed = subprocess.run(
        [sys.executable, "-m", "tests.training.resumable_run", str(run_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "resuming" in resumed.stdout and "at step " in resumed.stdout
    resumed_step = int(resumed.stdout.split("at step ")[1].split()[0])
    assert resumed_step > 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["finished"] and metrics["steps"] == 2 * STEPS_PER_EPOCH
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    assert (run_dir / "model.keras").exists()
    epochs_in_csv = {line.split(",")[0] for line in (run_dir / "abundance.csv").read_text().splitlines()[1:]}
    assert epochs_in_csv == {"1", "2"}


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_in_half_and_leaves_the_global_policy_alone(policy, tmp_path, monkeypatch):
    import keras

    built = []
    from mezoo.training import trainer

    compile_model = trainer.compile_model
    monkeypatch.setattr(
        trainer, "compile_model", lambda model, *a, **k: compile_model(built.append(model) or model, *a, **k)
    )
    overrides = resumable_run.OVERRIDES + ["train.epochs=1", f"train.mixed_precision={policy}"]
    metrics = train("dnn_me_criteo", overrides, run_dir=tmp_path, source=resumable_run.source(), verbose=0)
    assert keras.mixed_precision.global_policy().name == "float32"
    assert metrics["finished"] and 0.5 < metrics["test_auc"] <= 1 and metrics["epochs"][0]["loss"] > 0
    model = built[0]
    half = policy.split("_")[1]
    assert model.get_layer("multi_embedding").compute_dtype == half
    assert all(w.dtype == "float32" for w in model.weights)  # variables stay float32
    assert model.output.dtype == "float32"  # the sigmoid output is float32 for the loss
    if policy == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    # the saved model is rebuilt under the loader's policy: float32 unless the caller sets one
    assert keras.models.load_model(tmp_path / "model.keras").get_layer("multi_embedding").compute_dtype == "float32"
