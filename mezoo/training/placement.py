"""Where a run's model and batches live, per Keras backend: the one place the trainer asks.

- TensorFlow: a `tf.distribute` strategy (`mezoo.training.strategies`: one device, every
  local GPU mirrored, or a `TF_CONFIG` cluster), `train.distribution: auto` or `mirrored`.
- JAX: Keras' distribution API (`mezoo.training.jax_distribution`), `train.distribution:
  data_parallel` (`auto`) or `model_parallel` (tables row-sharded over `train.mesh`).

The trainer builds the model in the placement's `scope()`, takes its training batches from
`training_data`, scores with `forward_function`, and records `record()` in run.json; the
optimiser's per-backend difference is `mezoo.training.training_mode.compile_model`'s.
"""

from typing import Any, Callable, Optional, Tuple

import keras
import numpy as np

from mezoo.errors import BadInput

DISTRIBUTIONS = ("auto", "mirrored", "data_parallel", "model_parallel")


class PlacementError(BadInput, ValueError):
    """A distribution that the backend can't run (named, with what to use instead)."""


def make_placement(strategy: str, distribution: str, mesh: Optional[dict], batch_size: int) -> Any:
    """The run's placement: a `tf.distribute` strategy on TensorFlow, a `KerasDistribution` on JAX.

    Args:
        strategy: `--strategy` (`auto`, `one_device`, `mirrored`, `multi_worker`): TensorFlow's.
        distribution: `train.distribution`, one of `DISTRIBUTIONS`.
        mesh: `train.mesh` (JAX only), e.g. `{"batch": 2, "model": 2}`.
        batch_size: the global batch size, which the mesh's batch axis must divide.
    """
    if distribution not in DISTRIBUTIONS:
        raise PlacementError(f"unknown train.distribution {distribution!r}; choose one of {', '.join(DISTRIBUTIONS)}")
    backend = keras.backend.backend()
    if backend not in ("tensorflow", "jax"):
        raise PlacementError(
            f"mezoo.train runs on the TensorFlow or JAX backend, not KERAS_BACKEND={backend}: its input pipeline "
            "and export are TensorFlow's; on PyTorch, fit the zoo's models with Keras (docs/backends.md)"
        )
    if backend == "jax":
        if strategy != "auto":
            raise PlacementError(
                f"--strategy {strategy} picks a tf.distribute strategy (TensorFlow); on JAX choose "
                "train.distribution=data_parallel or model_parallel"
            )
        if distribution == "mirrored":
            raise PlacementError(
                "train.distribution=mirrored is tf.distribute's MirroredStrategy (TensorFlow); on JAX it is "
                "train.distribution=data_parallel"
            )
        from mezoo.training.jax_distribution import make_distribution

        placed = make_distribution("data_parallel" if distribution == "auto" else distribution, mesh, batch_size)
        if placed.process_count > 1:
            # Validation, the test split and saving read whole arrays on one host; a multi-host
            # JAX array is not all on any host.
            raise PlacementError(
                f"mezoo.train on JAX runs in one process ({placed.process_count} joined here): its evaluation and "
                "saving read whole arrays on one host. Train multi-host through mezoo.training.jax_distribution "
                "with Keras' fit on tf.data (docs/distributed.md), or use multi_worker on TensorFlow"
            )
        return placed
    if backend != "tensorflow":
        raise PlacementError(f"mezoo.train runs on the tensorflow and jax backends, not {backend}")
    if distribution in ("data_parallel", "model_parallel"):
        raise PlacementError(
            f"train.distribution={distribution} is Keras' distribution API, which mezoo runs on JAX: "
            "set KERAS_BACKEND=jax (or use train.distribution=mirrored on TensorFlow)"
        )
    if mesh is not None:
        raise PlacementError("train.mesh lays out JAX devices; on TensorFlow leave it null (tf.distribute places)")
    from mezoo.training.strategies import make_strategy

    return make_strategy(strategy)


def is_keras_distribution(placement) -> bool:
    from mezoo.training.jax_distribution import KerasDistribution

    return isinstance(placement, KerasDistribution)


