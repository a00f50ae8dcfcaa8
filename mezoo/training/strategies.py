"""tf.distribute strategy for a run: one device, all local GPUs, or a TF_CONFIG cluster."""

import json
import os


def make_strategy(kind: str = "auto"):
    import tensorflow as tf

    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    if kind == "auto":
        if sum(len(v) for v in cluster.values()) > 1:
            kind = "multi_worker"
        elif len(tf.config.list_logical_devices("GPU")) >= 2:
            kind = "mirrored"
        else:
            kind = "one_device"
    if kind == "one_device":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        # Without GPUs, logical CPU devices (configured by the caller) stand in: tests use two.
        devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if kind == "multi_worker":
        raise NotImplementedError(
            "multi_worker needs the custom distributed training loop (Keras 3's fit fails under "
            "MultiWorkerMirroredStrategy on TF 2.16); not built yet"
        )
    raise ValueError(f"unknown strategy {kind!r}; choose one of auto, one_device, mirrored, multi_worker")


def synchronize_batch_norm(model, synchronized: bool) -> None:
    """Makes every BatchNorm use the global batch's statistics across replicas (or not again)."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, __import__("keras").layers.BatchNormalization):
            layer.synchronized = synchronized
