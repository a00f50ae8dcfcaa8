"""Keras' distribution API (JAX) for a run: data parallel, or model parallel with sharded tables.

`make_distribution` builds what `train.distribution` and `train.mesh` ask for over the JAX
devices (all processes' devices once `keras.distribution.initialize` has joined them):

- `data_parallel`: `keras.distribution.DataParallel` over a one-axis mesh `batch`: every
  weight replicated on every device, the batch split over them (what `MirroredStrategy` does
  on TensorFlow).
- `model_parallel`: `keras.distribution.ModelParallel`: every gathered table
  (`MultiEmbedding`'s fused table, FwFM's linear vectors, FM's first-order weights:
  `TABLE_PATHS`) row-sharded, the dense weights replicated, the batch split. The tables are
  padded to a row count the mesh divides (`mezoo.layers.row_padding`). `train.mesh` says how:
  `model` is the devices one table's rows spread over, `batch` the ways the batch is split.
  The default, `{batch: n, model: n}` on n devices, is one mesh axis for both: each device
  holds `1/n` of every table (and of its Adam slots) and takes `1/n` of the batch, so the
  dense layers' work is split as under data parallelism. `{batch: b, model: m}` with
  `b * m = n` is a two-axis mesh: each table split in `m` parts, each part on `b` devices
  (tables sharded within a host, replicated across hosts, say).

XLA's SPMD partitioner runs the step: the gather of sharded rows, its gradient and the dense
Adam update each touch only the local shard (see docs/distributed.md).
"""

import dataclasses
import os
import re
from typing import Any, Dict, Mapping, Optional

import keras

from mezoo.errors import BadInput

JAX_DISTRIBUTIONS = ("data_parallel", "model_parallel")
MESH_AXES = ("batch", "model")
# The variable paths of the zoo's gathered tables (regular expressions, as `LayoutMap` takes).
TABLE_PATHS = (r"(^|/)multi_embedding/embeddings$", r"(^|/)linear_vectors/embeddings$", r"(^|/)first_order/table$")


class DistributionError(BadInput, ValueError):
    """A distribution or mesh setting that can't run here."""


@dataclasses.dataclass
class KerasDistribution:
    """A run's Keras distribution, with what the trainer asks of a `tf.distribute` strategy.

    Attributes:
        kind: `data_parallel` or `model_parallel`.
        distribution: the `keras.distribution.Distribution`.
        mesh: `train.mesh` resolved, e.g. `{"batch": 2, "model": 2}` (`mesh_shape`).
        devices: the devices it lays out (every process's).
    """

    kind: str
    distribution: Any
    mesh: Dict[str, int]
    devices: int

    @property
    def num_replicas_in_sync(self) -> int:
        """Ways the batch is split (the `batch` axis)."""
        return int(self.mesh.get("batch", 1))

    @property
    def process_index(self) -> int:
        import jax

        return int(jax.process_index())

    @property
    def process_count(self) -> int:
        import jax

        return int(jax.process_count())

    def scope(self):
        """Builds variables with their layouts (a table row-sharded, the rest replicated)."""
        return self.distribution.scope()

    def record(self) -> dict:
        """What run.json records."""
        return {
            "used": self.kind,
            "backend": "jax",
            "mesh": dict(self.mesh),
            "devices": self.devices,
            "processes": self.process_count,
            "replicas": self.num_replicas_in_sync,
        }


def initialize_processes() -> None:
    """Joins the other processes of a multi-host run, where the environment names them.

    `KERAS_DISTRIBUTION_NUM_PROCESSES` > 1 (with `KERAS_DISTRIBUTION_JOB_ADDRESSES` and
    `KERAS_DISTRIBUTION_PROCESS_ID`, Keras' variables) starts `jax.distributed` through
    `keras.distribution.initialize`; it must run before JAX computes anything.
    """
    import jax

    if int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1") or 1) > 1 and jax.process_count() == 1:
        keras.distribution.initialize()


