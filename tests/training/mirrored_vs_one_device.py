"""Trains the same run on one device and mirrored over 2 logical CPUs; prints both as JSON."""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from mezoo.training.trainer import train  # noqa: E402
from tests.training import resumable_run  # noqa: E402

mode = sys.argv[2]
overrides = (
    resumable_run.OVERRIDES
    + ["model.dropout=0.0", f"train.mode={mode}", "train.epochs=2", "train.jit_compile=false"]
    + sys.argv[3:]
)
results = {}
for strategy in ("one_device", "mirrored"):
    metrics = train(
        "dcnv2_me_criteo",
        overrides,
        run_dir=f"{sys.argv[1]}/{strategy}",
        strategy=strategy,
        source=resumable_run.source(),
        verbose=0,
    )
    results[strategy] = {
        "loss": [e["loss"] for e in metrics["epochs"]],
        "val_auc": [e["val_auc"] for e in metrics["epochs"]],
        "test_auc": metrics["test_auc"],
        "steps": metrics["steps"],
    }
print(json.dumps(results))
