"""tf.distribute strategy for a run: one device, all local GPUs, or a TF_CONFIG cluster."""

import json
import os

from mezoo.errors import BadInput


class StrategyError(BadInput, ValueError):
    """An unknown `--strategy`."""


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
        if len(devices) < 2:
            # One replica mirrors nothing; Keras' fit under a one-replica MirroredStrategy also
            # trained another model than without it (same data, same gradients, measured), so
            # such a run uses the default strategy and run.json says so (`strategy_record`).
            return tf.distribute.get_strategy()
        return tf.distribute.MirroredStrategy(devices)
    if kind == "multi_worker":
        # The cluster comes from TF_CONFIG (without one: a cluster of this process alone). On
        # CPUs the collectives run over gRPC (ring); with GPUs, NCCL. Keras 3's `fit` fails
        # under this strategy on TF 2.16: the trainer drives it with `DistributedTrainLoop`.
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise StrategyError(f"unknown strategy {kind!r}; choose one of auto, one_device, mirrored, multi_worker")


def strategy_record(requested: str, strategy) -> dict:
    """What run.json records of the strategy: the one asked for, the one used, replicas, and why."""
    used = "one_device" if is_default(strategy) else type(strategy).__name__
    record = {"requested": requested, "used": used, "replicas": int(strategy.num_replicas_in_sync)}
    if requested == "mirrored" and is_default(strategy):
        record["why"] = "one device: a MirroredStrategy over it has nothing to mirror; the default strategy trains"
    return record


def is_default(strategy) -> bool:
    """Whether `strategy` is TensorFlow's default (no distribution: one device)."""
    import tensorflow as tf

    return type(strategy) is type(tf.distribute.get_strategy()) and not tf.distribute.has_strategy()


def synchronize_batch_norm(model, synchronized: bool) -> None:
    """Makes every BatchNorm use the global batch's statistics across replicas (or not again)."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, __import__("keras").layers.BatchNormalization):
            layer.synchronized = synchronized


def is_multi_worker(strategy) -> bool:
    """Whether `strategy` synchronises several worker processes (and needs the custom loop)."""
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def worker_role(strategy):
    """`(is_chief, task_type, task_id)` of this process in the strategy's cluster.

    The chief is the task of type `chief`, or worker 0 where the cluster has no chief (the
    TF convention); a process outside any cluster is its own chief.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    task_id = getattr(resolver, "task_id", None) or 0
    if not is_multi_worker(strategy) or task_type in (None, "chief"):
        return True, task_type, task_id
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief, task_type, task_id
