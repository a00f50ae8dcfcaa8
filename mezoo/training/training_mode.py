"""The two ways mezoo trains a zoo model: the paper's exact semantics, or fast."""

import keras

from mezoo.training.row_sparse_adam import RowSparseAdam

MODES = ("exact", "fast")


def compile_model(model, mode: str = "exact", learning_rate: float = 1e-3, jit_compile="auto", **compile_kwargs):
    """Compiles a zoo model with binary cross-entropy and Adam in one of `MODES`.

    - `"exact"`: the paper's optimiser semantics. Dense Adam (epsilon 1e-8) over every
      weight; the coupled L2 covers every embedding row, so every row decays every step and
      a step costs O(vocabulary).
      Compiled with XLA (`jit_compile=True`) unless told otherwise, or unless it computes in
      bfloat16 with no GPU: XLA's CPU backend in TF 2.16 refuses the bfloat16 dot ("unsupported
      operand type BF16 in op dot", seen on a Xeon with AVX512_BF16 and AMX).
    - `"fast"`: `RowSparseAdam` with the model's L2 coefficient (plus its
      `embedding_l2_regularization`) as `sparse_l2`, and the
      model's `sparse_embedding_l2` switched on, so the embedding table's gradient, decay and
      update cover only the distinct rows in the batch: a step costs O(batch), whatever the
      vocabulary. Rows outside the batch neither decay nor move; the loss Keras reports
      leaves out the table's L2 term. No XLA: `tf.unique` has no XLA kernel, and a compiled
      step measured 10-20x slower.
    """
    if mode not in MODES:
        raise ValueError(f"unknown training mode {mode!r}; choose one of {', '.join(MODES)}")
    fast = mode == "fast"
    model.sparse_embedding_l2 = fast
    if fast:
        optimizer = RowSparseAdam(learning_rate=learning_rate, epsilon=1e-8, sparse_l2=model.l2_regularization + getattr(model, "embedding_l2_regularization", 0.0))
    else:
        optimizer = keras.optimizers.Adam(learning_rate=learning_rate, epsilon=1e-8)
    if jit_compile == "auto":
        jit_compile = not fast and not _bfloat16_on_cpu(model)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", jit_compile=jit_compile, **compile_kwargs)
    return model


def _bfloat16_on_cpu(model) -> bool:
    if keras.backend.backend() != "tensorflow" or model.dtype_policy.compute_dtype != "bfloat16":
        return False
    import tensorflow as tf

    return not tf.config.list_logical_devices("GPU")