def make_distribution(kind: str, mesh: Optional[Mapping[str, int]], batch_size: int) -> KerasDistribution:
    """The Keras distribution of `train.distribution: kind` over `train.mesh: mesh`, checked against
    the devices and the global `batch_size`."""
    if keras.backend.backend() != "jax":
        raise DistributionError(
            f"train.distribution={kind} is Keras' distribution API, which mezoo runs on the JAX backend "
            f"(KERAS_BACKEND=jax); this is {keras.backend.backend()}: use train.distribution=mirrored (tf.distribute)"
        )
    if kind not in JAX_DISTRIBUTIONS:
        raise DistributionError(f"unknown JAX distribution {kind!r}; choose one of {', '.join(JAX_DISTRIBUTIONS)}")
    initialize_processes()
    devices = keras.distribution.list_devices()
    shape = mesh_shape(kind, mesh, len(devices))
    if batch_size % shape["batch"]:
        raise DistributionError(
            f"data.batch_size {batch_size} does not split over the mesh's batch axis of {shape['batch']} devices "
            f"(train.mesh {shape}): choose a batch size that is a multiple of {shape['batch']}"
        )
    if kind == "data_parallel":
        device_mesh = keras.distribution.DeviceMesh((shape["batch"],), ("batch",), devices)
        return KerasDistribution(kind, keras.distribution.DataParallel(device_mesh=device_mesh), shape, len(devices))
    if shape["batch"] == shape["model"] == len(devices):  # one axis: tables and batch both split n ways
        device_mesh = keras.distribution.DeviceMesh((len(devices),), ("batch",), devices)
        layout_map = row_sharded_tables(device_mesh, axis="batch")
    else:
        device_mesh = keras.distribution.DeviceMesh((shape["batch"], shape["model"]), MESH_AXES, devices)
        layout_map = row_sharded_tables(device_mesh, axis="model")
    distribution = keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")
    return KerasDistribution(kind, distribution, shape, len(devices))


def mesh_shape(kind: str, mesh: Optional[Mapping[str, int]], devices: int) -> Dict[str, int]:
    """`{"batch": b}` (data parallel) or `{"batch": b, "model": m}` (model parallel), checked.

    Model parallel takes `b * m == devices` (a two-axis mesh) or `b == m == devices` (one axis
    for both, the default); data parallel, `b == devices` (the default).
    """
    given = dict(mesh or {})
    unknown = sorted(set(given) - set(MESH_AXES))
    if unknown:
        raise DistributionError(f"train.mesh has unknown axes {unknown}; its axes are batch and model")
    for axis, size in given.items():
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise DistributionError(f"train.mesh.{axis} must be a whole number >= 1, got {size!r}")
    if kind == "data_parallel":
        if given.get("model", 1) != 1:
            raise DistributionError(
                "train.distribution=data_parallel replicates every weight: train.mesh.model must be 1 "
                "(use model_parallel to shard the tables)"
            )
        shape = {"batch": given.get("batch", devices)}
        fits = shape["batch"] == devices
    else:
        shape = {"batch": given.get("batch", devices), "model": given.get("model", devices)}
        if "batch" in given and "model" not in given and shape["batch"] != devices:
            shape["model"] = max(devices // shape["batch"], 1)
        if "model" in given and "batch" not in given and shape["model"] != devices:
            shape["batch"] = max(devices // shape["model"], 1)
        b, m = shape["batch"], shape["model"]
        fits = b * m == devices or b == m == devices
    if not fits:
        needs = "batch * model, or batch = model," if kind == "model_parallel" else "batch"
        raise DistributionError(
            f"train.mesh {shape} does not lay out the {devices} devices here "
            f"({keras.distribution.list_devices()[0].split(':')[0]}): {needs} must equal the device count"
        )
    return shape


def row_sharded_tables(device_mesh, axis: str = "model") -> Any:
    """A `LayoutMap` sharding the rows of every gathered table (`TABLE_PATHS`) over the mesh's
    `axis`; every other weight is replicated (ModelParallel's default)."""
    layout_map = keras.distribution.LayoutMap(device_mesh)
    for path in TABLE_PATHS:
        layout_map[path] = (axis, None)
    return layout_map


def table_shardings(model) -> Dict[str, Any]:
    """Each gathered table's path and its JAX sharding (what the tests check)."""
    return {v.path: v.value.sharding for v in model.weights if any(re.search(p, v.path) for p in TABLE_PATHS)}
