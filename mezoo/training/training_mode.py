"""The two ways mezoo trains a zoo model: the paper's exact semantics, or fast."""

import weakref

import keras
import numpy as np

from mezoo.errors import BadInput
from mezoo.optimizers.fused_adam import FusedAdam
from mezoo.optimizers.row_sparse_adam import RowSparseAdam

MODES = ("exact", "fast")


class TrainingModeError(BadInput, ValueError):
    """A training mode that is unknown, or that this backend can't run."""


def compile_model(model, mode: str = "exact", learning_rate: float = 1e-3, jit_compile="auto", **compile_kwargs):
    """Compiles a zoo model with binary cross-entropy and Adam in one of `MODES`.

    On TensorFlow as below. On another backend (JAX, PyTorch) exact mode is Keras' Adam with
    the tables' coupled L2 in the loss, compiled on JAX and not on PyTorch (`auto_jit_compile`):
    the same update, whose gradient there is dense anyway; fast mode needs TensorFlow's
    row-sparse gradients and is refused (docs/backends.md says why on PyTorch).

    - `"exact"`: the paper's optimiser semantics. Dense Adam (epsilon 1e-8) over every
      weight; the coupled L2 covers every embedding row, so every row decays every step and
      a step costs O(vocabulary).
      Adam is `FusedAdam` (one TensorFlow kernel per variable), which also applies the
      tables' coupled L2 (`table_l2`, every row, every step: the same gradient as through
      the loss, much cheaper), so the loss Keras reports leaves out the tables' L2 term, as
      in fast mode. `jit_compile="auto"` is `auto_jit_compile`: XLA for single-embedding models
      and for multi-embedding ones with big tables.
    - `"fast"`: `RowSparseAdam` with the model's L2 coefficient (plus its
      `embedding_l2_regularization`) as `sparse_l2`, and the
      model's `sparse_embedding_l2` switched on, so the embedding table's gradient, decay and
      update cover only the distinct rows in the batch: a step costs O(batch), whatever the
      vocabulary. Rows outside the batch neither decay nor move; the loss Keras reports
      leaves out the table's L2 term; the tables' layers read their rows sparsely
      (`set_sparse_reads`). No XLA: `tf.unique` has no XLA kernel, and a compiled
      step measured 10-20x slower.
    """
    if mode not in MODES:
        raise TrainingModeError(f"unknown training mode {mode!r}; choose one of {', '.join(MODES)}")
    fast = mode == "fast"
    on_tensorflow = keras.backend.backend() == "tensorflow"
    if fast and not on_tensorflow:
        raise TrainingModeError(
            f"train.mode=fast needs TensorFlow: its row-sparse update rests on the IndexedSlices gradient of a "
            f"gather, and on {keras.backend.backend()} that gradient is a dense table; use train.mode=exact "
            "(docs/distributed.md)"
        )
    # On TensorFlow both modes apply the tables' coupled L2 in the optimiser, so the loss leaves
    # it out. Elsewhere the tables' gradient is dense and can't carry it: it stays in the loss,
    # which is the paper's formulation itself.
    model.sparse_embedding_l2 = on_tensorflow
    set_sparse_reads(model, fast)
    table_l2 = (model.l2_regularization + getattr(model, "embedding_l2_regularization", 0.0)) if on_tensorflow else 0.0
    if fast:
        optimizer = RowSparseAdam(learning_rate=learning_rate, epsilon=1e-8, sparse_l2=table_l2)
    else:
        optimizer = FusedAdam(learning_rate=learning_rate, epsilon=1e-8, table_l2=table_l2)
    if jit_compile == "auto":
        jit_compile = auto_jit_compile(model, mode)
    model_ref = weakref.ref(model)  # asked at trace time: a later `model.compile(jit_compile=...)` counts
    optimizer.step_uses_xla = lambda: bool(getattr(model_ref(), "jit_compile", True))
    model.compile(optimizer=optimizer, loss="binary_crossentropy", jit_compile=jit_compile, **compile_kwargs)
    return model


def set_sparse_reads(model, sparse: bool) -> None:
    """Sets `sparse_reads` on every layer of `model` (nested models too) that gathers from a table.

    Row-sparse updates (fast mode) need sparse reads; dense updates (exact mode) need dense reads,
    or the optimiser's dense read of each table copies it every step (`read_rows`).
    """
    todo = list(getattr(model, "layers", []))
    while todo:
        layer = todo.pop()
        if hasattr(layer, "sparse_reads"):
            layer.sparse_reads = bool(sparse)
        todo += getattr(layer, "layers", [])


# In exact mode on a CPU, XLA fuses the step's passes over the embedding tables (the dense
# Adam update with its L2) and the small elementwise work around the matrix products, but runs
# batched matrix products (one per embedding set) slower than TensorFlow's oneDNN kernels. So
# it pays for single-embedding models, and for multi-embedding ones only once the tables are
# big enough (from this size up). Measured over four data-set shapes
# (benchmarks/train_step.py --shapes; its --write page is docs/benchmarks/train_step.md).
XLA_TABLE_BYTES = 256 * 2**20
# ... on TensorFlow 2.16. On TensorFlow 2.21 XLA's CPU step is the slower one everywhere measured:
# 3.8x (DCNv2 SE 1x), 5.6x (DNN SE 1x) and 2.9x (DCNv2 ME 10x10) at Criteo's shape, 9-12x at
# Frappe's (benchmarks/train_step.py --jit true,false), so on a CPU only the TensorFlow versions
# up to this one get XLA (the versions between were not measured).
CPU_XLA_LAST_TF = (2, 16)


def auto_jit_compile(model, mode: str) -> bool:
    """What `jit_compile="auto"` resolves to for `model` trained in `mode`.

    - fast mode: never (`tf.unique` has no XLA kernel);
    - exact mode on a GPU: always (no measurements contradict it);
    - exact mode on a CPU, TensorFlow up to `CPU_XLA_LAST_TF` (2.16): for single-embedding
      models, and for multi-embedding models whose embedding tables take at least
      `XLA_TABLE_BYTES`; never for bfloat16 (XLA's CPU backend in TF 2.16 refuses the
      bfloat16 dot); on a newer TensorFlow never (XLA's CPU step measured slower there);
    - on JAX always: an eager step is pointless there, a sharded one needs XLA;
    - on PyTorch never: Keras compiles its step with `torch.compile`, measured 1.5x slower than
      the eager step on a CPU (docs/backends.md), and whose guards on each layer's type make it
      recompile the step until dynamo gives up, warning each time.
    """
    if keras.backend.backend() == "torch":
        return False
    if keras.backend.backend() != "tensorflow":
        return True
    if mode == "fast" or _bfloat16_on_cpu(model):
        return False
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if tf.config.list_logical_devices("GPU"):
            return True
    if keras.backend.backend() == "tensorflow" and tensorflow_version() > CPU_XLA_LAST_TF:
        return False
    if getattr(model, "num_embedding_sets", 1) == 1:
        return True
    tables = getattr(model, "row_tables", [])
    table_bytes = sum(int(np.prod(t.shape)) * np.dtype(t.dtype).itemsize for t in tables)
    return table_bytes >= XLA_TABLE_BYTES


def tensorflow_version() -> tuple:
    """(major, minor) of the TensorFlow installed."""
    import tensorflow as tf

    return tuple(int(part) for part in tf.__version__.split(".")[:2])


def _bfloat16_on_cpu(model) -> bool:
    if keras.backend.backend() != "tensorflow" or model.dtype_policy.compute_dtype != "bfloat16":
        return False
    import tensorflow as tf

    return not tf.config.list_logical_devices("GPU")