def set_for_run(placement) -> None:
    """JAX: sets Keras' distribution globally, so that fit, predict and weight loading place arrays
    by it (the trainer restores the caller's at the end); TensorFlow: nothing (a strategy acts
    through its scope)."""
    if is_keras_distribution(placement):
        keras.distribution.set_distribution(placement.distribution)


def replicas(placement) -> int:
    return int(placement.num_replicas_in_sync)


def synchronized_batch_norm(placement) -> bool:
    """Whether BatchNorm must be told to use the global batch's statistics: under tf.distribute
    with several replicas; under Keras' distribution (JAX) the step is one SPMD program, whose
    statistics are the global batch's anyway."""
    return not is_keras_distribution(placement) and replicas(placement) > 1


def jit_compile(placement, requested) -> Any:
    """What the model compiles with: the recipe's setting (`auto` resolved by `compile_model`), but
    off for a TensorFlow step across several logical CPU devices, which XLA can't place ("variable
    on a different device")."""
    if is_keras_distribution(placement):
        return requested
    if replicas(placement) > 1 and all("CPU" in d.upper() for d in placement.extended.worker_devices):
        return False
    return requested


def role(placement) -> Tuple[bool, Any, int]:
    """`(is_chief, task_type, task_id)`: the chief writes the run directory."""
    if is_keras_distribution(placement):
        return placement.process_index == 0, "process", placement.process_index
    from mezoo.training.strategies import worker_role

    return worker_role(placement)


def multi_worker(placement) -> bool:
    """A tf.distribute multi-worker run (custom loop, validation agreed across workers)."""
    if is_keras_distribution(placement):
        return False
    from mezoo.training.strategies import is_multi_worker

    return is_multi_worker(placement)


def tables_in_host_memory() -> bool:
    """Whether the model's weights live in this machine's memory: no GPU or TPU is visible to the backend."""
    if keras.backend.backend() == "jax":
        import jax

        return all(d.platform == "cpu" for d in jax.devices())
    import tensorflow as tf

    return not (tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))


def record(requested: str, distribution: str, placement) -> dict:
    """What run.json records of the placement."""
    if is_keras_distribution(placement):
        return {"requested": requested, "distribution": distribution, **placement.record()}
    from mezoo.training.strategies import strategy_record

    return {**strategy_record(requested, placement), "distribution": distribution}


def training_data(placement, batches: Callable[..., Any]) -> Any:
    """The training batches from `batches(input_context=None)`: Keras' JAX trainer splits a global
    batch over the mesh itself; a tf.distribute strategy takes a per-replica function."""
    if is_keras_distribution(placement):
        return batches()
    from mezoo.training.strategies import is_default

    if is_default(placement):
        return batches()
    # Also for one replica: a dataset Keras distributes itself (`experimental_distribute_dataset`)
    # is rewritten and comes out in another order than the same seed gives without a strategy.
    return placement.distribute_datasets_from_function(batches)


def forward_function(model) -> Callable[[Any], np.ndarray]:
    """`x -> scores (numpy)`, one compiled forward pass in inference mode.

    TensorFlow: a `tf.function` in cross-replica context (`predict_on_batch` under
    MirroredStrategy returned twice the batch's rows). JAX: Keras' compiled `predict_on_batch`,
    under the run's distribution.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        compiled = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        return lambda x: np.asarray(compiled(x))
    return lambda x: np.asarray(model.predict_on_batch(keras.tree.map_structure(np.asarray, x)))


def epoch_batches(dist, source, batch_size: int, seed: int, skip: int, repeat: bool = False):
    """One epoch of training batches; with several replicas, each gets its share of a global batch.

    With an `input_context`, sources take the global batch size and divide it (as
    `mezoo.data.make_dataset` does). `repeat` (the custom loop): the batches never run out. A
    multi-worker run's workers read disjoint file shards, in general of unequal sizes, and
    every worker must take every step, so a worker whose shards run short reads them again;
    the first pass is the same batches as without it.
    """

    def batches(context=None):
        data = source.dataset(
            "train", batch_size, training=True, seed=seed, skip_batches=0 if repeat else skip, input_context=context
        )
        return data.repeat().skip(skip) if repeat else data

    return training_data(dist, batches)
